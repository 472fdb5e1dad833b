/*
 * hnsw_adopt.c - write a ready-made HNSW graph (vl_hnsw_graph, e.g. a FAISS
 * IndexHNSWFlat's) as a segment's hnsw sections instead of building one.
 *
 * The graph comes through callbacks, so it is never copied whole: levels are
 * read once into a byte per node (the upper table needs them up front), then
 * each neighbour list is fetched once, checked and streamed into its
 * section. Everything `verify` would check is checked here (degrees within
 * the caps, ids in range, no self links or repeats, upper-level neighbours
 * on that level, the entry on the top level), so the segment written passes
 * verify, and a graph that does not fit fails with VL_EINVAL naming the node
 * and level. The meta section goes last: its edge counts are known only
 * after the lists (readers find sections by kind, not by position).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "hnsw.h"
#include "io/segwriter.h"
#include "vl_bytes.h"

#define OUTBUF (64u * 1024u)

typedef struct adopt {
	const vl_hnsw_graph *g;
	const vl_index_build *b;
	uint64_t n;
	uint32_t M, M0;
	uint8_t *level;            /* per node */
	uint32_t *mark;            /* per node: stamp of the last list that named it */
	uint32_t stamp;
	uint32_t *ids;             /* one list from the callback (M0 ids) */
	uint8_t *out;              /* little-endian words waiting for vl_segw_write */
	size_t outlen;
	uint64_t edges0, edges_upper, n_upper, upper_words;
} adopt;

static int flush_out(adopt *a)
{
	int rc = a->outlen ? vl_segw_write(a->b->w, a->out, a->outlen) : VL_OK;
	a->outlen = 0;
	return rc;
}

static int put32(adopt *a, uint32_t v)
{
	if (a->outlen + 4 > OUTBUF) {
		int rc = flush_out(a);
		if (rc)
			return rc;
	}
	vl_st32(a->out + a->outlen, v);
	a->outlen += 4;
	return VL_OK;
}

#define MISFIT(d, ...) vl_diag_set(d, VL_EINVAL, VL_NO_OFFSET, "HNSW graph: " __VA_ARGS__)

static void new_stamp(adopt *a)
{
	if (++a->stamp == 0) {
		memset(a->mark, 0, a->n * sizeof *a->mark);
		a->stamp = 1;
	}
}

/* Fetch, check and write one list: degree, ids, padding up to cap. */
static int one_list(adopt *a, uint64_t node, uint32_t level, uint32_t cap, vl_diag *d)
{
	const vl_hnsw_graph *g = a->g;
	int cnt = g->neighbors(g->ud, node, level, a->ids, cap);
	if (cnt < 0)
		return vl_diag_set(d, cnt, VL_NO_OFFSET,
		                   "HNSW graph: reading the neighbours of node %" PRIu64 " on level %u "
		                   "failed (%s)", node, level, vl_strerror(cnt));
	if ((uint32_t)cnt > cap)
		return MISFIT(d, "node %" PRIu64 " has %d neighbours on level %u, more than its cap %u",
		              node, cnt, level, cap);
	new_stamp(a);
	int rc = put32(a, (uint32_t)cnt);
	for (int j = 0; j < cnt && rc == VL_OK; j++) {
		uint32_t id = a->ids[j];
		if (id >= a->n)
			return MISFIT(d, "node %" PRIu64 " level %u: neighbour %u is outside 0..%" PRIu64,
			              node, level, id, a->n - 1);
		if (id == node)
			return MISFIT(d, "node %" PRIu64 " level %u links to itself", node, level);
		if (a->mark[id] == a->stamp)
			return MISFIT(d, "node %" PRIu64 " level %u lists neighbour %u twice", node, level,
			              id);
		if (level && a->level[id] < level)
			return MISFIT(d, "node %" PRIu64 " level %u: neighbour %u is not on that level "
			                 "(its top level is %u)", node, level, id, a->level[id]);
		a->mark[id] = a->stamp;
		rc = put32(a, id);
	}
	for (uint32_t j = (uint32_t)cnt; j < cap && rc == VL_OK; j++)
		rc = put32(a, HNSW_PAD);
	if (level)
		a->edges_upper += (uint64_t)cnt;
	else
		a->edges0 += (uint64_t)cnt;
	return rc;
}

static int progress(adopt *a, uint64_t done, vl_diag *d)
{
	const vl_index_build *b = a->b;
	if ((done & 65535) == 0 && b->progress &&
	    b->progress(b->progress_ud, "hnsw-adopt", done, a->n))
		return vl_diag_set(d, VL_ECANCELED, VL_NO_OFFSET, "canceled while writing the HNSW graph");
	return VL_OK;
}

/* Levels of every node (<= max_level), the entry on top, upper sizes. */
static int read_levels(adopt *a, vl_diag *d)
{
	const vl_hnsw_graph *g = a->g;
	for (uint64_t v = 0; v < a->n; v++) {
		int l = g->level(g->ud, v);
		if (l < 0)
			return vl_diag_set(d, l, VL_NO_OFFSET,
			                   "HNSW graph: reading the level of node %" PRIu64 " failed (%s)", v,
			                   vl_strerror(l));
		if ((uint32_t)l > g->max_level)
			return MISFIT(d, "node %" PRIu64 " has level %d, above the graph's max_level %u", v,
			              l, g->max_level);
		a->level[v] = (uint8_t)l;
		if (l) {
			a->n_upper++;
			a->upper_words += (uint64_t)l * (a->M + 1);
		}
	}
	if (a->n && a->level[g->entry] != g->max_level)
		return MISFIT(d, "the entry node %u has level %u, not max_level %u", g->entry,
		              a->level[g->entry], g->max_level);
	return VL_OK;
}

static int write_layer0(adopt *a, vl_diag *d)
{
	vl_segw *w = a->b->w;
	int rc = vl_segw_begin(w, VL_SEC_HNSW_L0, 0, ((uint64_t)a->M0 + 1) * 4);
	for (uint64_t v = 0; v < a->n && rc == VL_OK; v++)
		if ((rc = one_list(a, v, 0, a->M0, d)) == VL_OK)
			rc = progress(a, v + 1, d);
	if (rc == VL_OK)
		rc = flush_out(a);
	return rc ? rc : vl_segw_end(w);
}

static int write_upper(adopt *a, vl_diag *d)
{
	vl_segw *w = a->b->w;
	uint64_t off = 0;
	int rc = vl_segw_begin(w, VL_SEC_HNSW_UPPER, 0, 0);
	for (uint64_t v = 0; v < a->n && rc == VL_OK; v++) {
		if (!a->level[v])
			continue;
		uint8_t e[HNSW_UPPER_ENTRY];
		vl_st32(e, (uint32_t)v);
		vl_st32(e + 4, a->level[v]);
		vl_st64(e + 8, off);
		off += (uint64_t)a->level[v] * (a->M + 1);
		rc = vl_segw_write(w, e, sizeof e);
	}
	if (rc || (rc = vl_segw_end(w)) || (rc = vl_segw_begin(w, VL_SEC_HNSW_LINKS, 0, 0)))
		return rc;
	for (uint64_t v = 0; v < a->n && rc == VL_OK; v++)
		for (uint32_t l = 1; l <= a->level[v] && rc == VL_OK; l++)
			rc = one_list(a, v, l, a->M, d);
	if (rc == VL_OK)
		rc = flush_out(a);
	return rc ? rc : vl_segw_end(w);
}

static int write_meta(adopt *a, const hnsw_params *p)
{
	const vl_hnsw_graph *g = a->g;
	uint8_t m[HNSW_META_BYTES] = { 0 };
	memcpy(m, HNSW_MAGIC, 8);
	vl_st32(m + 8, HNSW_VERSION);
	vl_st32(m + 12, HNSW_META_BYTES);
	vl_st64(m + 16, a->n);
	vl_st32(m + 24, a->M);
	vl_st32(m + 28, a->M0);
	vl_st32(m + 32, g->ef_construction ? g->ef_construction : p->efc);
	vl_st32(m + 36, p->ef);
	vl_st32(m + 40, a->n ? g->entry : 0);
	vl_st32(m + 44, a->n ? g->max_level : 0);
	vl_st64(m + 48, a->n_upper);
	vl_st64(m + 56, a->upper_words);
	vl_st64(m + 64, a->edges0);
	vl_st64(m + 72, a->edges_upper);
	vl_st64(m + 80, 0); /* no build seed: the graph came from outside */
	m[88] = (uint8_t)a->b->metric;
	vl_segw *w = a->b->w;
	int rc;
	if ((rc = vl_segw_begin(w, VL_SEC_HNSW_META, 0, 0)) || (rc = vl_segw_write(w, m, sizeof m)))
		return rc;
	return vl_segw_end(w);
}

int hnsw_adopt(const vl_index_build *b, const void *prebuilt, vl_diag *d)
{
	const vl_hnsw_graph *g = prebuilt;
	hnsw_params p;
	int rc = hnsw_parse_params(&b->params, &p, d);
	if (rc)
		return rc;
	if (!g || g->size < sizeof *g || !g->level || !g->neighbors)
		return vl_diag_set(d, VL_EINVAL, VL_NO_OFFSET, "HNSW graph: incomplete description");
	if (g->M != p.M)
		return vl_diag_set(d, VL_EINVAL, VL_NO_OFFSET,
		                   "HNSW graph: M=%u but the collection's M is %u", g->M, p.M);
	if (g->nodes != b->nrows)
		return vl_diag_set(d, VL_EINVAL, VL_NO_OFFSET,
		                   "HNSW graph: %" PRIu64 " nodes but the segment holds %" PRIu64
		                   " rows (node i must be the i-th row added)", g->nodes, b->nrows);
	if (b->nrows >= UINT32_MAX)
		return vl_diag_set(d, VL_ELIMIT, VL_NO_OFFSET, "hnsw: at most 2^32-2 rows per segment");
	if (g->max_level > HNSW_MAX_LEVEL)
		return vl_diag_set(d, VL_EINVAL, VL_NO_OFFSET,
		                   "HNSW graph: max_level %u is above %u", g->max_level, HNSW_MAX_LEVEL);
	if (b->nrows && g->entry >= b->nrows)
		return vl_diag_set(d, VL_EINVAL, VL_NO_OFFSET,
		                   "HNSW graph: entry node %u is outside 0..%" PRIu64, g->entry,
		                   b->nrows - 1);
	adopt a = { .g = g, .b = b, .n = b->nrows, .M = p.M, .M0 = 2 * p.M };
	a.level = malloc(a.n ? a.n : 1);
	a.mark = calloc(a.n ? a.n : 1, sizeof *a.mark);
	a.ids = malloc(((size_t)a.M0 + 1) * sizeof *a.ids);
	a.out = malloc(OUTBUF);
	if (!a.level || !a.mark || !a.ids || !a.out) {
		rc = vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory adopting an HNSW graph");
		goto out;
	}
	if ((rc = read_levels(&a, d)) || (rc = write_layer0(&a, d)) || (rc = write_upper(&a, d)) ||
	    (rc = write_meta(&a, &p)))
		goto out;
out:
	free(a.level);
	free(a.mark);
	free(a.ids);
	free(a.out);
	return rc;
}
