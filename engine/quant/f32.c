/*
 * f32.c - float32 storage: the originals themselves are the primary level.
 *
 * No training, no PRIMARY section: the view's primary points at VECTORS.
 * Cosine uses the per-row norms (NORMS section) so originals stay unmodified.
 */
#include <math.h>
#include <string.h>

#include "quant.h"
#include "segment.h"
#include "simd/simd.h"

/* Query buffer: the query (normalized for cosine). */

static int f32_check_param(const char *name, const char *value, uint32_t dim, vl_diag *d)
{
	return VL_ENOTFOUND;
}

static size_t f32_train_rows(uint32_t dim, const char *const *params, size_t nparams)
{
	return 0;
}

static int f32_open(vl_qview *v, const uint8_t *state, size_t state_len, vl_diag *d)
{
	if (state_len)
		return vl_diag_set(d, VL_ECORRUPT, VL_NO_OFFSET, "float32 storage has no trained state");
	v->state = NULL;
	v->pstride = (size_t)v->dim * 4;
	v->sstride = 0;
	v->qbuf_size = (size_t)v->dim * 4;
	return VL_OK;
}

static void f32_close(vl_qview *v) { v->state = NULL; }

static void f32_encode(const vl_qview *v, const float *x, uint8_t *primary, uint8_t *secondary)
{
	if (primary)
		memcpy(primary, x, (size_t)v->dim * 4);
}

static inline const float *row_ptr(const vl_qview *v, uint64_t row)
{
	return (const float *)(const void *)(v->primary + row * v->pstride);
}

static void f32_decode(const vl_qview *v, uint64_t row, int with_secondary, float *out)
{
	memcpy(out, row_ptr(v, row), (size_t)v->dim * 4);
}

static void f32_prepare(const vl_qview *v, const float *q, void *qbuf)
{
	float *out = qbuf;
	memcpy(out, q, (size_t)v->dim * 4);
	if (v->metric == VL_METRIC_COSINE) {
		float n = sqrtf(vl_kern()->dot_f32(q, q, v->dim));
		if (n > 0)
			for (uint32_t i = 0; i < v->dim; i++)
				out[i] /= n;
	}
}

static inline float finish(const vl_qview *v, float raw, uint64_t row)
{
	switch (v->metric) {
	case VL_METRIC_IP:
		return -raw;
	case VL_METRIC_COSINE: {
		float n = v->norms ? v->norms[row] : 1.0f;
		return n > 0 ? 1.0f - raw / n : 1.0f;
	}
	default:
		return raw;
	}
}

static float f32_dist(const vl_qview *v, const void *qbuf, uint64_t row)
{
	const vl_kernels *k = vl_kern();
	const float *x = row_ptr(v, row);
	if (v->metric == VL_METRIC_L2)
		return k->l2_f32(qbuf, x, v->dim);
	return finish(v, k->dot_f32(qbuf, x, v->dim), row);
}

static void f32_dist_range(const vl_qview *v, const void *qbuf, uint64_t row0, size_t n, float *out)
{
	const vl_kernels *k = vl_kern();
	if (v->metric == VL_METRIC_L2) {
		k->l2_f32_batch(qbuf, row_ptr(v, row0), v->dim, n, out);
		return;
	}
	k->dot_f32_batch(qbuf, row_ptr(v, row0), v->dim, n, out);
	for (size_t i = 0; i < n; i++)
		out[i] = finish(v, out[i], row0 + i);
}

static void f32_dist_rows(const vl_qview *v, const void *qbuf, const uint32_t *rows, size_t n,
                          float *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = f32_dist(v, qbuf, rows[i]);
}

const vl_quant_ops vl_quant_float32 = {
	.name = "float32",
	.id = VL_STORAGE_FLOAT32,
	.check_param = f32_check_param,
	.train = NULL,
	.train_rows = f32_train_rows,
	.open = f32_open,
	.close = f32_close,
	.encode = f32_encode,
	.decode = f32_decode,
	.prepare = f32_prepare,
	.dist = f32_dist,
	.dist_range = f32_dist_range,
	.dist_rows = f32_dist_rows,
	.dist_secondary = NULL,
};
