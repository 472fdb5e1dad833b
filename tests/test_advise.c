/*
 * test_advise.c - storage advice (engine/quant/advise.c): the rules, the
 * row sizes they quote (against real views), and the measuring mode.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "quant/advise.h"
#include "quant/quant.h"
#include "tests/util/qtest.h"
#include "tests/util/qtype.h"

Test(advise, redisvl_rules)
{
	struct {
		uint32_t dim;
		vl_advise_priority p;
		const char *storage;
		uint32_t reduce, degree, cw, sw;
	} cases[] = {
		{ 768, VL_ADVISE_MEMORY, "lvq4", 0, 40, 250, 20 },
		{ 768, VL_ADVISE_BALANCED, "lvq4x4", 0, 40, 250, 20 },
		{ 768, VL_ADVISE_SPEED, "lvq4x8", 0, 40, 250, 20 },
		{ 1023, VL_ADVISE_BALANCED, "lvq4x4", 0, 40, 250, 20 },
		{ 1024, VL_ADVISE_MEMORY, "leanvec4x8", 512, 64, 300, 20 },
		{ 1024, VL_ADVISE_BALANCED, "leanvec4x8", 512, 64, 300, 30 },
		{ 1024, VL_ADVISE_SPEED, "leanvec4x8", 256, 64, 300, 40 },
		{ 1536, VL_ADVISE_SPEED, "leanvec4x8", 384, 64, 300, 40 },
		{ 4096, VL_ADVISE_MEMORY, "leanvec4x8", 2048, 64, 300, 20 },
		/* veclite's guards: above the PCA limit, and tiny dims */
		{ 5000, VL_ADVISE_MEMORY, "lvq4", 0, 40, 250, 20 },
		{ 8, VL_ADVISE_BALANCED, "float32", 0, 40, 250, 20 },
		{ 1, VL_ADVISE_SPEED, "float32", 0, 40, 250, 20 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		vl_advice a;
		vl_advise_rules(cases[i].dim, cases[i].p, &a);
		cr_expect_str_eq(a.storage, cases[i].storage, "dim %u prio %d", cases[i].dim, cases[i].p);
		cr_expect_eq(a.reduce, cases[i].reduce, "dim %u prio %d", cases[i].dim, cases[i].p);
		cr_expect_eq(a.graph_max_degree, cases[i].degree);
		cr_expect_eq(a.construction_window_size, cases[i].cw);
		cr_expect_eq(a.search_window_size, cases[i].sw);
		cr_expect_str_eq(a.index, "vamana");
		cr_expect(a.why[0]);
		cr_expect_leq(a.bytes_per_vector, a.float32_bytes);
	}
	cr_assert_eq(vl_advise_parse_priority("performance"), VL_ADVISE_SPEED);
	cr_assert_eq(vl_advise_parse_priority("cheap"), -1);
}

/* The sizes advice quotes are the sizes the types really use. */
Test(advise, row_bytes_match_real_views)
{
	static const char *const types[] = { "float32", "float16", "lvq8",       "lvq4",      "lvq4x4",
		                             "lvq4x8",  "lvq8x8",  "leanvec4x8", "leanvec8x8" };
	const uint32_t dims[] = { 2, 17, 100, 768, 784 };
	qt_rng r = { 71 };
	for (int di = 0; di < 5; di++) {
		uint32_t dim = dims[di];
		float *rows = qt_alloc(8 * dim * 4);
		for (size_t i = 0; i < 8 * (size_t)dim; i++)
			rows[i] = (float)qt_gauss(&r);
		for (int t = 0; t < 9; t++) {
			qt_store s;
			vl_diag d;
			cr_assert_eq(qt_store_build(&s, types[t], VL_METRIC_L2, rows, 8, dim, 8, NULL, 0, &d), VL_OK,
			             "%s dim %u: %s", types[t], dim, d.msg);
			double real = t == 0 ? 4.0 * dim : (double)(s.v.pstride + s.v.sstride);
			cr_expect_eq(vl_advise_row_bytes(types[t], dim, 0), real, "%s dim %u: %g vs %g", types[t],
			             dim, vl_advise_row_bytes(types[t], dim, 0), real);
			qt_store_free(&s);
		}
		free(rows);
	}
	cr_assert_eq(vl_advise_row_bytes("lvq3", 10, 0), 0);
}

Test(advise, measures_on_fashion_mnist, .timeout = 120)
{
	size_t n;
	uint32_t dim;
	float *x = qt_load_idx("fmnist-train-images", 0, 3000, &n, &dim);
	cr_assert(x, "Fashion-MNIST missing: run `make data`");
	const char *types[] = { "lvq8", "lvq4", "lvq4x8", "float16" };
	vl_advise_opts o = { .nqueries = 40, .types = types, .ntypes = 4, .repeats = 1 };
	vl_advise_report *r = calloc(1, sizeof *r);
	vl_diag d;
	cr_assert_eq(vl_advise_measure(x, n, dim, &o, r, &d), VL_OK, "%s", d.msg);
	cr_assert_eq(r->nqueries, 40);
	cr_assert_eq(r->nbase, n - 40);
	cr_assert_eq(r->nrows, 5, "float32 is always measured first");
	cr_assert_str_eq(r->rows[0].storage, "float32");
	cr_expect_eq(r->rows[0].recall, 1.0, "float32 is exact");
	cr_expect_float_eq(r->rows[0].speedup, 1.0, 1e-9);
	for (size_t i = 0; i < r->nrows; i++) {
		const vl_advise_row *w = &r->rows[i];
		cr_assert(!w->failed, "%s: %s", w->storage, w->note);
		cr_expect_eq(w->bytes_per_vector, vl_advise_row_bytes(w->storage, dim, 0));
		cr_expect(w->recall >= 0 && w->recall <= 1 && w->recall_rerank <= 1);
		cr_expect(w->scan_vps > 0);
		if (!strcmp(w->storage, "lvq8") || !strcmp(w->storage, "lvq4x8"))
			cr_expect_geq(w->recall_rerank, 0.99, "%s", w->storage);
	}
	/* memory: the smallest qualifying type; every choice qualifies */
	int m = r->choice[VL_ADVISE_MEMORY];
	for (size_t i = 0; i < r->nrows; i++)
		if (r->rows[i].qualifies)
			cr_expect_leq(r->rows[m].bytes_per_vector, r->rows[i].bytes_per_vector);
	for (int p = 0; p < 3; p++)
		cr_expect(r->rows[r->choice[p]].qualifies);
	cr_expect_str_eq(r->rows[m].storage, "lvq4", "lvq4 + full re-rank is the smallest on fmnist");
	free(r);
	/* too few rows, bad target */
	vl_advise_report *r2 = calloc(1, sizeof *r2);
	cr_assert_eq(vl_advise_measure(x, 1, dim, NULL, r2, &d), VL_EINVAL);
	vl_advise_opts bad = { .target_recall = 2 };
	cr_assert_eq(vl_advise_measure(x, n, dim, &bad, r2, &d), VL_EINVAL);
	free(r2);
	free(x);
}
