/*
 * lvqenc_scalar.c - the reference LVQ encoding kernels (simd.h lvq_minmax,
 * lvq_codes): the arithmetic of .spec-parts/quant.md "Encoding one vector",
 * one component at a time. The vector levels write the same bytes; the
 * squared norm is summed in the 16 double lanes of vl_sum16_f64.
 */
#include "lvqf_kern.h"

void vl_lvq_minmax_scalar(const float *x, const float *mean, size_t n, float inv_unit, float *lo,
                          float *hi)
{
	float l = *lo, h = *hi;
	for (size_t j = 0; j < n; j++) {
		/* + 0: -0 becomes +0, so the extremes do not depend on which of two
		 * equal zeros a lane saw first (the vector levels reduce lanes) */
		float v = (x[j] - mean[j]) * inv_unit + 0.0f;
		l = v < l ? v : l; /* vminps / vmaxps order: a NaN is skipped */
		h = v > h ? v : h;
	}
	*lo = l;
	*hi = h;
}

/* round(t) clamped to [0, max]; NaN maps to 0. */
static inline unsigned quantize(float t, unsigned max)
{
	if (!(t > 0.0f))
		return 0;
	if (!(t < (float)max))
		return max;
	return (unsigned)(t + 0.5f);
}

static inline void put(uint8_t *codes, uint32_t bits, size_t i, unsigned v)
{
	if (bits == 8) {
		codes[i] = (uint8_t)v;
		return;
	}
	uint8_t *b = &codes[(i / 64) * 32 + i % 32];
	if ((i % 64) < 32)
		*b = (uint8_t)((*b & 0xf0u) | v);
	else
		*b = (uint8_t)((*b & 0x0fu) | v << 4);
}

double vl_lvq_codes_scalar(const float *x, const float *mean, size_t n, float inv_unit, float hs,
                           float hb, uint32_t bits1, uint8_t *c1, uint32_t bits2, float step2,
                           float half, uint8_t *c2)
{
	unsigned max1 = (1u << bits1) - 1, max2 = bits2 ? (1u << bits2) - 1 : 0;
	double l[VL_SUM_LANES] = { 0 };
	for (size_t j = 0; j < n; j++) {
		float y = (x[j] - mean[j]) * inv_unit;
		unsigned q1 = quantize((y - hb) / hs, max1);
		put(c1, bits1, j, q1);
		float v1 = hb + hs * (float)q1;
		l[j % VL_SUM_LANES] += (double)v1 * v1;
		if (c2 && bits2)
			put(c2, bits2, j, quantize((y - v1 + half) / step2, max2));
	}
	return vl_sum16_f64(l);
}
