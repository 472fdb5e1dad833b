/*
 * test_faiss_graph.c - HNSW graphs across FAISS and veclite, no rebuild:
 *
 *   - `import-faiss --keep-graph` of files written by the real FAISS: the
 *     collection's graph is FAISS's, node by node (levels and neighbour
 *     lists as FAISS itself dumps them, tests/faiss_fixtures.py), keys are
 *     the FAISS ids, vectors are FAISS's reconstruct(), and searches agree
 *     with FAISS's exact search;
 *   - `export --format faiss` of an hnsw collection: the real FAISS loads an
 *     IndexIDMap2 over IndexHNSWFlat whose graph is the collection's, whose
 *     search (efSearch = EF_RUNTIME) returns veclite's neighbours and whose
 *     reconstruct() gives the original vectors bit for bit;
 *   - round trips both ways (FAISS -> veclite -> FAISS is byte-identical;
 *     veclite -> FAISS -> veclite keeps the graph);
 *   - vl_bulk_adopt_graph refusing graphs that do not fit, and
 *     vl_graph_open refusing collections that are not one clean segment.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faiss/vl_faiss.h"
#include "util/faiss_fx.h"
#include "util/tstore.h"

#define CHECK "/usr/bin/python3 tests/faiss_check.py"

static char *dir;
static void setup(void) { dir = ts_tmpdir("faiss-graph"); }
static void teardown(void)
{
	ts_rmtree(dir);
	free(dir);
}
TestSuite(faiss_graph, .init = setup, .fini = teardown);

static int run(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int run(char **out, const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	return ts_run(cmd, out);
}

static void *slurp_path(const char *path, size_t *len)
{
	void *p = faiss_fx_slurp(path, len);
	cr_assert_not_null(p, "cannot read %s", path);
	return p;
}

static void *slurp_ext(const char *prefix, const char *ext, size_t *len)
{
	char path[2048];
	snprintf(path, sizeof path, "%s%s", prefix, ext);
	return slurp_path(path, len);
}

/* ---- a graph as FAISS holds it ------------------------------------------ */

typedef struct fgr {
	int32_t *levels;           /* per node, 1 = level 0 only */
	uint64_t *offsets;         /* n + 1 */
	int32_t *nb;
	uint64_t n;
	uint32_t M;                /* cum = [0, 2M, 3M, ...] */
	int32_t entry, max_level;
} fgr;

static void fgr_init(fgr *g, void *levels, size_t llen, void *offsets, void *nb, int32_t entry,
                     int32_t max_level)
{
	g->levels = levels;
	g->offsets = offsets;
	g->nb = nb;
	g->n = llen / 4;
	g->entry = entry;
	g->max_level = max_level;
	g->M = 0;
	for (uint64_t i = 0; i < g->n && !g->M; i++)
		if (g->levels[i] == 1)
			g->M = (uint32_t)(g->offsets[i + 1] - g->offsets[i]) / 2;
}

static void fgr_free(fgr *g)
{
	free(g->levels);
	free(g->offsets);
	free(g->nb);
}

static uint64_t cum(const fgr *g, uint32_t l)
{
	return l == 0 ? 0 : 2ull * g->M + (uint64_t)(l - 1) * g->M;
}

/* FAISS's list of node on level (up to the first -1). */
static uint32_t fgr_list(const fgr *g, uint64_t node, uint32_t l, uint32_t *out)
{
	uint64_t b = g->offsets[node] + cum(g, l), e = g->offsets[node] + cum(g, l + 1);
	uint32_t n = 0;
	for (uint64_t k = b; k < e && g->nb[k] >= 0; k++)
		out[n++] = (uint32_t)g->nb[k];
	return n;
}

/* The collection's graph equals FAISS's: shape, every level, every list in
 * order. */
static void expect_graph_is(vl_collection *c, const fgr *fg, const char *what)
{
	vl_graph *g;
	vl_graph_info gi = VL_GRAPH_INFO_INIT;
	cr_assert_eq(vl_graph_open(c, &g, &gi), 0, "%s: %s", what, vl_errmsg(NULL));
	cr_assert_eq(gi.nodes, fg->n, "%s: nodes", what);
	cr_expect_eq(gi.M, fg->M, "%s: M %u vs FAISS %u", what, gi.M, fg->M);
	cr_expect_eq(gi.M0, 2 * fg->M, "%s: M0", what);
	if (fg->n) {
		cr_expect_eq((int32_t)gi.entry, fg->entry, "%s: entry %u vs %d", what, gi.entry, fg->entry);
		cr_expect_eq((int32_t)gi.max_level, fg->max_level, "%s: max_level", what);
	}
	uint32_t a[2048], b[2048];
	uint64_t bad_levels = 0, bad_lists = 0, edges = 0;
	for (uint64_t i = 0; i < fg->n; i++) {
		uint32_t lv;
		cr_assert_eq(vl_graph_level(g, i, &lv), 0);
		if ((int32_t)lv != fg->levels[i] - 1) {
			bad_levels++;
			continue;
		}
		for (uint32_t l = 0; l <= lv; l++) {
			uint32_t na = fgr_list(fg, i, l, a), nb;
			cr_assert_eq(vl_graph_neighbors(g, i, l, b, 2048, &nb), 0);
			edges += nb;
			if (na != nb || memcmp(a, b, na * sizeof *a)) {
				if (!bad_lists)
					cr_log_error("%s: node %" PRIu64 " level %u: %u neighbours vs FAISS %u",
					             what, i, l, nb, na);
				bad_lists++;
			}
		}
		uint32_t nb;
		cr_assert_eq(vl_graph_neighbors(g, i, lv + 1, b, 2048, &nb), 0);
		cr_expect_eq(nb, 0, "%s: a list above the node's level", what);
	}
	cr_expect_eq(bad_levels, 0, "%s: %" PRIu64 " node levels differ from FAISS's", what, bad_levels);
	cr_expect_eq(bad_lists, 0, "%s: %" PRIu64 " neighbour lists differ from FAISS's", what,
	             bad_lists);
	cr_expect(fg->n == 0 || edges > fg->n, "%s: the graph has edges", what);
	vl_graph_close(g);
}

/* Two veclite graphs are the same graph (shape, levels, lists). */
static void expect_same_graph(vl_collection *c1, vl_collection *c2, const char *what)
{
	vl_graph *g1, *g2;
	vl_graph_info i1 = VL_GRAPH_INFO_INIT, i2 = VL_GRAPH_INFO_INIT;
	cr_assert_eq(vl_graph_open(c1, &g1, &i1), 0);
	cr_assert_eq(vl_graph_open(c2, &g2, &i2), 0);
	cr_assert_eq(i1.nodes, i2.nodes, "%s: nodes", what);
	cr_expect(i1.M == i2.M && i1.M0 == i2.M0 && i1.entry == i2.entry &&
	          i1.max_level == i2.max_level && i1.ef_construction == i2.ef_construction &&
	          i1.ef_runtime == i2.ef_runtime,
	          "%s: shape M %u/%u entry %u/%u max_level %u/%u efc %u/%u ef %u/%u", what, i1.M,
	          i2.M, i1.entry, i2.entry, i1.max_level, i2.max_level, i1.ef_construction,
	          i2.ef_construction, i1.ef_runtime, i2.ef_runtime);
	uint64_t diff = 0;
	uint32_t a[2048], b[2048];
	for (uint64_t i = 0; i < i1.nodes; i++) {
		uint32_t l1, l2;
		cr_assert_eq(vl_graph_level(g1, i, &l1), 0);
		cr_assert_eq(vl_graph_level(g2, i, &l2), 0);
		if (l1 != l2) {
			diff++;
			continue;
		}
		for (uint32_t l = 0; l <= l1; l++) {
			uint32_t na, nb;
			cr_assert_eq(vl_graph_neighbors(g1, i, l, a, 2048, &na), 0);
			cr_assert_eq(vl_graph_neighbors(g2, i, l, b, 2048, &nb), 0);
			diff += na != nb || memcmp(a, b, na * sizeof *a);
		}
		const vl_record *r1, *r2;
		cr_assert_eq(vl_graph_row(g1, i, &r1), 0);
		char k1[64];
		snprintf(k1, sizeof k1, "%.*s", (int)r1->key_len, (const char *)r1->key);
		float v1[512];
		cr_assert(r1->dim <= 512);
		memcpy(v1, r1->vector, r1->dim * sizeof *v1);
		cr_assert_eq(vl_graph_row(g2, i, &r2), 0);
		cr_expect(strlen(k1) == r2->key_len && !memcmp(k1, r2->key, r2->key_len),
		          "%s: node %" PRIu64 " key %s vs %.*s", what, i, k1, (int)r2->key_len,
		          (const char *)r2->key);
		cr_expect_eq(memcmp(v1, r2->vector, r2->dim * sizeof *v1), 0, "%s: node %" PRIu64
		             " vector", what, i);
	}
	cr_expect_eq(diff, 0, "%s: %" PRIu64 " levels or lists differ", what, diff);
	vl_graph_close(g1);
	vl_graph_close(g2);
}

static int64_t key_id(const void *key, size_t len)
{
	char k[32];
	snprintf(k, sizeof k, "%.*s", (int)len, (const char *)key);
	return strtoll(k, NULL, 10);
}

/* ---- import --keep-graph of files FAISS wrote ----------------------------- */

static void import_cli(const char *file, const char *store, const char *coll, const char *extra,
                       int want_kept)
{
	char *out;
	int rc = run(&out, "%s import-faiss '%s' '%s' -c %s --keep-graph --json --quiet %s 2>&1",
	             ts_cli(), file, store, coll, extra ? extra : "");
	cr_assert_eq(rc, 0, "import-faiss %s: %s", file, out);
	cr_expect(strstr(out, want_kept ? "\"graph_kept\": true" : "\"graph_kept\": false"),
	          "%s: %s", file, out);
	free(out);
}

/* Recall@10 of the real FAISS's search of fixture `name` with efSearch ef. */
static double faiss_recall(const char *name, const float *q, size_t nq, uint32_t dim,
                           const int64_t *gt, int ef)
{
	char qpath[1300], opath[1300];
	snprintf(qpath, sizeof qpath, "%s/%s.q", dir, name);
	snprintf(opath, sizeof opath, "%s/%s.res", dir, name);
	FILE *f = fopen(qpath, "wb");
	cr_assert(f && fwrite(q, (size_t)dim * 4, nq, f) == nq && fclose(f) == 0);
	cr_assert_eq(run(NULL, "%s search '%s/%s.index' '%s' 10 '%s' %d", CHECK, faiss_fx_dir(), name,
	                 qpath, opath, ef), 0);
	size_t len;
	int64_t *res = slurp_path(opath, &len);
	cr_assert_eq(len, nq * 80);
	long hits = 0;
	for (size_t i = 0; i < nq * 10; i++)
		for (int j = 0; j < 10; j++)
			hits += res[i] == gt[(i / 10) * 10 + j];
	free(res);
	return (double)hits / (double)(nq * 10);
}

static void keep_graph_fixture(vl_store *st, const char *store, const char *name)
{
	char file[2048];
	snprintf(file, sizeof file, "%s/%s.index", faiss_fx_dir(), name);
	import_cli(file, store, name, "--storage float32", 1);
	vl_collection *c;
	cr_assert_eq(vl_collection_open(st, name, &c), 0, "%s", vl_errmsg(st));

	/* the graph is FAISS's own (as FAISS dumped it, not as our reader sees it) */
	size_t ll, ol, nl;
	fgr fg;
	void *lv = faiss_fx_file(name, ".hnsw_levels", &ll);
	void *of = faiss_fx_file(name, ".hnsw_offsets", &ol);
	void *nb = faiss_fx_file(name, ".hnsw_neighbors", &nl);
	cr_assert(lv && of && nb, "%s: FAISS graph dump missing", name);
	fgr_init(&fg, lv, ll, of, nb, (int32_t)faiss_fx_info_int(name, "entry_point", -1),
	         (int32_t)faiss_fx_info_int(name, "max_level", -1));
	expect_graph_is(c, &fg, name);

	/* node i: key = FAISS id, vector = FAISS's reconstruct() */
	const char *space = faiss_fx_info(name, "auto_space");
	int stored = space && !strcmp(space, "stored");
	const char *ex = faiss_fx_info(name, "exactness");
	int exact = ex && !strcmp(ex, "exact");
	uint32_t dim = (uint32_t)faiss_fx_info_int(name, "auto_dim", 0);
	size_t il, rl;
	int64_t *ids = (int64_t *)faiss_fx_file(name, ".ids", &il);
	float *rec = (float *)faiss_fx_file(name, stored ? ".stored" : ".recons", &rl);
	cr_assert(ids && rec && rl == fg.n * dim * 4, "%s: reference vectors", name);
	vl_graph *g;
	cr_assert_eq(vl_graph_open(c, &g, NULL), 0);
	uint64_t off = 0;
	for (uint64_t i = 0; i < fg.n; i++) {
		const vl_record *r;
		cr_assert_eq(vl_graph_row(g, i, &r), 0);
		cr_expect_eq(key_id(r->key, r->key_len), ids[i], "%s: node %" PRIu64 " key", name, i);
		const float *want = rec + i * dim;
		if (exact) {
			off += memcmp(r->vector, want, dim * 4) != 0;
		} else {
			for (uint32_t k = 0; k < dim; k++)
				off += fabsf(r->vector[k] - want[k]) > 1e-5f * (1 + fabsf(want[k]));
		}
	}
	cr_expect_eq(off, 0, "%s: %" PRIu64 " vectors differ from FAISS's reconstruct()", name, off);
	vl_graph_close(g);

	/* searching the kept graph agrees with FAISS's exact search */
	size_t ql, gl;
	float *q = (float *)faiss_fx_file(name, ".queries", &ql);
	int64_t *gt = (int64_t *)faiss_fx_file(name, ".gt", &gl);
	size_t nq = ql / (dim * 4);
	cr_assert(q && gt && gl == nq * 80);
	static const char *const ef[] = { "EF_RUNTIME=256" };
	vl_search_opts so = VL_SEARCH_OPTS_INIT;
	so.k = 10;
	so.params = ef;
	so.nparams = 1;
	long hits = 0;
	for (size_t qi = 0; qi < nq; qi++) {
		vl_results *res;
		cr_assert_eq(vl_search(c, q + qi * dim, dim, &so, &res), 0, "%s", vl_errmsg(st));
		for (size_t h = 0; h < res->n; h++)
			for (int j = 0; j < 10; j++)
				hits += key_id(res->hits[h].key, res->hits[h].key_len) == gt[qi * 10 + j];
		vl_results_free(res);
	}
	double recall = (double)hits / (double)(nq * 10);
	/* The real FAISS searching its own graph with the same beam: some FAISS
	 * graphs (inner product) leave a few rows unreachable, which bounds any
	 * search on them. */
	double frecall = recall >= 0.99 || stored ? 1.0 : faiss_recall(name, q, nq, dim, gt, 256);
	if (recall < 0.99)
		cr_log_info("%s: recall@10 %.3f (FAISS on its own graph, efSearch 256: %.3f)", name,
		            recall, frecall);
	cr_expect(recall >= 0.99 || recall >= frecall,
	          "%s: recall@10 %.3f against FAISS's exact search (FAISS itself: %.3f)", name,
	          recall, frecall);
	free(q);
	free(gt);
	free(ids);
	free(rec);
	fgr_free(&fg);
	vl_collection_close(c);
}

Test(faiss_graph, keep_graph_is_faiss_graph)
{
	char store[1200];
	snprintf(store, sizeof store, "%s/s", dir);
	static const char *const names[] = { "hnsw_flat", "hnsw_ip", "idmap2_hnsw", "hnsw768",
	                                     "hnsw_sq", "hnsw_pq", "opq_hnsw_reduced" };
	vl_store *st = ts_open(store);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		keep_graph_fixture(st, store, names[i]);
	vl_close(st);
	cr_assert_eq(run(NULL, "%s verify '%s' >/dev/null", ts_cli(), store), 0, "verify");
}

/* FAISS -> veclite -> FAISS: the file comes back byte for byte. */
Test(faiss_graph, faiss_veclite_faiss_identical)
{
	char file[2048], out[1300];
	snprintf(file, sizeof file, "%s/idmap2_hnsw.index", faiss_fx_dir());
	snprintf(out, sizeof out, "%s/back.faiss", dir);
	char store[1200];
	snprintf(store, sizeof store, "%s/s", dir);
	vl_close(ts_open(store));
	import_cli(file, store, "h", NULL, 1);
	cr_assert_eq(run(NULL, "%s export '%s' -c h --format faiss --out '%s' >/dev/null", ts_cli(),
	                 store, out), 0);
	cr_expect_eq(run(NULL, "cmp '%s' '%s'", file, out), 0,
	             "IndexIDMap2(IndexHNSWFlat) imported with --keep-graph and exported differs");
}

/* ---- export of a graph veclite built ------------------------------------- */

/* Gaussian-ish clusters (sums of uniforms), like the fixtures' data. */
static void clustered(ts_rng *r, float *out, size_t n, uint32_t dim)
{
	float centers[20 * 64];
	cr_assert(dim <= 64);
	for (size_t i = 0; i < 20 * dim; i++)
		centers[i] = ts_unit(r) * 3;
	for (size_t i = 0; i < n; i++) {
		const float *c = centers + (ts_next(r) % 20) * dim;
		for (uint32_t k = 0; k < dim; k++)
			out[i * dim + k] = c[k] + ts_unit(r) + ts_unit(r);
	}
}

static int64_t row_id(size_t i)
{
	if (i == 0)
		return INT64_MAX;
	if (i == 1)
		return -12345;
	return (int64_t)i * 7919 + (1ll << 33);
}

static vl_collection *hnsw_coll(vl_store *st, const char *name, uint32_t dim, const float *x,
                                size_t n, const char *const *params)
{
	vl_collection *c = ts_create(st, name, dim, VL_METRIC_L2, "hnsw", "float32", NULL, params);
	vl_job_opts jo = VL_JOB_OPTS_INIT;
	jo.threads = 1;
	vl_bulk *b;
	cr_assert_eq(vl_bulk_begin(c, &jo, &b), 0, "%s", vl_errmsg(st));
	for (size_t i = 0; i < n; i++) {
		char key[32];
		int kl = snprintf(key, sizeof key, "%" PRId64, row_id(i));
		vl_row r = { .key = key, .key_len = (size_t)kl, .vector = x + i * dim, .dim = dim };
		cr_assert_eq(vl_bulk_add(b, &r, 1), 0, "%s", vl_errmsg(st));
	}
	cr_assert_eq(vl_bulk_commit(b), 0, "%s", vl_errmsg(st));
	return c;
}

Test(faiss_graph, export_loads_in_faiss_and_round_trips)
{
	enum { N = 2000, D = 32, NQ = 50, K = 10, EF = 128 };
	char store[1200], store2[1200], file[1300], prefix[1300], qpath[1300];
	snprintf(store, sizeof store, "%s/s", dir);
	snprintf(store2, sizeof store2, "%s/t", dir);
	snprintf(file, sizeof file, "%s/x.faiss", dir);
	snprintf(prefix, sizeof prefix, "%s/fx", dir);
	snprintf(qpath, sizeof qpath, "%s/q.f32", dir);
	ts_rng rng = { 42 };
	float *x = malloc((size_t)N * D * sizeof *x), q[NQ * D];
	clustered(&rng, x, N, D);
	clustered(&rng, q, NQ, D);
	FILE *f = fopen(qpath, "wb");
	cr_assert(f && fwrite(q, sizeof q, 1, f) == 1 && fclose(f) == 0);
	vl_store *st = ts_open(store);
	static const char *const params[] = { "M=8", "EF_CONSTRUCTION=64", "EF_RUNTIME=128", NULL };
	vl_collection *c = hnsw_coll(st, "h", D, x, N, params);
	vl_collection_close(c);
	vl_close(st);

	char *out;
	cr_assert_eq(run(&out, "%s export '%s' -c h --format faiss --out '%s'", ts_cli(), store, file),
	             0);
	cr_expect(strstr(out, "IndexHNSWFlat"), "%s", out);
	free(out);
	/* the real FAISS loads it */
	cr_assert_eq(run(&out, "%s hnsw '%s' '%s' %d %d '%s'", CHECK, file, qpath, K, EF, prefix), 0);
	char outer[64], inner[64];
	long long ntotal;
	int entry, max_level, efc, M, ef_file;
	cr_assert_eq(sscanf(out, "%63s %63s %lld %d %d %d %d %d", outer, inner, &ntotal, &entry,
	                    &max_level, &efc, &M, &ef_file), 8, "%s", out);
	free(out);
	cr_expect_str_eq(outer, "IndexIDMap2");
	cr_expect_str_eq(inner, "IndexHNSWFlat");
	cr_expect_eq(ntotal, N);
	cr_expect_eq(M, 8);
	cr_expect_eq(efc, 64);
	cr_expect_eq(ef_file, EF, "the file's efSearch is the collection's EF_RUNTIME");

	st = ts_open(store);
	cr_assert_eq(vl_collection_open(st, "h", &c), 0);
	/* FAISS holds the collection's graph, node for node */
	size_t ll, ol, nl, il, rl;
	fgr fg;
	void *lv = slurp_ext(prefix, ".levels", &ll), *of = slurp_ext(prefix, ".offsets", &ol);
	void *nb = slurp_ext(prefix, ".neighbors", &nl);
	fgr_init(&fg, lv, ll, of, nb, entry, max_level);
	expect_graph_is(c, &fg, "exported graph");
	fgr_free(&fg);

	/* node i is row i; FAISS's reconstruct(id) is the original, bit for bit */
	int64_t *ids = slurp_ext(prefix, ".ids", &il);
	float *rec = slurp_ext(prefix, ".recons", &rl);
	cr_assert_eq(il, N * 8);
	cr_assert_eq(rl, (size_t)N * D * 4);
	vl_graph *g;
	cr_assert_eq(vl_graph_open(c, &g, NULL), 0);
	uint64_t bad = 0;
	for (uint64_t i = 0; i < N; i++) {
		const vl_record *r;
		cr_assert_eq(vl_graph_row(g, i, &r), 0);
		bad += key_id(r->key, r->key_len) != ids[i];
		bad += memcmp(r->vector, rec + i * D, D * 4) != 0;
		/* a bulk load keeps load order: row i is the i-th row added */
		bad += memcmp(r->vector, x + i * D, D * 4) != 0 || ids[i] != row_id(i);
	}
	cr_expect_eq(bad, 0, "%" PRIu64 " ids or vectors differ", bad);
	vl_graph_close(g);
	free(ids);
	free(rec);

	/* FAISS's search (efSearch = EF_RUNTIME) returns veclite's neighbours */
	size_t sl;
	int64_t *fs = slurp_ext(prefix, ".search", &sl);
	cr_assert_eq(sl, NQ * K * 8);
	vl_search_opts so = VL_SEARCH_OPTS_INIT;
	so.k = K;
	vl_search_opts xo = VL_SEARCH_OPTS_INIT;
	xo.k = K;
	xo.flags = VL_SEARCH_EXACT;
	long same = 0, identical_lists = 0, rv = 0, rf = 0;
	for (int qi = 0; qi < NQ; qi++) {
		vl_results *res, *ex;
		cr_assert_eq(vl_search(c, q + qi * D, D, &so, &res), 0, "%s", vl_errmsg(st));
		cr_assert_eq(vl_search(c, q + qi * D, D, &xo, &ex), 0, "%s", vl_errmsg(st));
		cr_assert_eq(res->n, K);
		long here = 0;
		for (size_t h = 0; h < res->n; h++)
			for (int j = 0; j < K; j++) {
				int64_t id = key_id(res->hits[h].key, res->hits[h].key_len);
				int64_t xid = key_id(ex->hits[j].key, ex->hits[j].key_len);
				here += id == fs[qi * K + j];
				rv += id == xid;
				rf += fs[qi * K + h] == xid;
			}
		same += here;
		identical_lists += here == K;
		vl_results_free(res);
		vl_results_free(ex);
	}
	cr_log_info("export: %ld of %d queries give identical top-%d sets in FAISS and veclite; "
	            "recall@10 veclite %.3f FAISS %.3f",
	            identical_lists, NQ, K, rv / (double)(NQ * K), rf / (double)(NQ * K));
	cr_expect(same >= (long)(0.995 * NQ * K), "FAISS and veclite agree on %ld of %d neighbours",
	          same, NQ * K);
	free(fs);

	/* veclite -> FAISS -> veclite keeps the graph */
	vl_close(ts_open(store2));
	import_cli(file, store2, "h", NULL, 1);
	vl_store *st2 = ts_open(store2);
	vl_collection *c2;
	cr_assert_eq(vl_collection_open(st2, "h", &c2), 0);
	expect_same_graph(c, c2, "veclite -> FAISS -> veclite");
	vl_collection_close(c2);
	vl_close(st2);
	vl_collection_close(c);
	vl_close(st);
	free(x);
}

/* ---- vl_bulk_adopt_graph refuses graphs that do not fit ------------------- */

enum { SG_N = 40, SG_M = 4, SG_DIM = 4 };

typedef struct sgraph {
	uint64_t n;
	uint8_t level[SG_N + 1];
	uint32_t deg[SG_N + 1][3];
	uint32_t list[SG_N + 1][3][12];
	int64_t fail_node;         /* neighbors() fails for this node (-1: never) */
} sgraph;

/* Valid: level 0 is a ring (i +- 1, i +- 2); nodes 0, 10, 20, 30 are on
 * level 1, linked to each other; node 0 alone on level 2 (the entry). */
static void sg_valid(sgraph *g, uint64_t n)
{
	memset(g, 0, sizeof *g);
	g->n = n;
	g->fail_node = -1;
	for (uint64_t i = 0; i < n; i++) {
		g->level[i] = i % 10 == 0 ? 1 : 0;
		g->deg[i][0] = 4;
		g->list[i][0][0] = (uint32_t)((i + 1) % n);
		g->list[i][0][1] = (uint32_t)((i + n - 1) % n);
		g->list[i][0][2] = (uint32_t)((i + 2) % n);
		g->list[i][0][3] = (uint32_t)((i + n - 2) % n);
		if (i % 10 == 0) {
			for (uint64_t j = 0; j < n; j += 10)
				if (j != i)
					g->list[i][1][g->deg[i][1]++] = (uint32_t)j;
		}
	}
	g->level[0] = 2;
}

static int sg_level(void *ud, uint64_t node)
{
	return ((sgraph *)ud)->level[node];
}

static int sg_neighbors(void *ud, uint64_t node, uint32_t level, uint32_t *out, uint32_t cap)
{
	sgraph *g = ud;
	if ((int64_t)node == g->fail_node)
		return VL_EIO;
	uint32_t n = g->deg[node][level];
	for (uint32_t i = 0; i < n && i < cap; i++)
		out[i] = g->list[node][level][i];
	return (int)n;
}

static vl_hnsw_graph sg_desc(sgraph *g, uint32_t entry, uint32_t max_level)
{
	vl_hnsw_graph d = VL_HNSW_GRAPH_INIT;
	d.M = SG_M;
	d.nodes = g->n;
	d.entry = entry;
	d.max_level = max_level;
	d.ef_construction = 77;
	d.level = sg_level;
	d.neighbors = sg_neighbors;
	d.ud = g;
	return d;
}

static float sg_vec[SG_N + 1][SG_DIM];

/* Bulk-load `rows` rows (key k<i>, or k5 again for i == SG_N when
 * repeat5) with graph desc; returns the commit's code. */
static int sg_load(vl_store *st, vl_collection *c, const vl_hnsw_graph *desc, size_t rows,
                   int repeat5)
{
	vl_bulk *b;
	cr_assert_eq(vl_bulk_begin(c, NULL, &b), 0, "%s", vl_errmsg(st));
	for (size_t i = 0; i < rows; i++) {
		char key[16];
		int kl = snprintf(key, sizeof key, "k%zu", repeat5 && i == SG_N ? (size_t)5 : i);
		vl_row r = { .key = key, .key_len = (size_t)kl, .vector = sg_vec[i], .dim = SG_DIM };
		cr_assert_eq(vl_bulk_add(b, &r, 1), 0, "%s", vl_errmsg(st));
	}
	int rc = vl_bulk_adopt_graph(b, desc);
	if (rc) {
		vl_bulk_abort(b);
		return rc;
	}
	return vl_bulk_commit(b);
}

static void expect_refused(vl_store *st, vl_collection *c, sgraph *g, uint32_t entry,
                           uint32_t max_level, int want_rc, const char *want_msg)
{
	vl_hnsw_graph desc = sg_desc(g, entry, max_level);
	int rc = sg_load(st, c, &desc, SG_N, 0);
	cr_expect_eq(rc, want_rc, "expected %s for '%s', got %s (%s)", vl_strerror(want_rc),
	             want_msg, vl_strerror(rc), vl_errmsg(st));
	cr_expect(strstr(vl_errmsg(st), want_msg), "message '%s' lacks '%s'", vl_errmsg(st),
	          want_msg);
	uint64_t count;
	cr_assert_eq(vl_count(c, NULL, &count), 0);
	cr_expect_eq(count, 0, "a refused graph committed rows");
}

Test(faiss_graph, bad_graphs_refused)
{
	char store[1200];
	snprintf(store, sizeof store, "%s/s", dir);
	vl_store *st = ts_open(store);
	static const char *const params[] = { "M=4", NULL };
	vl_collection *c = ts_create(st, "h", SG_DIM, VL_METRIC_L2, "hnsw", "float32", NULL, params);
	ts_rng rng = { 7 };
	ts_vectors(&rng, &sg_vec[0][0], SG_N + 1, SG_DIM);
	sgraph g;

	sg_valid(&g, SG_N);
	g.list[5][0][2] = SG_N;
	expect_refused(st, c, &g, 0, 2, VL_EINVAL, "neighbour 40 is outside 0..39");
	sg_valid(&g, SG_N);
	g.deg[5][0] = 9;
	expect_refused(st, c, &g, 0, 2, VL_EINVAL, "node 5 has 9 neighbours on level 0, more than its cap 8");
	sg_valid(&g, SG_N);
	g.deg[10][1] = 5;
	expect_refused(st, c, &g, 0, 2, VL_EINVAL, "node 10 has 5 neighbours on level 1, more than its cap 4");
	sg_valid(&g, SG_N);
	g.list[5][0][1] = 5;
	expect_refused(st, c, &g, 0, 2, VL_EINVAL, "node 5 level 0 links to itself");
	sg_valid(&g, SG_N);
	g.list[5][0][1] = g.list[5][0][0];
	expect_refused(st, c, &g, 0, 2, VL_EINVAL, "node 5 level 0 lists neighbour 6 twice");
	sg_valid(&g, SG_N);
	g.list[10][1][1] = 11;
	expect_refused(st, c, &g, 0, 2, VL_EINVAL, "neighbour 11 is not on that level");
	sg_valid(&g, SG_N);
	g.level[7] = 3;
	expect_refused(st, c, &g, 0, 2, VL_EINVAL, "node 7 has level 3, above the graph's max_level 2");
	sg_valid(&g, SG_N);
	expect_refused(st, c, &g, 10, 2, VL_EINVAL, "the entry node 10 has level 1, not max_level 2");
	sg_valid(&g, SG_N);
	g.fail_node = 3;
	expect_refused(st, c, &g, 0, 2, VL_EIO, "neighbours of node 3");

	/* the graph's nodes must be the rows: one row too many, or a key repeated */
	sg_valid(&g, SG_N);
	vl_hnsw_graph desc = sg_desc(&g, 0, 2);
	cr_expect_eq(sg_load(st, c, &desc, SG_N + 1, 0), VL_EINVAL);
	cr_expect(strstr(vl_errmsg(st), "40 nodes but the load added 41 rows"), "%s", vl_errmsg(st));
	sg_valid(&g, SG_N + 1);
	desc = sg_desc(&g, 0, 2);
	cr_expect_eq(sg_load(st, c, &desc, SG_N + 1, 1), VL_EINVAL);
	cr_expect(strstr(vl_errmsg(st), "replaced later in the same load"), "%s", vl_errmsg(st));

	/* refused up front: wrong M, out-of-range shape, a non-hnsw collection */
	sg_valid(&g, SG_N);
	desc = sg_desc(&g, 0, 2);
	desc.M = 5;
	cr_expect_eq(sg_load(st, c, &desc, SG_N, 0), VL_EINVAL);
	cr_expect(strstr(vl_errmsg(st), "M=5 but collection 'h' has M=4"), "%s", vl_errmsg(st));
	desc = sg_desc(&g, 0, 49);
	cr_expect_eq(sg_load(st, c, &desc, SG_N, 0), VL_EINVAL);
	desc = sg_desc(&g, SG_N, 2);
	cr_expect_eq(sg_load(st, c, &desc, SG_N, 0), VL_EINVAL);
	vl_collection *flat = ts_create(st, "f", SG_DIM, VL_METRIC_L2, "flat", "float32", NULL, NULL);
	desc = sg_desc(&g, 0, 2);
	cr_expect_eq(sg_load(st, flat, &desc, SG_N, 0), VL_EINVAL);
	cr_expect(strstr(vl_errmsg(st), "needs the hnsw index"), "%s", vl_errmsg(st));
	vl_collection_close(flat);
	uint64_t count;
	cr_assert_eq(vl_count(c, NULL, &count), 0);
	cr_expect_eq(count, 0);

	/* a valid graph is taken as it is: read back list by list, passes verify */
	sg_valid(&g, SG_N);
	desc = sg_desc(&g, 0, 2);
	cr_assert_eq(sg_load(st, c, &desc, SG_N, 0), 0, "%s", vl_errmsg(st));
	vl_graph *rg;
	vl_graph_info gi = VL_GRAPH_INFO_INIT;
	cr_assert_eq(vl_graph_open(c, &rg, &gi), 0, "%s", vl_errmsg(st));
	cr_expect(gi.nodes == SG_N && gi.M == SG_M && gi.M0 == 2 * SG_M && gi.entry == 0 &&
	          gi.max_level == 2 && gi.ef_construction == 77 && gi.ef_runtime == 10,
	          "shape: nodes %" PRIu64 " M %u M0 %u entry %u max %u efc %u ef %u", gi.nodes, gi.M,
	          gi.M0, gi.entry, gi.max_level, gi.ef_construction, gi.ef_runtime);
	for (uint64_t i = 0; i < SG_N; i++) {
		uint32_t lv, ids[16], n;
		cr_assert_eq(vl_graph_level(rg, i, &lv), 0);
		cr_expect_eq(lv, g.level[i], "node %" PRIu64 " level", i);
		for (uint32_t l = 0; l <= lv; l++) {
			cr_assert_eq(vl_graph_neighbors(rg, i, l, ids, 16, &n), 0);
			cr_expect(n == g.deg[i][l] && !memcmp(ids, g.list[i][l], n * 4),
			          "node %" PRIu64 " level %u", i, l);
		}
		const vl_record *r;
		cr_assert_eq(vl_graph_row(rg, i, &r), 0);
		char key[16];
		snprintf(key, sizeof key, "k%" PRIu64, i);
		cr_expect(r->key_len == strlen(key) && !memcmp(r->key, key, r->key_len));
	}
	uint32_t lv;
	cr_expect_eq(vl_graph_level(rg, SG_N, &lv), VL_EINVAL);
	vl_graph_close(rg);
	cr_expect_eq(vl_verify(st, NULL, NULL), 0, "%s", vl_errmsg(st));
	/* and searched: every row finds itself through the adopted graph */
	/* (EF_RUNTIME above the node count: the search reaches every node of
	 * the ring, so it must find each row's own vector) */
	static const char *const wide[] = { "EF_RUNTIME=64" };
	vl_search_opts so = VL_SEARCH_OPTS_INIT;
	so.k = 1;
	so.params = wide;
	so.nparams = 1;
	for (int i = 0; i < SG_N; i++) {
		vl_results *res;
		cr_assert_eq(vl_search(c, sg_vec[i], SG_DIM, &so, &res), 0);
		char key[16];
		snprintf(key, sizeof key, "k%d", i);
		cr_expect(res->n == 1 && res->hits[0].key_len == strlen(key) &&
		          !memcmp(res->hits[0].key, key, strlen(key)), "row %d", i);
		vl_results_free(res);
	}
	vl_collection_close(c);
	vl_close(st);
}

/* ---- reading a graph needs one clean segment ------------------------------- */

Test(faiss_graph, graph_needs_one_segment)
{
	enum { D = 8 };
	char store[1200], file[1300];
	snprintf(store, sizeof store, "%s/s", dir);
	snprintf(file, sizeof file, "%s/x.faiss", dir);
	vl_store *st = ts_open(store);
	ts_rng rng = { 3 };
	float x[300 * D];
	ts_vectors(&rng, x, 300, D);
	static const char *const params[] = { "M=6", NULL };
	vl_collection *c = hnsw_coll(st, "h", D, x, 150, params);
	vl_graph *g;
	/* empty and flat collections */
	vl_collection *e = ts_create(st, "e", D, VL_METRIC_IP, "hnsw", "float32", NULL, NULL);
	vl_graph_info gi = VL_GRAPH_INFO_INIT;
	cr_assert_eq(vl_graph_open(e, &g, &gi), 0, "%s", vl_errmsg(st));
	cr_expect_eq(gi.nodes, 0);
	vl_graph_close(g);
	vl_collection *f = ts_create(st, "f", D, VL_METRIC_L2, "flat", "float32", NULL, NULL);
	cr_expect_eq(vl_graph_open(f, &g, NULL), VL_EUNSUPPORTED);
	vl_collection_close(f);
	vl_collection_close(e);
	/* a second segment */
	vl_bulk *b;
	cr_assert_eq(vl_bulk_begin(c, NULL, &b), 0);
	for (int i = 150; i < 300; i++) {
		char key[16];
		int kl = snprintf(key, sizeof key, "%d", i);
		vl_row r = { .key = key, .key_len = (size_t)kl, .vector = x + i * D, .dim = D };
		cr_assert_eq(vl_bulk_add(b, &r, 1), 0);
	}
	cr_assert_eq(vl_bulk_commit(b), 0);
	cr_expect_eq(vl_graph_open(c, &g, NULL), VL_EINVAL);
	cr_expect(strstr(vl_errmsg(st), "has 2 segment(s)"), "%s", vl_errmsg(st));
	vl_collection_close(c);
	vl_close(st);

	char *out;
	cr_expect_eq(run(&out, "%s export '%s' -c h --format faiss --out '%s' 2>&1", ts_cli(), store,
	                 file), 1);
	cr_expect(strstr(out, "veclite compact") && strstr(out, "--compact"), "%s", out);
	free(out);
	cr_assert_eq(run(NULL, "%s export '%s' -c h --format faiss --compact --out '%s' >/dev/null "
	                       "2>&1", ts_cli(), store, file), 0);
	cr_assert_eq(run(&out, "%s describe '%s'", CHECK, file), 0);
	cr_expect_str_eq(out, "IndexIDMap2 8 300 1\n");
	free(out);
	/* the empty hnsw collection exports too, and --no-graph gives a flat index */
	cr_assert_eq(run(NULL, "%s export '%s' -c e --format faiss --out '%s' >/dev/null", ts_cli(),
	                 store, file), 0);
	cr_assert_eq(run(&out, "%s describe '%s'", CHECK, file), 0);
	cr_expect_str_eq(out, "IndexIDMap2 8 0 0\n");
	free(out);
	cr_assert_eq(run(&out, "%s export '%s' -c h --format faiss --no-graph --out '%s'", ts_cli(),
	                 store, file), 0);
	cr_expect(strstr(out, "over IndexFlatL2"), "%s", out);
	free(out);
}

/* ---- --keep-graph when the graph cannot apply ------------------------------ */

typedef struct dupsrc {
	const vl_faiss_index *ix;
	vl_faiss_vecinfo vi;
	const vl_faiss_hnsw *h;
} dupsrc;

static int dup_row(void *ctx, uint64_t i, float *vec, int64_t *id)
{
	dupsrc *s = ctx;
	int rc = vl_faiss_read(s->ix, &s->vi, i, 1, vec, id, NULL);
	*id = i == 1 ? 1000 : (int64_t)i + 1000; /* id 1000 twice */
	return rc;
}

static int dup_levels(void *ctx, uint64_t node)
{
	return vl_faiss_hnsw_levels(((dupsrc *)ctx)->h, node);
}

static uint32_t dup_neighbors(void *ctx, uint64_t node, int level, int32_t *out, uint32_t cap)
{
	return vl_faiss_hnsw_neighbors(((dupsrc *)ctx)->h, node, level, out, cap);
}

Test(faiss_graph, keep_graph_fallbacks_and_errors)
{
	char store[1200], file[1300], flat[2048], hnsw[2048];
	snprintf(store, sizeof store, "%s/s", dir);
	snprintf(file, sizeof file, "%s/dup.faiss", dir);
	snprintf(flat, sizeof flat, "%s/flat_l2.index", faiss_fx_dir());
	snprintf(hnsw, sizeof hnsw, "%s/hnsw_flat.index", faiss_fx_dir());
	vl_close(ts_open(store));
	char *out;
	/* no graph in the file */
	cr_expect_eq(run(&out, "%s import-faiss '%s' '%s' --keep-graph 2>&1", ts_cli(), flat, store),
	             1);
	cr_expect(strstr(out, "holds no HNSW graph"), "%s", out);
	free(out);
	/* an existing collection with another M */
	cr_assert_eq(run(NULL, "%s create '%s' -c m8 --dim 32 --index hnsw --set M=8 >/dev/null",
	                 ts_cli(), store), 0);
	cr_expect_eq(run(&out, "%s import-faiss '%s' '%s' -c m8 --keep-graph 2>&1", ts_cli(), hnsw,
	                 store), 1);
	cr_expect(strstr(out, "must use the hnsw index with M=16"), "%s", out);
	free(out);
	cr_expect_eq(run(&out, "%s import-faiss '%s' '%s' -c other --keep-graph --index vamana 2>&1",
	                 ts_cli(), hnsw, store), 2);
	free(out);
	/* an existing hnsw collection with the same M takes the graph as a new
	 * segment; importing the same file again replaces every row */
	cr_assert_eq(run(NULL, "%s create '%s' -c m16 --dim 32 --index hnsw --set M=16 >/dev/null",
	                 ts_cli(), store), 0);
	import_cli(hnsw, store, "m16", NULL, 1);
	import_cli(hnsw, store, "m16", NULL, 1);

	/* repeated ids: the collection keeps one row per key, the graph is built */
	size_t len;
	uint8_t *buf = faiss_fx_file("hnsw_flat", ".index", &len);
	vl_faiss_index *ix;
	vl_diag d;
	cr_assert_eq(vl_faiss_open(buf, len, &ix, &d), 0, "%s", d.msg);
	dupsrc s = { .ix = ix };
	cr_assert_eq(vl_faiss_vectors(ix, VL_FAISS_SPACE_AUTO, &s.vi, &d), 0);
	s.h = &s.vi.hnsw->hnsw;
	vl_faiss_graph fg = {
		.M = (uint32_t)s.h->M, .entry_point = s.h->entry_point, .max_level = s.h->max_level,
		.efConstruction = s.h->efConstruction, .efSearch = s.h->efSearch,
		.levels = dup_levels, .neighbors = dup_neighbors, .ctx = &s,
	};
	vl_faiss_write_opts wo = { .dim = s.vi.dim, .count = s.vi.count,
	                           .metric_type = VL_FAISS_METRIC_L2, .with_ids = 1, .graph = &fg,
	                           .row = dup_row, .ctx = &s };
	FILE *f = fopen(file, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(vl_faiss_write(f, &wo, &d), 0, "%s", d.msg);
	cr_assert_eq(fclose(f), 0);
	uint64_t n = s.vi.count;
	vl_faiss_close(ix);
	free(buf);
	cr_assert_eq(run(&out, "%s import-faiss '%s' '%s' -c dup --keep-graph --json --quiet "
	                       "2>/dev/null", ts_cli(), file, store), 0);
	cr_expect(strstr(out, "\"graph_kept\": false") && strstr(out, "id 1000 is repeated"), "%s",
	          out);
	free(out);
	vl_store *st = ts_open(store);
	vl_collection *c;
	cr_assert_eq(vl_collection_open(st, "dup", &c), 0);
	uint64_t count;
	cr_assert_eq(vl_count(c, NULL, &count), 0);
	cr_expect_eq(count, n - 1);
	vl_info *inf;
	cr_assert_eq(vl_collection_info(c, &inf), 0);
	cr_expect_str_eq(inf->index, "hnsw");
	vl_info_free(inf);
	vl_collection_close(c);
	cr_assert_eq(vl_collection_open(st, "m16", &c), 0);
	cr_assert_eq(vl_collection_info(c, &inf), 0);
	cr_expect(inf->rows == n && inf->segments == 2 && inf->dead_rows == n,
	          "m16: %" PRIu64 " rows, %u segments, %" PRIu64 " dead", inf->rows, inf->segments,
	          inf->dead_rows);
	vl_info_free(inf);
	vl_collection_close(c);
	cr_expect_eq(vl_verify(st, NULL, NULL), 0, "%s", vl_errmsg(st));
	vl_close(st);
}
