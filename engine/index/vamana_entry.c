/*
 * vamana_entry.c - where searches start and what they can reach: the
 * medoid used as the entry node, and the repair that gives every node an
 * in-edge path from it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "simd/simd.h"
#include "vamana.h"

#define MEDOID_CHUNKS 64u

typedef struct medoid_ctx {
	const vam_work *w;
	double *sums;              /* MEDOID_CHUNKS * dim */
	float *centre;
	float best_d[MEDOID_CHUNKS];
	uint32_t best_id[MEDOID_CHUNKS];
	uint64_t chunk;
	int only_linked;
} medoid_ctx;

static float inv_norm(const vam_work *w, uint32_t id)
{
	if (w->metric != VL_METRIC_COSINE || !w->q->norms)
		return 1.0f;
	float n = w->q->norms[id];
	return n > 0 ? 1.0f / n : 0.0f;
}

static void centroid_task(void *ctx, size_t c, unsigned tid)
{
	medoid_ctx *m = ctx;
	const vam_work *w = m->w;
	double *s = m->sums + c * w->dim;
	uint64_t from = c * m->chunk, to = from + m->chunk < w->n ? from + m->chunk : w->n;
	for (uint64_t r = from; r < to; r++) {
		const float *v = vam_vec(w, (uint32_t)r);
		float in = inv_norm(w, (uint32_t)r);
		for (uint32_t k = 0; k < w->dim; k++)
			s[k] += (double)(v[k] * in);
	}
}

static void nearest_task(void *ctx, size_t c, unsigned tid)
{
	medoid_ctx *m = ctx;
	const vam_work *w = m->w;
	const vl_kernels *k = vl_kern();
	uint64_t from = c * m->chunk, to = from + m->chunk < w->n ? from + m->chunk : w->n;
	float best = INFINITY;
	uint32_t id = from < w->n ? (uint32_t)from : 0;
	for (uint64_t r = from; r < to; r++) {
		if (m->only_linked && !w->deg[r])
			continue;
		const float *v = vam_vec(w, (uint32_t)r);
		float dd;
		if (w->metric == VL_METRIC_COSINE)
			dd = -k->dot_f32(m->centre, v, w->dim) * inv_norm(w, (uint32_t)r);
		else
			dd = k->l2_f32(m->centre, v, w->dim);
		if (dd < best) {
			best = dd;
			id = (uint32_t)r;
		}
	}
	m->best_d[c] = best;
	m->best_id[c] = id;
}

int vam_medoid(vam_work *w, int only_linked, uint32_t *out, vl_diag *d)
{
	medoid_ctx m = { .w = w, .only_linked = only_linked };
	m.chunk = (w->n + MEDOID_CHUNKS - 1) / MEDOID_CHUNKS;
	m.sums = calloc((size_t)MEDOID_CHUNKS * w->dim, sizeof *m.sums);
	m.centre = malloc((size_t)w->dim * sizeof *m.centre);
	if (!m.sums || !m.centre) {
		free(m.sums);
		free(m.centre);
		return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory");
	}
	vam_pool_run(w->pool, MEDOID_CHUNKS, centroid_task, &m);
	for (uint32_t k = 0; k < w->dim; k++) {
		double s = 0;
		for (unsigned c = 0; c < MEDOID_CHUNKS; c++)
			s += m.sums[(size_t)c * w->dim + k];
		m.centre[k] = (float)(s / (double)w->n);
	}
	vam_pool_run(w->pool, MEDOID_CHUNKS, nearest_task, &m);
	float best = m.best_d[0];
	uint32_t id = m.best_id[0];
	for (unsigned c = 1; c < MEDOID_CHUNKS; c++)
		if ((uint64_t)c * m.chunk < w->n && m.best_d[c] < best) {
			best = m.best_d[c];
			id = m.best_id[c];
		}
	*out = id;
	free(m.sums);
	free(m.centre);
	return VL_OK;
}

/* Mark everything reachable from `from` (not yet marked); returns how many. */
static uint64_t mark_from(const vam_work *w, uint32_t from, uint8_t *seen, uint32_t *queue)
{
	if (seen[from])
		return 0;
	size_t head = 0, tail = 0;
	queue[tail++] = from;
	seen[from] = 1;
	while (head < tail) {
		const uint32_t *row = w->adj + (uint64_t)queue[head++] * w->S;
		for (uint32_t j = 0; j < w->S && row[j] != VAM_PAD; j++)
			if (!seen[row[j]]) {
				seen[row[j]] = 1;
				queue[tail++] = row[j];
			}
	}
	return tail;
}

/* Give unreachable node u an in-edge from the nearest reachable node that
 * has a free slot (among the closest few), else replace the farthest
 * neighbour of the nearest one. */
static int link_in(vam_work *w, uint32_t u)
{
	vam_tls *t = &w->tls[0];
	vam_graph g = { w->adj, w->S, w->n, w->entry };
	vam_beam a = { .window = w->p.L < 64 ? w->p.L : 64, .buffer = 64, .record_expanded = 1 };
	uint64_t evals;
	int rc = vam_beam_search(&g, w->q, vam_query(w, t, u), t->s, &a, &evals);
	size_t ne = t->s->exp_n;
	if (rc || vam_tls_reserve(t, ne + w->R))
		return VL_ENOMEM;
	memcpy(t->pool, t->s->expanded, ne * sizeof *t->pool);
	qsort(t->pool, ne, sizeof *t->pool, vam_cmp_cand);
	uint32_t v = UINT32_MAX;
	for (size_t i = 0; i < ne && i < 8 && v == UINT32_MAX; i++)
		if (t->pool[i].id != u && w->deg[t->pool[i].id] < w->R)
			v = t->pool[i].id;
	if (v != UINT32_MAX) {
		w->adj[(uint64_t)v * w->S + w->deg[v]++] = u;
		return VL_OK;
	}
	for (size_t i = 0; i < ne && v == UINT32_MAX; i++)
		if (t->pool[i].id != u)
			v = t->pool[i].id;
	if (v == UINT32_MAX)
		return VL_OK;
	uint32_t *row = w->adj + (uint64_t)v * w->S;
	w->q->ops->dist_rows(w->q, vam_query(w, t, v), row, w->deg[v], t->dists);
	uint32_t far = 0;
	for (uint32_t j = 1; j < w->deg[v]; j++)
		if (t->dists[j] > t->dists[far])
			far = j;
	row[far] = u;
	return VL_OK;
}

int vam_connect(vam_work *w, vl_diag *d)
{
	if (w->n == 0)
		return VL_OK;
	uint8_t *seen = malloc(w->n);
	uint32_t *queue = malloc(w->n * sizeof *queue);
	int rc = VL_OK;
	if (!seen || !queue) {
		rc = vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory");
		goto out;
	}
	for (int sweep = 0; sweep < 3; sweep++) {
		memset(seen, 0, w->n);
		uint64_t reached = mark_from(w, w->entry, seen, queue);
		if (reached == w->n)
			break;
		for (uint64_t u = 0; u < w->n && rc == VL_OK; u++) {
			if (seen[u])
				continue;
			if ((rc = link_in(w, (uint32_t)u)))
				rc = vl_diag_set(d, rc, VL_NO_OFFSET, "out of memory linking the vamana graph");
			mark_from(w, (uint32_t)u, seen, queue);
		}
	}
out:
	free(seen);
	free(queue);
	return rc;
}

