/*
 * lvq_kern.h - the LVQ kernels of each level (lvq_scalar.c, lvq_avx2.c,
 * lvq_avx512.c) and the float arithmetic they share.
 *
 * Every level turns a row's exact integer dot product into a distance with
 * the same float expression (vl_lvq_finish), never contracted into FMAs
 * (gcc in ISO C mode does not; clang is told so), so every level returns
 * the scalar level's distances bit for bit.
 */
#ifndef VL_LVQ_KERN_H
#define VL_LVQ_KERN_H

#include "fp16.h"
#include "simd.h"
#include "vl_bytes.h"

/* The trailer after the codes: f16 scale, f16 bias, f32 squared norm. */
static inline float vl_lvq_finish(const vl_lvq_query *q, const uint8_t *row, int32_t dot,
                                  float scale, float bias)
{
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF /* gcc: already off in ISO C mode */
#endif
	float t = bias * q->sq + scale * (q->alpha * (float)dot + q->corr);
	float d = q->a + q->b * t;
	if (q->l2)
		d += vl_ldf32(row + q->code_bytes + 4);
	return d;
}

#define VL_LVQ_KERNELS(lvl)                                                                        \
	int32_t vl_dot_u4s8_##lvl(const uint8_t *codes, const int8_t *q, size_t nbytes);          \
	int32_t vl_dot_u8s8x2_##lvl(const uint8_t *codes, const int8_t *q, size_t n);             \
	void vl_lvq_scan_##lvl(const vl_lvq_query *q, const uint8_t *rows, size_t stride, size_t n, \
	                       float *out);                                                        \
	void vl_lvq_gather_##lvl(const vl_lvq_query *q, const uint8_t *base, size_t stride,        \
	                         const uint32_t *ids, size_t n, float *out);

VL_LVQ_KERNELS(scalar)
VL_LVQ_KERNELS(avx2)
VL_LVQ_KERNELS(avx512)
VL_LVQ_KERNELS(vnni)

#endif
