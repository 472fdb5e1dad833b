/*
 * lvqf_kern.h - the float side of LVQ at each kernel level: query
 * preparation (lvqprep_*.c) and re-ranking (lvqrr_*.c), and what the levels
 * share so they agree (simd.h states the contracts).
 */
#ifndef VL_LVQF_KERN_H
#define VL_LVQF_KERN_H

#include <stddef.h>
#include <stdint.h>

#include "fp16.h"
#include "simd.h"
#include "vl_bytes.h"

/* Preparation sums run in 16 double lanes, lane l taking components l,
 * l + 16, ... in order; every level combines the lanes with this tree. */
#define VL_SUM_LANES 16

static inline double vl_sum16_f64(const double l[VL_SUM_LANES])
{
	double t[8];
	for (int i = 0; i < 8; i++)
		t[i] = l[i] + l[i + 8];
	for (int i = 0; i < 4; i++)
		t[i] += t[i + 4];
	for (int i = 0; i < 2; i++)
		t[i] += t[i + 2];
	return t[0] + t[1];
}

/* The query's float vector u (q->dim floats at q->uoff). */
static inline const float *vl_lvq_ufloats(const vl_lvq_query *q)
{
	return (const float *)(const void *)((const uint8_t *)q + q->uoff);
}

/* Per-row reconstruction constants of lvq_rerank in true units:
 * component j is B + S * C_j (simd.h). b2 = 0: one level. */
static inline void vl_lvq_rerank_consts(const vl_lvq_query *q, const uint8_t *row, uint32_t b2,
                                        float *S, float *B)
{
	float hs = vl_f16_to_f32(vl_ld16(row + q->code_bytes));
	float hb = vl_f16_to_f32(vl_ld16(row + q->code_bytes + 2));
	if (b2) {
		*S = hs / (float)((1u << b2) - 1) * q->unit;
		*B = (hb - hs * 0.5f) * q->unit;
	} else {
		*S = hs * q->unit;
		*B = hb * q->unit;
	}
}

#define VL_LVQF_KERNELS(lvl)                                                                       \
	double vl_clean_f32_##lvl(const float *x, size_t n, float *out);                           \
	void vl_scale_f32_##lvl(float *x, size_t n, double s);                                     \
	void vl_lvq_center_##lvl(const float *w, const float *mean, int sub, size_t n, float *u,   \
	                         double s[4]);                                                     \
	int64_t vl_lvq_quantize_##lvl(const float *u, size_t n, double inv, double qmax,            \
	                              uint32_t bits, size_t code_bytes, int8_t *q);                \
	void vl_lvq_rerank_##lvl(const vl_lvq_query *q, const uint8_t *pbase, size_t pstride,      \
	                         const uint8_t *sbase, size_t sstride, const uint32_t *ids,         \
	                         size_t n, float *out);                                            \
	void vl_lvq_minmax_##lvl(const float *x, const float *mean, size_t n, float inv_unit,       \
	                         float *lo, float *hi);                                            \
	double vl_lvq_codes_##lvl(const float *x, const float *mean, size_t n, float inv_unit,      \
	                          float hs, float hb, uint32_t bits1, uint8_t *c1, uint32_t bits2,  \
	                          float step2, float half, uint8_t *c2);

VL_LVQF_KERNELS(scalar)
VL_LVQF_KERNELS(avx2)
VL_LVQF_KERNELS(avx512)

#endif
