/*
 * test_golden.c - stores written by earlier format versions keep opening.
 *
 * tests/golden/v<N>/store was written once by tests/golden/make_golden.sh
 * with format version N and is never regenerated. Each run copies it to a
 * temp dir, opens it (writable, as a user would after an upgrade) and
 * checks it against values recomputed here from the generator's formulas:
 * verify, counts, every row's original vector and attributes, exact search
 * against brute force, the index's own search, filters, and a write on top.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/util/tstore.h"
#include "veclite.h"

#define DIM 32
#define NROWS 325 /* k0 .. k324 */

/* the generator's formulas (tests/golden/make_golden.sh) */
static float gold_elem(unsigned i, unsigned j) { return (float)((int)((i * 31 + j * 17) % 97) - 48) / 8.0f; }
static int gold_alive(unsigned i) { return !(i < 100 && i % 10 == 0); }
static int gold_buffered(unsigned i) { return i >= 320; }
static char gold_genre(unsigned i) { return "abc"[i % 3]; }

/* row number of a hit's key "k<i>" (keys are not NUL-terminated) */
static unsigned key_row(const vl_hit *h)
{
	char k[16];
	cr_assert(h->key_len >= 2 && h->key_len < sizeof k && ((const char *)h->key)[0] == 'k');
	memcpy(k, h->key, h->key_len);
	k[h->key_len] = 0;
	return (unsigned)strtoul(k + 1, NULL, 10);
}

typedef struct gold_coll {
	const char *name, *index, *storage;
	vl_metric metric;
} gold_coll;

static const gold_coll v1_colls[] = {
	{ "flat_f32", "flat", "float32", VL_METRIC_L2 },
	{ "vamana_lvq4x8", "vamana", "lvq4x8", VL_METRIC_COSINE },
	{ "hnsw_f16", "hnsw", "float16", VL_METRIC_IP },
	{ "ivf_lvq8", "ivf", "lvq8", VL_METRIC_L2 },
	{ "vamana_leanvec", "vamana", "leanvec4x8", VL_METRIC_L2 },
	{ "hnsw_lvq4", "hnsw", "lvq4", VL_METRIC_L2 },
};

static char *copy_golden(const char *version)
{
	char *dir = ts_tmpdir("golden");
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "cp -R tests/golden/%s/store/. '%s'/", version, dir);
	cr_assert_eq(system(cmd), 0, "%s (run the tests from the source root)", cmd);
	return dir;
}

static const vl_value *find_value(const vl_record *r, const char *field)
{
	for (uint32_t i = 0; i < r->nvalues; i++)
		if (strcmp(r->values[i].field, field) == 0)
			return &r->values[i];
	return NULL;
}

static void check_rows(vl_collection *c, const char *name)
{
	float v[DIM];
	char key[16], body[512];
	for (unsigned i = 0; i < NROWS; i++) {
		int kl = snprintf(key, sizeof key, "k%u", i);
		vl_record *r = NULL;
		int rc = vl_get(c, key, (size_t)kl, &r);
		if (!gold_alive(i)) {
			cr_expect_eq(rc, VL_ENOTFOUND, "%s: deleted %s came back (%d)", name, key, rc);
			continue;
		}
		cr_assert_eq(rc, VL_OK, "%s: %s: %s", name, key, vl_strerror(rc));
		for (unsigned j = 0; j < DIM; j++)
			v[j] = gold_elem(i, j);
		cr_expect_eq(r->dim, DIM);
		cr_expect(memcmp(r->vector, v, sizeof v) == 0, "%s: %s: vector differs", name, key);
		const vl_value *g = find_value(r, "genre"), *y = find_value(r, "year"),
		               *b = find_value(r, "body");
		cr_assert(g && y && b, "%s: %s: a field is missing", name, key);
		cr_expect(g->len == 1 && ((const char *)g->data)[0] == gold_genre(i), "%s: %s genre", name, key);
		double year = y->data ? strtod((const char *)y->data, NULL) : y->num;
		cr_expect_eq(year, 1900.0 + i, "%s: %s year", name, key);
		size_t bl = 0;
		for (int rep = 0; rep < 40; rep++)
			bl += (size_t)snprintf(body + bl, sizeof body - bl, "row %u ", i);
		cr_expect(b->len == bl && memcmp(b->data, body, bl) == 0, "%s: %s body", name, key);
		vl_free(r);
	}
}

/* Exact search equals brute force over the generator's live rows, and
 * the index finds a stored row's vector (l2, cosine) among its top 3. */
static void check_search(vl_collection *c, const gold_coll *gc)
{
	static float rows[NROWS * DIM];
	static uint8_t alive[NROWS];
	for (unsigned i = 0; i < NROWS; i++) {
		alive[i] = (uint8_t)gold_alive(i);
		for (unsigned j = 0; j < DIM; j++)
			rows[i * DIM + j] = gold_elem(i, j);
	}
	for (unsigned qi = 0; qi < 8; qi++) {
		float q[DIM];
		for (unsigned j = 0; j < DIM; j++)
			q[j] = gold_elem(1000 + 37 * qi, j) + 0.0625f * (float)(j % 3);
		size_t want[10];
		size_t nw = ts_topk(gc->metric, q, rows, NROWS, DIM, alive, 10, want);
		vl_search_opts so = VL_SEARCH_OPTS_INIT;
		so.flags = VL_SEARCH_EXACT;
		vl_results *res;
		cr_assert_eq(vl_search(c, q, DIM, &so, &res), VL_OK, "%s", gc->name);
		cr_assert_eq(res->n, nw, "%s: %zu hits", gc->name, res->n);
		for (size_t h = 0; h < nw; h++) {
			/* ties broken differently are fine: compare distances */
			unsigned got = key_row(&res->hits[h]);
			double dg = ts_dist(gc->metric, q, rows + (size_t)got * DIM, DIM);
			double dw = ts_dist(gc->metric, q, rows + want[h] * DIM, DIM);
			cr_expect(fabs(dg - dw) <= 1e-4 * (1 + fabs(dw)), "%s: query %u hit %zu: k%u at %g, want k%zu at %g",
			          gc->name, qi, h, got, dg, want[h], dw);
		}
		vl_results_free(res);
	}
	if (gc->metric == VL_METRIC_IP)
		return; /* a row need not be its own nearest under inner product */
	unsigned found = 0, tried = 0;
	for (unsigned i = 1; i < NROWS; i += 13) {
		if (!gold_alive(i))
			continue;
		float q[DIM];
		for (unsigned j = 0; j < DIM; j++)
			q[j] = gold_elem(i, j);
		vl_search_opts so = VL_SEARCH_OPTS_INIT;
		so.k = 3;
		vl_results *res;
		cr_assert_eq(vl_search(c, q, DIM, &so, &res), VL_OK, "%s", gc->name);
		/* rows i and i + 97 hold the same vector: any copy counts */
		int hit = 0;
		for (size_t h = 0; h < res->n; h++)
			hit |= key_row(&res->hits[h]) % 97 == i % 97;
		found += (unsigned)hit;
		tried++;
		vl_results_free(res);
	}
	cr_expect_eq(found, tried, "%s: the index found %u of %u stored rows", gc->name, found, tried);
}

static void check_golden(const char *version, const gold_coll *colls, size_t ncolls)
{
	char *dir = copy_golden(version);
	vl_store *st = ts_open(dir);
	cr_assert_eq(vl_verify(st, NULL, NULL), VL_OK, "%s: verify: %s", version, vl_errmsg(st));
	unsigned live = 0, buffered = 0, genre_a = 0;
	for (unsigned i = 0; i < NROWS; i++)
		if (gold_alive(i)) {
			live++;
			buffered += gold_buffered(i);
			genre_a += gold_genre(i) == 'a' && 1900 + i >= 2000;
		}
	for (size_t k = 0; k < ncolls; k++) {
		const gold_coll *gc = &colls[k];
		vl_collection *c;
		cr_assert_eq(vl_collection_open(st, gc->name, &c), VL_OK, "%s: %s", gc->name, vl_errmsg(st));
		vl_info *inf;
		cr_assert_eq(vl_collection_info(c, &inf), VL_OK);
		cr_expect_str_eq(inf->index, gc->index, "%s", gc->name);
		cr_expect_str_eq(inf->storage, gc->storage, "%s", gc->name);
		cr_expect_eq(inf->metric, gc->metric, "%s", gc->name);
		cr_expect_eq(inf->rows, live, "%s: %llu rows", gc->name, (unsigned long long)inf->rows);
		cr_expect_eq(inf->buffer_rows, buffered, "%s", gc->name);
		cr_expect_eq(inf->segments, 2, "%s", gc->name);
		vl_info_free(inf);
		uint64_t n;
		cr_assert_eq(vl_count(c, "genre == \"a\" AND year >= 2000", &n), VL_OK);
		cr_expect_eq(n, genre_a, "%s: filter count %llu", gc->name, (unsigned long long)n);
		check_rows(c, gc->name);
		check_search(c, gc);
		/* the old store takes writes and compacts into the current version */
		cr_assert_eq(vl_flush(c, NULL), VL_OK, "%s: flush: %s", gc->name, vl_errmsg(st));
		cr_assert_eq(vl_compact(c, NULL), VL_OK, "%s: compact: %s", gc->name, vl_errmsg(st));
		check_rows(c, gc->name);
		vl_collection_close(c);
	}
	cr_expect_eq(vl_verify(st, NULL, NULL), VL_OK, "%s: verify after compaction: %s", version,
	             vl_errmsg(st));
	vl_close(st);
	ts_rmtree(dir);
	free(dir);
}

Test(golden, format_v1) { check_golden("v1", v1_colls, sizeof v1_colls / sizeof v1_colls[0]); }
