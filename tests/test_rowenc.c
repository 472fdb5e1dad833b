/*
 * test_rowenc.c - row records encoded in parallel (engine/rowenc.c): one
 * upsert call large enough to take the threaded path must store exactly
 * what a row-by-row upsert stores, in row order (a key given twice in the
 * call keeps its later row), inside a transaction and in a bulk load.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/util/tstore.h"
#include "veclite.h"

#define DIM 8
#define NROWS 600 /* x ~3 KB of text: well above the threaded path's threshold */

/* Distinct, compressible text for row i (varying length). */
static size_t row_text(size_t i, char *buf, size_t cap)
{
	size_t len = 0, words = 300 + i % 97;
	for (size_t w = 0; w < words && len + 16 < cap; w++)
		len += (size_t)snprintf(buf + len, cap - len, "w%zu ", (i * 7919 + w * 31) % 1000);
	return len;
}

static void make_rows(vl_row *rows, vl_value (*vals)[3], char (*keys)[16], char **texts, float *vecs)
{
	for (size_t i = 0; i < NROWS; i++) {
		/* rows 500.. repeat the keys of rows 0..: the later row must win */
		size_t kn = i < 500 ? i : i - 500;
		int kl = snprintf(keys[i], 16, "key%zu", kn);
		texts[i] = malloc(4096);
		cr_assert(texts[i]);
		size_t tl = row_text(i, texts[i], 4096);
		for (int j = 0; j < DIM; j++)
			vecs[i * DIM + j] = (float)(i * DIM + (size_t)j) * 0.25f;
		vals[i][0] = (vl_value){ .field = "body", .data = texts[i], .len = tl };
		vals[i][1] = (vl_value){ .field = "n", .num = (double)i };
		vals[i][2] = (vl_value){ .field = "t", .data = i % 2 ? "odd" : "even", .len = i % 2 ? 3 : 4 };
		rows[i] = (vl_row){ .key = keys[i], .key_len = (size_t)kl, .vector = vecs + i * DIM,
		                    .dim = DIM, .values = vals[i], .nvalues = 3 };
	}
}

static void check_stored(vl_collection *c, char **texts, const float *vecs)
{
	uint64_t n;
	cr_assert_eq(vl_count(c, NULL, &n), VL_OK);
	cr_expect_eq(n, 500, "rows: %llu", (unsigned long long)n);
	for (size_t kn = 0; kn < 500; kn++) {
		size_t i = kn < 100 ? kn + 500 : kn; /* the row that wins for this key */
		char key[16];
		int kl = snprintf(key, sizeof key, "key%zu", kn);
		vl_record *r;
		cr_assert_eq(vl_get(c, key, (size_t)kl, &r), VL_OK, "%s", key);
		cr_expect(memcmp(r->vector, vecs + i * DIM, DIM * sizeof(float)) == 0, "%s vector", key);
		int seen = 0;
		for (uint32_t v = 0; v < r->nvalues; v++) {
			const vl_value *x = &r->values[v];
			if (strcmp(x->field, "body") == 0) {
				seen++;
				cr_expect(x->len == strlen(texts[i]) && memcmp(x->data, texts[i], x->len) == 0,
				          "%s body", key);
			} else if (strcmp(x->field, "n") == 0) {
				seen++;
				cr_expect_eq(x->num, (double)i, "%s n", key);
			} else if (strcmp(x->field, "t") == 0) {
				seen++;
				cr_expect(x->len == (i % 2 ? 3u : 4u), "%s t", key);
			}
		}
		cr_expect_eq(seen, 3, "%s: %d fields", key, seen);
		vl_free(r);
	}
}

static void run(int bulk)
{
	char *dir = ts_tmpdir("rowenc");
	vl_store *st = ts_open(dir);
	vl_collection *c = ts_create(st, "c", DIM, VL_METRIC_L2, "flat", "float32",
	                             "body:text,n:numeric,t:tag", NULL);
	static vl_row rows[NROWS];
	static vl_value vals[NROWS][3];
	static char keys[NROWS][16];
	static char *texts[NROWS];
	static float vecs[NROWS * DIM];
	make_rows(rows, vals, keys, texts, vecs);
	if (bulk) {
		vl_bulk *b;
		cr_assert_eq(vl_bulk_begin(c, NULL, &b), VL_OK, "%s", vl_errmsg(st));
		cr_assert_eq(vl_bulk_add(b, rows, NROWS), VL_OK, "%s", vl_errmsg(st));
		cr_assert_eq(vl_bulk_commit(b), VL_OK, "%s", vl_errmsg(st));
	} else {
		vl_txn *t;
		cr_assert_eq(vl_txn_begin(st, &t), VL_OK);
		cr_assert_eq(vl_upsert(t, c, rows, NROWS), VL_OK, "%s", vl_errmsg(st));
		cr_assert_eq(vl_txn_commit(t), VL_OK, "%s", vl_errmsg(st));
	}
	check_stored(c, texts, vecs);
	/* and again after the rows moved into a segment */
	cr_assert_eq(vl_flush(c, NULL), VL_OK, "%s", vl_errmsg(st));
	check_stored(c, texts, vecs);
	cr_expect_eq(vl_verify(st, NULL, NULL), VL_OK);
	for (size_t i = 0; i < NROWS; i++)
		free(texts[i]);
	vl_collection_close(c);
	vl_close(st);
	ts_rmtree(dir);
	free(dir);
}

Test(rowenc, one_large_upsert_in_a_txn) { run(0); }
Test(rowenc, one_large_bulk_add) { run(1); }

/* A bad row anywhere in a large call still rejects the whole call. */
Test(rowenc, bad_row_rejects_the_call)
{
	char *dir = ts_tmpdir("rowenc-bad");
	vl_store *st = ts_open(dir);
	vl_collection *c = ts_create(st, "c", DIM, VL_METRIC_L2, "flat", "float32",
	                             "body:text,n:numeric,t:tag", NULL);
	static vl_row rows[NROWS];
	static vl_value vals[NROWS][3];
	static char keys[NROWS][16];
	static char *texts[NROWS];
	static float vecs[NROWS * DIM];
	make_rows(rows, vals, keys, texts, vecs);
	vals[450][1] = (vl_value){ .field = "n", .data = "12x", .len = 3 };
	vl_txn *t;
	cr_assert_eq(vl_txn_begin(st, &t), VL_OK);
	cr_expect_eq(vl_upsert(t, c, rows, NROWS), VL_ESCHEMA);
	cr_expect(strstr(vl_errmsg(st), "row 450"), "%s", vl_errmsg(st));
	cr_assert_eq(vl_txn_commit(t), VL_OK, "the txn stays usable: %s", vl_errmsg(st));
	uint64_t n;
	cr_assert_eq(vl_count(c, NULL, &n), VL_OK);
	cr_expect_eq(n, 0);
	for (size_t i = 0; i < NROWS; i++)
		free(texts[i]);
	vl_collection_close(c);
	vl_close(st);
	ts_rmtree(dir);
	free(dir);
}
