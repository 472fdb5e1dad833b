/*
 * test_search.c - exact search equals an independent brute force (double
 * precision, computed here) for l2, ip and cosine: rows in the write buffer,
 * in one or several segments, after deletes (tombstones), replacements and
 * compaction.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/tstore.h"

#define DIM 24
#define N 900
#define K 10

static char *dir;
static void setup(void) { dir = ts_tmpdir("search"); }
static void teardown(void)
{
	ts_rmtree(dir);
	free(dir);
}
TestSuite(search, .init = setup, .fini = teardown);

/* Reference state: current vector of each key index, and whether it lives. */
typedef struct ref {
	float v[N * DIM];
	uint8_t alive[N];
} ref;

/* The hits must be the true top-k: same distances as the brute force (in
 * order, within float rounding), and each hit's key must really be at that
 * distance. Checking keys through their distances keeps the test independent
 * of how exact ties are broken. */
static void check_query(vl_collection *c, vl_metric m, const ref *r, const float *q, int exact_flag)
{
	size_t idx[K];
	size_t want = ts_topk(m, q, r->v, N, DIM, r->alive, K, idx);
	vl_results *res;
	vl_search_opts so = VL_SEARCH_OPTS_INIT;
	so.k = K;
	so.flags = exact_flag ? VL_SEARCH_EXACT : 0;
	cr_assert_eq(vl_search(c, q, DIM, &so, &res), VL_OK, "%s", vl_errmsg(NULL));
	cr_assert_eq(res->n, want, "got %zu hits, want %zu", res->n, want);
	for (size_t i = 0; i < res->n; i++) {
		double dref = ts_dist(m, q, r->v + idx[i] * DIM, DIM);
		double tol = 1e-4 * (1.0 + fabs(dref));
		cr_assert(fabs((double)res->hits[i].distance - dref) <= tol, "rank %zu: distance %g, brute force %g",
		          i, (double)res->hits[i].distance, dref);
		char key[32];
		snprintf(key, sizeof key, "%.*s", (int)res->hits[i].key_len, (const char *)res->hits[i].key);
		size_t ki = (size_t)atoi(key + 1);
		cr_assert(ki < N && r->alive[ki], "hit %s is not a live row", key);
		double dkey = ts_dist(m, q, r->v + ki * DIM, DIM);
		cr_assert(fabs(dkey - dref) <= tol, "hit %s is at %g, not %g", key, dkey, dref);
		for (size_t j = 0; j < i; j++)
			cr_assert(res->hits[j].key_len != res->hits[i].key_len ||
			              memcmp(res->hits[j].key, res->hits[i].key, res->hits[i].key_len) != 0,
			          "key %s returned twice", key);
	}
	vl_results_free(res);
}

static void check_all(vl_collection *c, vl_metric m, const ref *r, ts_rng *rng)
{
	for (int qi = 0; qi < 12; qi++) {
		float q[DIM];
		ts_vectors(rng, q, 1, DIM);
		if (qi == 0) /* a stored vector as the query: its own row at distance ~0 */
			memcpy(q, r->v + 3 * DIM, sizeof q);
		check_query(c, m, r, q, qi & 1);
	}
}

static void put(vl_store *st, vl_collection *c, ref *r, size_t i, const float *v)
{
	memcpy(r->v + i * DIM, v, DIM * sizeof(float));
	r->alive[i] = 1;
	cr_assert_eq(ts_put_rows(st, c, "k", v, i, 1, DIM, NULL), VL_OK);
}

static void del(vl_store *st, vl_collection *c, ref *r, size_t i)
{
	char key[32];
	snprintf(key, sizeof key, "k%zu", i);
	const void *keys[] = { key };
	size_t lens[] = { strlen(key) }, n;
	vl_txn *t;
	cr_assert_eq(vl_txn_begin(st, &t), VL_OK);
	cr_assert_eq(vl_delete(t, c, keys, lens, 1, &n), VL_OK);
	cr_assert_eq(vl_txn_commit(t), VL_OK);
	cr_assert_eq(n, r->alive[i] ? 1u : 0u);
	r->alive[i] = 0;
}

static void run_lifecycle(vl_metric m)
{
	static ref r;
	memset(&r, 0, sizeof r);
	ts_rng rng = { 1234 + (uint64_t)m };
	vl_store *st = ts_open(dir);
	vl_collection *c = ts_create(st, "c", DIM, m, "flat", NULL, NULL, NULL);
	float *v = malloc(N * DIM * sizeof *v);
	cr_assert(v);
	ts_vectors(&rng, v, N, DIM);
	/* 1: everything in the write buffer */
	cr_assert_eq(ts_put_rows(st, c, "k", v, 0, 400, DIM, NULL), VL_OK);
	memcpy(r.v, v, 400 * DIM * sizeof *v);
	memset(r.alive, 1, 400);
	check_all(c, m, &r, &rng);
	/* 2: one segment + buffer */
	cr_assert_eq(vl_flush(c, NULL), VL_OK, "%s", vl_errmsg(st));
	cr_assert_eq(ts_put_rows(st, c, "k", v + 400 * DIM, 400, 300, DIM, NULL), VL_OK);
	memcpy(r.v + 400 * DIM, v + 400 * DIM, 300 * DIM * sizeof *v);
	memset(r.alive + 400, 1, 300);
	check_all(c, m, &r, &rng);
	/* 3: two segments; deletes and replacements of rows in segments and buffer */
	cr_assert_eq(vl_flush(c, NULL), VL_OK);
	cr_assert_eq(ts_put_rows(st, c, "k", v + 700 * DIM, 700, 200, DIM, NULL), VL_OK);
	memcpy(r.v + 700 * DIM, v + 700 * DIM, 200 * DIM * sizeof *v);
	memset(r.alive + 700, 1, 200);
	for (size_t i = 0; i < N; i += 7)
		del(st, c, &r, i);
	for (size_t i = 3; i < N; i += 11) {
		float nv[DIM];
		ts_vectors(&rng, nv, 1, DIM);
		put(st, c, &r, i, nv);
	}
	check_all(c, m, &r, &rng);
	uint64_t n;
	size_t live = 0;
	for (size_t i = 0; i < N; i++)
		live += r.alive[i];
	cr_assert_eq(vl_count(c, NULL, &n), VL_OK);
	cr_assert_eq(n, live);
	/* 4: compaction drops the dead rows; results do not change */
	cr_assert_eq(vl_flush(c, NULL), VL_OK);
	cr_assert_eq(vl_compact(c, NULL), VL_OK, "%s", vl_errmsg(st));
	vl_info *inf;
	cr_assert_eq(vl_collection_info(c, &inf), VL_OK);
	cr_assert_eq(inf->segments, 1);
	cr_assert_eq(inf->dead_rows, 0);
	cr_assert_eq(inf->segment_rows, live);
	vl_info_free(inf);
	check_all(c, m, &r, &rng);
	/* 5: deletes after compaction (tombstones in the compacted segment) */
	for (size_t i = 1; i < N; i += 13)
		del(st, c, &r, i);
	check_all(c, m, &r, &rng);
	cr_assert_eq(vl_verify(st, NULL, NULL), VL_OK, "%s", vl_errmsg(st));
	free(v);
	vl_collection_close(c);
	vl_close(st);
}

Test(search, l2_matches_brute_force) { run_lifecycle(VL_METRIC_L2); }
Test(search, ip_matches_brute_force) { run_lifecycle(VL_METRIC_IP); }
Test(search, cosine_matches_brute_force) { run_lifecycle(VL_METRIC_COSINE); }

Test(search, batch_equals_single_queries)
{
	ts_rng rng = { 99 };
	float v[500 * DIM], q[64 * DIM];
	ts_vectors(&rng, v, 500, DIM);
	ts_vectors(&rng, q, 64, DIM);
	vl_store *st = ts_open(dir);
	vl_collection *c = ts_create(st, "c", DIM, VL_METRIC_L2, "flat", NULL, NULL, NULL);
	cr_assert_eq(ts_put_rows(st, c, "k", v, 0, 300, DIM, NULL), VL_OK);
	cr_assert_eq(vl_flush(c, NULL), VL_OK);
	cr_assert_eq(ts_put_rows(st, c, "k", v + 300 * DIM, 300, 200, DIM, NULL), VL_OK);
	vl_results *batch[64];
	vl_search_opts so = VL_SEARCH_OPTS_INIT;
	so.k = 5;
	so.threads = 3;
	cr_assert_eq(vl_search_batch(c, q, 64, DIM, &so, batch), VL_OK);
	for (int i = 0; i < 64; i++) {
		vl_results *one;
		cr_assert_eq(vl_search(c, q + i * DIM, DIM, &so, &one), VL_OK);
		cr_assert_eq(one->n, batch[i]->n);
		for (size_t h = 0; h < one->n; h++) {
			cr_assert_eq(one->hits[h].distance, batch[i]->hits[h].distance);
			cr_assert_eq(one->hits[h].key_len, batch[i]->hits[h].key_len);
			cr_assert_eq(memcmp(one->hits[h].key, batch[i]->hits[h].key, one->hits[h].key_len), 0);
		}
		vl_results_free(one);
		vl_results_free(batch[i]);
	}
	vl_collection_close(c);
	vl_close(st);
}

Test(search, k_larger_than_rows_returns_all_and_says_so)
{
	float v[3 * 4] = { 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0 };
	vl_store *st = ts_open(dir);
	vl_collection *c = ts_create(st, "c", 4, VL_METRIC_L2, NULL, NULL, NULL, NULL);
	cr_assert_eq(ts_put_rows(st, c, "k", v, 0, 3, 4, NULL), VL_OK);
	vl_results *res;
	vl_search_opts so = VL_SEARCH_OPTS_INIT;
	so.k = 10;
	float q[4] = { 0, 0, 0, 1 };
	cr_assert_eq(vl_search(c, q, 4, &so, &res), VL_OK);
	cr_assert_eq(res->n, 3);
	cr_assert(res->flags & VL_RESULT_FEWER);
	cr_assert_eq(res->matched, 3);
	cr_assert_eq(res->hits[0].distance, 0.0f);
	vl_results_free(res);
	vl_collection_close(c);
	vl_close(st);
}

Test(search, rerank_from_disk_equals_mapped)
{
	ts_rng rng = { 31 };
	float *v = malloc(2000 * DIM * sizeof *v), q[DIM];
	ts_vectors(&rng, v, 2000, DIM);
	vl_store *st = ts_open(dir);
	vl_collection *c = ts_create(st, "c", DIM, VL_METRIC_COSINE, "flat", NULL, NULL, NULL);
	cr_assert_eq(ts_put_rows(st, c, "k", v, 0, 2000, DIM, NULL), VL_OK);
	cr_assert_eq(vl_flush(c, NULL), VL_OK);
	const char *modes[] = { "RERANK_IO=mmap", "RERANK_IO=pread", "RERANK_IO=uring" };
	for (int qi = 0; qi < 5; qi++) {
		ts_vectors(&rng, q, 1, DIM);
		vl_results *base = NULL;
		for (int m = 0; m < 3; m++) {
			const char *params[] = { "RERANK_WITH=full", modes[m] };
			vl_search_opts so = VL_SEARCH_OPTS_INIT;
			so.k = 8;
			so.params = params;
			so.nparams = 2;
			vl_results *r;
			cr_assert_eq(vl_search(c, q, DIM, &so, &r), VL_OK, "%s: %s", modes[m], vl_errmsg(st));
			if (!base) {
				base = r;
				continue;
			}
			cr_assert_eq(r->n, base->n);
			for (size_t i = 0; i < r->n; i++) {
				cr_assert_eq(r->hits[i].distance, base->hits[i].distance, "%s rank %zu", modes[m], i);
				cr_assert_eq(memcmp(r->hits[i].key, base->hits[i].key, r->hits[i].key_len), 0);
			}
			vl_results_free(r);
		}
		vl_results_free(base);
	}
	const char *bad[] = { "RERANK_IO=carrier-pigeon" };
	vl_search_opts so = VL_SEARCH_OPTS_INIT;
	so.params = bad;
	so.nparams = 1;
	vl_results *r = NULL;
	cr_assert_eq(vl_search(c, q, DIM, &so, &r), VL_EINVAL);
	cr_assert(strstr(vl_errmsg(st), "RERANK_IO"));
	free(v);
	vl_collection_close(c);
	vl_close(st);
}
