/*
 * lvqprep_scalar.c - the reference LVQ query-preparation kernels (simd.h):
 * cleaning, normalizing, centring with sums, quantizing the query. The
 * vector levels reproduce these values bit for bit, so the order of every
 * sum here is part of the contract (16 double lanes, vl_sum16_f64).
 */
#include <math.h>

#include "lvqf_kern.h"

static inline int finite_f32(float x)
{
	return isfinite(x);
}

double vl_clean_f32_scalar(const float *x, size_t n, float *out)
{
	double l[VL_SUM_LANES] = { 0 };
	for (size_t i = 0; i < n; i++) {
		float v = finite_f32(x[i]) ? x[i] : 0.0f;
		out[i] = v;
		l[i % VL_SUM_LANES] += (double)v * v;
	}
	return vl_sum16_f64(l);
}

void vl_scale_f32_scalar(float *x, size_t n, double s)
{
	for (size_t i = 0; i < n; i++)
		x[i] = (float)((double)x[i] * s);
}

void vl_lvq_center_scalar(const float *w, const float *mean, int sub, size_t n, float *u,
                          double s[4])
{
	double su[VL_SUM_LANES] = { 0 }, uu[VL_SUM_LANES] = { 0 }, wm[VL_SUM_LANES] = { 0 };
	float amax = 0;
	for (size_t i = 0; i < n; i++) {
		float wi = w[i], mi = mean ? mean[i] : 0.0f;
		float ui = sub ? wi - mi : wi;
		size_t l = i % VL_SUM_LANES;
		su[l] += ui;
		uu[l] += (double)ui * ui;
		if (mean)
			wm[l] += (double)wi * mi;
		float a = fabsf(ui);
		amax = a > amax ? a : amax; /* the order of vmaxps: NaN keeps amax */
		u[i] = ui;
	}
	s[0] = vl_sum16_f64(su);
	s[1] = vl_sum16_f64(uu);
	s[2] = vl_sum16_f64(wm);
	s[3] = amax;
}

/* The clamp in the order of vmaxpd/vminpd (a NaN becomes -qmax), then
 * round to nearest even like vcvtpd2dq. */
static inline int32_t quantize1(float u, double inv, double qmax)
{
	double t = (double)u * inv;
	t = t > -qmax ? t : -qmax;
	t = t < qmax ? t : qmax;
	return (int32_t)lrint(t);
}

int64_t vl_lvq_quantize_scalar(const float *u, size_t n, double inv, double qmax, uint32_t bits,
                               size_t code_bytes, int8_t *q)
{
	int64_t sum = 0;
	for (size_t i = 0; i < n; i++) {
		int32_t r = quantize1(u[i], inv, qmax);
		sum += r;
		if (bits == 4) {
			q[vl_lvq4_qpos(i)] = (int8_t)r;
		} else {
			int32_t qh = (r + 64 + 8192) / 128 - 64; /* floor((r + 64) / 128), r >= -8256 */
			q[i] = (int8_t)qh;
			q[code_bytes + i] = (int8_t)(r - 128 * qh);
		}
	}
	return sum;
}
