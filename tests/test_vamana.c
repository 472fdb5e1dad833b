/*
 * test_vamana.c - the Vamana index at the index level (build, open, search,
 * verify, rebuild) on Fashion-MNIST subsets, against exact brute force.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "index/vamana.h"
#include "quant/qcommon.h"
#include "simd/simd.h"
#include "util/idxseg.h"
#include "util/qtest.h"
#include "vl_bytes.h"

#define NQ 200
#define K 10

/* ---- data and oracle ------------------------------------------------------ */

typedef struct dataset {
	float *base, *queries;
	size_t n, nq;
	uint32_t dim;
	double *dist;              /* nq x n exact distances (lazily) */
	vl_metric metric;
} dataset;

static void load(dataset *ds, size_t n, size_t nq)
{
	memset(ds, 0, sizeof *ds);
	size_t got;
	uint32_t dim;
	ds->base = qt_load_idx("fmnist-train-images", 0, n, &ds->n, &ds->dim);
	cr_assert(ds->base, "Fashion-MNIST missing: run `make data` (VECLITE_DATA=%s)",
	          getenv("VECLITE_DATA") ? getenv("VECLITE_DATA") : "build/data");
	ds->queries = qt_load_idx("fmnist-test-images", 0, nq, &got, &dim);
	cr_assert(ds->queries && dim == ds->dim);
	ds->nq = got;
	ds->metric = VL_METRIC_L2;
}

static void free_ds(dataset *ds)
{
	free(ds->base);
	free(ds->queries);
	free(ds->dist);
}

static void exact_all(dataset *ds)
{
	if (ds->dist)
		return;
	ds->dist = malloc(ds->nq * ds->n * sizeof *ds->dist);
	cr_assert(ds->dist);
	for (size_t q = 0; q < ds->nq; q++)
		for (size_t i = 0; i < ds->n; i++)
			ds->dist[q * ds->n + i] =
			    qt_exact_dist(ds->metric, ds->queries + q * ds->dim, ds->base + i * ds->dim, ds->dim);
}

/* k-th smallest exact distance of query q among accepted rows; the number
 * of accepted rows goes to *matches. */
static double kth_accepted(const dataset *ds, size_t q, const vl_accept *acc, uint32_t k,
                           size_t *matches)
{
	double best[64];
	size_t nb = 0, m = 0;
	for (size_t i = 0; i < ds->n; i++) {
		if (acc && !vl_accepts(acc, (uint32_t)i))
			continue;
		m++;
		double d = ds->dist[q * ds->n + i];
		if (nb == k && d >= best[k - 1])
			continue;
		size_t j = nb < k ? nb++ : k - 1;
		while (j > 0 && best[j - 1] > d) {
			best[j] = best[j - 1];
			j--;
		}
		best[j] = d;
	}
	*matches = m;
	return nb ? best[nb - 1] : INFINITY;
}

/* Mean recall@K of the index over the queries (cap = candidates the
 * engine would re-rank; K here: no re-rank slack). */
static double recall_of(const ix_seg *s, dataset *ds, const vl_accept *acc, const char *const *params,
                        size_t np, size_t *short_answers)
{
	exact_all(ds);
	double sum = 0;
	if (short_answers)
		*short_answers = 0;
	for (size_t q = 0; q < ds->nq; q++) {
		vl_topk t;
		vl_diag d = { 0 };
		/* compressed storage: the engine keeps 4k candidates and re-ranks
		 * them at full precision; do the same with the exact distances */
		int lossy = s->q.ops->id != VL_STORAGE_FLOAT32;
		int rc = ix_seg_search(s, ds->queries + q * ds->dim, K, lossy ? 4 * K : K, acc, params, np,
		                       &t, NULL, &d);
		cr_assert_eq(rc, VL_OK, "search: %s", d.msg);
		if (lossy) {
			for (size_t i = 0; i < t.n; i++)
				t.a[i].dist = (float)ds->dist[q * ds->n + t.a[i].row];
			vl_topk_sort(&t);
			if (t.n > K)
				t.n = K;
		}
		size_t matches;
		double kth = kth_accepted(ds, q, acc, K, &matches);
		uint32_t want = matches < K ? (uint32_t)matches : K;
		if (t.n < want && short_answers)
			(*short_answers)++;
		uint32_t ok = 0;
		for (size_t i = 0; i < t.n; i++) {
			uint32_t r = t.a[i].row;
			cr_assert(r < ds->n);
			cr_assert(!acc || vl_accepts(acc, r), "row %u does not pass the filter", r);
			if (ds->dist[q * ds->n + r] <= kth + 1e-9 * (fabs(kth) + 1))
				ok++;
		}
		sum += want ? (double)ok / want : 1.0;
		vl_topk_free(&t);
	}
	return sum / (double)ds->nq;
}

static void build(ix_seg *s, const float *vecs, size_t n, uint32_t dim, const char *storage,
                  const char *const *params, size_t np, unsigned threads, uint64_t seed)
{
	ix_opts o = { .storage = storage, .params = params, .nparams = np, .threads = threads,
		          .seed = seed };
	vl_diag d = { 0 };
	int rc = ix_seg_make(s, &vl_index_vamana, vecs, n, dim, &o, &d);
	cr_assert_eq(rc, VL_OK, "build: %s", d.msg);
}

/* Graph checks straight from the adjacency bytes: degree <= R, no self
 * loops, ids valid; returns the fraction reachable from the entry. */
static double check_graph(const ix_seg *s, uint32_t R)
{
	uint64_t mlen, alen;
	const uint8_t *meta = ix_seg_section(s, VL_SEC_VAMANA_META, &mlen);
	const uint8_t *adj = ix_seg_section(s, VL_SEC_VAMANA_ADJ, &alen);
	cr_assert(meta && adj && mlen == 128);
	cr_assert_eq(vl_ld32(meta + 24), R);
	uint64_t n = vl_ld64(meta + 16);
	uint32_t entry = vl_ld32(meta + 28);
	cr_assert_eq(n, s->n);
	cr_assert_eq(alen, n * R * 4);
	cr_assert(entry < n);
	uint32_t *queue = malloc(n * sizeof *queue);
	uint8_t *seen = calloc(n, 1);
	cr_assert(queue && seen);
	for (uint64_t v = 0; v < n; v++) {
		int ended = 0;
		for (uint32_t j = 0; j < R; j++) {
			uint32_t id = vl_ld32(adj + (v * R + j) * 4);
			if (id == UINT32_MAX) {
				ended = 1;
				continue;
			}
			cr_assert(!ended, "node %llu: neighbour after an empty slot", (unsigned long long)v);
			cr_assert(id < n, "node %llu: id %u out of range", (unsigned long long)v, id);
			cr_assert(id != v, "node %llu: self loop", (unsigned long long)v);
		}
	}
	size_t head = 0, tail = 0;
	queue[tail++] = entry;
	seen[entry] = 1;
	while (head < tail) {
		uint32_t v = queue[head++];
		for (uint32_t j = 0; j < R; j++) {
			uint32_t id = vl_ld32(adj + ((uint64_t)v * R + j) * 4);
			if (id == UINT32_MAX)
				break;
			if (!seen[id]) {
				seen[id] = 1;
				queue[tail++] = id;
			}
		}
	}
	free(queue);
	free(seen);
	return (double)tail / (double)n;
}

/* ---- recall at default parameters ----------------------------------------- */

static void recall_test(const char *storage, size_t n)
{
	if (!vl_quant_find(storage)) {
		cr_skip_test("storage type %s is not in this build yet", storage);
		return;
	}
	dataset ds;
	load(&ds, n, NQ);
	ix_seg s;
	build(&s, ds.base, ds.n, ds.dim, storage, NULL, 0, 2, 7);
	double r = recall_of(&s, &ds, NULL, NULL, 0, NULL);
	fprintf(stderr, "vamana %s n=%zu: recall@10 %.4f at default parameters%s\n", storage, ds.n, r,
	        strcmp(storage, "float32") ? " (40 candidates re-ranked exactly)" : "");
	cr_expect_geq(r, 0.95, "%s recall@10 %.4f < 0.95", storage, r);
	vl_diag d = { 0 };
	cr_expect_eq(vl_index_vamana.verify(s.state, &d), VL_OK, "%s", d.msg);
	ix_seg_free(&s);
	free_ds(&ds);
}

Test(vamana, recall_float32) { recall_test("float32", 5000); }
Test(vamana, recall_lvq4x8) { recall_test("lvq4x8", 5000); }

/* ---- determinism ---------------------------------------------------------- */

static void section_bytes(const ix_seg *s, uint8_t **meta, uint8_t **adj, uint64_t *alen)
{
	uint64_t ml;
	const uint8_t *m = ix_seg_section(s, VL_SEC_VAMANA_META, &ml);
	const uint8_t *a = ix_seg_section(s, VL_SEC_VAMANA_ADJ, alen);
	*meta = malloc(ml);
	*adj = malloc(*alen);
	memcpy(*meta, m, ml);
	memcpy(*adj, a, *alen);
}

Test(vamana, deterministic_build)
{
	dataset ds;
	load(&ds, 2000, 1);
	ix_seg a, b, c;
	uint8_t *ma, *aa, *mb, *ab, *mc, *ac;
	uint64_t la, lb, lc;
	static const char *const small[] = { "CONSTRUCTION_WINDOW_SIZE=64" };
	build(&a, ds.base, ds.n, ds.dim, "float32", small, 1, 1, 1234);
	section_bytes(&a, &ma, &aa, &la);
	ix_seg_free(&a);
	build(&b, ds.base, ds.n, ds.dim, "float32", small, 1, 1, 1234);
	section_bytes(&b, &mb, &ab, &lb);
	ix_seg_free(&b);
	cr_assert_eq(la, lb);
	cr_assert(memcmp(ma, mb, 128) == 0, "meta sections differ");
	cr_assert(memcmp(aa, ab, la) == 0, "one thread, same seed: adjacency differs");
	/* the batch schedule makes the graph independent of the thread count */
	build(&c, ds.base, ds.n, ds.dim, "float32", small, 1, 2, 1234);
	section_bytes(&c, &mc, &ac, &lc);
	ix_seg_free(&c);
	cr_assert(lc == la && memcmp(aa, ac, la) == 0, "two threads: adjacency differs");
	/* and a different seed gives a different graph (the seed is used) */
	build(&c, ds.base, ds.n, ds.dim, "float32", small, 1, 1, 99);
	uint8_t *md, *ad;
	uint64_t ld;
	section_bytes(&c, &md, &ad, &ld);
	ix_seg_free(&c);
	cr_assert(memcmp(aa, ad, la) != 0, "seed has no effect");
	free(ma), free(aa), free(mb), free(ab), free(mc), free(ac), free(md), free(ad);
	free_ds(&ds);
}

/* The compressed path (LVQ codes through the build's query cache) is
 * deterministic too, whatever the thread count. */
Test(vamana, deterministic_build_lvq)
{
	if (!vl_quant_find("lvq4x8")) {
		cr_skip_test("lvq4x8 is not in this build yet");
		return;
	}
	dataset ds;
	load(&ds, 1500, 1);
	static const char *const small[] = { "CONSTRUCTION_WINDOW_SIZE=64" };
	ix_seg a, b;
	uint8_t *ma, *aa, *mb, *ab;
	uint64_t la, lb;
	build(&a, ds.base, ds.n, ds.dim, "lvq4x8", small, 1, 1, 77);
	section_bytes(&a, &ma, &aa, &la);
	ix_seg_free(&a);
	build(&b, ds.base, ds.n, ds.dim, "lvq4x8", small, 1, 2, 77);
	section_bytes(&b, &mb, &ab, &lb);
	ix_seg_free(&b);
	cr_assert(la == lb && memcmp(aa, ab, la) == 0 && memcmp(ma, mb, 128) == 0,
	          "lvq4x8: 1 and 2 threads give different graphs");
	free(ma), free(aa), free(mb), free(ab);
	free_ds(&ds);
}

/* The build's query cache holds, for every row, exactly the bytes a fresh
 * preparation of its original gives the integer kernels, so distances
 * through it are the same floats. */
Test(vamana, query_cache)
{
	dataset ds;
	load(&ds, 1200, 1);
	static const char *const small[] = { "CONSTRUCTION_WINDOW_SIZE=32" };
	const char *kinds[] = { "lvq4x4", "lvq8" };
	for (size_t k = 0; k < 2; k++) {
		ix_seg s;
		build(&s, ds.base, ds.n, ds.dim, kinds[k], small, 1, 2, 5);
		cr_assert(s.q.qbuf_scan > sizeof(vl_lvq_query) && s.q.qbuf_scan <= s.q.qbuf_size);
		vl_index_build b = { .dim = ds.dim, .metric = ds.metric, .nrows = ds.n,
		                     .vectors = ds.base, .q = &s.q, .threads = 2, .seed = 5 };
		vam_work w;
		vl_diag d = { 0 };
		cr_assert_eq(vam_work_init(&w, &b, &d), VL_OK, "%s", d.msg);
		cr_assert(w.qcache, "%s: no query cache for 1200 rows", kinds[k]);
		void *fresh = vl_qalloc(s.q.qbuf_size);
		cr_assert(fresh);
		uint32_t ids[64];
		float dc[64], df[64];
		for (uint32_t i = 0; i < 64; i++)
			ids[i] = (i * 37u + 11u) % (uint32_t)ds.n;
		for (uint32_t r = 0; r < ds.n; r += 7) {
			s.q.ops->prepare(&s.q, ds.base + (size_t)r * ds.dim, fresh);
			const void *cached = vam_query(&w, &w.tls[0], r);
			cr_assert(memcmp(cached, fresh, s.q.qbuf_scan) == 0, "%s: row %u cached query differs",
			          kinds[k], r);
			s.q.ops->dist_rows(&s.q, cached, ids, 64, dc);
			s.q.ops->dist_rows(&s.q, fresh, ids, 64, df);
			cr_assert(memcmp(dc, df, sizeof dc) == 0, "%s: row %u distances differ", kinds[k], r);
		}
		free(fresh);
		vam_work_free(&w);
		ix_seg_free(&s);
	}
	free_ds(&ds);
}

/*
 * RobustPrune against a reference written from SPEC's wording: sweeps at
 * slack 1 then alpha, candidates taken nearest first unless a node chosen
 * before them in pool order occludes them at the sweep's slack (l2 in
 * distances, ip and cosine in similarities). The reference tests every
 * pair; the engine only the candidates still live. Distances come from the
 * same storage, each pair computed on its own.
 */
static int ref_occludes(vl_metric m, double a, float dstar, float dp)
{
	if (m == VL_METRIC_L2)
		return a * dstar <= dp;
	double sstar = m == VL_METRIC_IP ? -(double)dstar : 1.0 - dstar;
	double sp = m == VL_METRIC_IP ? -(double)dp : 1.0 - dp;
	return a * sstar >= sp;
}

static uint32_t ref_prune(const vl_qview *q, const float *base, uint32_t dim, const vam_cand *pool,
                          size_t np, double alpha, uint32_t R, void *qbuf, uint32_t *out)
{
	uint8_t chosen[256] = { 0 }, occ[2][256] = { { 0 } };
	double lv[2] = { 1.0, alpha };
	uint32_t sel = 0;
	for (int l = 0; l < (alpha == 1.0 ? 1 : 2); l++)
		for (size_t i = 0; i < np && sel < R; i++) {
			if (chosen[i] || occ[l][i])
				continue;
			chosen[i] = 1;
			out[sel++] = pool[i].id;
			q->ops->prepare(q, base + (size_t)pool[i].id * dim, qbuf);
			for (size_t j = i + 1; j < np; j++) {
				float dstar;
				q->ops->dist_rows(q, qbuf, &pool[j].id, 1, &dstar);
				for (int l2 = 0; l2 < 2; l2++)
					occ[l2][j] |= (uint8_t)ref_occludes(q->metric, lv[l2], dstar, pool[j].dist);
			}
		}
	return sel;
}

Test(vamana, robust_prune_matches_reference)
{
	dataset ds;
	load(&ds, 3000, 1);
	const vl_metric metrics[] = { VL_METRIC_L2, VL_METRIC_COSINE, VL_METRIC_IP };
	const double alphas[] = { 1.2, 0.95, 0.95 };
	for (size_t mi = 0; mi < 3; mi++) {
		ix_seg s;
		ix_opts o = { .storage = "lvq4x4", .metric = metrics[mi], .threads = 1, .seed = 3 };
		static const char *const small[] = { "CONSTRUCTION_WINDOW_SIZE=32" };
		o.params = small;
		o.nparams = 1;
		vl_diag d = { 0 };
		cr_assert_eq(ix_seg_make(&s, &vl_index_vamana, ds.base, ds.n, ds.dim, &o, &d), VL_OK, "%s", d.msg);
		vl_index_build b = { .dim = ds.dim, .metric = metrics[mi], .nrows = ds.n, .vectors = ds.base,
		                     .q = &s.q, .threads = 1, .seed = 3 };
		vam_work w;
		cr_assert_eq(vam_work_init(&w, &b, &d), VL_OK, "%s", d.msg);
		void *qbuf = vl_qalloc(s.q.qbuf_size);
		cr_assert(qbuf);
		qt_rng r = { 77 + mi };
		size_t total = 0;
		for (int it = 0; it < 40; it++) {
			uint32_t p = qt_below(&r, (uint32_t)ds.n);
			size_t np = 60 + qt_below(&r, 190);
			cr_assert_eq(vam_tls_reserve(&w.tls[0], np), VL_OK);
			vam_cand pool[256];
			uint32_t ids[256];
			for (size_t j = 0; j < np; j++) {
				uint32_t id;
				do
					id = qt_below(&r, (uint32_t)ds.n);
				while (id == p);
				ids[j] = id;
			}
			float dist[256];
			s.q.ops->prepare(&s.q, ds.base + (size_t)p * ds.dim, qbuf);
			s.q.ops->dist_rows(&s.q, qbuf, ids, np, dist);
			for (size_t j = 0; j < np; j++)
				pool[j] = (vam_cand){ .dist = dist[j], .id = ids[j] };
			qsort(pool, np, sizeof *pool, vam_cmp_cand);
			size_t u = 0; /* duplicates out, as vam_tidy_pool leaves it */
			for (size_t j = 0; j < np; j++)
				if (!u || pool[j].id != pool[u - 1].id || pool[j].dist != pool[u - 1].dist)
					pool[u++] = pool[j];
			np = u;
			memcpy(w.tls[0].pool, pool, np * sizeof *pool);
			uint32_t got[VAM_MAX_R], want[VAM_MAX_R];
			double alpha = it % 4 == 3 ? 1.0 : alphas[mi];
			uint32_t ng = vam_robust_prune(&w, &w.tls[0], p, np, alpha, got);
			uint32_t nw = ref_prune(&s.q, ds.base, ds.dim, pool, np, alpha, w.R, qbuf, want);
			cr_assert_eq(ng, nw, "metric %d it %d: %u chosen, reference %u", metrics[mi], it, ng, nw);
			cr_assert(memcmp(got, want, ng * sizeof *got) == 0, "metric %d it %d: choices differ",
			          metrics[mi], it);
			total += ng;
		}
		/* neither empty nor always full: the rule was exercised */
		cr_assert(total > 40 && total < 40 * w.R, "metric %d: %zu chosen in all", metrics[mi], total);
		free(qbuf);
		vam_work_free(&w);
		ix_seg_free(&s);
	}
	free_ds(&ds);
}

/* ---- invariants ------------------------------------------------------------ */

Test(vamana, graph_invariants)
{
	dataset ds;
	load(&ds, 3000, 1);
	static const char *const p16[] = { "GRAPH_MAX_DEGREE=16" };
	const char *const *ps[] = { NULL, p16 };
	uint32_t Rs[] = { 32, 16 };
	for (int i = 0; i < 2; i++) {
		ix_seg s;
		build(&s, ds.base, ds.n, ds.dim, "float32", ps[i], ps[i] ? 1 : 0, 2, 5);
		double reach = check_graph(&s, Rs[i]);
		cr_expect_geq(reach, 0.999, "R=%u: only %.4f reachable from the entry", Rs[i], reach);
		vl_diag d = { 0 };
		cr_expect_eq(vl_index_vamana.verify(s.state, &d), VL_OK, "%s", d.msg);
		char desc[256];
		vl_index_vamana.describe(s.state, desc, sizeof desc);
		cr_expect(strstr(desc, Rs[i] == 32 ? "R=32" : "R=16"), "describe: %s", desc);
		ix_seg_free(&s);
	}
	free_ds(&ds);
}

/* ---- filters ---------------------------------------------------------------- */

typedef struct pct_filter {
	uint32_t per_million;
} pct_filter;

static int pct_accept(void *ud, uint32_t row)
{
	const pct_filter *f = ud;
	uint64_t h = (uint64_t)row * 0x9E3779B97F4A7C15ull;
	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9ull;
	h ^= h >> 32;
	return h % 1000000 < f->per_million;
}

Test(vamana, filtered_recall)
{
	dataset ds;
	load(&ds, 5000, NQ);
	ix_seg s;
	build(&s, ds.base, ds.n, ds.dim, "float32", NULL, 0, 2, 11);
	/* 95%: like tombstones, applied to the final buffer; 50%, 10%: during
	 * traversal; 1%, 0.1%: the engine scans exactly, the index must cope */
	uint32_t pm[] = { 950000, 500000, 100000, 10000, 1000 };
	for (int i = 0; i < 5; i++) {
		pct_filter f = { pm[i] };
		vl_accept acc = { pct_accept, &f, pm[i] / 1e6 };
		size_t shorts;
		double r = recall_of(&s, &ds, &acc, NULL, 0, &shorts);
		fprintf(stderr, "vamana filter %.1f%%: recall@10 %.4f, %zu short answers\n", pm[i] / 1e4, r,
		        shorts);
		if (pm[i] >= 100000) {
			cr_expect_geq(r, 0.95, "selectivity %.1f%%: recall %.4f", pm[i] / 1e4, r);
			cr_expect_eq(shorts, 0, "selectivity %.1f%%: %zu queries got fewer than k", pm[i] / 1e4,
			             shorts);
		}
	}
	/* nothing matches: nothing returned, no crash */
	pct_filter none = { 0 };
	vl_accept acc0 = { pct_accept, &none, 0.0 };
	vl_topk t;
	vl_diag d = { 0 };
	cr_assert_eq(ix_seg_search(&s, ds.queries, K, K, &acc0, NULL, 0, &t, NULL, &d), VL_OK);
	cr_expect_eq(t.n, 0);
	vl_topk_free(&t);
	ix_seg_free(&s);
	free_ds(&ds);
}

/* ---- churn: delete 10% + insert 10% + rebuild, 5 rounds ---------------------- */

Test(vamana, churn_rebuild)
{
	const size_t n0 = 4000, rounds = 5, step = n0 / 10;
	dataset pool;
	load(&pool, n0 + rounds * step, NQ);
	/* the live rows, as indexes into pool.base; the segment row i holds live[i] */
	uint32_t *live = malloc(n0 * sizeof *live);
	for (size_t i = 0; i < n0; i++)
		live[i] = (uint32_t)i;
	size_t nlive = n0, next = n0;
	float *vecs = malloc((n0 + step) * pool.dim * sizeof *vecs);
	memcpy(vecs, pool.base, n0 * pool.dim * sizeof *vecs);
	ix_seg *cur = calloc(1, sizeof *cur); /* the index state points into it: never copied */
	build(cur, vecs, nlive, pool.dim, "float32", NULL, 0, 2, 3);
	qt_rng rng = { 77 };
	static const char *const w10[] = { "SEARCH_WINDOW_SIZE=10" };
	for (size_t round = 0; round < rounds; round++) {
		/* delete 10%: map old row -> new row or UINT32_MAX */
		uint32_t *map0 = malloc(nlive * sizeof *map0);
		uint8_t *del = calloc(nlive, 1);
		for (size_t k = 0; k < step;) {
			uint32_t r = qt_below(&rng, (uint32_t)nlive);
			if (!del[r]) {
				del[r] = 1;
				k++;
			}
		}
		uint32_t *nlive_ids = malloc((nlive - step + step) * sizeof *nlive_ids);
		size_t m = 0;
		for (size_t r = 0; r < nlive; r++) {
			map0[r] = del[r] ? UINT32_MAX : (uint32_t)m;
			if (!del[r])
				nlive_ids[m++] = live[r];
		}
		/* insert 10%: a small segment of new rows with its own graph */
		ix_seg add;
		build(&add, pool.base + next * pool.dim, step, pool.dim, "float32", NULL, 0, 2, round);
		uint32_t *map1 = malloc(step * sizeof *map1);
		for (size_t r = 0; r < step; r++) {
			map1[r] = (uint32_t)(m + r);
			nlive_ids[m + r] = (uint32_t)(next + r);
		}
		next += step;
		size_t nn = m + step;
		for (size_t i = 0; i < nn; i++)
			memcpy(vecs + i * pool.dim, pool.base + (size_t)nlive_ids[i] * pool.dim,
			       pool.dim * sizeof *vecs);
		void *src[2] = { cur->state, add.state };
		const uint32_t *maps[2] = { map0, map1 };
		uint64_t rows[2] = { nlive, step };
		ix_opts o = { .threads = 2, .seed = 100 + round, .src = src, .map = maps, .src_rows = rows,
			          .nsrc = 2 };
		ix_seg *next_seg = calloc(1, sizeof *next_seg);
		vl_diag d = { 0 };
		cr_assert_eq(ix_seg_make(next_seg, &vl_index_vamana, vecs, nn, pool.dim, &o, &d), VL_OK,
		             "rebuild: %s", d.msg);
		char desc[256];
		vl_index_vamana.describe(next_seg->state, desc, sizeof desc);
		cr_expect(strstr(desc, "origin=rebuild"), "round %zu: %s", round, desc);
		cr_expect_eq(vl_index_vamana.verify(next_seg->state, &d), VL_OK, "%s", d.msg);
		ix_seg_free(cur);
		free(cur);
		ix_seg_free(&add);
		cur = next_seg;
		free(live);
		live = nlive_ids;
		nlive = nn;
		free(map0);
		free(map1);
		free(del);
	}
	/* compare with a fresh build on the same rows */
	dataset ds = { .base = vecs, .queries = pool.queries, .n = nlive, .nq = pool.nq,
		           .dim = pool.dim, .metric = VL_METRIC_L2 };
	double r_churn = recall_of(cur, &ds, NULL, w10, 1, NULL);
	double reach = check_graph(cur, 32);
	ix_seg fresh;
	build(&fresh, vecs, nlive, pool.dim, "float32", NULL, 0, 2, 3);
	double r_fresh = recall_of(&fresh, &ds, NULL, w10, 1, NULL);
	fprintf(stderr, "vamana churn: recall@10 %.4f after 5 rounds, fresh build %.4f, reachable %.4f\n",
	        r_churn, r_fresh, reach);
	cr_expect_geq(r_churn, r_fresh - 0.01, "churn recall %.4f vs fresh %.4f", r_churn, r_fresh);
	cr_expect_geq(reach, 0.999);
	ix_seg_free(&fresh);
	ix_seg_free(cur);
	free(cur);
	free(ds.dist);
	free(live);
	free(vecs);
	free_ds(&pool);
}

/* ---- parameters, cancellation, corruption ----------------------------------- */

Test(vamana, parameters)
{
	vl_diag d = { 0 };
	const vl_index_ops *v = vl_index_find("vamana");
	cr_assert(v == &vl_index_vamana);
	cr_expect_eq(v->check_param("GRAPH_MAX_DEGREE", "64", 8, VL_METRIC_L2, &d), VL_OK);
	cr_expect_eq(v->check_param("GRAPH_MAX_DEGREE", "0", 8, VL_METRIC_L2, &d), VL_EINVAL);
	cr_expect(strstr(d.msg, "GRAPH_MAX_DEGREE"), "%s", d.msg);
	cr_expect_eq(v->check_param("GRAPH_MAX_DEGREE", "12x", 8, VL_METRIC_L2, &d), VL_EINVAL);
	cr_expect_eq(v->check_param("ALPHA", "1.2", 8, VL_METRIC_L2, &d), VL_OK);
	cr_expect_eq(v->check_param("ALPHA", "0.9", 8, VL_METRIC_L2, &d), VL_EINVAL);
	cr_expect_eq(v->check_param("ALPHA", "0.95", 8, VL_METRIC_COSINE, &d), VL_OK);
	cr_expect_eq(v->check_param("ALPHA", "1.2", 8, VL_METRIC_IP, &d), VL_EINVAL);
	cr_expect(strstr(d.msg, "ALPHA") && strstr(d.msg, "ip/cosine"), "%s", d.msg);
	cr_expect_eq(v->check_param("BUILD_PRECISION", "full", 8, VL_METRIC_L2, &d), VL_OK);
	cr_expect_eq(v->check_param("BUILD_PRECISION", "half", 8, VL_METRIC_L2, &d), VL_EINVAL);
	cr_expect_eq(v->check_param("CONSTRUCTION_WINDOW_SIZE", "100", 8, VL_METRIC_L2, &d), VL_OK);
	cr_expect_eq(v->check_param("MAX_CANDIDATE_POOL_SIZE", "-3", 8, VL_METRIC_L2, &d), VL_EINVAL);
	cr_expect_eq(v->check_param("EF_RUNTIME", "10", 8, VL_METRIC_L2, &d), VL_ENOTFOUND);
	cr_expect_eq(v->check_runtime_param("SEARCH_WINDOW_SIZE", "64", &d), VL_OK);
	cr_expect_eq(v->check_runtime_param("SEARCH_WINDOW_SIZE", "0", &d), VL_EINVAL);
	cr_expect_eq(v->check_runtime_param("SEARCH_BUFFER_CAPACITY", "100", &d), VL_OK);
	cr_expect_eq(v->check_runtime_param("GRAPH_MAX_DEGREE", "10", &d), VL_ENOTFOUND);
	const char *const *def = v->defaults(8, VL_METRIC_COSINE);
	int seen_alpha = 0;
	for (size_t i = 0; def[i]; i++)
		seen_alpha |= strcmp(def[i], "ALPHA=0.95") == 0;
	cr_expect(seen_alpha);
}

static int cancel_after(void *ud, const char *phase, uint64_t done, uint64_t total)
{
	int *calls = ud;
	cr_expect(strncmp(phase, "vamana", 6) == 0, "phase %s", phase);
	cr_expect(done <= total);
	return ++*calls >= 5;
}

Test(vamana, cancel)
{
	dataset ds;
	load(&ds, 2000, 1);
	int calls = 0;
	ix_opts o = { .threads = 2, .progress = cancel_after, .progress_ud = &calls };
	ix_seg s;
	vl_diag d = { 0 };
	int rc = ix_seg_make(&s, &vl_index_vamana, ds.base, ds.n, ds.dim, &o, &d);
	cr_expect_eq(rc, VL_ECANCELED, "rc %d: %s", rc, d.msg);
	cr_expect_eq(calls, 5);
	free_ds(&ds);
}

/* Overwrite bytes of a finished segment file (the CRCs are not checked at
 * open: open and search must cope anyway). */
static void poke(const char *path, uint64_t off, const void *p, size_t n)
{
	FILE *f = fopen(path, "r+b");
	cr_assert(f);
	cr_assert(fseek(f, (long)off, SEEK_SET) == 0);
	cr_assert(fwrite(p, 1, n, f) == n);
	fclose(f);
}

Test(vamana, corrupt_sections)
{
	dataset ds;
	load(&ds, 1000, 20);
	ix_opts o = { .threads = 1, .keep_file = 1 };
	ix_seg s;
	vl_diag d = { 0 };
	cr_assert_eq(ix_seg_make(&s, &vl_index_vamana, ds.base, ds.n, ds.dim, &o, &d), VL_OK);
	char path[256];
	snprintf(path, sizeof path, "%s", s.path);
	const vl_seg_section *meta = vl_seg_find(&s.lay, VL_SEC_VAMANA_META, 0);
	const vl_seg_section *adj = vl_seg_find(&s.lay, VL_SEC_VAMANA_ADJ, 0);
	uint64_t moff = meta->offset, aoff = adj->offset;
	s.path[0] = 0; /* keep the file */
	ix_seg_free(&s);

	/* neighbour ids out of range: open succeeds, search skips them, verify fails */
	uint8_t junk[64];
	for (int i = 0; i < 64; i++)
		junk[i] = (uint8_t)(0x80 + i * 37);
	poke(path, aoff + 128 * 10, junk, sizeof junk);
	cr_assert_eq(ix_seg_open_file(&s, &vl_index_vamana, path, &d), VL_OK, "%s", d.msg);
	for (size_t q = 0; q < ds.nq; q++) {
		vl_topk t;
		cr_assert_eq(ix_seg_search(&s, ds.queries + q * ds.dim, K, K, NULL, NULL, 0, &t, NULL, &d),
		             VL_OK);
		for (size_t i = 0; i < t.n; i++)
			cr_assert(t.a[i].row < ds.n);
		vl_topk_free(&t);
	}
	cr_expect_eq(vl_index_vamana.verify(s.state, &d), VL_ECORRUPT);
	cr_expect(strstr(d.msg, "node 10"), "%s", d.msg);
	s.path[0] = 0;
	ix_seg_free(&s);

	/* entry out of range, bad degree: open refuses with a message */
	uint8_t e[4];
	vl_st32(e, 5000000);
	poke(path, moff + 28, e, 4);
	cr_expect_eq(ix_seg_open_file(&s, &vl_index_vamana, path, &d), VL_ECORRUPT);
	cr_expect(strstr(d.msg, "entry"), "%s", d.msg);
	s.path[0] = 0;
	ix_seg_free(&s);
	vl_st32(e, 0);
	poke(path, moff + 24, e, 4);
	cr_expect_eq(ix_seg_open_file(&s, &vl_index_vamana, path, &d), VL_ECORRUPT);
	s.path[0] = 0;
	ix_seg_free(&s);
	poke(path, moff, "XXXXXXXX", 8);
	cr_expect_eq(ix_seg_open_file(&s, &vl_index_vamana, path, &d), VL_ECORRUPT);
	cr_expect(strstr(d.msg, "magic"), "%s", d.msg);
	ix_seg_free(&s);
	unlink(path);
	free_ds(&ds);
}
