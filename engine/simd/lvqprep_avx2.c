/*
 * lvqprep_avx2.c - LVQ query preparation on AVX2: the scalar reference's
 * values bit for bit (lvqprep_scalar.c). Groups of 16 floats fill the 16
 * sum lanes as four ymm of doubles (lanes 0-3, 4-7, 8-11, 12-15). The
 * final partial group goes through a zeroed 16-float copy, so it adds to
 * the same lanes as the scalar loop (zeros add nothing: no lane is -0.0).
 */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "lvqf_kern.h"

typedef struct lanes16 {
	__m256d l[4];
} lanes16;

static inline void lanes_zero(lanes16 *a)
{
	for (int k = 0; k < 4; k++)
		a->l[k] = _mm256_setzero_pd();
}

/* vl_sum16_f64: lanes i and i + 8, then i + 4, then i + 2, then 0 + 1. */
static inline double lanes_sum(const lanes16 *a)
{
	__m256d t = _mm256_add_pd(_mm256_add_pd(a->l[0], a->l[2]), _mm256_add_pd(a->l[1], a->l[3]));
	__m128d t2 = _mm_add_pd(_mm256_castpd256_pd128(t), _mm256_extractf128_pd(t, 1));
	return _mm_cvtsd_f64(_mm_add_sd(t2, _mm_unpackhi_pd(t2, t2)));
}

/* The four double quarters of 16 floats (two ymm). */
static inline void widen16(__m256 lo, __m256 hi, __m256d d[4])
{
	d[0] = _mm256_cvtps_pd(_mm256_castps256_ps128(lo));
	d[1] = _mm256_cvtps_pd(_mm256_extractf128_ps(lo, 1));
	d[2] = _mm256_cvtps_pd(_mm256_castps256_ps128(hi));
	d[3] = _mm256_cvtps_pd(_mm256_extractf128_ps(hi, 1));
}

/* The last n % 16 floats of src copied into a zeroed group. */
static inline void tail_copy(float dst[16], const float *src, size_t rem)
{
	memset(dst, 0, 16 * sizeof *dst);
	if (src)
		memcpy(dst, src, rem * sizeof *dst);
}

static inline __m256 finite_only(__m256 v)
{
	const __m256i ex = _mm256_set1_epi32(0x7f800000);
	__m256i bad = _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_castps_si256(v), ex), ex);
	return _mm256_andnot_ps(_mm256_castsi256_ps(bad), v);
}

static inline void clean16(const float *x, float *out, lanes16 *a)
{
	__m256 lo = finite_only(_mm256_loadu_ps(x)), hi = finite_only(_mm256_loadu_ps(x + 8));
	_mm256_storeu_ps(out, lo);
	_mm256_storeu_ps(out + 8, hi);
	__m256d d[4];
	widen16(lo, hi, d);
	for (int k = 0; k < 4; k++)
		a->l[k] = _mm256_add_pd(a->l[k], _mm256_mul_pd(d[k], d[k]));
}

double vl_clean_f32_avx2(const float *x, size_t n, float *out)
{
	lanes16 a;
	lanes_zero(&a);
	size_t i = 0;
	for (; i + 16 <= n; i += 16)
		clean16(x + i, out + i, &a);
	if (i < n) {
		float tx[16], to[16];
		tail_copy(tx, x + i, n - i);
		clean16(tx, to, &a);
		memcpy(out + i, to, (n - i) * sizeof *to);
	}
	return lanes_sum(&a);
}

static inline __m256 scale8(__m256 v, __m256d s)
{
	__m128 lo = _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), s));
	__m128 hi = _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), s));
	return _mm256_insertf128_ps(_mm256_castps128_ps256(lo), hi, 1);
}

void vl_scale_f32_avx2(float *x, size_t n, double s)
{
	__m256d vs = _mm256_set1_pd(s);
	size_t i = 0;
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(x + i, scale8(_mm256_loadu_ps(x + i), vs));
	for (; i < n; i++) /* element-wise: the scalar expression is the same */
		x[i] = (float)((double)x[i] * s);
}

typedef struct center_acc {
	lanes16 su, uu, wm;
	__m256 amax;
} center_acc;

static inline void center16(const float *w, const float *mean, int sub, float *u, center_acc *c)
{
	__m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + 8);
	__m256 m0 = mean ? _mm256_loadu_ps(mean) : _mm256_setzero_ps();
	__m256 m1 = mean ? _mm256_loadu_ps(mean + 8) : _mm256_setzero_ps();
	__m256 u0 = sub ? _mm256_sub_ps(w0, m0) : w0, u1 = sub ? _mm256_sub_ps(w1, m1) : w1;
	_mm256_storeu_ps(u, u0);
	_mm256_storeu_ps(u + 8, u1);
	__m256d du[4];
	widen16(u0, u1, du);
	for (int k = 0; k < 4; k++) {
		c->su.l[k] = _mm256_add_pd(c->su.l[k], du[k]);
		c->uu.l[k] = _mm256_add_pd(c->uu.l[k], _mm256_mul_pd(du[k], du[k]));
	}
	if (mean) {
		__m256d dw[4], dm[4];
		widen16(w0, w1, dw);
		widen16(m0, m1, dm);
		for (int k = 0; k < 4; k++)
			c->wm.l[k] = _mm256_add_pd(c->wm.l[k], _mm256_mul_pd(dw[k], dm[k]));
	}
	const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
	c->amax = _mm256_max_ps(_mm256_and_ps(u0, absmask), c->amax);
	c->amax = _mm256_max_ps(_mm256_and_ps(u1, absmask), c->amax);
}

void vl_lvq_center_avx2(const float *w, const float *mean, int sub, size_t n, float *u,
                        double s[4])
{
	center_acc c;
	lanes_zero(&c.su);
	lanes_zero(&c.uu);
	lanes_zero(&c.wm);
	c.amax = _mm256_setzero_ps();
	size_t i = 0;
	for (; i + 16 <= n; i += 16)
		center16(w + i, mean ? mean + i : NULL, sub, u + i, &c);
	if (i < n) {
		float tw[16], tm[16], tu[16];
		tail_copy(tw, w + i, n - i);
		tail_copy(tm, mean ? mean + i : NULL, n - i);
		center16(tw, mean ? tm : NULL, sub, tu, &c);
		memcpy(u + i, tu, (n - i) * sizeof *tu);
	}
	s[0] = lanes_sum(&c.su);
	s[1] = lanes_sum(&c.uu);
	s[2] = lanes_sum(&c.wm);
	__m128 m4 = _mm_max_ps(_mm256_castps256_ps128(c.amax), _mm256_extractf128_ps(c.amax, 1));
	m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
	m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
	s[3] = _mm_cvtss_f32(m4);
}

/* Four int32 of round(min(max(u * inv, -qmax), qmax)). */
static inline __m128i quant4(__m128 x, __m256d inv, __m256d lo, __m256d hi)
{
	__m256d t = _mm256_mul_pd(_mm256_cvtps_pd(x), inv);
	return _mm256_cvtpd_epi32(_mm256_min_pd(_mm256_max_pd(t, lo), hi));
}

/* The scalar reference's expression for the tail (lvqprep_scalar.c). */
static inline int32_t quantize1(float u, double inv, double qmax)
{
	double t = (double)u * inv;
	t = t > -qmax ? t : -qmax;
	t = t < qmax ? t : qmax;
	return (int32_t)lrint(t);
}

static inline __m128i pack16(__m128i r0, __m128i r1, __m128i r2, __m128i r3)
{
	return _mm_packs_epi16(_mm_packs_epi32(r0, r1), _mm_packs_epi32(r2, r3));
}

int64_t vl_lvq_quantize_avx2(const float *u, size_t n, double inv, double qmax, uint32_t bits,
                             size_t code_bytes, int8_t *q)
{
	const __m256d vinv = _mm256_set1_pd(inv), hi = _mm256_set1_pd(qmax), lo = _mm256_set1_pd(-qmax);
	const __m128i c64 = _mm_set1_epi32(64);
	__m256i acc = _mm256_setzero_si256();
	size_t i = 0;
	for (; i + 16 <= n; i += 16) {
		__m256 v0 = _mm256_loadu_ps(u + i), v1 = _mm256_loadu_ps(u + i + 8);
		__m128i r[4] = {
			quant4(_mm256_castps256_ps128(v0), vinv, lo, hi),
			quant4(_mm256_extractf128_ps(v0, 1), vinv, lo, hi),
			quant4(_mm256_castps256_ps128(v1), vinv, lo, hi),
			quant4(_mm256_extractf128_ps(v1, 1), vinv, lo, hi),
		};
		for (int k = 0; k < 4; k++)
			acc = _mm256_add_epi64(acc, _mm256_cvtepi32_epi64(r[k]));
		if (bits == 4) {
			_mm_storeu_si128((__m128i *)(void *)(q + vl_lvq4_qpos(i)), pack16(r[0], r[1], r[2], r[3]));
		} else {
			__m128i qh[4], ql[4];
			for (int k = 0; k < 4; k++) {
				qh[k] = _mm_srai_epi32(_mm_add_epi32(r[k], c64), 7);
				ql[k] = _mm_sub_epi32(r[k], _mm_slli_epi32(qh[k], 7));
			}
			_mm_storeu_si128((__m128i *)(void *)(q + i), pack16(qh[0], qh[1], qh[2], qh[3]));
			_mm_storeu_si128((__m128i *)(void *)(q + code_bytes + i),
			                 pack16(ql[0], ql[1], ql[2], ql[3]));
		}
	}
	int64_t sum = 0;
	for (; i < n; i++) {
		int32_t r = quantize1(u[i], inv, qmax);
		sum += r;
		if (bits == 4) {
			q[vl_lvq4_qpos(i)] = (int8_t)r;
		} else {
			int32_t qh = (r + 64 + 8192) / 128 - 64;
			q[i] = (int8_t)qh;
			q[code_bytes + i] = (int8_t)(r - 128 * qh);
		}
	}
	__m128i s2 = _mm_add_epi64(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
	return sum + _mm_cvtsi128_si64(s2) + _mm_extract_epi64(s2, 1);
}
