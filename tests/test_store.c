/* test_store.c - store and collection lifecycle, persistence, upsert/delete semantics. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/tstore.h"

static char *dir;
static void setup(void) { dir = ts_tmpdir("store"); }
static void teardown(void)
{
	ts_rmtree(dir);
	free(dir);
}
TestSuite(store, .init = setup, .fini = teardown);

static vl_record *must_get(vl_collection *c, const char *key)
{
	vl_record *r = NULL;
	cr_assert_eq(vl_get(c, key, strlen(key), &r), VL_OK, "get %s: %s", key, vl_errmsg(NULL));
	return r;
}

static size_t vals_year(size_t i, vl_value *v, char *buf, size_t len)
{
	snprintf(buf, len, "%zu", 1900 + i);
	v[0] = (vl_value){ "year", buf, strlen(buf), 0 };
	v[1] = (vl_value){ "tag", i % 2 ? "odd" : "even", i % 2 ? 3 : 4, 0 };
	return 2;
}

Test(store, survives_close_and_reopen)
{
	ts_rng r = { 42 };
	float v[200 * 8];
	ts_vectors(&r, v, 200, 8);
	vl_store *st = ts_open(dir);
	vl_collection *c = ts_create(st, "docs", 8, VL_METRIC_L2, NULL, NULL, "year:numeric,tag:tag", NULL);
	cr_assert_eq(ts_put_rows(st, c, "k", v, 0, 100, 8, vals_year), VL_OK);
	cr_assert_eq(vl_flush(c, NULL), VL_OK, "%s", vl_errmsg(st));
	cr_assert_eq(ts_put_rows(st, c, "k", v + 100 * 8, 100, 100, 8, vals_year), VL_OK);
	vl_collection_close(c);
	vl_close(st);

	st = ts_open(dir);
	cr_assert_eq(vl_collection_open(st, "docs", &c), VL_OK);
	uint64_t n;
	cr_assert_eq(vl_count(c, NULL, &n), VL_OK);
	cr_assert_eq(n, 200);
	for (size_t i = 0; i < 200; i += 37) {
		char key[16];
		snprintf(key, sizeof key, "k%zu", i);
		vl_record *rec = must_get(c, key);
		cr_assert_eq(rec->dim, 8);
		cr_assert_eq(memcmp(rec->vector, v + i * 8, 32), 0, "vector of %s changed", key);
		cr_assert_eq(rec->nvalues, 2);
		char want[16];
		snprintf(want, sizeof want, "%zu", 1900 + i);
		int seen = 0;
		for (uint32_t k = 0; k < rec->nvalues; k++)
			if (!strcmp(rec->values[k].field, "year")) {
				cr_assert_eq(rec->values[k].len, strlen(want));
				cr_assert_eq(memcmp(rec->values[k].data, want, strlen(want)), 0);
				cr_assert_float_eq(rec->values[k].num, 1900.0 + (double)i, 1e-9);
				seen = 1;
			}
		cr_assert(seen);
		vl_free(rec);
	}
	vl_collection_close(c);
	vl_close(st);
}

Test(store, upsert_replaces_delete_hides_reinsert_works)
{
	float a[4] = { 1, 2, 3, 4 }, b[4] = { 5, 6, 7, 8 }, cvec[4] = { -1, -2, -3, -4 };
	vl_store *st = ts_open(dir);
	vl_collection *c = ts_create(st, "t", 4, VL_METRIC_L2, NULL, NULL, "note:text", NULL);
	vl_row r = { "x", 1, a, 4, NULL, 0 };
	cr_assert_eq(vl_put(c, &r), VL_OK);
	cr_assert_eq(vl_flush(c, NULL), VL_OK); /* the first version now sits in a segment */
	vl_value note = { "note", "second", 6, 0 };
	r.vector = b;
	r.values = &note;
	r.nvalues = 1;
	cr_assert_eq(vl_put(c, &r), VL_OK);
	vl_record *rec = must_get(c, "x");
	cr_assert_eq(memcmp(rec->vector, b, sizeof b), 0, "upsert did not replace the vector");
	cr_assert_eq(rec->nvalues, 1);
	vl_free(rec);
	uint64_t n;
	cr_assert_eq(vl_count(c, NULL, &n), VL_OK);
	cr_assert_eq(n, 1);
	/* searching for the old vector must not find the replaced row twice */
	vl_results *res;
	vl_search_opts so = VL_SEARCH_OPTS_INIT;
	cr_assert_eq(vl_search(c, a, 4, &so, &res), VL_OK);
	cr_assert_eq(res->n, 1);
	cr_assert_float_eq(res->hits[0].distance, 64.0f, 1e-4);
	vl_results_free(res);

	vl_txn *t;
	const void *keys[] = { "x" };
	size_t lens[] = { 1 }, deleted = 9;
	cr_assert_eq(vl_txn_begin(st, &t), VL_OK);
	cr_assert_eq(vl_delete(t, c, keys, lens, 1, &deleted), VL_OK);
	cr_assert_eq(deleted, 1);
	cr_assert_eq(vl_txn_commit(t), VL_OK);
	vl_record *none = NULL;
	cr_assert_eq(vl_get(c, "x", 1, &none), VL_ENOTFOUND);
	cr_assert_null(none);
	cr_assert_eq(vl_search(c, a, 4, &so, &res), VL_OK);
	cr_assert_eq(res->n, 0, "a deleted row was returned");
	vl_results_free(res);

	r.vector = cvec;
	r.nvalues = 0;
	cr_assert_eq(vl_put(c, &r), VL_OK);
	rec = must_get(c, "x");
	cr_assert_eq(memcmp(rec->vector, cvec, sizeof cvec), 0);
	cr_assert_eq(rec->nvalues, 0);
	vl_free(rec);
	cr_assert_eq(vl_verify(st, NULL, NULL), VL_OK, "%s", vl_errmsg(st));
	vl_collection_close(c);
	vl_close(st);
}

Test(store, deleting_missing_keys_counts_zero)
{
	vl_store *st = ts_open(dir);
	vl_collection *c = ts_create(st, "t", 2, VL_METRIC_L2, NULL, NULL, NULL, NULL);
	vl_txn *t;
	const void *keys[] = { "nope", "also" };
	size_t lens[] = { 4, 4 }, deleted = 7;
	cr_assert_eq(vl_txn_begin(st, &t), VL_OK);
	cr_assert_eq(vl_delete(t, c, keys, lens, 2, &deleted), VL_OK);
	cr_assert_eq(deleted, 0);
	vl_txn_abort(t);
	vl_collection_close(c);
	vl_close(st);
}

Test(store, collections_list_drop_and_add_field)
{
	vl_store *st = ts_open(dir);
	vl_collection *a = ts_create(st, "beta", 3, VL_METRIC_IP, NULL, NULL, NULL, NULL);
	vl_collection *b = ts_create(st, "alpha", 5, VL_METRIC_COSINE, NULL, NULL, NULL, NULL);
	float v[5] = { 1, 0, 0, 0, 0 };
	vl_row r = { "k", 1, v, 3, NULL, 0 };
	cr_assert_eq(vl_put(a, &r), VL_OK);
	cr_assert_eq(vl_flush(a, NULL), VL_OK);
	char **names;
	size_t n;
	cr_assert_eq(vl_collection_list(st, &names, &n), VL_OK);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(names[0], "alpha");
	cr_assert_str_eq(names[1], "beta");
	vl_free(names);

	vl_schema dup = VL_SCHEMA_INIT;
	dup.dim = 3;
	cr_assert_eq(vl_collection_create(st, "beta", &dup, NULL), VL_EEXIST);

	vl_field f = { "color", VL_FIELD_TAG };
	cr_assert_eq(vl_collection_add_field(st, "alpha", &f), VL_OK);
	cr_assert_eq(vl_collection_add_field(st, "alpha", &f), VL_EEXIST);
	vl_value val = { "color", "red", 3, 0 };
	vl_row r2 = { "p", 1, v, 5, &val, 1 };
	cr_assert_eq(vl_put(b, &r2), VL_OK, "%s", vl_errmsg(st));

	cr_assert_eq(vl_collection_drop(st, "beta"), VL_OK);
	cr_assert_eq(vl_put(a, &r), VL_ENOTFOUND, "writing to a dropped collection must fail");
	vl_collection_close(a);
	vl_collection *again;
	cr_assert_eq(vl_collection_open(st, "beta", &again), VL_ENOTFOUND);
	cr_assert(strstr(vl_errmsg(st), "beta"), "message should name the collection: %s", vl_errmsg(st));
	cr_assert_eq(vl_collection_list(st, &names, &n), VL_OK);
	cr_assert_eq(n, 1);
	vl_free(names);
	cr_assert_eq(vl_verify(st, NULL, NULL), VL_OK, "%s", vl_errmsg(st));
	vl_collection_close(b);
	vl_close(st);
	/* the dropped collection's segment files are gone */
	char cmd[1200];
	snprintf(cmd, sizeof cmd, "ls %s/seg | wc -l", dir);
	char *out;
	cr_assert_eq(ts_run(cmd, &out), 0);
	cr_assert_eq(atoi(out), 0, "segment files left after drop: %s", out);
	free(out);
}

Test(store, cursor_iterates_a_snapshot_in_key_order)
{
	ts_rng rng = { 7 };
	float v[50 * 4];
	ts_vectors(&rng, v, 50, 4);
	vl_store *st = ts_open(dir);
	vl_collection *c = ts_create(st, "t", 4, VL_METRIC_L2, NULL, NULL, NULL, NULL);
	cr_assert_eq(ts_put_rows(st, c, "key", v, 0, 30, 4, NULL), VL_OK);
	cr_assert_eq(vl_flush(c, NULL), VL_OK);
	cr_assert_eq(ts_put_rows(st, c, "key", v + 30 * 4, 30, 20, 4, NULL), VL_OK);
	vl_cursor *cur;
	cr_assert_eq(vl_cursor_open(c, &cur), VL_OK);
	/* writes after the cursor opened are invisible to it */
	cr_assert_eq(ts_put_rows(st, c, "zzz", v, 0, 5, 4, NULL), VL_OK);
	char prev[64] = "";
	size_t seen = 0;
	for (;;) {
		const vl_record *r;
		cr_assert_eq(vl_cursor_next(cur, &r), VL_OK);
		if (!r)
			break;
		char key[64];
		snprintf(key, sizeof key, "%.*s", (int)r->key_len, (const char *)r->key);
		cr_assert(strcmp(prev, key) < 0, "keys out of order: %s then %s", prev, key);
		strcpy(prev, key);
		size_t i = (size_t)atoi(key + 3);
		cr_assert_eq(memcmp(r->vector, v + i * 4, 16), 0);
		seen++;
	}
	cr_assert_eq(seen, 50);
	vl_cursor_close(cur);
	vl_collection_close(c);
	vl_close(st);
}

Test(store, second_open_in_process_shares_the_environment)
{
	vl_store *a = ts_open(dir), *b = ts_open(dir);
	vl_collection *ca = ts_create(a, "t", 2, VL_METRIC_L2, NULL, NULL, NULL, NULL);
	float v[2] = { 1, 2 };
	vl_row r = { "k", 1, v, 2, NULL, 0 };
	cr_assert_eq(vl_put(ca, &r), VL_OK);
	vl_collection *cb;
	cr_assert_eq(vl_collection_open(b, "t", &cb), VL_OK);
	uint64_t n;
	cr_assert_eq(vl_count(cb, NULL, &n), VL_OK);
	cr_assert_eq(n, 1);
	vl_collection_close(ca);
	vl_close(a); /* closing one handle must not break the other */
	cr_assert_eq(vl_count(cb, NULL, &n), VL_OK);
	cr_assert_eq(n, 1);
	vl_collection_close(cb);
	vl_close(b);
}

Test(store, readonly_open_refuses_writes)
{
	vl_store *st = ts_open(dir);
	vl_collection *c = ts_create(st, "t", 2, VL_METRIC_L2, NULL, NULL, NULL, NULL);
	vl_collection_close(c);
	vl_close(st);
	vl_open_opts o = VL_OPEN_OPTS_INIT;
	o.flags = VL_OPEN_RDONLY;
	cr_assert_eq(vl_open(dir, &o, &st), VL_OK, "%s", vl_errmsg(NULL));
	cr_assert_eq(vl_collection_open(st, "t", &c), VL_OK);
	vl_txn *t;
	cr_assert_eq(vl_txn_begin(st, &t), VL_EREADONLY);
	cr_assert_eq(vl_flush(c, NULL), VL_EREADONLY);
	vl_collection_close(c);
	vl_close(st);
}

Test(store, opening_a_missing_store_fails_clearly)
{
	char path[1100];
	snprintf(path, sizeof path, "%s/nothing-here", dir);
	vl_store *st;
	cr_assert_eq(vl_open(path, NULL, &st), VL_ENOTFOUND);
	cr_assert(strstr(vl_errmsg(NULL), "nothing-here"), "message: %s", vl_errmsg(NULL));
}
