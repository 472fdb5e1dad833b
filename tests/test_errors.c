/*
 * test_errors.c - bad inputs get their documented error code and a message
 * that names the problem; nothing half-applied remains.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/tstore.h"

static char *dir;
static vl_store *st;
static vl_collection *c;

static void setup(void)
{
	dir = ts_tmpdir("errors");
	st = ts_open(dir);
	c = ts_create(st, "docs", 4, VL_METRIC_L2, NULL, NULL, "genre:tag,year:numeric", NULL);
}
static void teardown(void)
{
	vl_collection_close(c);
	vl_close(st);
	ts_rmtree(dir);
	free(dir);
}
TestSuite(errors, .init = setup, .fini = teardown);

static void expect_put(const vl_row *r, int code, const char *needle)
{
	int rc = vl_put(c, r);
	cr_assert_eq(rc, code, "got %d (%s: %s), want %d", rc, vl_strerror(rc), vl_errmsg(st), code);
	cr_assert(strstr(vl_errmsg(st), needle), "message '%s' lacks '%s'", vl_errmsg(st), needle);
}

Test(errors, wrong_dimension)
{
	float v[5] = { 1, 2, 3, 4, 5 };
	vl_row r = { "k1", 2, v, 5, NULL, 0 };
	expect_put(&r, VL_EDIM, "5 dimensions");
	vl_results *res = NULL;
	cr_assert_eq(vl_search(c, v, 5, NULL, &res), VL_EDIM);
	cr_assert_null(res);
}

Test(errors, nan_and_inf_components)
{
	float v[4] = { 1, NAN, 3, 4 };
	vl_row r = { "k1", 2, v, 4, NULL, 0 };
	expect_put(&r, VL_ENAN, "component 1 is NaN");
	v[1] = 0;
	v[3] = -INFINITY;
	expect_put(&r, VL_ENAN, "component 3 is infinite");
	vl_results *res = NULL;
	cr_assert_eq(vl_search(c, v, 4, NULL, &res), VL_ENAN);
	uint64_t n;
	cr_assert_eq(vl_count(c, NULL, &n), VL_OK);
	cr_assert_eq(n, 0, "a rejected row was stored");
}

Test(errors, empty_and_oversized_keys)
{
	float v[4] = { 0 };
	vl_row r = { "", 0, v, 4, NULL, 0 };
	expect_put(&r, VL_EKEY, "empty key");
	char big[VL_KEY_MAX + 2];
	memset(big, 'a', sizeof big);
	r.key = big;
	r.key_len = VL_KEY_MAX + 1;
	expect_put(&r, VL_EKEY, "exceeds");
	vl_record *rec;
	cr_assert_eq(vl_get(c, "", 0, &rec), VL_EKEY);
}

Test(errors, unknown_collection_and_field)
{
	vl_collection *x;
	cr_assert_eq(vl_collection_open(st, "nope", &x), VL_ENOTFOUND);
	cr_assert(strstr(vl_errmsg(st), "nope"));
	float v[4] = { 0 };
	vl_value val = { "colour", "red", 3, 0 };
	vl_row r = { "k", 1, v, 4, &val, 1 };
	expect_put(&r, VL_ESCHEMA, "unknown field 'colour'");
	vl_value bad = { "year", "nineteen", 8, 0 };
	r.values = &bad;
	expect_put(&r, VL_ESCHEMA, "not a finite number");
}

Test(errors, a_failed_batch_applies_none_of_its_rows)
{
	float v[3][4] = { { 1, 1, 1, 1 }, { 2, 2, 2, 2 }, { 3, NAN, 3, 3 } };
	vl_row rows[3] = {
		{ "a", 1, v[0], 4, NULL, 0 }, { "b", 1, v[1], 4, NULL, 0 }, { "c", 1, v[2], 4, NULL, 0 },
	};
	vl_txn *t;
	cr_assert_eq(vl_txn_begin(st, &t), VL_OK);
	cr_assert_eq(vl_upsert(t, c, rows, 3), VL_ENAN);
	cr_assert(strstr(vl_errmsg(st), "row 2"), "message should name the row: %s", vl_errmsg(st));
	cr_assert_eq(vl_upsert(t, c, rows, 2), VL_OK, "the txn stays usable");
	cr_assert_eq(vl_txn_commit(t), VL_OK);
	uint64_t n;
	cr_assert_eq(vl_count(c, NULL, &n), VL_OK);
	cr_assert_eq(n, 2);
	vl_record *rec;
	cr_assert_eq(vl_get(c, "c", 1, &rec), VL_ENOTFOUND);
	cr_assert_eq(vl_verify(st, NULL, NULL), VL_OK, "%s", vl_errmsg(st));
}

Test(errors, bad_schema_and_params)
{
	vl_schema s = VL_SCHEMA_INIT;
	s.dim = 0;
	cr_assert_eq(vl_collection_create(st, "z", &s, NULL), VL_EDIM);
	s.dim = 70000;
	cr_assert_eq(vl_collection_create(st, "z", &s, NULL), VL_EDIM);
	s.dim = 8;
	s.storage = "lvq3";
	cr_assert_eq(vl_collection_create(st, "z", &s, NULL), VL_EINVAL);
	cr_assert(strstr(vl_errmsg(st), "lvq3"));
	s.storage = NULL;
	s.index = "annoy";
	cr_assert_eq(vl_collection_create(st, "z", &s, NULL), VL_EINVAL);
	cr_assert(strstr(vl_errmsg(st), "annoy"));
	s.index = NULL;
	const char *params[] = { "NOT_A_PARAM=3" };
	s.params = params;
	s.nparams = 1;
	cr_assert_eq(vl_collection_create(st, "z", &s, NULL), VL_EINVAL);
	cr_assert(strstr(vl_errmsg(st), "NOT_A_PARAM"), "%s", vl_errmsg(st));
	const char *p2[] = { "FLUSH_BYTES=-4" };
	s.params = p2;
	cr_assert_eq(vl_collection_create(st, "z", &s, NULL), VL_EINVAL);
	s.params = NULL;
	s.nparams = 0;
	vl_field dupf[2] = { { "a", VL_FIELD_TAG }, { "a", VL_FIELD_TEXT } };
	s.fields = dupf;
	s.nfields = 2;
	cr_assert_eq(vl_collection_create(st, "z", &s, NULL), VL_ESCHEMA);
	s.size = 4;
	cr_assert_eq(vl_collection_create(st, "z", &s, NULL), VL_EINVAL);
	vl_collection *x;
	cr_assert_eq(vl_collection_open(st, "z", &x), VL_ENOTFOUND, "no failed create may leave a collection");
}

Test(errors, unknown_search_parameter)
{
	float q[4] = { 0 };
	const char *params[] = { "EF_RUNTIME=10" };
	vl_search_opts so = VL_SEARCH_OPTS_INIT;
	so.params = params;
	so.nparams = 1;
	vl_results *res = NULL;
	cr_assert_eq(vl_search(c, q, 4, &so, &res), VL_EINVAL);
	cr_assert(strstr(vl_errmsg(st), "EF_RUNTIME"), "%s", vl_errmsg(st));
	const char *ret[] = { "nosuchfield" };
	so.nparams = 0;
	so.return_fields = ret;
	so.nreturn = 1;
	cr_assert_eq(vl_search(c, q, 4, &so, &res), VL_ESCHEMA);
}

Test(errors, nested_transactions_on_one_thread_are_refused)
{
	vl_txn *a, *b;
	cr_assert_eq(vl_txn_begin(st, &a), VL_OK);
	cr_assert_eq(vl_txn_begin(st, &b), VL_ETXN, "a second txn on the same thread would deadlock");
	cr_assert_eq(vl_flush(c, NULL), VL_ETXN);
	vl_txn_abort(a);
	cr_assert_eq(vl_flush(c, NULL), VL_OK);
}

/* Files given to the CLI: empty, truncated, malformed. */
static void cli_expect(const char *file_body, size_t len, const char *name, const char *needle)
{
	char path[1200], cmd[4000], store[1200];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	snprintf(store, sizeof store, "%s/clistore", dir);
	FILE *fp = fopen(path, "wb");
	cr_assert(fp);
	fwrite(file_body, 1, len, fp);
	fclose(fp);
	snprintf(cmd, sizeof cmd, "%s create %s --dim 4 >/dev/null 2>&1; %s load %s %s 2>&1", ts_cli(), store, ts_cli(),
	         store, path);
	char *out;
	int rc = ts_run(cmd, &out);
	cr_assert_eq(rc, 1, "load of %s exited %d: %s", name, rc, out);
	cr_assert(strstr(out, needle), "load of %s: message '%s' lacks '%s'", name, out, needle);
	free(out);
}

Test(errors, cli_rejects_bad_vector_files)
{
	cli_expect("", 0, "empty.fvecs", "empty");
	/* one good row (dim 4) then a row cut short */
	uint8_t buf[4 + 16 + 4 + 8];
	memset(buf, 0, sizeof buf);
	buf[0] = 4;
	buf[20] = 4;
	cli_expect((const char *)buf, sizeof buf, "trunc.fvecs", "row 1");
	const char *jl = "{\"key\": \"a\", \"vector\": [1,2,3,4]}\n{\"key\": \"b\", \"vector\": [1,2,3,4}\n";
	cli_expect(jl, strlen(jl), "bad.jsonl", "line 2");
	const char *jd = "{\"key\": \"a\", \"vector\": [1,2,3]}\n";
	cli_expect(jd, strlen(jd), "dim.jsonl", "dimensions");
}
