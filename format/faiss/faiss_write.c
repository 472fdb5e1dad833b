/*
 * faiss_write.c - write FAISS index files for `veclite export --format faiss`.
 *
 * Output: [IndexIDMap2 over] IndexFlatL2/IP, or [IndexIDMap2 over]
 * IndexHNSWFlat with IndexFlatL2/IP storage, in the layout FAISS 1.7+ reads
 * (see faiss_read.c and friends for the field by field description).
 * Pure: vectors, ids and the graph come from caller callbacks, bytes go to a
 * FILE*. Memory: the ids (8 bytes a row) and the per-node level counts.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "faiss_internal.h"

#define CC(s) VL_FAISS_FOURCC((s)[0], (s)[1], (s)[2], (s)[3])

typedef struct out {
	FILE *f;
	vl_diag *d;
	int rc;
} out;

static void put(out *o, const void *p, size_t n)
{
	if (o->rc == 0 && n && fwrite(p, 1, n, o->f) != n)
		o->rc = vl_diag_set(o->d, VL_EIO, VL_NO_OFFSET, "write failed");
}

static void put_u8(out *o, uint8_t v) { put(o, &v, 1); }

static void put_u32(out *o, uint32_t v)
{
	uint8_t b[4];
	vl_st32(b, v);
	put(o, b, 4);
}

static void put_u64(out *o, uint64_t v)
{
	uint8_t b[8];
	vl_st64(b, v);
	put(o, b, 8);
}

static void put_cc(out *o, const char *s) { put_u32(o, CC(s)); }

/* Common header; FAISS writes 1 << 20 in both unused fields. */
static void put_header(out *o, const vl_faiss_write_opts *w)
{
	put_u32(o, w->dim);
	put_u64(o, w->count);
	put_u64(o, (uint64_t)1 << 20);
	put_u64(o, (uint64_t)1 << 20);
	put_u8(o, 1);
	put_u32(o, (uint32_t)w->metric_type);
}

/* HNSW::set_default_probas(M, 1 / ln M) as FAISS computes it, so a written
 * file matches FAISS's byte for byte: level_mult is a float, the exponents
 * are float quotients, exp() runs in double and the product is stored in a
 * float (checked against files written by FAISS 1.7.3). */
static uint32_t default_probas(uint32_t M, double *probas, uint32_t cap)
{
	float level_mult = (float)(1.0 / log((double)M));
	float e1 = -1 / level_mult;
	uint32_t n = 0;
	for (int level = 0; n < cap; level++) {
		float el = (float)-level / level_mult;
		float proba = (float)(exp((double)el) * (1 - exp((double)e1)));
		if (proba < 1e-9)
			break;
		probas[n++] = proba;
	}
	return n;
}

typedef struct graph_plan {
	double probas[64];
	uint32_t nprobas;
	int32_t cum[66];
	uint32_t ncum;
	int32_t *levels;
} graph_plan;

static int plan_graph(const vl_faiss_write_opts *w, graph_plan *p, vl_diag *d)
{
	const vl_faiss_graph *g = w->graph;
	if (g->M < 2 || g->M > 1u << 16)
		return vl_diag_set(d, VL_EINVAL, VL_NO_OFFSET, "HNSW M = %u out of range 2..65536",
		                   g->M);
	p->nprobas = default_probas(g->M, p->probas, 64);
	p->levels = malloc((w->count ? w->count : 1) * sizeof *p->levels);
	if (!p->levels)
		return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory for %llu levels",
		                   (unsigned long long)w->count);
	int32_t maxlev = 0;
	for (uint64_t i = 0; i < w->count; i++) {
		int lv = g->levels(g->ctx, i);
		if (lv < 1 || lv > 64)
			return vl_diag_set(d, VL_EINVAL, VL_NO_OFFSET,
			                   "HNSW node %llu has %d levels (1..64)", (unsigned long long)i, lv);
		p->levels[i] = lv;
		maxlev = lv > maxlev ? lv : maxlev;
	}
	while (p->nprobas < (uint32_t)maxlev)
		p->probas[p->nprobas++] = 0.0;  /* deeper than the default table: never drawn */
	p->ncum = p->nprobas + 1;
	p->cum[0] = 0;
	for (uint32_t l = 1; l < p->ncum; l++)
		p->cum[l] = p->cum[l - 1] + (int32_t)(l == 1 ? 2 * g->M : g->M);
	if (w->count) {
		if (g->entry_point < 0 || (uint64_t)g->entry_point >= w->count ||
		    g->max_level != p->levels[g->entry_point] - 1)
			return vl_diag_set(d, VL_EINVAL, VL_NO_OFFSET,
			                   "HNSW entry point %d / max_level %d do not match the levels",
			                   g->entry_point, g->max_level);
	}
	return 0;
}

static void put_hnsw(out *o, const vl_faiss_write_opts *w, const graph_plan *p)
{
	const vl_faiss_graph *g = w->graph;
	uint64_t n = w->count;
	put_u64(o, p->nprobas);
	for (uint32_t l = 0; l < p->nprobas; l++) {
		uint8_t b[8];
		vl_stf64(b, p->probas[l]);
		put(o, b, 8);
	}
	put_u64(o, p->ncum);
	for (uint32_t l = 0; l < p->ncum; l++)
		put_u32(o, (uint32_t)p->cum[l]);
	put_u64(o, n);
	for (uint64_t i = 0; i < n; i++)
		put_u32(o, (uint32_t)p->levels[i]);
	put_u64(o, n + 1);
	uint64_t total = 0;
	put_u64(o, 0);
	for (uint64_t i = 0; i < n; i++) {
		total += (uint64_t)p->cum[p->levels[i]];
		put_u64(o, total);
	}
	put_u64(o, total);
	uint32_t slots = 2 * g->M;
	int32_t *buf = malloc(slots * sizeof *buf);
	if (!buf) {
		o->rc = vl_diag_set(o->d, VL_ENOMEM, VL_NO_OFFSET, "out of memory");
		return;
	}
	for (uint64_t i = 0; i < n && o->rc == 0; i++) {
		for (int l = 0; l < p->levels[i]; l++) {
			uint32_t cap = (uint32_t)(p->cum[l + 1] - p->cum[l]);
			uint32_t got = g->neighbors(g->ctx, i, l, buf, cap);
			if (got > cap)
				got = cap;
			for (uint32_t k = 0; k < cap; k++) {
				int32_t v = k < got ? buf[k] : -1;
				if (k < got && (v < 0 || (uint64_t)v >= n)) {
					o->rc = vl_diag_set(o->d, VL_EINVAL, VL_NO_OFFSET,
					                    "HNSW node %llu level %d: neighbour %d outside 0..%llu",
					                    (unsigned long long)i, l, v,
					                    (unsigned long long)(n - 1));
					break;
				}
				put_u32(o, (uint32_t)v);
			}
		}
	}
	free(buf);
	put_u32(o, (uint32_t)g->entry_point);
	put_u32(o, (uint32_t)g->max_level);
	put_u32(o, (uint32_t)g->efConstruction);
	put_u32(o, (uint32_t)g->efSearch);
	put_u32(o, 1);  /* upper_beam */
}

/* IndexFlat storage: header + "xb vector" (count of floats, then floats). */
static void put_flat(out *o, const vl_faiss_write_opts *w, int64_t *ids)
{
	put_cc(o, w->metric_type == VL_FAISS_METRIC_IP ? "IxFI" : "IxF2");
	put_header(o, w);
	put_u64(o, w->count * w->dim);
	float *vec = malloc((size_t)w->dim * sizeof *vec);
	if (!vec) {
		o->rc = vl_diag_set(o->d, VL_ENOMEM, VL_NO_OFFSET, "out of memory");
		return;
	}
	for (uint64_t i = 0; i < w->count && o->rc == 0; i++) {
		int64_t id = (int64_t)i;
		int rc = w->row(w->ctx, i, vec, &id);
		if (rc) {
			o->rc = vl_diag_set(o->d, rc, VL_NO_OFFSET, "reading row %llu failed",
			                    (unsigned long long)i);
			break;
		}
		if (ids)
			ids[i] = id;
		put(o, vec, (size_t)w->dim * sizeof *vec);  /* little-endian host (vl_bytes.h) */
	}
	free(vec);
}

int vl_faiss_write(FILE *f, const vl_faiss_write_opts *w, vl_diag *d)
{
	vl_diag_clear(d);
	if (w->dim == 0 || w->dim > VL_FAISS_DIM_MAX || !w->row ||
	    (w->metric_type != VL_FAISS_METRIC_L2 && w->metric_type != VL_FAISS_METRIC_IP) ||
	    w->count > (uint64_t)INT64_MAX / w->dim ||
	    (w->graph && (!w->graph->levels || !w->graph->neighbors || w->count > INT32_MAX)))
		return vl_diag_set(d, VL_EINVAL, VL_NO_OFFSET, "invalid FAISS writer options");
	out o = { f, d, 0 };
	graph_plan plan = { .levels = NULL };
	int64_t *ids = NULL;
	if (w->with_ids) {
		ids = malloc((w->count ? w->count : 1) * sizeof *ids);
		if (!ids)
			return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory for %llu ids",
			                   (unsigned long long)w->count);
		put_cc(&o, "IxM2");
		put_header(&o, w);
	}
	if (w->graph) {
		if ((o.rc = plan_graph(w, &plan, d)))
			goto out;
		put_cc(&o, "IHNf");
		put_header(&o, w);
		put_hnsw(&o, w, &plan);
	}
	put_flat(&o, w, ids);
	if (ids) {
		put_u64(&o, w->count);
		for (uint64_t i = 0; i < w->count; i++)
			put_u64(&o, (uint64_t)ids[i]);
	}
	if (o.rc == 0 && fflush(f) != 0)
		o.rc = vl_diag_set(d, VL_EIO, VL_NO_OFFSET, "write failed");
out:
	free(plan.levels);
	free(ids);
	return o.rc;
}
