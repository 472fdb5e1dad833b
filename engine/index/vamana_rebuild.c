/*
 * vamana_rebuild.c - the graph of a compacted segment from its sources'
 * graphs (FreshDiskANN consolidation + inserts), instead of from scratch.
 *
 *   1. The source with the most live rows is the base. Each live node p of
 *      the base keeps its live neighbours and, for every deleted neighbour
 *      v, inherits v's live neighbours (one hop): C = (N(p) \ D) u U_{v in
 *      N(p) n D} (N(v) \ D \ {p}), renumbered to the new rows. If |C| <= R
 *      it becomes N(p), otherwise RobustPrune(p, C, alpha, R).
 *   2. The entry becomes the medoid of the new segment's rows.
 *   3. Every other row (rows of the other sources, and base rows left with
 *      no neighbours) is inserted as in a construction pass with the final
 *      alpha: search, prune, back-edges.
 *
 * When the base holds less than half of the new rows, a one-pass insertion
 * of the majority would give a weaker graph than a fresh two-pass build, so
 * the index is built from scratch instead (meta origin = 2).
 */
#include <stdlib.h>
#include <string.h>

#include "vamana.h"

typedef struct consol {
	vam_work *w;
	const vam_state *base;
	const uint32_t *map;       /* base row -> new row or UINT32_MAX */
	uint64_t nbase;
	uint32_t **lists;          /* per thread: candidate list */
	size_t list_cap;
	int err;
} consol;

static void add_unique(uint32_t *list, size_t *n, uint32_t id)
{
	for (size_t i = 0; i < *n; i++)
		if (list[i] == id)
			return;
	list[(*n)++] = id;
}

static void consolidate_task(void *ctx, size_t p, unsigned tid)
{
	consol *c = ctx;
	uint32_t np = c->map[p];
	if (np == UINT32_MAX)
		return;
	const vam_graph *g = &c->base->g;
	uint32_t *list = c->lists[tid];
	size_t n = 0;
	const uint32_t *row = g->adj + (uint64_t)p * g->R;
	for (uint32_t j = 0; j < g->R && row[j] != VAM_PAD; j++) {
		uint32_t v = row[j];
		if (v >= c->nbase)
			continue;
		if (c->map[v] != UINT32_MAX) {
			if (c->map[v] != np)
				add_unique(list, &n, c->map[v]);
			continue;
		}
		const uint32_t *vrow = g->adj + (uint64_t)v * g->R;
		for (uint32_t k = 0; k < g->R && vrow[k] != VAM_PAD; k++) {
			uint32_t u = vrow[k];
			if (u < c->nbase && u != p && c->map[u] != UINT32_MAX && c->map[u] != np)
				add_unique(list, &n, c->map[u]);
		}
	}
	vam_work *w = c->w;
	if (n <= w->R) {
		uint32_t *dst = w->adj + (uint64_t)np * w->S;
		memcpy(dst, list, n * sizeof *dst);
		w->deg[np] = (uint32_t)n;
		return;
	}
	if (vam_repair_node(w, tid, np, list, n, w->p.alpha))
		c->err = VL_ENOMEM;
}

/* Check the row maps: every target < nrows and used once. */
static int check_maps(const vl_index_build *b, const uint32_t *const *map,
                      const uint64_t *src_rows, size_t nsrc, uint8_t *seen, vl_diag *d)
{
	for (size_t i = 0; i < nsrc; i++)
		for (uint64_t r = 0; r < src_rows[i]; r++) {
			uint32_t t = map[i][r];
			if (t == UINT32_MAX)
				continue;
			if (t >= b->nrows || seen[t])
				return vl_diag_set(d, VL_EINVAL, VL_NO_OFFSET,
				                   "vamana rebuild: source %zu row %llu maps to row %u (%s)", i,
				                   (unsigned long long)r, t, t >= b->nrows ? "out of range" : "twice");
			seen[t] = 1;
		}
	return VL_OK;
}

static size_t pick_base(void *const *src, const uint32_t *const *map, const uint64_t *src_rows,
                        size_t nsrc, const vl_index_build *b, uint64_t *live_out)
{
	size_t best = SIZE_MAX;
	uint64_t best_live = 0;
	for (size_t i = 0; i < nsrc; i++) {
		const vam_state *s = src[i];
		/* a base must be a graph over exactly the source's rows, same metric */
		if (!s || s->g.n != src_rows[i] || s->metric != (uint8_t)b->metric)
			continue;
		uint64_t live = 0;
		for (uint64_t r = 0; r < src_rows[i]; r++)
			live += map[i][r] != UINT32_MAX;
		if (best == SIZE_MAX || live > best_live) {
			best = i;
			best_live = live;
		}
	}
	*live_out = best_live;
	return best;
}

static int consolidate(vam_work *w, const vam_state *base, const uint32_t *map, uint64_t nbase,
                       vl_diag *d)
{
	consol c = { .w = w, .base = base, .map = map, .nbase = nbase };
	c.list_cap = (size_t)base->g.R * (base->g.R + 1);
	c.lists = calloc(w->threads, sizeof *c.lists);
	int rc = c.lists ? VL_OK : VL_ENOMEM;
	for (unsigned t = 0; rc == VL_OK && t < w->threads; t++)
		if (!(c.lists[t] = malloc(c.list_cap * sizeof **c.lists)))
			rc = VL_ENOMEM;
	if (rc == VL_OK) {
		vam_pool_run(w->pool, nbase, consolidate_task, &c);
		rc = c.err;
	}
	for (unsigned t = 0; c.lists && t < w->threads; t++)
		free(c.lists[t]);
	free(c.lists);
	if (rc)
		return vl_diag_set(d, rc, VL_NO_OFFSET, "out of memory consolidating the vamana graph");
	return VL_OK;
}

int vam_rebuild(const vl_index_build *b, void *const *src, const uint32_t *const *map,
                const uint64_t *src_rows, size_t nsrc, vl_diag *d)
{
	uint64_t live = 0;
	size_t bi = pick_base(src, map, src_rows, nsrc, b, &live);
	if (bi == SIZE_MAX || live * 2 < b->nrows)
		return vam_build_full(b, 2, d);
	vam_work w;
	int rc = vam_work_init(&w, b, d);
	if (rc)
		return rc;
	w.origin = 1;
	uint8_t *covered = calloc(b->nrows ? b->nrows : 1, 1);
	uint32_t *ins = malloc((size_t)(b->nrows ? b->nrows : 1) * sizeof *ins);
	uint32_t *perm = malloc((size_t)(b->nrows ? b->nrows : 1) * sizeof *perm);
	if (!covered || !ins || !perm) {
		rc = vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory");
		goto out;
	}
	if ((rc = check_maps(b, map, src_rows, nsrc, covered, d)))
		goto out;
	if ((rc = consolidate(&w, src[bi], map[bi], src_rows[bi], d)))
		goto out;
	/* the entry must already have edges into the consolidated graph */
	if (w.n && (rc = vam_medoid(&w, 1, &w.entry, d)))
		goto out;
	/* rows to insert: not from the base, or left without neighbours;
	 * in a seeded random order */
	memset(covered, 0, b->nrows);
	for (uint64_t r = 0; r < src_rows[bi]; r++)
		if (map[bi][r] != UINT32_MAX && w.deg[map[bi][r]])
			covered[map[bi][r]] = 1;
	vam_permute(perm, w.n, w.seed);
	size_t nins = 0;
	for (uint64_t i = 0; i < w.n; i++)
		if (!covered[perm[i]])
			ins[nins++] = perm[i];
	if ((rc = vam_insert_pass(&w, ins, nins, w.p.alpha, w.R / 2, 0, "vamana merge", d)) ||
	    (rc = vam_connect(&w, d)))
		goto out;
	rc = vam_write_sections(&w, b, d);
out:
	free(covered);
	free(ins);
	free(perm);
	vam_work_free(&w);
	return rc;
}
