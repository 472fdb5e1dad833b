/*
 * test_ivf.c - the IVF index at the index level (k-means, lists, open,
 * search, verify) on Fashion-MNIST subsets, against exact brute force;
 * structure checks from the section bytes; corrupt files.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "index/ivf.h"
#include "util/annrecall.h"
#include "util/idxseg.h"
#include "util/qtest.h"
#include "vl_bytes.h"

#define NQ 200
#define K 10

static void build(ix_seg *s, const float *vecs, size_t n, uint32_t dim, const char *storage,
                  const char *const *params, size_t np, unsigned threads, uint64_t seed)
{
	ix_opts o = { .storage = storage, .params = params, .nparams = np, .threads = threads,
		          .seed = seed };
	vl_diag d = { 0 };
	int rc = ix_seg_make(s, &vl_index_ivf, vecs, n, dim, &o, &d);
	cr_assert_eq(rc, VL_OK, "build: %s", d.msg);
}

/* ---- recall (documented: 10K rows, NLIST=100, NPROBE=8) -------------------- */

static const char *const doc_params[] = { "NLIST=100" };

static void recall_test(const char *storage, size_t cap)
{
	if (!vl_quant_find(storage)) {
		cr_skip_test("storage type %s is not in this build yet", storage);
		return;
	}
	ar_data ds;
	ar_load(&ds, 10000, NQ);
	ix_seg s;
	build(&s, ds.base, ds.n, ds.dim, storage, doc_params, 1, 2, 7);
	static const char *const p8[] = { "NPROBE=8" }, *const p1[] = { "NPROBE=1" },
	                         *const pall[] = { "NPROBE=100" };
	double r = ar_recall(&s, &ds, K, cap, NULL, p8, 1, NULL);
	double r1 = ar_recall(&s, &ds, K, cap, NULL, p1, 1, NULL);
	double rall = ar_recall(&s, &ds, K, cap, NULL, pall, 1, NULL);
	fprintf(stderr, "ivf %s n=%zu NLIST=100: recall@10 %.4f at NPROBE=8, %.4f at 1, %.4f at 100\n",
	        storage, ds.n, r, r1, rall);
	cr_expect_geq(r, 0.95, "%s recall@10 %.4f < 0.95", storage, r);
	cr_expect_lt(r1, r, "NPROBE has no effect");
	/* every list probed = an exact scan of the primary codes */
	if (!strcmp(storage, "float32"))
		cr_expect_geq(rall, 0.999, "all lists probed: recall %.4f", rall);
	vl_diag d = { 0 };
	cr_expect_eq(vl_index_ivf.verify(s.state, &d), VL_OK, "%s", d.msg);
	ix_seg_free(&s);
	ar_free(&ds);
}

Test(ivf, recall_float32) { recall_test("float32", K); }
/* compressed storage: the engine keeps 4k candidates and re-ranks them */
Test(ivf, recall_lvq4x8) { recall_test("lvq4x8", 4 * K); }

Test(ivf, recall_cosine)
{
	ar_data ds;
	ar_load(&ds, 4000, 50);
	ds.metric = VL_METRIC_COSINE;
	ix_opts o = { .metric = VL_METRIC_COSINE, .threads = 2, .seed = 3, .params = doc_params,
		          .nparams = 1 };
	ix_seg s;
	vl_diag d = { 0 };
	cr_assert_eq(ix_seg_make(&s, &vl_index_ivf, ds.base, ds.n, ds.dim, &o, &d), VL_OK, "%s", d.msg);
	static const char *const p[] = { "NPROBE=10" };
	double r = ar_recall(&s, &ds, K, K, NULL, p, 1, NULL);
	fprintf(stderr, "ivf cosine: recall@10 %.4f at NPROBE=10\n", r);
	cr_expect_geq(r, 0.95, "cosine recall %.4f", r);
	/* spherical k-means: unit centroids */
	uint64_t cl;
	const uint8_t *c = ix_seg_section(&s, VL_SEC_IVF_CENTROIDS, &cl);
	cr_assert(c && cl == 100ull * ds.dim * 4);
	for (uint32_t i = 0; i < 100; i++) {
		double n2 = 0;
		for (uint32_t t = 0; t < ds.dim; t++) {
			double v = vl_ldf32(c + ((size_t)i * ds.dim + t) * 4);
			n2 += v * v;
		}
		cr_expect(fabs(n2 - 1) < 1e-3, "centroid %u has norm^2 %g", i, n2);
	}
	ix_seg_free(&s);
	ar_free(&ds);
}

/* ---- structure: lists against an independent nearest-centroid check ------- */

Test(ivf, lists_and_centroids)
{
	ar_data ds;
	ar_load(&ds, 3000, 1);
	static const char *const p[] = { "NLIST=50", "TRAIN_ITER=8" };
	ix_seg s;
	build(&s, ds.base, ds.n, ds.dim, "float32", p, 2, 2, 5);
	uint64_t ml, cl, ol, rl;
	const uint8_t *m = ix_seg_section(&s, VL_SEC_IVF_META, &ml);
	const uint8_t *c = ix_seg_section(&s, VL_SEC_IVF_CENTROIDS, &cl);
	const uint8_t *o = ix_seg_section(&s, VL_SEC_IVF_OFFSETS, &ol);
	const uint8_t *r = ix_seg_section(&s, VL_SEC_IVF_ROWS, &rl);
	cr_assert(m && c && o && r && ml == 128);
	cr_assert_eq(vl_ld32(m + 24), 50);
	cr_assert_eq(vl_ld32(m + 28), ds.dim);
	cr_assert_eq(cl, 50ull * ds.dim * 4);
	cr_assert_eq(ol, 51 * 8);
	cr_assert_eq(rl, ds.n * 4);
	cr_assert_eq(vl_ld64(o), 0);
	cr_assert_eq(vl_ld64(o + 50 * 8), ds.n);
	float *cent = malloc(cl);
	for (size_t i = 0; i < cl / 4; i++)
		cent[i] = vl_ldf32(c + 4 * i);
	uint8_t *seen = calloc(ds.n, 1);
	size_t nonempty = 0;
	uint64_t maxlist = 0;
	for (uint32_t l = 0; l < 50; l++) {
		uint64_t a = vl_ld64(o + 8 * l), b = vl_ld64(o + 8 * (l + 1));
		cr_assert(a <= b && b <= ds.n);
		nonempty += b > a;
		if (b - a > maxlist)
			maxlist = b - a;
		for (uint64_t i = a; i < b; i++) {
			uint32_t row = vl_ld32(r + 4 * i);
			cr_assert(row < ds.n && !seen[row]);
			seen[row] = 1;
			if (i > a)
				cr_assert(row > vl_ld32(r + 4 * (i - 1)), "list %u not ascending", l);
			/* the row's list is its nearest centroid (double-precision check) */
			double dl = qt_exact_dist(VL_METRIC_L2, ds.base + (size_t)row * ds.dim,
			                          cent + (size_t)l * ds.dim, ds.dim);
			for (uint32_t e = 0; e < 50; e++) {
				double de = qt_exact_dist(VL_METRIC_L2, ds.base + (size_t)row * ds.dim,
				                          cent + (size_t)e * ds.dim, ds.dim);
				cr_assert(de >= dl * (1 - 1e-4) - 1e-3, "row %u is in list %u but nearer to %u",
				          row, l, e);
			}
		}
	}
	cr_expect_eq(nonempty, 50, "%zu of 50 lists are empty", 50 - nonempty);
	cr_expect_eq(vl_ld64(m + 64), maxlist);
	/* k-means did something: the training objective is well below that of
	 * one centroid at the mean */
	double mean_obj = 0;
	double *mu = calloc(ds.dim, sizeof *mu);
	for (size_t i = 0; i < ds.n; i++)
		for (uint32_t t = 0; t < ds.dim; t++)
			mu[t] += ds.base[i * ds.dim + t] / (double)ds.n;
	for (size_t i = 0; i < ds.n; i++)
		for (uint32_t t = 0; t < ds.dim; t++) {
			double v = ds.base[i * ds.dim + t] - mu[t];
			mean_obj += v * v / (double)ds.n;
		}
	double obj = vl_ldf64(m + 72);
	fprintf(stderr, "ivf k-means objective %.4g vs %.4g for one centroid\n", obj, mean_obj);
	cr_expect(obj > 0 && obj < 0.7 * mean_obj, "objective %g vs %g", obj, mean_obj);
	char desc[256];
	vl_index_ivf.describe(s.state, desc, sizeof desc);
	cr_expect(strstr(desc, "nlist=50"), "describe: %s", desc);
	free(cent), free(seen), free(mu);
	ix_seg_free(&s);
	ar_free(&ds);
}

/* ---- list codes: the contiguous copy, and the search it serves -------------- */

/* CODES/NORMS hold the primary row / norm of every ROWS entry, in ROWS order. */
static void check_codes(const ix_seg *s, uint32_t primary_kind)
{
	uint64_t rl, cl, pl, nl, nnl;
	const uint8_t *r = ix_seg_section(s, VL_SEC_IVF_ROWS, &rl);
	const uint8_t *c = ix_seg_section(s, VL_SEC_IVF_CODES, &cl);
	const uint8_t *p = ix_seg_section(s, primary_kind, &pl);
	const uint8_t *n = ix_seg_section(s, VL_SEC_NORMS, &nl);
	const uint8_t *cn = ix_seg_section(s, VL_SEC_IVF_NORMS, &nnl);
	cr_assert(r && c && p, "rows, codes or primary section missing");
	uint64_t rows = rl / 4, stride = pl / rows;
	cr_assert_eq(cl, pl, "codes hold %llu bytes, primary %llu", (unsigned long long)cl,
	             (unsigned long long)pl);
	cr_assert_eq(!!n, !!cn, "norms copied iff the segment has norms");
	for (uint64_t i = 0; i < rows; i++) {
		uint32_t row = vl_ld32(r + 4 * i);
		cr_assert(memcmp(c + i * stride, p + row * stride, stride) == 0,
		          "codes at list position %llu are not row %u's", (unsigned long long)i, row);
		if (n)
			cr_assert(memcmp(cn + 4 * i, n + 4 * (uint64_t)row, 4) == 0);
	}
}

Test(ivf, list_codes)
{
	ar_data ds;
	ar_load(&ds, 3000, 50);
	static const char *const p[] = { "NLIST=50" }, *const p0[] = { "NLIST=50", "LIST_CODES=0" };
	ix_seg s, s0, sl;
	build(&s, ds.base, ds.n, ds.dim, "float32", p, 1, 1, 9);
	build(&s0, ds.base, ds.n, ds.dim, "float32", p0, 2, 1, 9);
	check_codes(&s, VL_SEC_VECTORS);
	uint64_t len;
	cr_expect_null(ix_seg_section(&s0, VL_SEC_IVF_CODES, &len), "LIST_CODES=0 wrote codes");
	/* the contiguous scan and the row gather give the same answers */
	static const char *const np[] = { "NPROBE=3" };
	for (size_t q = 0; q < ds.nq; q++) {
		vl_topk a, b;
		vl_diag d = { 0 };
		const float *qv = ds.queries + q * ds.dim;
		cr_assert_eq(ix_seg_search(&s, qv, K, K, NULL, np, 1, &a, NULL, &d), VL_OK, "%s", d.msg);
		cr_assert_eq(ix_seg_search(&s0, qv, K, K, NULL, np, 1, &b, NULL, &d), VL_OK, "%s", d.msg);
		cr_assert_eq(a.n, b.n);
		for (size_t i = 0; i < a.n; i++)
			cr_assert(a.a[i].row == b.a[i].row && a.a[i].dist == b.a[i].dist,
			          "query %zu hit %zu: row %u vs %u", q, i, a.a[i].row, b.a[i].row);
		vl_topk_free(&a);
		vl_topk_free(&b);
	}
	vl_diag d = { 0 };
	cr_expect_eq(vl_index_ivf.verify(s.state, &d), VL_OK, "%s", d.msg);
	char desc[256];
	vl_index_ivf.describe(s.state, desc, sizeof desc);
	cr_expect(strstr(desc, "list_codes"), "describe: %s", desc);
	/* compressed storage: the copy is of the LVQ primary rows */
	if (vl_quant_find("lvq4x8")) {
		build(&sl, ds.base, ds.n, ds.dim, "lvq4x8", p, 1, 2, 9);
		check_codes(&sl, VL_SEC_PRIMARY);
		cr_expect_eq(vl_index_ivf.verify(sl.state, &d), VL_OK, "%s", d.msg);
		ix_seg_free(&sl);
	}
	ix_seg_free(&s);
	ix_seg_free(&s0);
	ar_free(&ds);
}

typedef struct cdist {
	double d;
	uint32_t list;
} cdist;

static int cdist_cmp(const void *a, const void *b)
{
	const cdist *x = a, *y = b;
	return x->d < y->d ? -1 : x->d > y->d;
}

/*
 * The model of an ivf search, computed independently in double precision:
 * lists in order of exact centroid distance; take lists until NPROBE are
 * taken and they hold at least k rows; the answer is the exact top k of the
 * rows they hold. Returns the model's k-th distance and writes its rows.
 */
static size_t model_topk(const ix_seg *s, const ar_data *ds, const float *q, uint32_t nprobe,
                         uint32_t *out)
{
	uint64_t ml, cl, ol, rl;
	const uint8_t *m = ix_seg_section(s, VL_SEC_IVF_META, &ml);
	const uint8_t *c = ix_seg_section(s, VL_SEC_IVF_CENTROIDS, &cl);
	const uint8_t *o = ix_seg_section(s, VL_SEC_IVF_OFFSETS, &ol);
	const uint8_t *r = ix_seg_section(s, VL_SEC_IVF_ROWS, &rl);
	uint32_t nlist = vl_ld32(m + 24), dim = ds->dim;
	cdist *cd = malloc(nlist * sizeof *cd);
	float *cent = malloc((size_t)dim * sizeof *cent);
	for (uint32_t l = 0; l < nlist; l++) {
		for (uint32_t t = 0; t < dim; t++)
			cent[t] = vl_ldf32(c + ((size_t)l * dim + t) * 4);
		cd[l] = (cdist){ qt_exact_dist(VL_METRIC_L2, q, cent, dim), l };
	}
	qsort(cd, nlist, sizeof *cd, cdist_cmp);
	cdist *hits = malloc(ds->n * sizeof *hits);
	size_t nh = 0;
	for (uint32_t i = 0; i < nlist && (i < nprobe || nh < K); i++) {
		uint64_t a = vl_ld64(o + 8 * cd[i].list), b = vl_ld64(o + 8 * (cd[i].list + 1));
		for (uint64_t j = a; j < b; j++) {
			uint32_t row = vl_ld32(r + 4 * j);
			hits[nh++] = (cdist){ qt_exact_dist(VL_METRIC_L2, q, ds->base + (size_t)row * dim, dim),
				                  row };
		}
	}
	qsort(hits, nh, sizeof *hits, cdist_cmp);
	size_t k = nh < K ? nh : K;
	for (size_t i = 0; i < k; i++)
		out[i] = hits[i].list;
	free(cd), free(cent), free(hits);
	return k;
}

static int has_row(const uint32_t *a, size_t n, uint32_t row)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] == row)
			return 1;
	return 0;
}

/* The probed lists are the exact nearest ones (the LVQ-8 centroid ranking
 * plus its float32 re-rank loses none), and short lists make the search go
 * on to the next list rather than answer fewer than k rows. */
static void probes_test(size_t n, const char *nlist, uint32_t nprobe, double min_same)
{
	ar_data ds;
	ar_load(&ds, n, NQ);
	const char *const p[] = { nlist };
	ix_seg s;
	build(&s, ds.base, ds.n, ds.dim, "float32", p, 1, 2, 21);
	char npv[32];
	snprintf(npv, sizeof npv, "NPROBE=%u", nprobe);
	const char *const np[] = { npv };
	size_t same = 0;
	for (size_t q = 0; q < ds.nq; q++) {
		const float *qv = ds.queries + q * ds.dim;
		uint32_t want[K];
		size_t nw = model_topk(&s, &ds, qv, nprobe, want);
		vl_topk t;
		vl_diag d = { 0 };
		cr_assert_eq(ix_seg_search(&s, qv, K, K, NULL, np, 1, &t, NULL, &d), VL_OK, "%s", d.msg);
		cr_assert_eq(t.n, nw, "query %zu: %zu hits, the model has %zu", q, t.n, nw);
		size_t agree = 0;
		for (size_t i = 0; i < t.n; i++)
			agree += has_row(want, nw, t.a[i].row);
		same += agree == nw;
		vl_topk_free(&t);
	}
	fprintf(stderr, "ivf %s NPROBE=%u: %zu of %zu answers are the model's exactly\n", nlist, nprobe,
	        same, ds.nq);
	cr_expect_geq((double)same, min_same * ds.nq, "%s NPROBE=%u: only %zu of %zu answers agree",
	              nlist, nprobe, same, ds.nq);
	ix_seg_free(&s);
	ar_free(&ds);
}

Test(ivf, probes_nearest_lists) { probes_test(10000, "NLIST=100", 4, 0.99); }
/* ~5 rows a list: NPROBE=1 alone would hold fewer than k rows */
Test(ivf, short_lists_go_on) { probes_test(2000, "NLIST=400", 1, 0.99); }

Test(ivf, deterministic_any_threads)
{
	ar_data ds;
	ar_load(&ds, 2000, 1);
	static const char *const p[] = { "NLIST=40", "TRAIN_SAMPLE=1500" };
	uint8_t *a = NULL;
	uint64_t la = 0;
	for (unsigned th = 1; th <= 2; th++) {
		ix_seg s;
		build(&s, ds.base, ds.n, ds.dim, "float32", p, 2, th, 42);
		uint64_t lc, lr;
		const uint8_t *c = ix_seg_section(&s, VL_SEC_IVF_CENTROIDS, &lc);
		const uint8_t *r = ix_seg_section(&s, VL_SEC_IVF_ROWS, &lr);
		if (!a) {
			la = lc + lr;
			a = malloc(la);
			memcpy(a, c, lc);
			memcpy(a + lc, r, lr);
		} else {
			cr_assert_eq(la, lc + lr);
			cr_expect(memcmp(a, c, lc) == 0 && memcmp(a + lc, r, lr) == 0,
			          "1 and 2 threads built different lists");
		}
		ix_seg_free(&s);
	}
	free(a);
	ar_free(&ds);
}

/* ---- filters ----------------------------------------------------------------- */

Test(ivf, filtered_recall)
{
	ar_data ds;
	ar_load(&ds, 10000, NQ);
	ix_seg s;
	build(&s, ds.base, ds.n, ds.dim, "float32", doc_params, 1, 2, 11);
	uint32_t pm[] = { 500000, 100000, 20000 };
	static const char *const p8[] = { "NPROBE=8" };
	for (int i = 0; i < 3; i++) {
		vl_accept acc = { ar_pct_accept, &pm[i], pm[i] / 1e6 };
		size_t shorts;
		double r = ar_recall(&s, &ds, K, K, &acc, p8, 1, &shorts);
		fprintf(stderr, "ivf filter %.1f%%: recall@10 %.4f, %zu short answers\n", pm[i] / 1e4, r,
		        shorts);
		cr_expect_geq(r, 0.95, "selectivity %.1f%%: recall %.4f", pm[i] / 1e4, r);
		/* probing continues past NPROBE until k accepted rows are held */
		cr_expect_eq(shorts, 0, "selectivity %.1f%%: %zu queries got fewer than k", pm[i] / 1e4,
		             shorts);
	}
	uint32_t none = 0;
	vl_accept acc0 = { ar_pct_accept, &none, 0.0 };
	vl_topk t;
	vl_diag d = { 0 };
	cr_assert_eq(ix_seg_search(&s, ds.queries, K, K, &acc0, NULL, 0, &t, NULL, &d), VL_OK);
	cr_expect_eq(t.n, 0);
	vl_topk_free(&t);
	ix_seg_free(&s);
	ar_free(&ds);
}

/* ---- parameters, small segments, corruption ------------------------------------ */

Test(ivf, parameters)
{
	vl_diag d = { 0 };
	const vl_index_ops *v = vl_index_find("ivf");
	cr_assert(v == &vl_index_ivf);
	cr_assert(vl_index_by_id(VL_INDEX_IVF) == v);
	cr_expect_eq(v->check_param("NLIST", "1024", 8, VL_METRIC_L2, &d), VL_OK);
	cr_expect_eq(v->check_param("NLIST", "0", 8, VL_METRIC_L2, &d), VL_OK); /* automatic */
	cr_expect_eq(v->check_param("NLIST", "99999999", 8, VL_METRIC_L2, &d), VL_EINVAL);
	cr_expect(strstr(d.msg, "NLIST"), "%s", d.msg);
	cr_expect_eq(v->check_param("NPROBE", "0", 8, VL_METRIC_L2, &d), VL_EINVAL);
	cr_expect_eq(v->check_param("TRAIN_SAMPLE", "5000", 8, VL_METRIC_L2, &d), VL_OK);
	cr_expect_eq(v->check_param("TRAIN_ITER", "abc", 8, VL_METRIC_L2, &d), VL_EINVAL);
	cr_expect_eq(v->check_param("M", "16", 8, VL_METRIC_L2, &d), VL_ENOTFOUND);
	cr_expect_eq(v->check_runtime_param("NPROBE", "32", &d), VL_OK);
	cr_expect_eq(v->check_runtime_param("NPROBE", "", &d), VL_EINVAL);
	cr_expect_eq(v->check_runtime_param("NLIST", "32", &d), VL_ENOTFOUND);
	ivf_params p = { 0 };
	cr_expect_eq(ivf_nlist_for(&p, 60000), 980);
	cr_expect_eq(ivf_nlist_for(&p, 10000), 400);
	cr_expect_eq(ivf_nlist_for(&p, 3), 3);
	p.nlist = 500;
	cr_expect_eq(ivf_nlist_for(&p, 100), 100);
}

Test(ivf, tiny_segments)
{
	/* fewer rows than lists, one row, duplicates: every row still found */
	float v[5 * 4] = { 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1 };
	for (size_t n = 1; n <= 5; n++) {
		static const char *const p[] = { "NLIST=8", "NPROBE=8" };
		ix_seg s;
		build(&s, v, n, 4, "float32", p, 2, 1, 1);
		for (size_t i = 0; i < n; i++) {
			vl_topk t;
			vl_diag d = { 0 };
			cr_assert_eq(ix_seg_search(&s, v + 4 * i, 1, 1, NULL, NULL, 0, &t, NULL, &d), VL_OK);
			cr_assert_eq(t.n, 1);
			cr_expect_eq(t.a[0].dist, 0.0f);
			vl_topk_free(&t);
		}
		vl_diag d = { 0 };
		cr_expect_eq(vl_index_ivf.verify(s.state, &d), VL_OK, "%s", d.msg);
		ix_seg_free(&s);
	}
}

static void poke(const char *path, uint64_t off, const void *p, size_t n)
{
	FILE *f = fopen(path, "r+b");
	cr_assert(f);
	cr_assert(fseek(f, (long)off, SEEK_SET) == 0);
	cr_assert(fwrite(p, 1, n, f) == n);
	fclose(f);
}

static void expect_open_fails(const char *path, const char *what, const char *msg)
{
	ix_seg s;
	vl_diag d = { 0 };
	cr_expect_eq(ix_seg_open_file(&s, &vl_index_ivf, path, &d), VL_ECORRUPT, "%s accepted", what);
	cr_expect(strstr(d.msg, msg), "%s: %s", what, d.msg);
	s.path[0] = 0;
	ix_seg_free(&s);
}

/* A built segment (NLIST=20) kept on disk for damaging; s stays open. */
static void build_kept(const ar_data *ds, ix_seg *s, char *path, size_t plen)
{
	static const char *const p[] = { "NLIST=20" };
	ix_opts o = { .threads = 1, .keep_file = 1, .params = p, .nparams = 1 };
	vl_diag d = { 0 };
	cr_assert_eq(ix_seg_make(s, &vl_index_ivf, ds->base, ds->n, ds->dim, &o, &d), VL_OK, "%s",
	             d.msg);
	snprintf(path, plen, "%s", s->path);
}

Test(ivf, corrupt_sections)
{
	ar_data ds;
	ar_load(&ds, 1000, 20);
	ix_seg s;
	vl_diag d = { 0 };
	char path[256];
	build_kept(&ds, &s, path, sizeof path);
	uint64_t moff = vl_seg_find(&s.lay, VL_SEC_IVF_META, 0)->offset;
	uint64_t ooff = vl_seg_find(&s.lay, VL_SEC_IVF_OFFSETS, 0)->offset;
	uint64_t roff = vl_seg_find(&s.lay, VL_SEC_IVF_ROWS, 0)->offset;
	s.path[0] = 0;
	ix_seg_free(&s);

	/* row ids out of range: open succeeds, search skips them, verify fails */
	uint8_t junk[64];
	memset(junk, 0xee, sizeof junk);
	poke(path, roff + 40, junk, sizeof junk);
	cr_assert_eq(ix_seg_open_file(&s, &vl_index_ivf, path, &d), VL_OK, "%s", d.msg);
	static const char *const all[] = { "NPROBE=20" };
	for (size_t q = 0; q < ds.nq; q++) {
		vl_topk t;
		cr_assert_eq(ix_seg_search(&s, ds.queries + q * ds.dim, K, K, NULL, all, 1, &t, NULL, &d),
		             VL_OK);
		cr_assert_eq(t.n, K);
		for (size_t i = 0; i < t.n; i++)
			cr_assert(t.a[i].row < ds.n);
		vl_topk_free(&t);
	}
	cr_expect_eq(vl_index_ivf.verify(s.state, &d), VL_ECORRUPT);
	cr_expect(strstr(d.msg, "out of range"), "%s", d.msg);
	s.path[0] = 0;
	ix_seg_free(&s);

	/* offsets: not monotonic, not spanning the rows */
	uint8_t e[8];
	vl_st64(e, 999);
	poke(path, ooff + 8 * 5, e, 8);
	vl_st64(e, 10);
	poke(path, ooff + 8 * 6, e, 8);
	expect_open_fails(path, "offsets going back", "monotonic");
	vl_st64(e, 5);
	poke(path, ooff, e, 8);
	expect_open_fails(path, "offsets not from 0", "span");
	/* nlist larger than the sections, bad magic */
	uint8_t n4[4];
	vl_st32(n4, 21);
	poke(path, moff + 24, n4, 4);
	expect_open_fails(path, "nlist mismatch", "section");
	poke(path, moff, "XXXXXXXX", 8);
	expect_open_fails(path, "bad magic", "magic");
	unlink(path);
	ar_free(&ds);
}

Test(ivf, corrupt_codes)
{
	ar_data ds;
	ar_load(&ds, 1000, 1);
	ix_seg s;
	vl_diag d = { 0 };
	char path[256];
	build_kept(&ds, &s, path, sizeof path);
	const vl_seg_section *cs = vl_seg_find(&s.lay, VL_SEC_IVF_CODES, 0);
	cr_assert(cs, "no codes section");
	uint64_t coff = cs->offset, moff = vl_seg_find(&s.lay, VL_SEC_IVF_META, 0)->offset;
	s.path[0] = 0;
	ix_seg_free(&s);
	/* a changed code: open works (it reads no codes), verify names the position */
	float junk = 12345.0f;
	poke(path, coff + 7 * ds.dim * 4 + 8, &junk, 4);
	cr_assert_eq(ix_seg_open_file(&s, &vl_index_ivf, path, &d), VL_OK, "%s", d.msg);
	cr_expect_eq(vl_index_ivf.verify(s.state, &d), VL_ECORRUPT);
	cr_expect(strstr(d.msg, "codes at list position 7"), "%s", d.msg);
	s.path[0] = 0;
	ix_seg_free(&s);
	/* a codes flag that is not 0 or 1 */
	uint8_t two = 2;
	poke(path, moff + 51, &two, 1);
	expect_open_fails(path, "codes flag 2", "codes flag");
	unlink(path);
	ar_free(&ds);
}
