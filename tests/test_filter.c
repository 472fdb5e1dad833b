/*
 * test_filter.c - filtered search and count equal a brute force with the
 * same predicate written here in C; parser errors name the problem.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/tstore.h"

#define DIM 12
#define N 1200

static char *dir;
static void setup(void) { dir = ts_tmpdir("filter"); }
static void teardown(void)
{
	ts_rmtree(dir);
	free(dir);
}
TestSuite(filter, .init = setup, .fini = teardown);

static const char *const genres[] = { "drama", "comedy", "action", "doc", "drama, comedy" };

typedef struct row {
	int genre;       /* index into genres */
	int year;
	int has_price;
	double price;
} row;

static row rows[N];
static float vecs[N * DIM];

static size_t vals(size_t i, vl_value *v, char *buf, size_t len)
{
	const row *r = &rows[i];
	size_t n = 0;
	v[n++] = (vl_value){ "genre", genres[r->genre], strlen(genres[r->genre]), 0 };
	v[n++] = (vl_value){ "year", NULL, 0, (double)r->year };
	if (r->has_price) {
		snprintf(buf, len, "%.2f", r->price);
		v[n++] = (vl_value){ "price", buf, strlen(buf), 0 };
	}
	v[n++] = (vl_value){ "body", "some text that is not filterable", 32, 0 };
	return n;
}

static int has_genre(const row *r, const char *g)
{
	if (!strcmp(genres[r->genre], g))
		return 1;
	return r->genre == 4 && (!strcmp(g, "drama") || !strcmp(g, "comedy"));
}

typedef struct pred {
	const char *expr;
	int (*fn)(const row *r);
} pred;

static int p1(const row *r) { return has_genre(r, "drama"); }
static int p2(const row *r) { return has_genre(r, "comedy") || has_genre(r, "doc"); }
static int p3(const row *r) { return r->year >= 1990 && r->year < 2000; }
static int p4(const row *r) { return has_genre(r, "action") && r->year > 2005; }
static int p5(const row *r) { return !(has_genre(r, "drama")); }
static int p6(const row *r) { return r->has_price && r->price >= 10 && r->price <= 20; }
static int p7(const row *r) { return !(r->has_price && r->price < 50) || has_genre(r, "doc"); }
static int p8(const row *r) { return r->year == 1977 || r->year == 1988; }
static int p9(const row *r) { return has_genre(r, "comedy") && !(r->year >= 1960 && r->year <= 2010); }
static int p10(const row *r) { return has_genre(r, "nonexistent"); }
static int p11(const row *r) { return !has_genre(r, "action") && (r->year < 1955 || r->year > 2015); }

static const pred preds[] = {
	{ "genre == \"drama\"", p1 },
	{ "genre IN ('comedy', 'doc')", p2 },
	{ "year >= 1990 AND year < 2000", p3 },
	{ "genre = 'action' && year > 2005", p4 },
	{ "genre != 'drama'", p5 },
	{ "price BETWEEN 10 AND 20", p6 },
	{ "NOT (price < 50) OR genre == 'doc'", p7 },
	{ "year IN (1977, 1988)", p8 },
	{ "genre == 'comedy' and not (year >= 1960 and year <= 2010)", p9 },
	{ "genre == 'nonexistent'", p10 },
	{ "!(genre == 'action') && (year < 1955 || year > 2015)", p11 },
};

static void make_data(void)
{
	ts_rng rng = { 555 };
	ts_vectors(&rng, vecs, N, DIM);
	for (size_t i = 0; i < N; i++) {
		rows[i].genre = (int)(ts_next(&rng) % 5);
		rows[i].year = 1950 + (int)(ts_next(&rng) % 71);
		rows[i].has_price = ts_next(&rng) % 4 != 0;
		rows[i].price = (double)(ts_next(&rng) % 10000) / 100.0;
	}
}

static void check_pred(vl_collection *c, const pred *p, const float *q)
{
	uint8_t alive[N];
	size_t matches = 0;
	for (size_t i = 0; i < N; i++)
		matches += alive[i] = (uint8_t)p->fn(&rows[i]);
	uint64_t cnt;
	cr_assert_eq(vl_count(c, p->expr, &cnt), VL_OK, "%s: %s", p->expr, vl_errmsg(NULL));
	cr_assert_eq(cnt, matches, "count of [%s] is %llu, brute force %zu", p->expr, (unsigned long long)cnt, matches);
	size_t idx[10];
	size_t want = ts_topk(VL_METRIC_L2, q, vecs, N, DIM, alive, 10, idx);
	vl_results *res;
	vl_search_opts so = VL_SEARCH_OPTS_INIT;
	so.k = 10;
	so.filter = p->expr;
	cr_assert_eq(vl_search(c, q, DIM, &so, &res), VL_OK, "%s", vl_errmsg(NULL));
	cr_assert_eq(res->n, want, "[%s]: %zu hits, brute force %zu", p->expr, res->n, want);
	for (size_t i = 0; i < res->n; i++) {
		char key[32];
		snprintf(key, sizeof key, "%.*s", (int)res->hits[i].key_len, (const char *)res->hits[i].key);
		size_t ki = (size_t)atoi(key + 1);
		cr_assert(alive[ki], "[%s]: hit %s does not satisfy the filter", p->expr, key);
		double d = ts_dist(VL_METRIC_L2, q, vecs + idx[i] * DIM, DIM);
		cr_assert(fabs(res->hits[i].distance - d) <= 1e-4 * (1 + d), "[%s] rank %zu", p->expr, i);
	}
	if (want < 10)
		cr_assert(res->flags & VL_RESULT_FEWER, "[%s]: fewer than k must be flagged", p->expr);
	vl_results_free(res);
}

static void check_all(vl_collection *c)
{
	ts_rng rng = { 77 };
	for (size_t p = 0; p < sizeof preds / sizeof preds[0]; p++) {
		float q[DIM];
		ts_vectors(&rng, q, 1, DIM);
		check_pred(c, &preds[p], q);
	}
}

Test(filter, matches_brute_force_in_buffer_and_segments)
{
	make_data();
	vl_store *st = ts_open(dir);
	vl_collection *c = ts_create(st, "f", DIM, VL_METRIC_L2, "flat", NULL,
	                             "genre:tag,year:numeric,price:numeric,body:text", NULL);
	cr_assert_eq(ts_put_rows(st, c, "r", vecs, 0, N, DIM, vals), VL_OK, "%s", vl_errmsg(st));
	check_all(c); /* write buffer: predicates evaluated on row records */
	cr_assert_eq(vl_flush(c, NULL), VL_OK);
	check_all(c); /* segment: predicates evaluated on mapped columns */
	vl_collection_close(c);
	vl_close(st);
}

Test(filter, half_in_buffer_half_in_segment)
{
	make_data();
	vl_store *st = ts_open(dir);
	vl_collection *c = ts_create(st, "f", DIM, VL_METRIC_L2, "flat", NULL,
	                             "genre:tag,year:numeric,price:numeric,body:text", NULL);
	cr_assert_eq(ts_put_rows(st, c, "r", vecs, 0, N / 2, DIM, vals), VL_OK);
	cr_assert_eq(vl_flush(c, NULL), VL_OK);
	cr_assert_eq(ts_put_rows(st, c, "r", vecs + (N / 2) * DIM, N / 2, N / 2, DIM, vals), VL_OK);
	check_all(c);
	vl_collection_close(c);
	vl_close(st);
}

static void expect_error(vl_store *st, vl_collection *c, const char *expr, int code, const char *needle)
{
	float q[DIM] = { 0 };
	vl_results *res = NULL;
	vl_search_opts so = VL_SEARCH_OPTS_INIT;
	so.filter = expr;
	int rc = vl_search(c, q, DIM, &so, &res);
	cr_assert_eq(rc, code, "[%s]: got %d (%s), want %d", expr, rc, vl_errmsg(st), code);
	cr_assert_null(res);
	cr_assert(strstr(vl_errmsg(st), needle), "[%s]: message '%s' lacks '%s'", expr, vl_errmsg(st), needle);
}

Test(filter, errors_name_the_problem)
{
	vl_store *st = ts_open(dir);
	vl_collection *c = ts_create(st, "f", DIM, VL_METRIC_L2, NULL, NULL, "genre:tag,year:numeric,body:text", NULL);
	float v[DIM] = { 0 };
	vl_row r = { "x", 1, v, DIM, NULL, 0 };
	cr_assert_eq(vl_put(c, &r), VL_OK);
	expect_error(st, c, "color == 'red'", VL_ESCHEMA, "unknown field 'color'");
	expect_error(st, c, "body == 'x'", VL_ESCHEMA, "text field");
	expect_error(st, c, "year == 'x'", VL_ESCHEMA, "numeric");
	expect_error(st, c, "genre > 3", VL_ESCHEMA, "tag field");
	expect_error(st, c, "genre ==", VL_EFILTER, "expected a string or a number");
	expect_error(st, c, "(genre == 'a'", VL_EFILTER, "expected ')'");
	expect_error(st, c, "genre == 'a' year", VL_EFILTER, "unexpected text");
	expect_error(st, c, "genre == 'unterminated", VL_EFILTER, "unterminated");
	expect_error(st, c, "", VL_EFILTER, "empty");
	expect_error(st, c, "year BETWEEN 1 2", VL_EFILTER, "AND");
	expect_error(st, c, "year IN (1, 'a')", VL_EFILTER, "mixes");
	char deep[400];
	memset(deep, '(', 200);
	strcpy(deep + 200, "year > 1");
	expect_error(st, c, deep, VL_EFILTER, "nests too deeply");
	vl_collection_close(c);
	vl_close(st);
}
