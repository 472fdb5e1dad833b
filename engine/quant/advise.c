/*
 * advise.c - storage-type advice by rule and by measurement (advise.h).
 *
 * Rules (RedisVL CompressionAdvisor, the tool the seed users run today):
 *   dim >= 1024: leanvec4x8, REDUCE dim/2 (memory, balanced) or
 *                max(256, dim/4) (speed); GRAPH_MAX_DEGREE 64,
 *                CONSTRUCTION_WINDOW_SIZE 300, SEARCH_WINDOW_SIZE 20/30/40
 *                for memory/balanced/speed;
 *   dim <  1024: lvq4 (memory), lvq4x4 (balanced), lvq4x8 (speed);
 *                GRAPH_MAX_DEGREE 40, CONSTRUCTION_WINDOW_SIZE 250,
 *                SEARCH_WINDOW_SIZE 20.
 * veclite adds two guards: LeanVec needs dim <= VL_PCA_DIM_MAX (above it
 * the LVQ rule applies), and a compressed type must save at least a quarter
 * of float32's bytes with veclite's real row layout (padding and the
 * 16-byte per-row constants dominate at small dims), else float32.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "advise.h"
#include "lvq.h"
#include "pca.h"
#include "qcommon.h"
#include "qsearch.h"
#include "quant.h"
#include "simd/simd.h"
#include "topk.h"

#define HIGH_DIM 1024u
#define MIN_SAVING 0.25
#define SCAN_BLOCK 256
#define TIMED_QUERIES 10

static const char *const all_types[] = { "float32", "float16", "lvq8",      "lvq4",      "lvq4x4",
	                                  "lvq4x8",  "lvq8x8",  "leanvec4x8", "leanvec8x8" };
#define NALL (sizeof all_types / sizeof all_types[0])

int vl_advise_parse_priority(const char *s)
{
	if (!strcmp(s, "memory"))
		return VL_ADVISE_MEMORY;
	if (!strcmp(s, "balanced"))
		return VL_ADVISE_BALANCED;
	if (!strcmp(s, "speed") || !strcmp(s, "performance"))
		return VL_ADVISE_SPEED;
	return -1;
}

const char *vl_advise_priority_name(vl_advise_priority p)
{
	return p == VL_ADVISE_MEMORY ? "memory" : p == VL_ADVISE_SPEED ? "speed" : "balanced";
}

static int lvq_bits_of(const char *s, uint32_t *b1, uint32_t *b2)
{
	static const struct {
		const char *name;
		uint32_t b1, b2;
	} t[] = { { "lvq8", 8, 0 }, { "lvq4", 4, 0 }, { "lvq4x4", 4, 4 }, { "lvq4x8", 4, 8 }, { "lvq8x8", 8, 8 } };
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (!strcmp(s, t[i].name)) {
			*b1 = t[i].b1;
			*b2 = t[i].b2;
			return 1;
		}
	return 0;
}

double vl_advise_row_bytes(const char *storage, uint32_t dim, uint32_t reduce)
{
	uint32_t b1, b2;
	if (!strcmp(storage, "float32"))
		return 4.0 * dim;
	if (!strcmp(storage, "float16"))
		return (double)vl_qalign(2 * (size_t)dim, 16);
	if (lvq_bits_of(storage, &b1, &b2))
		return (double)(vl_lvq_code_bytes(dim, b1) + VL_LVQ_TRAILER +
		                (b2 ? vl_lvq_code_bytes(dim, b2) : 0));
	if (!strcmp(storage, "leanvec4x8") || !strcmp(storage, "leanvec8x8")) {
		uint32_t r = reduce ? reduce : dim / 2;
		b1 = storage[7] == '4' ? 4 : 8;
		return (double)(vl_lvq_code_bytes(r ? r : 1, b1) + VL_LVQ_TRAILER +
		                vl_lvq_code_bytes(dim, 8) + VL_LVQ_TRAILER);
	}
	return 0;
}

void vl_advise_rules(uint32_t dim, vl_advise_priority p, vl_advice *a)
{
	memset(a, 0, sizeof *a);
	snprintf(a->index, sizeof a->index, "vamana");
	a->float32_bytes = 4.0 * dim;
	if (dim >= HIGH_DIM && dim <= VL_PCA_DIM_MAX) {
		snprintf(a->storage, sizeof a->storage, "leanvec4x8");
		a->reduce = p == VL_ADVISE_SPEED ? (dim / 4 > 256 ? dim / 4 : 256) : dim / 2;
		a->graph_max_degree = 64;
		a->construction_window_size = 300;
		a->search_window_size = p == VL_ADVISE_MEMORY ? 20 : p == VL_ADVISE_SPEED ? 40 : 30;
		snprintf(a->why, sizeof a->why,
		         "%u dims >= %u: LeanVec reduces to %u dims for traversal (LVQ-4) and re-ranks "
		         "with full-dimension LVQ-8",
		         dim, HIGH_DIM, a->reduce);
	} else {
		const char *t = p == VL_ADVISE_MEMORY ? "lvq4" : p == VL_ADVISE_SPEED ? "lvq4x8" : "lvq4x4";
		snprintf(a->storage, sizeof a->storage, "%s", t);
		a->graph_max_degree = 40;
		a->construction_window_size = 250;
		a->search_window_size = 20;
		snprintf(a->why, sizeof a->why, "%u dims%s: LVQ without dimensionality reduction (%s)",
		         dim, dim >= HIGH_DIM ? " (above LeanVec's PCA limit)" : " < 1024",
		         p == VL_ADVISE_MEMORY ? "4 bits per dim"
		         : p == VL_ADVISE_SPEED ? "4-bit traversal, 8-bit residual re-rank"
		                                : "4-bit traversal, 4-bit residual re-rank");
	}
	a->bytes_per_vector = vl_advise_row_bytes(a->storage, dim, a->reduce);
	if (a->bytes_per_vector > (1 - MIN_SAVING) * a->float32_bytes) {
		snprintf(a->why, sizeof a->why,
		         "%u dims: %s would take %.0f bytes per vector against float32's %.0f (per-row "
		         "constants and padding dominate), so float32",
		         dim, a->storage, a->bytes_per_vector, a->float32_bytes);
		snprintf(a->storage, sizeof a->storage, "float32");
		a->reduce = 0;
		a->bytes_per_vector = a->float32_bytes;
	}
}

/* ---- measuring -------------------------------------------------------------- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t mix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

typedef struct adv_ctx {
	const vl_advise_opts *o;
	uint32_t dim, k;
	vl_metric metric;
	const float *base;
	size_t nbase;
	const float *queries;
	size_t nq;
	double *kth;               /* exact k-th distance per query */
	float *norms;
} adv_ctx;

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Exact k-th distance of each query (float32 brute force). */
static int exact_kth(adv_ctx *c)
{
	vl_qview v = { .ops = &vl_quant_float32, .dim = c->dim, .metric = c->metric, .nrows = c->nbase };
	if (vl_quant_float32.open(&v, NULL, 0, NULL))
		return VL_ENOMEM;
	v.primary = (const uint8_t *)c->base;
	v.norms = c->norms;
	uint32_t *ids = malloc(c->k * sizeof *ids);
	float *dists = malloc(c->k * sizeof *dists);
	int rc = VL_ENOMEM;
	if (!ids || !dists)
		goto out;
	for (size_t i = 0; i < c->nq; i++) {
		if ((rc = vl_quant_search(&v, NULL, c->queries + i * c->dim, c->k, 1, VL_QRERANK_NONE, ids,
		                          dists)))
			goto out;
		/* recompute in the exact form so both sides use the same arithmetic */
		c->kth[i] = -INFINITY;
		for (uint32_t j = 0; j < c->k; j++)
			if (ids[j] != UINT32_MAX) {
				double dd = vl_quant_exact_dist(c->metric, c->queries + i * c->dim,
				                                c->base + (size_t)ids[j] * c->dim, c->dim);
				c->kth[i] = dd > c->kth[i] ? dd : c->kth[i];
			}
	}
	rc = VL_OK;
out:
	vl_quant_float32.close(&v);
	free(ids);
	free(dists);
	return rc;
}

static double recall_of(const adv_ctx *c, size_t qi, const uint32_t *ids)
{
	uint32_t ok = 0;
	double lim = c->kth[qi] + 1e-6 * (fabs(c->kth[qi]) + 1e-6);
	for (uint32_t j = 0; j < c->k; j++) {
		if (ids[j] == UINT32_MAX)
			continue;
		int dup = 0;
		for (uint32_t l = 0; l < j; l++)
			dup |= ids[l] == ids[j];
		if (!dup && vl_quant_exact_dist(c->metric, c->queries + qi * c->dim,
		                                c->base + (size_t)ids[j] * c->dim, c->dim) <= lim)
			ok++;
	}
	return (double)ok / c->k;
}

/* Seconds per full primary scan (the flat index's loop), averaged over
 * the first TIMED_QUERIES queries. */
static double time_round(const adv_ctx *c, const vl_qview *v, void *qbuf, vl_topk *top)
{
	float dist[SCAN_BLOCK];
	size_t nt = c->nq < TIMED_QUERIES ? c->nq : TIMED_QUERIES;
	double t0 = now_s();
	for (size_t qi = 0; qi < nt; qi++) {
		v->ops->prepare(v, c->queries + qi * c->dim, qbuf);
		vl_topk_clear(top);
		for (uint64_t r0 = 0; r0 < v->nrows; r0 += SCAN_BLOCK) {
			size_t n = v->nrows - r0 < SCAN_BLOCK ? (size_t)(v->nrows - r0) : SCAN_BLOCK;
			v->ops->dist_range(v, qbuf, r0, n, dist);
			float worst = vl_topk_worst(top);
			for (size_t i = 0; i < n; i++)
				if (dist[i] <= worst && vl_topk_push(top, dist[i], (uint32_t)(r0 + i), 0))
					worst = vl_topk_worst(top);
		}
	}
	return (now_s() - t0) / (double)nt;
}

typedef struct built {
	vl_qview v;
	uint8_t *state, *primary, *secondary;
	size_t state_len;
	void *qbuf;
	int ok;
} built;

static void built_free(built *b)
{
	if (b->v.ops && b->v.state)
		b->v.ops->close(&b->v);
	free(b->state);
	free(b->primary);
	free(b->secondary);
	free(b->qbuf);
	memset(b, 0, sizeof *b);
}

static int build_type(const adv_ctx *c, const vl_quant_ops *ops, built *b, vl_advise_row *row,
                      vl_diag *d)
{
	const vl_advise_opts *o = c->o;
	memset(b, 0, sizeof *b);
	double t0 = now_s();
	if (ops->train) {
		size_t want = ops->train_rows ? ops->train_rows(c->dim, o->params, o->nparams) : c->nbase;
		int rc = ops->train(c->dim, c->metric, o->params, o->nparams, c->base,
		                    want && want < c->nbase ? want : c->nbase, &b->state, &b->state_len, d);
		if (rc)
			return rc;
	}
	row->train_seconds = now_s() - t0;
	b->v.ops = ops;
	b->v.dim = c->dim;
	b->v.metric = c->metric;
	b->v.nrows = c->nbase;
	int rc = ops->open(&b->v, b->state, b->state_len, d);
	if (rc)
		return rc;
	b->v.norms = c->norms;
	t0 = now_s();
	if (ops == &vl_quant_float32) {
		b->v.primary = (const uint8_t *)c->base;
	} else {
		b->primary = vl_qalloc(c->nbase * b->v.pstride);
		b->secondary = b->v.sstride ? vl_qalloc(c->nbase * b->v.sstride) : NULL;
		if (!b->primary || (b->v.sstride && !b->secondary))
			return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory encoding %s", ops->name);
		if (ops->encode_rows) /* LeanVec: one pass over the projection per block */
			ops->encode_rows(&b->v, c->base, c->nbase, b->primary, b->secondary);
		else
			for (size_t i = 0; i < c->nbase; i++)
				ops->encode(&b->v, c->base + i * c->dim, b->primary + i * b->v.pstride,
				            b->secondary ? b->secondary + i * b->v.sstride : NULL);
		b->v.primary = b->primary;
		b->v.secondary = b->secondary;
	}
	row->encode_seconds = now_s() - t0;
	return VL_OK;
}

/* Train, encode and measure recall; b stays built for the timed rounds
 * (b->ok = 0 when the type could not be built: the row says why). */
static int measure_type(const adv_ctx *c, const char *name, vl_advise_row *row, built *b)
{
	const vl_advise_opts *o = c->o;
	const vl_quant_ops *ops = vl_quant_find(name);
	vl_diag d;
	vl_diag_clear(&d);
	memset(row, 0, sizeof *row);
	memset(b, 0, sizeof *b);
	snprintf(row->storage, sizeof row->storage, "%s", name);
	if (!ops) {
		row->failed = 1;
		snprintf(row->note, sizeof row->note, "unknown storage type");
		return VL_OK;
	}
	int rc = build_type(c, ops, b, row, &d);
	if (rc) {
		built_free(b);
		if (rc == VL_ENOMEM)
			return rc;
		row->failed = 1;
		snprintf(row->note, sizeof row->note, "%.*s", (int)sizeof row->note - 1, d.msg);
		return VL_OK;
	}
	if (!strncmp(name, "leanvec", 7) && b->state_len >= 16)
		row->reduce = (uint32_t)b->state[12] | (uint32_t)b->state[13] << 8 |
		              (uint32_t)b->state[14] << 16 | (uint32_t)b->state[15] << 24;
	row->primary_bytes = ops == &vl_quant_float32 ? 4.0 * c->dim : (double)b->v.pstride;
	row->secondary_bytes = (double)b->v.sstride;
	row->bytes_per_vector = row->primary_bytes + row->secondary_bytes;
	vl_qrerank mode = ops == &vl_quant_float32 ? VL_QRERANK_NONE
	                  : ops->dist_secondary  ? VL_QRERANK_SECONDARY
	                                         : VL_QRERANK_FULL;
	snprintf(row->rerank_with, sizeof row->rerank_with, "%s",
	         mode == VL_QRERANK_NONE ? "none" : mode == VL_QRERANK_SECONDARY ? "secondary" : "full");
	uint32_t over = o->oversample ? o->oversample : 4;
	uint32_t *ids = malloc(c->k * sizeof *ids);
	b->qbuf = vl_qalloc(b->v.qbuf_size);
	rc = VL_ENOMEM;
	if (!ids || !b->qbuf)
		goto out;
	double r1 = 0, r2 = 0;
	for (size_t i = 0; i < c->nq; i++) {
		const float *q = c->queries + i * c->dim;
		if ((rc = vl_quant_search(&b->v, c->base, q, c->k, 1, VL_QRERANK_NONE, ids, NULL)))
			goto out;
		r1 += recall_of(c, i, ids);
		if (mode != VL_QRERANK_NONE &&
		    (rc = vl_quant_search(&b->v, c->base, q, c->k, over, mode, ids, NULL)))
			goto out;
		r2 += recall_of(c, i, ids);
	}
	row->recall = r1 / (double)c->nq;
	row->recall_rerank = r2 / (double)c->nq;
	/* the secondary level is not scanned: free it before the timed rounds */
	free(b->secondary);
	b->secondary = NULL;
	b->v.secondary = NULL;
	b->ok = 1;
	rc = VL_OK;
out:
	free(ids);
	if (rc)
		built_free(b);
	return rc;
}

/* Time every built type in interleaved rounds (round k scans each type
 * once), so a busy machine slows all of them alike; the median round is
 * reported. */
static int time_all(const adv_ctx *c, built *b, vl_advise_row *rows, size_t n, uint32_t repeats)
{
	double *t = malloc(n * repeats * sizeof *t);
	vl_topk top;
	if (!t || vl_topk_init(&top, c->k)) {
		free(t);
		return VL_ENOMEM;
	}
	for (uint32_t r = 0; r < repeats; r++)
		for (size_t i = 0; i < n; i++)
			if (b[i].ok)
				t[i * repeats + r] = time_round(c, &b[i].v, b[i].qbuf, &top);
	for (size_t i = 0; i < n; i++)
		if (b[i].ok) {
			qsort(t + i * repeats, repeats, sizeof *t, cmp_double);
			double med = t[i * repeats + repeats / 2];
			rows[i].scan_vps = med > 0 ? (double)c->nbase / med : 0;
		}
	vl_topk_free(&top);
	free(t);
	return VL_OK;
}

/* Per priority, among the types reaching the target recall after re-rank:
 * memory = fewest bytes per vector (then faster); speed = fastest scan;
 * balanced = fastest among those within 1.5x of the fewest bytes. */
static void choose(vl_advise_report *r)
{
	int f32 = -1, best_mem = -1, best_speed = -1;
	for (size_t i = 0; i < r->nrows; i++) {
		const vl_advise_row *x = &r->rows[i];
		if (!strcmp(x->storage, "float32"))
			f32 = (int)i;
		if (!x->qualifies)
			continue;
		if (best_mem < 0 || x->bytes_per_vector < r->rows[best_mem].bytes_per_vector ||
		    (x->bytes_per_vector == r->rows[best_mem].bytes_per_vector &&
		     x->scan_vps > r->rows[best_mem].scan_vps))
			best_mem = (int)i;
		if (best_speed < 0 || x->scan_vps > r->rows[best_speed].scan_vps)
			best_speed = (int)i;
	}
	int best_bal = -1;
	for (size_t i = 0; best_mem >= 0 && i < r->nrows; i++) {
		const vl_advise_row *x = &r->rows[i];
		if (x->qualifies && x->bytes_per_vector <= 1.5 * r->rows[best_mem].bytes_per_vector &&
		    (best_bal < 0 || x->scan_vps > r->rows[best_bal].scan_vps))
			best_bal = (int)i;
	}
	r->choice[VL_ADVISE_MEMORY] = best_mem >= 0 ? best_mem : f32;
	r->choice[VL_ADVISE_BALANCED] = best_bal >= 0 ? best_bal : f32;
	r->choice[VL_ADVISE_SPEED] = best_speed >= 0 ? best_speed : f32;
}

static int sample_queries(const float *vecs, size_t n, uint32_t dim, size_t nq, uint64_t seed,
                          float *queries, float *base)
{
	uint8_t *held = calloc(n, 1);
	if (!held)
		return VL_ENOMEM;
	for (size_t i = 0; i < nq;) {
		size_t r = (size_t)(mix(&seed) % n);
		if (!held[r]) {
			held[r] = 1;
			memcpy(queries + i * dim, vecs + r * dim, (size_t)dim * sizeof *queries);
			i++;
		}
	}
	size_t b = 0;
	for (size_t r = 0; r < n; r++)
		if (!held[r])
			memcpy(base + b++ * dim, vecs + r * dim, (size_t)dim * sizeof *base);
	free(held);
	return VL_OK;
}

int vl_advise_measure(const float *vecs, size_t n, uint32_t dim, const vl_advise_opts *o,
                      vl_advise_report *out, vl_diag *d)
{
	vl_advise_opts def = { 0 };
	o = o ? o : &def;
	memset(out, 0, sizeof *out);
	if (dim == 0 || n < 2)
		return vl_diag_set(d, VL_EINVAL, VL_NO_OFFSET, "need at least 2 vectors (got %zu)", n);
	if (o->target_recall < 0 || o->target_recall > 1)
		return vl_diag_set(d, VL_EINVAL, VL_NO_OFFSET, "target recall %g is not in [0, 1]",
		                   o->target_recall);
	size_t ntypes = o->types ? o->ntypes : NALL;
	if (ntypes + 1 > VL_ADVISE_MAX_TYPES)
		return vl_diag_set(d, VL_EINVAL, VL_NO_OFFSET, "at most %d storage types",
		                   VL_ADVISE_MAX_TYPES - 1);
	adv_ctx c = { .o = o, .dim = dim, .k = o->k ? o->k : 10,
	              .metric = o->metric ? o->metric : VL_METRIC_L2 };
	size_t nq = o->nqueries ? o->nqueries : 200;
	nq = nq > n / 10 ? n / 10 : nq;
	nq = nq ? nq : 1;
	c.nq = nq;
	c.nbase = n - nq;
	if (c.k > c.nbase)
		c.k = (uint32_t)c.nbase;
	float *base = malloc(c.nbase * dim * sizeof *base), *queries = malloc(nq * dim * sizeof *queries);
	c.kth = malloc(nq * sizeof *c.kth);
	c.norms = malloc(c.nbase * sizeof *c.norms);
	int rc = VL_ENOMEM;
	if (!base || !queries || !c.kth || !c.norms ||
	    sample_queries(vecs, n, dim, nq, o->seed ? o->seed : 0x6164766973650001ull, queries, base))
		goto out;
	c.base = base;
	c.queries = queries;
	for (size_t i = 0; i < c.nbase; i++)
		c.norms[i] = sqrtf(vl_kern()->dot_f32(base + i * dim, base + i * dim, dim));
	if (o->progress && o->progress(o->progress_ud, "exact", 0, ntypes + 1)) {
		rc = VL_ECANCELED;
		goto out;
	}
	if ((rc = exact_kth(&c)))
		goto out;
	out->dim = dim;
	out->metric = c.metric;
	out->nbase = c.nbase;
	out->nqueries = nq;
	out->k = c.k;
	out->oversample = o->oversample ? o->oversample : 4;
	out->target_recall = o->target_recall > 0 ? o->target_recall : 0.95;
	out->simd = vl_kern()->name;
	/* float32 first: the reference for speedups (measured even if not listed) */
	const char *order[VL_ADVISE_MAX_TYPES];
	size_t nord = 0;
	order[nord++] = "float32";
	for (size_t i = 0; i < ntypes; i++) {
		const char *t = o->types ? o->types[i] : all_types[i];
		if (strcmp(t, "float32"))
			order[nord++] = t;
	}
	built *bs = calloc(nord, sizeof *bs);
	if (!bs) {
		rc = VL_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nord; i++) {
		if (o->progress && o->progress(o->progress_ud, order[i], i + 1, nord + 1)) {
			rc = VL_ECANCELED;
			break;
		}
		if ((rc = measure_type(&c, order[i], &out->rows[out->nrows], &bs[i])))
			break;
		out->nrows++;
	}
	if (rc == VL_OK && o->progress && o->progress(o->progress_ud, "timing", nord, nord + 1))
		rc = VL_ECANCELED;
	if (rc == VL_OK)
		rc = time_all(&c, bs, out->rows, out->nrows, o->repeats ? o->repeats : 5);
	for (size_t i = 0; i < nord; i++)
		built_free(&bs[i]);
	free(bs);
	if (rc)
		goto out;
	double f32vps = out->rows[0].scan_vps;
	for (size_t i = 0; i < out->nrows; i++) {
		vl_advise_row *x = &out->rows[i];
		x->speedup = f32vps > 0 ? x->scan_vps / f32vps : 0;
		x->qualifies = !x->failed && x->recall_rerank >= out->target_recall;
	}
	choose(out);
	for (int p = 0; p < 3; p++)
		vl_advise_rules(dim, (vl_advise_priority)p, &out->rules[p]);
	rc = VL_OK;
out:
	free(base);
	free(queries);
	free(c.kth);
	free(c.norms);
	if (rc == VL_ENOMEM)
		vl_diag_set(d, rc, VL_NO_OFFSET, "out of memory");
	else if (rc == VL_ECANCELED)
		vl_diag_set(d, rc, VL_NO_OFFSET, "canceled");
	return rc;
}
