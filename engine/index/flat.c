/*
 * flat.c - the exact baseline: no index sections; search scans every row's
 * primary code in blocks and keeps the best accepted candidates.
 */
#include <stdlib.h>

#include "index.h"

#define BLOCK 256

typedef struct flat_state {
	const vl_qview *q;
	uint64_t nrows;
} flat_state;

static int flat_check_param(const char *name, const char *value, uint32_t dim, vl_metric metric,
                            vl_diag *d)
{
	return VL_ENOTFOUND;
}

static int flat_check_runtime_param(const char *name, const char *value, vl_diag *d)
{
	return VL_ENOTFOUND;
}

static int flat_open(const vl_index_seg *seg, void **state, vl_diag *d)
{
	flat_state *s = malloc(sizeof *s);
	if (!s)
		return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory");
	s->q = seg->q;
	s->nrows = seg->nrows;
	*state = s;
	return VL_OK;
}

static void flat_close(void *state) { free(state); }

static int flat_search(void *state, const vl_index_query *qr, vl_topk *out, vl_diag *d)
{
	const flat_state *s = state;
	const vl_qview *q = s->q;
	float dist[BLOCK];
	for (uint64_t r0 = 0; r0 < s->nrows; r0 += BLOCK) {
		size_t n = s->nrows - r0 < BLOCK ? (size_t)(s->nrows - r0) : BLOCK;
		q->ops->dist_range(q, qr->qbuf, r0, n, dist);
		float worst = vl_topk_worst(out);
		for (size_t i = 0; i < n; i++) {
			if (dist[i] > worst)
				continue;
			uint32_t row = (uint32_t)(r0 + i);
			if (!vl_accepts(&qr->accept, row))
				continue;
			if (vl_topk_push(out, dist[i], row, qr->src))
				worst = vl_topk_worst(out);
		}
	}
	if (qr->distance_evals)
		*qr->distance_evals += s->nrows;
	return VL_OK;
}

static int flat_verify(void *state, vl_diag *d) { return VL_OK; }

const vl_index_ops vl_index_flat = {
	.name = "flat",
	.id = VL_INDEX_FLAT,
	.check_param = flat_check_param,
	.check_runtime_param = flat_check_runtime_param,
	.defaults = NULL,
	.build = NULL,
	.open = flat_open,
	.close = flat_close,
	.search = flat_search,
	.verify = flat_verify,
	.describe = NULL,
};
