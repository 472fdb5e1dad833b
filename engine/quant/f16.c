/*
 * f16.c - float16 storage: each component rounded to IEEE binary16.
 *
 * PRIMARY row: dim little-endian halves, zero-padded to a multiple of 16
 * bytes. No trained state, no SECONDARY (re-ranking uses the originals).
 * Values beyond the half range saturate to +-65504 (never inf), non-finite
 * components are stored as 0. Cosine stores the normalized vector, so every
 * component is in [-1, 1] and the distance is 1 - <q/|q|, x^>.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "qcommon.h"
#include "quant.h"
#include "segment.h"
#include "simd/fp16.h"
#include "simd/simd.h"
#include "vl_bytes.h"

typedef struct f16_state {
	const vl_kernels *k;
} f16_state;

static int f16_check_param(const char *name, const char *value, uint32_t dim, vl_diag *d)
{
	return VL_ENOTFOUND;
}

static size_t f16_train_rows(uint32_t dim, const char *const *params, size_t nparams)
{
	return 0;
}

static int f16_open(vl_qview *v, const uint8_t *state, size_t state_len, vl_diag *d)
{
	if (state_len)
		return vl_diag_set(d, VL_ECORRUPT, VL_NO_OFFSET, "float16 storage has no trained state");
	if (v->dim == 0)
		return vl_diag_set(d, VL_EINVAL, VL_NO_OFFSET, "dim must be positive");
	f16_state *s = malloc(sizeof *s);
	if (!s)
		return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory");
	s->k = vl_kern();
	v->state = s;
	v->pstride = vl_qalign((size_t)v->dim * 2, 16);
	v->sstride = 0;
	v->qbuf_size = (size_t)v->dim * 4;
	return VL_OK;
}

static void f16_close(vl_qview *v)
{
	free(v->state);
	v->state = NULL;
}

static uint16_t to_half(float x)
{
	if (x > VL_F16_MAX)
		return VL_F16_MAX_BITS;
	if (x < -VL_F16_MAX)
		return 0x8000u | VL_F16_MAX_BITS;
	return vl_f16_from_f32(x);
}

static void f16_encode(const vl_qview *v, const float *x, uint8_t *primary, uint8_t *secondary)
{
	if (!primary)
		return;
	int cos = v->metric == VL_METRIC_COSINE;
	double ss = 0;
	for (uint32_t i = 0; i < v->dim; i++)
		if (isfinite(x[i]))
			ss += (double)x[i] * x[i];
	double scale = cos && ss > 0 && isfinite(ss) ? 1.0 / sqrt(ss) : 1.0;
	for (uint32_t i = 0; i < v->dim; i++) {
		float c = isfinite(x[i]) ? (float)(x[i] * scale) : 0.0f;
		vl_st16(primary + 2 * (size_t)i, to_half(c));
	}
	memset(primary + 2 * (size_t)v->dim, 0, v->pstride - 2 * (size_t)v->dim);
}

static inline const uint16_t *row_ptr(const vl_qview *v, uint64_t row)
{
	return (const uint16_t *)(const void *)(v->primary + row * v->pstride);
}

static void f16_decode(const vl_qview *v, uint64_t row, int with_secondary, float *out)
{
	const uint8_t *p = v->primary + row * v->pstride;
	for (uint32_t i = 0; i < v->dim; i++)
		out[i] = vl_f16_to_f32(vl_ld16(p + 2 * (size_t)i));
}

static void f16_prepare(const vl_qview *v, const float *q, void *qbuf)
{
	vl_qclean(q, v->dim, v->metric == VL_METRIC_COSINE, qbuf);
}

static inline float finish(const vl_qview *v, float raw)
{
	switch (v->metric) {
	case VL_METRIC_IP: return -raw;
	case VL_METRIC_COSINE: return 1.0f - raw;
	default: return raw;
	}
}

static float f16_dist(const vl_qview *v, const void *qbuf, uint64_t row)
{
	const vl_kernels *k = ((const f16_state *)v->state)->k;
	if (v->metric == VL_METRIC_L2)
		return k->l2_f16(qbuf, row_ptr(v, row), v->dim);
	return finish(v, k->dot_f16(qbuf, row_ptr(v, row), v->dim));
}

static void f16_dist_range(const vl_qview *v, const void *qbuf, uint64_t row0, size_t n, float *out)
{
	const vl_kernels *k = ((const f16_state *)v->state)->k;
	const uint8_t *rows = v->primary + row0 * v->pstride;
	if (v->metric == VL_METRIC_L2) {
		k->l2_f16_batch(qbuf, rows, v->pstride, v->dim, n, out);
		return;
	}
	k->dot_f16_batch(qbuf, rows, v->pstride, v->dim, n, out);
	for (size_t i = 0; i < n; i++)
		out[i] = finish(v, out[i]);
}

static void f16_dist_rows(const vl_qview *v, const void *qbuf, const uint32_t *rows, size_t n,
                          float *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = f16_dist(v, qbuf, rows[i]);
}

const vl_quant_ops vl_quant_float16 = {
	.name = "float16",
	.id = VL_STORAGE_FLOAT16,
	.check_param = f16_check_param,
	.train = NULL,
	.train_rows = f16_train_rows,
	.open = f16_open,
	.close = f16_close,
	.encode = f16_encode,
	.decode = f16_decode,
	.prepare = f16_prepare,
	.dist = f16_dist,
	.dist_range = f16_dist_range,
	.dist_rows = f16_dist_rows,
	.dist_secondary = NULL,
};
