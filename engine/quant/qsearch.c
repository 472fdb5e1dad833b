/* qsearch.c - flat search on a storage view with re-ranking (see qsearch.h). */
#include <math.h>
#include <stdlib.h>

#include "qcommon.h"
#include "qsearch.h"
#include "simd/simd.h"
#include "topk.h"

#define BLOCK 256

float vl_quant_exact_dist(vl_metric m, const float *q, const float *x, uint32_t dim)
{
	const vl_kernels *k = vl_kern();
	if (m == VL_METRIC_L2)
		return k->l2_f32(q, x, dim);
	float dot = k->dot_f32(q, x, dim);
	if (m == VL_METRIC_IP)
		return -dot;
	float qq = k->dot_f32(q, q, dim), xx = k->dot_f32(x, x, dim);
	return qq > 0 && xx > 0 ? 1.0f - dot / sqrtf(qq * xx) : 1.0f;
}

static void scan(const vl_qview *v, const void *qbuf, vl_topk *t)
{
	float dist[BLOCK];
	for (uint64_t r0 = 0; r0 < v->nrows; r0 += BLOCK) {
		size_t n = v->nrows - r0 < BLOCK ? (size_t)(v->nrows - r0) : BLOCK;
		v->ops->dist_range(v, qbuf, r0, n, dist);
		float worst = vl_topk_worst(t);
		for (size_t i = 0; i < n; i++)
			if (dist[i] <= worst && vl_topk_push(t, dist[i], (uint32_t)(r0 + i), 0))
				worst = vl_topk_worst(t);
	}
}

int vl_quant_search(const vl_qview *v, const float *originals, const float *q, uint32_t k,
                    uint32_t oversample, vl_qrerank mode, uint32_t *ids, float *dists)
{
	if (mode == VL_QRERANK_SECONDARY && !v->ops->dist_secondary)
		mode = VL_QRERANK_FULL;
	if (mode == VL_QRERANK_FULL && !originals)
		mode = VL_QRERANK_NONE;
	size_t cap = mode == VL_QRERANK_NONE ? k : (size_t)k * (oversample ? oversample : 1);
	void *qbuf = vl_qalloc(v->qbuf_size);
	vl_topk cand = { 0 }, best = { 0 };
	int rc = VL_ENOMEM;
	if (!qbuf || vl_topk_init(&cand, cap) || vl_topk_init(&best, k))
		goto out;
	v->ops->prepare(v, q, qbuf);
	scan(v, qbuf, &cand);
	if (mode == VL_QRERANK_NONE) {
		for (size_t i = 0; i < cand.n; i++)
			vl_topk_push(&best, cand.a[i].dist, cand.a[i].row, 0);
	} else if (mode == VL_QRERANK_SECONDARY && v->ops->dist_secondary_rows) {
		uint32_t rows[BLOCK];
		float dist[BLOCK];
		for (size_t i0 = 0; i0 < cand.n; i0 += BLOCK) {
			size_t nb = cand.n - i0 < BLOCK ? cand.n - i0 : BLOCK;
			for (size_t i = 0; i < nb; i++)
				rows[i] = cand.a[i0 + i].row;
			v->ops->dist_secondary_rows(v, qbuf, rows, nb, dist);
			for (size_t i = 0; i < nb; i++)
				vl_topk_push(&best, dist[i], rows[i], 0);
		}
	} else {
		for (size_t i = 0; i < cand.n; i++) {
			uint32_t row = cand.a[i].row;
			float d = mode == VL_QRERANK_SECONDARY
			              ? v->ops->dist_secondary(v, qbuf, row)
			              : vl_quant_exact_dist(v->metric, q, originals + (size_t)row * v->dim, v->dim);
			vl_topk_push(&best, d, row, 0);
		}
	}
	vl_topk_sort(&best);
	for (uint32_t i = 0; i < k; i++) {
		ids[i] = i < best.n ? best.a[i].row : UINT32_MAX;
		if (dists)
			dists[i] = i < best.n ? best.a[i].dist : INFINITY;
	}
	rc = VL_OK;
out:
	vl_topk_free(&cand);
	vl_topk_free(&best);
	free(qbuf);
	return rc;
}
