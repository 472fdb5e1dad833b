/*
 * test_import_rdb.c - `veclite import-rdb` end to end: dumps written by the
 * real redis-server (started privately per test), imported by the CLI, then
 * read back through the public API: every vector bit for bit, every field
 * byte for byte. Encodings Redis 7.0 no longer writes come from hand-built
 * bytes (tests/util/rdb_bytes.c). Damaged dumps, --strict and a SIGKILL in
 * the middle of an import must leave the store exactly as it was.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "rdb/rdb_detect.h"
#include "util/rdb_bytes.h"
#include "util/rdb_collect.h"
#include "util/redis_fixture.h"
#include "util/tstore.h"

static char *dir;

static void setup(void)
{
	dir = ts_tmpdir("imprdb");
	signal(SIGPIPE, SIG_IGN);
}

static void teardown(void)
{
	ts_rmtree(dir);
	free(dir);
}

TestSuite(import_rdb, .init = setup, .fini = teardown);

/* ---- data ----------------------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double rnd(void)
{
	return (double)(rng() >> 11) / (double)(1ull << 53) * 2.0 - 1.0;
}

/* A row as written to Redis: key, vector blob, attribute fields. */
#define MAXF 6
typedef struct xrow {
	char key[80];
	uint8_t *vec;           /* blob as stored in Redis */
	size_t vec_len;
	int nf;
	char fname[MAXF][32];
	char *fval[MAXF];
	size_t flen[MAXF];
} xrow;

static void xrow_free(xrow *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(r[i].vec);
		for (int j = 0; j < r[i].nf; j++)
			free(r[i].fval[j]);
	}
	free(r);
}

/* float32 (or float64 when f64) vector blob; sparse ones compress (LZF). */
static uint8_t *make_vec(size_t dim, int f64, int sparse, size_t *len)
{
	*len = dim * (f64 ? 8 : 4);
	uint8_t *b = malloc(*len);
	for (size_t i = 0; i < dim; i++) {
		double x = (sparse && rng() % 8) ? 0.0 : rnd();
		if (f64) {
			memcpy(b + 8 * i, &x, 8);
		} else {
			float f = (float)x;
			memcpy(b + 4 * i, &f, 4);
		}
	}
	return b;
}

static char *make_text(size_t len)
{
	static const char *const words[] = { "vector ", "store ", "redis ", "migration ",
		                             "embedding ", "the ", "of ", "search " };
	char *out = malloc(len + 1);
	size_t n = 0;
	while (n < len) {
		const char *w = words[rng() % 8];
		size_t l = strlen(w);
		if (l > len - n)
			l = len - n;
		memcpy(out + n, w, l);
		n += l;
	}
	out[len] = 0;
	return out;
}

static void set_field(xrow *r, const char *name, const char *val, size_t len)
{
	snprintf(r->fname[r->nf], sizeof r->fname[0], "%s", name);
	r->fval[r->nf] = malloc(len + 1);
	memcpy(r->fval[r->nf], val, len);
	r->fval[r->nf][len] = 0;
	r->flen[r->nf] = len;
	r->nf++;
}

/* ---- redis ------------------------------------------------------------------------------ */

static void start(vl_redis *r, const char *const *extra)
{
	if (!vl_redis_available())
		cr_skip_test("redis-server is not installed");
	cr_assert_eq(vl_redis_start(r, extra), 0, "redis start: %s", r->err);
}

static void cmd_ok(vl_redis *r, int argc, const void *const *argv, const size_t *lens)
{
	cr_assert_eq(vl_redis_cmdv(r, NULL, 0, argc, argv, lens), 0, "redis: %s", r->err);
}

static void rcmd(vl_redis *r, const char *a0, ...)
{
	const void *argv[16];
	size_t lens[16];
	int argc = 0;
	va_list ap;
	va_start(ap, a0);
	for (const char *a = a0; a && argc < 16; a = va_arg(ap, const char *)) {
		argv[argc] = a;
		lens[argc++] = strlen(a);
	}
	va_end(ap);
	cmd_ok(r, argc, argv, lens);
}

/* HSET key vecfield blob fields... (vecfield NULL: no vector field) */
static void hset_row(vl_redis *r, const xrow *x, const char *vecfield)
{
	const void *argv[2 + 2 + 2 * MAXF];
	size_t lens[2 + 2 + 2 * MAXF];
	int n = 0;
	argv[n] = "HSET";
	lens[n++] = 4;
	argv[n] = x->key;
	lens[n++] = strlen(x->key);
	if (vecfield) {
		argv[n] = vecfield;
		lens[n++] = strlen(vecfield);
		argv[n] = x->vec;
		lens[n++] = x->vec_len;
	}
	for (int i = 0; i < x->nf; i++) {
		argv[n] = x->fname[i];
		lens[n++] = strlen(x->fname[i]);
		argv[n] = x->fval[i];
		lens[n++] = x->flen[i];
	}
	cmd_ok(r, n, argv, lens);
}

static void set_string(vl_redis *r, const char *key, const void *v, size_t len)
{
	const void *argv[] = { "SET", key, v };
	size_t lens[] = { 3, strlen(key), len };
	cmd_ok(r, 3, argv, lens);
}

static void write_file(const char *path, const uint8_t *b, size_t n)
{
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fwrite(b, 1, n, f), n);
	cr_assert_eq(fclose(f), 0);
}

/* SAVE, copy the dump to dir/name; returns the path (static buffer per call site). */
static char *save_dump(vl_redis *r, const char *name, uint8_t **buf, size_t *len)
{
	uint8_t *b;
	size_t n;
	cr_assert_eq(vl_redis_save(r, &b, &n), 0, "save: %s", r->err);
	char *path = malloc(strlen(dir) + strlen(name) + 2);
	sprintf(path, "%s/%s", dir, name);
	write_file(path, b, n);
	if (buf) {
		*buf = b;
		*len = n;
	} else {
		free(b);
	}
	return path;
}

/* ---- the CLI ---------------------------------------------------------------------------- */

typedef struct summary {
	vl_json_doc *doc;
	const vl_json *root;
	char *out;
	int rc;
} summary;

/* Run `veclite import-rdb DUMP STORE ARGS --json --quiet`; parse the summary. */
static void import(summary *s, const char *dump, const char *store, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void import(summary *s, const char *dump, const char *store, const char *fmt, ...)
{
	char args[2048], cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof cmd, "%s import-rdb '%s' '%s' %s --json --quiet 2>%s/stderr.txt", ts_cli(),
	         dump, store, args, dir);
	memset(s, 0, sizeof *s);
	s->rc = ts_run(cmd, &s->out);
	if (s->rc != 0)
		return;
	s->doc = vl_json_doc_new();
	vl_diag d;
	cr_assert_eq(vl_json_parse(s->doc, s->out, strlen(s->out), 0, 1, &s->root, &d), 0,
	             "summary is JSON: %s\n%s", d.msg, s->out);
}

static void summary_free(summary *s)
{
	vl_json_doc_free(s->doc);
	free(s->out);
}

/* The CLI's stderr of the last import. */
static char *last_err(void)
{
	char path[512];
	snprintf(path, sizeof path, "%s/stderr.txt", dir);
	size_t n;
	uint8_t *b = rc_slurp(path, &n);
	cr_assert_not_null(b);
	char *s = realloc(b, n + 1);
	s[n] = 0;
	return s;
}

/* A number in the summary: "a" or "a.b". */
static uint64_t num(const summary *s, const char *path)
{
	const vl_json *v = s->root;
	char buf[64];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *tok = strtok(buf, "."); tok; tok = strtok(NULL, "."))
		v = vl_json_get(v, tok);
	cr_assert(v && v->type == VL_JSON_NUMBER, "summary has no number %s:\n%s", path, s->out);
	return strtoull(v->u.str, NULL, 10);
}

static const char *str(const summary *s, const char *key)
{
	const vl_json *v = vl_json_get(s->root, key);
	cr_assert(v && v->type == VL_JSON_STRING, "summary has no string %s:\n%s", key, s->out);
	return v->u.str;
}

static void expect_ok(summary *s)
{
	if (s->rc != 0) {
		char *e = last_err();
		cr_assert_fail("import-rdb exited %d: %s", s->rc, e);
	}
}

/* ---- checks through the public API --------------------------------------------------------- */

static char *store_path(const char *name)
{
	char *p = malloc(strlen(dir) + strlen(name) + 2);
	sprintf(p, "%s/%s", dir, name);
	return p;
}

/* Every row: vector bit for bit (float64 blobs: the float32 conversion),
 * every field byte for byte. `skip` (may be NULL) marks rows not imported. */
static void check_rows(const char *store, const char *coll, const xrow *rows, size_t n, int f64,
                       const uint8_t *skip)
{
	vl_store *st = ts_open(store);
	vl_collection *c;
	cr_assert_eq(vl_collection_open(st, coll, &c), 0, "%s", vl_errmsg(st));
	uint64_t want = 0;
	for (size_t i = 0; i < n; i++) {
		const xrow *x = &rows[i];
		vl_record *rec;
		int rc = vl_get(c, x->key, strlen(x->key), &rec);
		if (skip && skip[i]) {
			cr_assert_eq(rc, VL_ENOTFOUND, "key %s should not be imported", x->key);
			continue;
		}
		want++;
		cr_assert_eq(rc, 0, "key %s: %s", x->key, vl_errmsg(st));
		const size_t dim = x->vec_len / (f64 ? 8 : 4);
		cr_assert_eq(rec->dim, dim);
		if (f64) {
			for (size_t j = 0; j < dim; j++) {
				double dv;
				memcpy(&dv, x->vec + 8 * j, 8);
				float f = (float)dv;
				cr_assert(memcmp(&rec->vector[j], &f, 4) == 0, "key %s component %zu", x->key, j);
			}
		} else {
			cr_assert(memcmp(rec->vector, x->vec, x->vec_len) == 0, "key %s: vector differs", x->key);
		}
		cr_assert_eq(rec->nvalues, (uint32_t)x->nf, "key %s: %u values, want %d", x->key,
		             rec->nvalues, x->nf);
		for (int f = 0; f < x->nf; f++) {
			const vl_value *v = NULL;
			for (uint32_t k = 0; k < rec->nvalues; k++)
				if (!strcmp(rec->values[k].field, x->fname[f]))
					v = &rec->values[k];
			cr_assert_not_null(v, "key %s: field %s missing", x->key, x->fname[f]);
			cr_assert_not_null(v->data, "key %s field %s has no text", x->key, x->fname[f]);
			cr_assert_eq(v->len, x->flen[f], "key %s field %s length", x->key, x->fname[f]);
			cr_assert(memcmp(v->data, x->fval[f], v->len) == 0, "key %s field %s differs", x->key,
			          x->fname[f]);
		}
		vl_free(rec);
	}
	uint64_t count;
	cr_assert_eq(vl_count(c, NULL, &count), 0);
	cr_assert_eq(count, want, "rows in the collection: %llu, want %llu", (unsigned long long)count,
	             (unsigned long long)want);
	vl_collection_close(c);
	cr_assert_eq(vl_verify(st, NULL, NULL), 0, "verify: %s", vl_errmsg(st));
	vl_close(st);
}

static vl_field_type field_type(const char *store, const char *coll, const char *name)
{
	vl_store *st = ts_open(store);
	vl_collection *c;
	cr_assert_eq(vl_collection_open(st, coll, &c), 0);
	vl_info *inf;
	cr_assert_eq(vl_collection_info(c, &inf), 0);
	int t = 0;
	for (size_t i = 0; i < inf->nfields; i++)
		if (!strcmp(inf->fields[i].name, name))
			t = inf->fields[i].type;
	vl_info_free(inf);
	vl_collection_close(c);
	vl_close(st);
	return (vl_field_type)t;
}

/* Rows of a collection and a digest of every row, to prove "unchanged". */
static uint64_t store_digest(const char *store, const char *coll, uint64_t *rows)
{
	vl_store *st = ts_open(store);
	cr_assert_eq(vl_verify(st, NULL, NULL), 0, "verify: %s", vl_errmsg(st));
	vl_collection *c;
	uint64_t h = 0xcbf29ce484222325ull;
	*rows = 0;
	if (vl_collection_open(st, coll, &c) != 0) {
		vl_close(st);
		return 0;
	}
	vl_cursor *cur;
	cr_assert_eq(vl_cursor_open(c, &cur), 0);
	const vl_record *r;
	while (vl_cursor_next(cur, &r) == 0 && r) {
		(*rows)++;
		const uint8_t *p = r->key;
		for (size_t i = 0; i < r->key_len; i++)
			h = (h ^ p[i]) * 0x100000001b3ull;
		p = (const uint8_t *)r->vector;
		for (size_t i = 0; i < r->dim * 4u; i++)
			h = (h ^ p[i]) * 0x100000001b3ull;
		for (uint32_t k = 0; k < r->nvalues; k++) {
			p = r->values[k].data;
			for (size_t i = 0; p && i < r->values[k].len; i++)
				h = (h ^ p[i]) * 0x100000001b3ull;
		}
	}
	vl_cursor_close(cur);
	vl_collection_close(c);
	vl_close(st);
	return h;
}

/* ---- fixtures --------------------------------------------------------------------------------- */

/* n "doc:<i>" hashes: vector `vec` (dim, f32/f64), title (text), genre
 * (tag from 3 values), price (numeric text). */
static xrow *docs(size_t n, size_t dim, int f64, int sparse_every, size_t text_len)
{
	static const char *const genres[] = { "news", "sport", "music" };
	xrow *rows = calloc(n, sizeof *rows);
	for (size_t i = 0; i < n; i++) {
		xrow *x = &rows[i];
		snprintf(x->key, sizeof x->key, "doc:%zu", i);
		x->vec = make_vec(dim, f64, sparse_every && i % sparse_every == 0, &x->vec_len);
		char *t = text_len ? make_text(text_len + i % 7) : NULL;
		char title[64];
		snprintf(title, sizeof title, "title %zu with spaces", i);
		set_field(x, "title", t ? t : title, t ? strlen(t) : strlen(title));
		free(t);
		set_field(x, "genre", genres[i % 3], strlen(genres[i % 3]));
		char price[32];
		snprintf(price, sizeof price, "%zu.%02zu", i * 3, i % 100);
		set_field(x, "price", price, strlen(price));
	}
	return rows;
}

/* ---- tests ------------------------------------------------------------------------------------- */

Test(import_rdb, one_command_small_listpack_hashes)
{
	vl_redis r;
	start(&r, NULL);
	rng_state = 11;
	enum { N = 60, DIM = 8 };
	xrow *rows = docs(N, DIM, 0, 0, 0);
	for (size_t i = 0; i < N; i++)
		hset_row(&r, &rows[i], "vec");
	uint8_t *buf;
	size_t len;
	char *dump = save_dump(&r, "small.rdb", &buf, &len);
	vl_redis_stop(&r);
	/* the dump holds listpack hashes (type 16): what this test is about */
	rc_dump rd;
	memset(&rd, 0, sizeof rd);
	cr_assert_eq(rc_parse(&rd, buf, len, 0, 0, 0), 0);
	cr_assert_eq(rd.n, N);
	for (size_t i = 0; i < rd.n; i++)
		cr_assert_eq(rd.keys[i].type, 16, "key %zu has type %d", i, rd.keys[i].type);
	rc_free(&rd);
	free(buf);

	char *store = store_path("s");
	summary s;
	import(&s, dump, store, "%s", "");
	expect_ok(&s);
	cr_assert_eq(num(&s, "imported"), N);
	cr_assert_eq(num(&s, "dim"), DIM);
	cr_assert_str_eq(str(&s, "dtype"), "float32");
	cr_assert_str_eq(str(&s, "vector_field"), "vec");
	cr_assert_str_eq(str(&s, "checksum"), "verified");
	cr_assert_str_eq(str(&s, "collection"), "default");
	cr_assert_eq(num(&s, "rdb_version"), 10);
	summary_free(&s);
	check_rows(store, "default", rows, N, 0, NULL);
	cr_assert_eq(field_type(store, "default", "title"), VL_FIELD_TEXT);
	cr_assert_eq(field_type(store, "default", "genre"), VL_FIELD_TAG);
	cr_assert_eq(field_type(store, "default", "price"), VL_FIELD_NUMERIC);
	/* numeric values keep their text: a filter works on them */
	vl_store *st = ts_open(store);
	vl_collection *c;
	cr_assert_eq(vl_collection_open(st, "default", &c), 0);
	uint64_t cnt;
	cr_assert_eq(vl_count(c, "genre == 'sport' AND price < 90", &cnt), 0, "%s", vl_errmsg(st));
	uint64_t want = 0;
	for (size_t i = 0; i < N; i++)
		want += i % 3 == 1 && i * 3 + (i % 100) / 100.0 < 90;
	cr_assert_eq(cnt, want);
	vl_collection_close(c);
	vl_close(st);
	/* a second import replaces the rows: same content, same count */
	import(&s, dump, store, "%s", "");
	expect_ok(&s);
	cr_assert_eq(num(&s, "imported"), N);
	cr_assert(vl_json_get(s.root, "created")->type == VL_JSON_FALSE);
	summary_free(&s);
	check_rows(store, "default", rows, N, 0, NULL);
	xrow_free(rows, N);
	free(store);
	free(dump);
}

Test(import_rdb, hashtable_768d_with_lzf)
{
	vl_redis r;
	start(&r, NULL);
	rng_state = 22;
	enum { N = 200, DIM = 768 };
	xrow *rows = docs(N, DIM, 0, 3, 1500); /* every 3rd vector sparse; 1.5 KB texts */
	for (size_t i = 0; i < N; i++)
		hset_row(&r, &rows[i], "embedding");
	uint8_t *buf;
	size_t len;
	char *dump = save_dump(&r, "lzf.rdb", &buf, &len);
	vl_redis_stop(&r);
	rc_dump rd;
	memset(&rd, 0, sizeof rd);
	cr_assert_eq(rc_parse(&rd, buf, len, 0, 0, 0), 0);
	for (size_t i = 0; i < rd.n; i++)
		cr_assert_eq(rd.keys[i].type, 4, "hashtable encoding expected");
	cr_assert_gt(rd.res.lzf_strings, N, "Redis compressed texts and sparse vectors with LZF");
	rc_free(&rd);
	free(buf);
	char *store = store_path("s");
	summary s;
	import(&s, dump, store, "--index flat");
	expect_ok(&s);
	cr_assert_eq(num(&s, "imported"), N);
	cr_assert_eq(num(&s, "dim"), DIM);
	summary_free(&s);
	check_rows(store, "default", rows, N, 0, NULL);
	cr_assert_eq(field_type(store, "default", "title"), VL_FIELD_TEXT);
	xrow_free(rows, N);
	free(store);
	free(dump);
}

Test(import_rdb, rdbcompression_no_and_rdbchecksum_no)
{
	static const char *const extra[] = { "--rdbcompression", "no", "--rdbchecksum", "no", NULL };
	vl_redis r;
	start(&r, extra);
	rng_state = 33;
	enum { N = 40, DIM = 300 };
	xrow *rows = docs(N, DIM, 0, 2, 400);
	for (size_t i = 0; i < N; i++)
		hset_row(&r, &rows[i], "v");
	uint8_t *buf;
	size_t len;
	char *dump = save_dump(&r, "plain.rdb", &buf, &len);
	vl_redis_stop(&r);
	uint64_t trailer;
	memcpy(&trailer, buf + len - 8, 8);
	cr_assert_eq(trailer, 0, "rdbchecksum no writes a zero trailer");
	rc_dump rd;
	memset(&rd, 0, sizeof rd);
	cr_assert_eq(rc_parse(&rd, buf, len, 0, 0, 0), 0);
	cr_assert_eq(rd.res.lzf_strings, 0, "rdbcompression no: no LZF");
	rc_free(&rd);
	free(buf);
	char *store = store_path("s");
	summary s;
	import(&s, dump, store, "-c plain");
	expect_ok(&s);
	cr_assert_str_eq(str(&s, "checksum"), "disabled");
	cr_assert_eq(num(&s, "imported"), N);
	summary_free(&s);
	check_rows(store, "plain", rows, N, 0, NULL);
	xrow_free(rows, N);
	free(store);
	free(dump);
}

Test(import_rdb, several_databases)
{
	vl_redis r;
	start(&r, NULL);
	rng_state = 44;
	enum { N = 30, DIM = 16 };
	xrow *a = docs(N, DIM, 0, 0, 0), *b = docs(N, DIM, 0, 0, 0);
	for (size_t i = 0; i < N; i++)
		snprintf(b[i].key, sizeof b[i].key, "other:%zu", i);
	for (size_t i = 0; i < N; i++)
		hset_row(&r, &a[i], "vec");
	rcmd(&r, "SELECT", "3", NULL);
	for (size_t i = 0; i < N; i++)
		hset_row(&r, &b[i], "vec");
	rcmd(&r, "SELECT", "15", NULL);
	rcmd(&r, "SET", "unrelated", "x", NULL);
	char *dump = save_dump(&r, "dbs.rdb", NULL, NULL);
	vl_redis_stop(&r);
	char *store = store_path("s");
	summary s;
	import(&s, dump, store, "%s", "");
	cr_assert_eq(s.rc, 1, "vectors in two databases: the user must choose");
	char *e = last_err();
	cr_assert(strstr(e, "--db"), "the message says how to choose: %s", e);
	free(e);
	summary_free(&s);
	uint64_t rows;
	store_digest(store, "default", &rows);
	cr_assert_eq(rows, 0);

	import(&s, dump, store, "--db 3 -c three");
	expect_ok(&s);
	cr_assert_eq(num(&s, "imported"), N);
	cr_assert_eq(num(&s, "db"), 3);
	cr_assert_eq(num(&s, "not_selected"), N + 1, "db 0 and db 15 keys are not selected");
	summary_free(&s);
	check_rows(store, "three", b, N, 0, NULL);

	import(&s, dump, store, "--db 0 -c zero");
	expect_ok(&s);
	cr_assert_eq(num(&s, "imported"), N);
	summary_free(&s);
	check_rows(store, "zero", a, N, 0, NULL);

	import(&s, dump, store, "--db all -c all");
	expect_ok(&s);
	cr_assert_eq(num(&s, "imported"), 2 * N);
	cr_assert_eq(num(&s, "other_type.string"), 1);
	summary_free(&s);
	xrow both[2 * N];
	memcpy(both, a, N * sizeof *a);
	memcpy(both + N, b, N * sizeof *b);
	check_rows(store, "all", both, 2 * N, 0, NULL);
	xrow_free(a, N);
	xrow_free(b, N);
	free(store);
	free(dump);
}

Test(import_rdb, other_types_are_skipped_and_counted)
{
	vl_redis r;
	start(&r, NULL);
	rng_state = 55;
	enum { N = 25, DIM = 12 };
	xrow *rows = docs(N, DIM, 0, 0, 0);
	for (size_t i = 0; i < N; i++)
		hset_row(&r, &rows[i], "vec");
	rcmd(&r, "RPUSH", "list:1", "a", "b", "c", NULL);
	rcmd(&r, "RPUSH", "list:2", "x", NULL);
	rcmd(&r, "SADD", "set:ints", "1", "2", "3", NULL);      /* intset */
	rcmd(&r, "SADD", "set:text", "alpha", "beta", NULL);    /* listpack */
	rcmd(&r, "ZADD", "zset:1", "1.5", "m1", "2", "m2", NULL);
	rcmd(&r, "XADD", "stream:1", "*", "f", "v", NULL);
	rcmd(&r, "XADD", "stream:1", "*", "f", "w", NULL);
	rcmd(&r, "XGROUP", "CREATE", "stream:1", "g1", "0", NULL);
	rcmd(&r, "SET", "counter", "42", NULL);                 /* int-encoded string */
	rcmd(&r, "SET", "greeting", "hello world", NULL);
	rcmd(&r, "HSET", "user:1", "name", "ann", "age", "31", NULL); /* a hash without vectors */
	rcmd(&r, "FUNCTION", "LOAD", "#!lua name=mylib\nredis.register_function('f', function() return 1 end)",
	     NULL);
	char *dump = save_dump(&r, "types.rdb", NULL, NULL);
	vl_redis_stop(&r);
	char *store = store_path("s");
	summary s;
	import(&s, dump, store, "%s", "");
	expect_ok(&s);
	cr_assert_eq(num(&s, "imported"), N);
	cr_assert_eq(num(&s, "other_type.list"), 2);
	cr_assert_eq(num(&s, "other_type.set"), 2);
	cr_assert_eq(num(&s, "other_type.zset"), 1);
	cr_assert_eq(num(&s, "other_type.stream"), 1);
	cr_assert_eq(num(&s, "other_type.string"), 2);
	cr_assert_eq(num(&s, "skipped.no_vector"), 1, "user:1 has no vector field");
	cr_assert_eq(num(&s, "keys"), N + 9);
	summary_free(&s);
	check_rows(store, "default", rows, N, 0, NULL);
	/* the hash without a vector is fatal under --strict; nothing changes */
	uint64_t before, after, n0, n1;
	before = store_digest(store, "default", &n0);
	import(&s, dump, store, "--strict");
	cr_assert_eq(s.rc, 1);
	char *e = last_err();
	cr_assert(strstr(e, "user:1") && strstr(e, "offset"), "names the key and offset: %s", e);
	free(e);
	summary_free(&s);
	after = store_digest(store, "default", &n1);
	cr_assert_eq(before, after);
	cr_assert_eq(n0, n1);
	/* --match keeps only doc:* keys: the others are "not selected" */
	import(&s, dump, store, "--strict --match 'doc:*' -c strict");
	expect_ok(&s);
	cr_assert_eq(num(&s, "imported"), N);
	cr_assert_eq(num(&s, "not_selected"), 9);
	summary_free(&s);
	xrow_free(rows, N);
	free(store);
	free(dump);
}

Test(import_rdb, keys_with_expire_times)
{
	vl_redis r;
	start(&r, NULL);
	rng_state = 66;
	enum { N = 20, DIM = 6 };
	xrow *rows = docs(N, DIM, 0, 0, 0);
	for (size_t i = 0; i < N; i++) {
		hset_row(&r, &rows[i], "vec");
		if (i % 2)
			rcmd(&r, "EXPIRE", rows[i].key, "3600", NULL);
	}
	char *dump = save_dump(&r, "ttl.rdb", NULL, NULL);
	vl_redis_stop(&r);
	char *store = store_path("s");
	summary s;
	import(&s, dump, store, "%s", "");
	expect_ok(&s);
	cr_assert_eq(num(&s, "imported"), N);
	cr_assert_eq(num(&s, "with_expire"), N / 2);
	cr_assert_eq(num(&s, "skipped.expired"), 0);
	summary_free(&s);
	check_rows(store, "default", rows, N, 0, NULL);
	xrow_free(rows, N);
	free(store);
	free(dump);
}

/* Expired keys and fields, legacy and RDB 11/12 encodings, built by hand. */
static void vec_bytes(uint8_t *out, size_t dim, float base)
{
	for (size_t i = 0; i < dim; i++) {
		float f = base + (float)i * 0.25f;
		memcpy(out + 4 * i, &f, 4);
	}
}

Test(import_rdb, hand_built_encodings_and_expired_keys)
{
	enum { DIM = 4 };
	uint8_t v[6][DIM * 4];
	for (int i = 0; i < 6; i++)
		vec_bytes(v[i], DIM, (float)i);
	/* RDB 9: zipmap hash, ziplist hash (with an int-encoded field value),
	 * hashtable hash whose key expired in 1970 */
	rb b = { 0 };
	rb_header(&b, 9);
	rb_u8(&b, 0xfe);
	rb_len(&b, 0);
	rb zm = { 0 };
	rb_item zi[] = { { "vec", 3, 0 }, { (const char *)v[0], sizeof v[0], 0 }, RB_S("title"), RB_S("zip map") };
	rb_zipmap(&zm, zi, 4);
	rb_u8(&b, 9);
	rb_cstr(&b, "k:zipmap");
	rb_str(&b, zm.p, zm.len);
	rb zl = { 0 };
	rb_item li[] = { RB_S("vec"), { (const char *)v[1], sizeof v[1], 0 }, RB_S("title"), RB_I(12345) };
	rb_ziplist(&zl, li, 4);
	rb_u8(&b, 13);
	rb_cstr(&b, "k:ziplist");
	rb_str(&b, zl.p, zl.len);
	rb_u8(&b, 0xfc);
	rb_u64le(&b, 1000); /* expired long ago */
	rb_u8(&b, 4);
	rb_cstr(&b, "k:expired");
	rb_len(&b, 1);
	rb_cstr(&b, "vec");
	rb_str(&b, v[2], sizeof v[2]);
	rb_finish(&b, 9, 1);
	char path[512];
	snprintf(path, sizeof path, "%s/v9.rdb", dir);
	write_file(path, b.p, b.len);
	char *store = store_path("s");
	summary s;
	import(&s, path, store, "-c v9");
	expect_ok(&s);
	cr_assert_eq(num(&s, "imported"), 2);
	cr_assert_eq(num(&s, "skipped.expired"), 1);
	cr_assert_eq(num(&s, "rdb_version"), 9);
	summary_free(&s);
	xrow *rows = calloc(3, sizeof *rows);
	const char *keys[] = { "k:zipmap", "k:ziplist", "k:expired" };
	const char *titles[] = { "zip map", "12345", "" };
	for (int i = 0; i < 3; i++) {
		snprintf(rows[i].key, sizeof rows[i].key, "%s", keys[i]);
		rows[i].vec = malloc(sizeof v[i]);
		memcpy(rows[i].vec, v[i], sizeof v[i]);
		rows[i].vec_len = sizeof v[i];
		if (i < 2)
			set_field(&rows[i], "title", titles[i], strlen(titles[i]));
	}
	const uint8_t skip[] = { 0, 0, 1 };
	check_rows(store, "v9", rows, 3, 0, skip);
	xrow_free(rows, 3);
	rb_free(&zm);
	rb_free(&zl);
	rb_free(&b);

	/* RDB 12: listpack hash with field TTLs (type 25) and a hashtable hash
	 * with field TTLs (type 24): the expired field is left out */
	rb c = { 0 };
	rb_header(&c, 12);
	rb_u8(&c, 0xfe);
	rb_len(&c, 0);
	const int64_t future = (int64_t)time(NULL) * 1000 + 3600 * 1000;
	rb lp = { 0 };
	rb_item pi[] = { RB_S("vec"), { (const char *)v[3], sizeof v[3], 0 }, RB_I(0),
		         RB_S("title"), RB_S("kept"), RB_I(future),
		         RB_S("old"), RB_S("gone"), RB_I(5000) };
	rb_listpack(&lp, pi, 9);
	rb_u8(&c, 25);
	rb_cstr(&c, "k:lpex");
	rb_u64le(&c, 5000);
	rb_str(&c, lp.p, lp.len);
	rb_u8(&c, 24);
	rb_cstr(&c, "k:htex");
	rb_u64le(&c, 1000); /* minExpire */
	rb_len(&c, 3);
	rb_len(&c, 0);      /* no TTL */
	rb_cstr(&c, "vec");
	rb_str(&c, v[4], sizeof v[4]);
	rb_len(&c, (uint64_t)future - 1000 + 1);
	rb_cstr(&c, "title");
	rb_cstr(&c, "also kept");
	rb_len(&c, 1);      /* expires at minExpire: long past */
	rb_cstr(&c, "old");
	rb_cstr(&c, "gone");
	rb_finish(&c, 12, 1);
	snprintf(path, sizeof path, "%s/v12.rdb", dir);
	write_file(path, c.p, c.len);
	import(&s, path, store, "-c v12 --field title:text");
	expect_ok(&s);
	cr_assert_eq(num(&s, "imported"), 2);
	cr_assert_eq(num(&s, "values_dropped.expired_field"), 2);
	summary_free(&s);
	rows = calloc(2, sizeof *rows);
	const char *k12[] = { "k:lpex", "k:htex" }, *t12[] = { "kept", "also kept" };
	for (int i = 0; i < 2; i++) {
		snprintf(rows[i].key, sizeof rows[i].key, "%s", k12[i]);
		rows[i].vec = malloc(sizeof v[3 + i]);
		memcpy(rows[i].vec, v[3 + i], sizeof v[3 + i]);
		rows[i].vec_len = sizeof v[3 + i];
		set_field(&rows[i], "title", t12[i], strlen(t12[i]));
	}
	check_rows(store, "v12", rows, 2, 0, NULL);
	xrow_free(rows, 2);
	rb_free(&lp);
	rb_free(&c);
	free(store);
}

Test(import_rdb, strings_holding_vectors)
{
	vl_redis r;
	start(&r, NULL);
	rng_state = 77;
	enum { N = 30, DIM = 24 };
	xrow *rows = calloc(N, sizeof *rows);
	for (size_t i = 0; i < N; i++) {
		snprintf(rows[i].key, sizeof rows[i].key, "emb:%zu", i);
		rows[i].vec = make_vec(DIM, 0, i % 4 == 0, &rows[i].vec_len);
		set_string(&r, rows[i].key, rows[i].vec, rows[i].vec_len);
	}
	rcmd(&r, "SET", "note", "not a vector", NULL);
	char *dump = save_dump(&r, "strings.rdb", NULL, NULL);
	/* the same keys plus hashes with vectors: strings then need --strings */
	xrow *h = docs(10, DIM, 0, 0, 0);
	for (size_t i = 0; i < 10; i++)
		hset_row(&r, &h[i], "vec");
	char *mixed = save_dump(&r, "mixed.rdb", NULL, NULL);
	vl_redis_stop(&r);

	char *store = store_path("s");
	summary s;
	import(&s, dump, store, "%s", "");
	expect_ok(&s);
	cr_assert_str_eq(str(&s, "source"), "string");
	cr_assert_eq(num(&s, "imported"), N);
	cr_assert_eq(num(&s, "skipped.wrong_length"), 1, "\"note\" is not a vector");
	summary_free(&s);
	check_rows(store, "default", rows, N, 0, NULL);

	import(&s, mixed, store, "-c hashes");
	expect_ok(&s);
	cr_assert_str_eq(str(&s, "source"), "hash");
	cr_assert_eq(num(&s, "imported"), 10);
	cr_assert_eq(num(&s, "other_type.string"), N + 1);
	summary_free(&s);
	check_rows(store, "hashes", h, 10, 0, NULL);

	import(&s, mixed, store, "-c both --strings --match '*:*'");
	expect_ok(&s);
	cr_assert_str_eq(str(&s, "source"), "hash+string");
	cr_assert_eq(num(&s, "imported"), 10 + N);
	cr_assert_eq(num(&s, "imported_strings"), N);
	summary_free(&s);
	xrow_free(rows, N);
	xrow_free(h, 10);
	free(store);
	free(dump);
	free(mixed);
}

Test(import_rdb, float64_vectors_converted)
{
	vl_redis r;
	start(&r, NULL);
	rng_state = 88;
	enum { N = 40, DIM = 32 };
	xrow *rows = docs(N, DIM, 1, 0, 0);
	for (size_t i = 0; i < N; i++)
		hset_row(&r, &rows[i], "embedding");
	char *dump = save_dump(&r, "f64.rdb", NULL, NULL);
	vl_redis_stop(&r);
	char *store = store_path("s");
	summary s;
	import(&s, dump, store, "%s", "");
	expect_ok(&s);
	cr_assert_str_eq(str(&s, "dtype"), "float64", "detected");
	cr_assert_eq(num(&s, "dim"), DIM);
	summary_free(&s);
	check_rows(store, "default", rows, N, 1, NULL);
	import(&s, dump, store, "-c given --dtype float64 --vector-field embedding --dim %d", DIM);
	expect_ok(&s);
	cr_assert_eq(num(&s, "imported"), N);
	summary_free(&s);
	check_rows(store, "given", rows, N, 1, NULL);
	/* read as float32 the blobs have 2 x DIM components */
	import(&s, dump, store, "-c as32 --dtype float32");
	expect_ok(&s);
	cr_assert_eq(num(&s, "dim"), 2 * DIM);
	summary_free(&s);
	/* a wrong --dim is refused before anything is written */
	import(&s, dump, store, "-c bad --dtype float64 --dim 31");
	cr_assert_eq(s.rc, 1);
	summary_free(&s);
	xrow_free(rows, N);
	free(store);
	free(dump);
}

Test(import_rdb, prefix_and_match_select_keys)
{
	vl_redis r;
	start(&r, NULL);
	rng_state = 99;
	enum { N = 20, DIM = 8 };
	xrow *a = docs(N, DIM, 0, 0, 0), *b = docs(N, DIM, 0, 0, 0);
	for (size_t i = 0; i < N; i++) {
		snprintf(a[i].key, sizeof a[i].key, "a:%zu", i);
		snprintf(b[i].key, sizeof b[i].key, "b:%zu", i);
		hset_row(&r, &a[i], "vec");
		hset_row(&r, &b[i], "vec");
	}
	char *dump = save_dump(&r, "sel.rdb", NULL, NULL);
	vl_redis_stop(&r);
	char *store = store_path("s");
	summary s;
	import(&s, dump, store, "--prefix a: -c pa");
	expect_ok(&s);
	cr_assert_eq(num(&s, "imported"), N);
	cr_assert_eq(num(&s, "not_selected"), N);
	summary_free(&s);
	check_rows(store, "pa", a, N, 0, NULL);
	/* b:<even> only */
	import(&s, dump, store, "--match 'b:*[02468]' -c mb");
	expect_ok(&s);
	cr_assert_eq(num(&s, "imported"), N / 2);
	summary_free(&s);
	uint8_t skip[N];
	for (size_t i = 0; i < N; i++)
		skip[i] = i % 2 != 0;
	check_rows(store, "mb", b, N, 0, skip);
	/* both options: AND */
	import(&s, dump, store, "--prefix a: --match '*1?' -c both");
	expect_ok(&s);
	cr_assert_eq(num(&s, "imported"), 10, "a:10 .. a:19");
	summary_free(&s);
	/* Redis glob forms (keys a:0..a:19, b:0..b:19) */
	static const struct {
		const char *pat;
		uint64_t n;
	} globs[] = {
		{ "a:?", 10 },       { "?:1?", 20 },     { "a:[^1]", 9 },     { "[ab]:[1-3]", 6 },
		{ "[b-a]:0", 2 },    { "a\\:1", 1 },   { "*", 2 * N },      { "a:1*", 11 },
		{ "**:*9", 4 },      { "a:[13", 2 }, { "c:*", 0 },
	};
	for (size_t g = 0; g < sizeof globs / sizeof globs[0]; g++) {
		import(&s, dump, store, "--match '%s' -c g%zu --sample 1000", globs[g].pat, g);
		if (globs[g].n == 0) {
			cr_assert_eq(s.rc, 1, "%s selects nothing: no vectors found", globs[g].pat);
		} else {
			expect_ok(&s);
			cr_assert_eq(num(&s, "imported"), globs[g].n, "--match %s", globs[g].pat);
		}
		summary_free(&s);
	}
	xrow_free(a, N);
	xrow_free(b, N);
	free(store);
	free(dump);
}

Test(import_rdb, wrong_length_and_nan_vectors)
{
	vl_redis r;
	start(&r, NULL);
	rng_state = 111;
	enum { N = 50, DIM = 10 };
	xrow *rows = docs(N, DIM, 0, 0, 0);
	uint8_t skip[N] = { 0 };
	for (size_t i = 0; i < N; i++) {
		if (i == 7 || i == 31) { /* one component short */
			rows[i].vec_len -= 4;
			skip[i] = 1;
		}
		if (i == 12) { /* NaN */
			float nan = NAN;
			memcpy(rows[i].vec + 8, &nan, 4);
			skip[i] = 1;
		}
		if (i == 40) { /* +inf */
			float inf = INFINITY;
			memcpy(rows[i].vec, &inf, 4);
			skip[i] = 1;
		}
		hset_row(&r, &rows[i], "vec");
	}
	char *dump = save_dump(&r, "bad.rdb", NULL, NULL);
	vl_redis_stop(&r);
	char *store = store_path("s");
	summary s;
	/* detection copes with the bad rows in its sample */
	import(&s, dump, store, "%s", "");
	expect_ok(&s);
	cr_assert_eq(num(&s, "imported"), N - 4);
	cr_assert_eq(num(&s, "skipped.wrong_length"), 2);
	cr_assert_eq(num(&s, "skipped.non_finite"), 2);
	cr_assert_eq(num(&s, "dim"), DIM);
	summary_free(&s);
	check_rows(store, "default", rows, N, 0, skip);
	uint64_t n0, n1;
	uint64_t h0 = store_digest(store, "default", &n0);
	/* --strict: the first bad vector fails the import; nothing changes,
	 * and a collection the import would create does not appear */
	import(&s, dump, store, "--strict");
	cr_assert_eq(s.rc, 1);
	char *e = last_err();
	/* Redis saves keys in hash-table order: any of the bad ones may come first */
	cr_assert((strstr(e, "'doc:7'") || strstr(e, "'doc:31'") || strstr(e, "'doc:12'") ||
	           strstr(e, "'doc:40'")) && strstr(e, "offset"),
	          "%s", e);
	free(e);
	summary_free(&s);
	cr_assert_eq(store_digest(store, "default", &n1), h0);
	cr_assert_eq(n0, n1);
	import(&s, dump, store, "--strict -c fresh");
	cr_assert_eq(s.rc, 1);
	summary_free(&s);
	vl_store *st = ts_open(store);
	vl_collection *c;
	cr_assert_eq(vl_collection_open(st, "fresh", &c), VL_ENOTFOUND);
	vl_close(st);
	xrow_free(rows, N);
	free(store);
	free(dump);
}

static void flip_and_write(const uint8_t *buf, size_t len, size_t at, const char *name, char *path,
                           size_t cap)
{
	uint8_t *copy = malloc(len);
	memcpy(copy, buf, len);
	copy[at] ^= 0x10;
	snprintf(path, cap, "%s/%s", dir, name);
	write_file(path, copy, len);
	free(copy);
}

Test(import_rdb, damaged_dumps_leave_the_store_unchanged)
{
	vl_redis r;
	start(&r, NULL);
	rng_state = 222;
	enum { N = 60, DIM = 64 };
	xrow *rows = docs(N, DIM, 0, 0, 300);
	for (size_t i = 0; i < N; i++)
		hset_row(&r, &rows[i], "vec");
	uint8_t *buf;
	size_t len;
	char *good = save_dump(&r, "good.rdb", &buf, &len);
	vl_redis_stop(&r);
	char *store = store_path("s");
	summary s;
	/* a store holding other rows, imported into the same collection */
	xrow *old = docs(5, DIM, 0, 0, 0);
	for (size_t i = 0; i < 5; i++)
		snprintf(old[i].key, sizeof old[i].key, "old:%zu", i);
	{
		vl_redis r2;
		start(&r2, NULL);
		for (size_t i = 0; i < 5; i++)
			hset_row(&r2, &old[i], "vec");
		char *p = save_dump(&r2, "old.rdb", NULL, NULL);
		vl_redis_stop(&r2);
		import(&s, p, store, "%s", "");
		expect_ok(&s);
		summary_free(&s);
		free(p);
	}
	uint64_t n0, n1;
	const uint64_t h0 = store_digest(store, "default", &n0);
	cr_assert_eq(n0, 5);

	char path[512];
	struct {
		const char *name;
		size_t at;        /* byte to damage (SIZE_MAX: truncate instead) */
		size_t keep;      /* bytes kept when truncating */
		const char *want; /* in the message */
	} cases[] = {
		{ "magic.rdb", 0, 0, "magic" },
		{ "middle.rdb", SIZE_MAX, 0, "truncated" },
		{ "trailer.rdb", SIZE_MAX, 0, "truncated" },
		{ "flip.rdb", 0, 0, "CRC" },
		{ "version.rdb", 8, 0, "version" },
	};
	cases[1].keep = len / 2;
	cases[2].keep = len - 3;
	/* inside a vector (stored raw: random floats do not compress): only the
	 * CRC notices */
	const uint8_t *hit = memmem(buf, len, rows[N / 2].vec, rows[N / 2].vec_len);
	cr_assert_not_null(hit);
	cases[3].at = (size_t)(hit - buf) + 17;
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		if (cases[c].at == SIZE_MAX) {
			snprintf(path, sizeof path, "%s/%s", dir, cases[c].name);
			write_file(path, buf, cases[c].keep);
		} else if (!strcmp(cases[c].name, "version.rdb")) {
			uint8_t *copy = malloc(len);
			memcpy(copy, buf, len);
			memcpy(copy + 5, "0099", 4); /* a future version: its first unknown byte fails */
			copy[9] = 0xf0;              /* an opcode no version up to 12 has */
			snprintf(path, sizeof path, "%s/%s", dir, cases[c].name);
			write_file(path, copy, len);
			free(copy);
		} else {
			flip_and_write(buf, len, cases[c].at, cases[c].name, path, sizeof path);
		}
		import(&s, path, store, "%s", "");
		cr_assert_eq(s.rc, 1, "%s: exit 1", cases[c].name);
		summary_free(&s);
		char *e = last_err();
		cr_assert(strstr(e, cases[c].want), "%s: message names the problem: %s", cases[c].name, e);
		cr_assert(strstr(e, "offset"), "%s: message names the offset: %s", cases[c].name, e);
		free(e);
		cr_assert_eq(store_digest(store, "default", &n1), h0, "%s: store unchanged", cases[c].name);
		cr_assert_eq(n1, n0);
		/* no leftovers in tmp/ */
		char tmp[600];
		snprintf(tmp, sizeof tmp, "ls -A '%s/tmp' | wc -l", store);
		char *out;
		cr_assert_eq(ts_run(tmp, &out), 0);
		cr_assert_eq(atoi(out), 0, "%s: tmp/ is empty", cases[c].name);
		free(out);
	}
	/* --ignore-checksum accepts the bit flip (and reports it) */
	flip_and_write(buf, len, cases[3].at, "flip.rdb", path, sizeof path);
	import(&s, path, store, "--ignore-checksum -c ignored");
	expect_ok(&s);
	cr_assert_str_eq(str(&s, "checksum"), "mismatch");
	summary_free(&s);
	/* and the good dump imports into the same collection */
	import(&s, good, store, "%s", "");
	expect_ok(&s);
	summary_free(&s);
	xrow both[N + 5];
	memcpy(both, rows, N * sizeof *rows);
	memcpy(both + N, old, 5 * sizeof *old);
	check_rows(store, "default", both, N + 5, 0, NULL);
	free(buf);
	xrow_free(rows, N);
	xrow_free(old, 5);
	free(store);
	free(good);
}

/* ---- interrupted imports --------------------------------------------------------------------- */

static pid_t spawn_cli(const char *const *argv)
{
	char out[512];
	snprintf(out, sizeof out, "%s/stderr.txt", dir);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 2);
			dup2(fd, 1);
			close(fd);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* Open the FIFO for writing (waits for the reader) and write up to n bytes;
 * stops early when the reader goes away. Returns the fd (kept open when
 * keep_open) or -1 after closing it. */
static int feed_fifo(const char *fifo, const uint8_t *buf, size_t n, int keep_open)
{
	int fd = open(fifo, O_WRONLY);
	cr_assert_geq(fd, 0, "open fifo: %s", strerror(errno));
	size_t done = 0;
	while (done < n) {
		ssize_t w = write(fd, buf + done, n - done > 65536 ? 65536 : n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break; /* EPIPE: the reader stopped (the detection pass) */
		done += (size_t)w;
	}
	if (keep_open)
		return fd;
	close(fd);
	return -1;
}

static int has_spill_file(const char *store)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd, "ls '%s/tmp' 2>/dev/null | grep -c '^bulk-'", store);
	char *out = NULL;
	ts_run(cmd, &out);
	int n = out ? atoi(out) : 0;
	free(out);
	return n > 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Start an import reading a FIFO that delivers half of the dump and then
 * nothing more: the import is stuck mid-way (its detection pass read a
 * prefix it replays; the bulk load has rows in its open transaction) until
 * `sig` arrives. Returns the exit status; *signaled is the signal that
 * ended it (0 if it exited). */
static int interrupted_import(const uint8_t *buf, size_t len, const char *store, const char *coll,
                              int sig, int *signaled)
{
	char fifo[512];
	snprintf(fifo, sizeof fifo, "%s/dump.fifo", dir);
	unlink(fifo);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	const char *argv[] = { ts_cli(), "import-rdb", fifo, store, "-c", coll, "--sample", "50", "--quiet",
		               NULL };
	pid_t pid = spawn_cli(argv);
	int fd = feed_fifo(fifo, buf, len / 2, 1);
	for (int i = 0; i < 500 && !has_spill_file(store); i++)
		sleep_ms(10);
	cr_assert(has_spill_file(store), "the bulk load began");
	sleep_ms(300); /* let the first half flow into the open transaction */
	kill(pid, sig);
	int st = 0;
	pid_t got = 0;
	for (int i = 0; i < 1000 && got == 0; i++) {
		got = waitpid(pid, &st, WNOHANG);
		if (!got)
			sleep_ms(10);
	}
	if (got == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		cr_assert_fail("import-rdb did not stop after signal %d", sig);
	}
	close(fd);
	unlink(fifo);
	*signaled = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static uint8_t *big_dump(size_t n, size_t dim, size_t *len)
{
	vl_redis r;
	start(&r, NULL);
	rng_state = 333;
	/* pipelined HSETs: key, vec, title */
	const size_t per = 6;
	const void **argv = malloc(n * per * sizeof *argv);
	size_t *lens = malloc(n * per * sizeof *lens);
	int *argc = malloc(n * sizeof *argc);
	char (*keys)[32] = malloc(n * sizeof *keys);
	uint8_t *vecs = malloc(n * dim * 4);
	for (size_t i = 0; i < n; i++) {
		snprintf(keys[i], 32, "big:%zu", i);
		for (size_t j = 0; j < dim; j++) {
			float f = (float)rnd();
			memcpy(vecs + (i * dim + j) * 4, &f, 4);
		}
		const void *a[] = { "HSET", keys[i], "vec", vecs + i * dim * 4, "title", "some title" };
		const size_t l[] = { 4, strlen(keys[i]), 3, dim * 4, 5, 10 };
		memcpy(argv + i * per, a, sizeof a);
		memcpy(lens + i * per, l, sizeof l);
		argc[i] = (int)per;
	}
	cr_assert_eq(vl_redis_pipeline(&r, n, argc, argv, lens), 0, "%s", r.err);
	uint8_t *buf;
	cr_assert_eq(vl_redis_save(&r, &buf, len), 0);
	vl_redis_stop(&r);
	free(argv);
	free(lens);
	free(argc);
	free(keys);
	free(vecs);
	return buf;
}

Test(import_rdb, sigkill_mid_import_leaves_store_as_it_was)
{
	size_t len;
	uint8_t *buf = big_dump(6000, 128, &len);
	char *store = store_path("s");
	char path[512];
	snprintf(path, sizeof path, "%s/big.rdb", dir);
	write_file(path, buf, len);
	/* the collection holds a subset of the dump (big:100 .. big:199) */
	summary s;
	import(&s, path, store, "--match 'big:1[0-9][0-9]'");
	expect_ok(&s);
	cr_assert_eq(num(&s, "imported"), 100);
	summary_free(&s);
	uint64_t n0, n1;
	const uint64_t h0 = store_digest(store, "default", &n0);
	int sig;
	interrupted_import(buf, len, store, "default", SIGKILL, &sig);
	cr_assert_eq(sig, SIGKILL);
	cr_assert(has_spill_file(store), "killed during the bulk load: its spill file is left");
	cr_assert_eq(store_digest(store, "default", &n1), h0, "the store is as it was");
	cr_assert_eq(n1, n0);
	cr_assert_not(has_spill_file(store), "the next writable open removed the leftover");
	/* the whole dump still imports afterwards */
	import(&s, path, store, "%s", "");
	expect_ok(&s);
	cr_assert_eq(num(&s, "imported"), 6000);
	summary_free(&s);
	free(buf);
	free(store);
}

Test(import_rdb, sigint_mid_import_aborts_cleanly)
{
	size_t len;
	uint8_t *buf = big_dump(6000, 128, &len);
	char *store = store_path("s");
	int sig;
	const int code = interrupted_import(buf, len, store, "fresh", SIGINT, &sig);
	cr_assert_eq(sig, 0, "SIGINT is caught");
	cr_assert_eq(code, 1);
	char *e = last_err();
	cr_assert(strstr(e, "interrupted"), "%s", e);
	free(e);
	vl_store *st = ts_open(store);
	vl_collection *c;
	cr_assert_eq(vl_collection_open(st, "fresh", &c), VL_ENOTFOUND,
	             "the collection the import created is dropped again");
	cr_assert_eq(vl_verify(st, NULL, NULL), 0);
	vl_close(st);
	cr_assert_not(has_spill_file(store));
	free(buf);
	free(store);
}

/* ---- schema ---------------------------------------------------------------------------------- */

Test(import_rdb, existing_collection_must_match)
{
	vl_redis r;
	start(&r, NULL);
	rng_state = 444;
	enum { N = 20, DIM = 8 };
	xrow *rows = docs(N, DIM, 0, 0, 0);
	for (size_t i = 0; i < N; i++)
		hset_row(&r, &rows[i], "vec");
	char *dump = save_dump(&r, "ex.rdb", NULL, NULL);
	vl_redis_stop(&r);
	char *store = store_path("s");
	char cmd[1024];
	/* dim 9: refused */
	snprintf(cmd, sizeof cmd, "%s create '%s' -c d9 --dim 9 >/dev/null", ts_cli(), store);
	cr_assert_eq(ts_run(cmd, NULL), 0);
	summary s;
	import(&s, dump, store, "-c d9");
	cr_assert_eq(s.rc, 1);
	char *e = last_err();
	cr_assert(strstr(e, "dim 9"), "%s", e);
	free(e);
	summary_free(&s);
	/* cosine collection with one field of its own: metric kept, fields added */
	snprintf(cmd, sizeof cmd, "%s create '%s' -c cos --dim 8 --metric cosine --field genre:text >/dev/null",
	         ts_cli(), store);
	cr_assert_eq(ts_run(cmd, NULL), 0);
	import(&s, dump, store, "-c cos --metric l2");
	cr_assert_eq(s.rc, 1, "metric mismatch");
	summary_free(&s);
	import(&s, dump, store, "-c cos --index flat");
	cr_assert_eq(s.rc, 2, "--index only for a new collection");
	summary_free(&s);
	import(&s, dump, store, "-c cos");
	expect_ok(&s);
	cr_assert_str_eq(str(&s, "metric"), "cosine");
	summary_free(&s);
	check_rows(store, "cos", rows, N, 0, NULL);
	cr_assert_eq(field_type(store, "cos", "genre"), VL_FIELD_TEXT, "the collection's type is kept");
	cr_assert_eq(field_type(store, "cos", "price"), VL_FIELD_NUMERIC, "added, detected type");
	import(&s, dump, store, "-c cos --field genre:tag");
	cr_assert_eq(s.rc, 1, "a type that contradicts the collection");
	summary_free(&s);
	xrow_free(rows, N);
	free(store);
	free(dump);
}

Test(import_rdb, field_types_given_skipped_and_late)
{
	vl_redis r;
	start(&r, NULL);
	rng_state = 555;
	enum { N = 40, DIM = 8 };
	xrow *rows = docs(N, DIM, 0, 0, 0);
	/* row 39 gets a price that is not a number and a field nobody else has */
	free(rows[N - 1].fval[2]);
	rows[N - 1].fval[2] = strdup("n/a");
	rows[N - 1].flen[2] = 3;
	set_field(&rows[N - 1], "late", "only here", 9);
	for (size_t i = 0; i < N; i++)
		hset_row(&r, &rows[i], "vec");
	char *dump = save_dump(&r, "types.rdb", NULL, NULL);
	vl_redis_stop(&r);
	char *store = store_path("s");
	summary s;
	/* the detection pass sees 5 keys; "late" and the bad price come later
	 * (unless Redis's key order puts doc:39 first: then price is text) */
	import(&s, dump, store, "--sample 5 --field title:skip");
	expect_ok(&s);
	cr_assert_eq(num(&s, "imported"), N);
	const vl_rdb_attr price = field_type(store, "default", "price") == VL_FIELD_NUMERIC
	                              ? VL_RDB_ATTR_NUMERIC
	                              : VL_RDB_ATTR_TEXT;
	cr_assert_eq(num(&s, "values_dropped.not_numeric"), price == VL_RDB_ATTR_NUMERIC ? 1 : 0);
	cr_assert_geq(num(&s, "values_dropped.unknown_field") + (field_type(store, "default", "late") != 0), 1);
	cr_assert_eq(field_type(store, "default", "title"), 0, "skipped field is not in the schema");
	summary_free(&s);
	/* --strict refuses to lose a value */
	import(&s, dump, store, "--sample 5 --strict --field price:numeric -c strict");
	cr_assert_eq(s.rc, 1);
	summary_free(&s);
	/* declared types: everything kept, price as text */
	import(&s, dump, store, "--field price:text --field late:text -c declared");
	expect_ok(&s);
	cr_assert_eq(num(&s, "values_dropped.not_numeric"), 0);
	cr_assert_eq(num(&s, "values_dropped.unknown_field"), 0);
	summary_free(&s);
	cr_assert_eq(field_type(store, "declared", "price"), VL_FIELD_TEXT);
	check_rows(store, "declared", rows, N, 0, NULL);
	xrow_free(rows, N);
	free(store);
	free(dump);
}

Test(import_rdb, ambiguous_vector_fields_need_a_choice)
{
	vl_redis r;
	start(&r, NULL);
	rng_state = 666;
	enum { N = 20 };
	xrow *rows = docs(N, 8, 0, 0, 0);
	for (size_t i = 0; i < N; i++) {
		size_t l;
		uint8_t *v2 = make_vec(16, 0, 0, &l);
		set_field(&rows[i], "other_vec", (const char *)v2, l);
		free(v2);
		hset_row(&r, &rows[i], "vec");
	}
	char *dump = save_dump(&r, "two.rdb", NULL, NULL);
	vl_redis_stop(&r);
	char *store = store_path("s");
	summary s;
	import(&s, dump, store, "%s", "");
	cr_assert_eq(s.rc, 1);
	char *e = last_err();
	cr_assert(strstr(e, "--vector-field"), "%s", e);
	free(e);
	summary_free(&s);
	import(&s, dump, store, "--vector-field vec");
	expect_ok(&s);
	cr_assert_eq(num(&s, "dim"), 8);
	summary_free(&s);
	/* the other blob is kept as an attribute, byte for byte */
	check_rows(store, "default", rows, N, 0, NULL);
	import(&s, dump, store, "--vector-field nope -c x");
	cr_assert_eq(s.rc, 1);
	summary_free(&s);
	xrow_free(rows, N);
	free(store);
	free(dump);
}

Test(import_rdb, inspect_and_usage)
{
	vl_redis r;
	start(&r, NULL);
	rng_state = 777;
	xrow *rows = docs(10, 16, 0, 0, 0);
	for (size_t i = 0; i < 10; i++)
		hset_row(&r, &rows[i], "vec");
	rcmd(&r, "RPUSH", "l", "a", NULL);
	char *dump = save_dump(&r, "insp.rdb", NULL, NULL);
	vl_redis_stop(&r);
	char cmd[1024], *out;
	snprintf(cmd, sizeof cmd, "%s import-rdb --inspect '%s'", ts_cli(), dump);
	cr_assert_eq(ts_run(cmd, &out), 0);
	cr_assert(strstr(out, "RDB version 10"), "%s", out);
	cr_assert(strstr(out, "redis-ver 7."), "%s", out);
	cr_assert(strstr(out, "field \"vec\": float32 dim 16"), "%s", out);
	cr_assert(strstr(out, "list 1"), "%s", out);
	free(out);
	snprintf(cmd, sizeof cmd, "%s import-rdb --inspect '%s' --json", ts_cli(), dump);
	cr_assert_eq(ts_run(cmd, &out), 0);
	vl_json_doc *doc = vl_json_doc_new();
	const vl_json *root;
	vl_diag d;
	cr_assert_eq(vl_json_parse(doc, out, strlen(out), 0, 1, &root, &d), 0, "%s", d.msg);
	cr_assert_eq(strtoull(vl_json_get(root, "keys")->u.str, NULL, 10), 11);
	vl_json_doc_free(doc);
	free(out);
	/* usage errors exit 2, a missing dump 1, --inspect writes nothing */
	snprintf(cmd, sizeof cmd, "%s import-rdb --no-such 2>/dev/null", ts_cli());
	cr_assert_eq(ts_run(cmd, NULL), 2);
	snprintf(cmd, sizeof cmd, "%s import-rdb '%s' 2>/dev/null", ts_cli(), dump);
	cr_assert_eq(ts_run(cmd, NULL), 2);
	snprintf(cmd, sizeof cmd, "%s import-rdb '%s' %s/s --dtype float8 2>/dev/null", ts_cli(), dump, dir);
	cr_assert_eq(ts_run(cmd, NULL), 2);
	snprintf(cmd, sizeof cmd, "%s import-rdb %s/missing.rdb %s/s 2>/dev/null", ts_cli(), dir, dir);
	cr_assert_eq(ts_run(cmd, NULL), 1);
	snprintf(cmd, sizeof cmd, "%s import-rdb --help", ts_cli());
	cr_assert_eq(ts_run(cmd, &out), 0);
	cr_assert(strstr(out, "usage: veclite import-rdb"));
	free(out);
	struct stat sb;
	char sp[512];
	snprintf(sp, sizeof sp, "%s/s", dir);
	cr_assert_neq(stat(sp, &sb), 0, "nothing created by failed or inspect runs");
	xrow_free(rows, 10);
	free(dump);
}
