/*
 * fuzz_filter.c - the filter expression parser, binder and both evaluators
 * (engine/filter.c), checked against each other.
 *
 * Init builds a small real store: one collection with tag, numeric and text
 * fields, 40 rows flushed into a segment (some then deleted) and 24 more in
 * the write buffer (some deleted too). Each input is a filter expression:
 *   1. vl_filter_parse: VL_EFILTER with an offset inside the text, or a tree;
 *   2. vl_filter_bind against a schema with the same fields: VL_ESCHEMA or OK;
 *   3. the expected count is vl_filter_match_rec over the live rows' values
 *      (the row-record evaluator, as used on the write buffer);
 *   4. vl_count through the public API (segment columns + write buffer) must
 *      fail the same way or count exactly the same rows, and vl_search with
 *      k above the row count must return exactly the matching keys.
 * So the columnar evaluator (tag dictionaries, numeric columns, tombstones)
 * is differential-tested against the row evaluator on every input. Each
 * input runs on a thread with a 512 KiB stack: expressions up to the 65536
 * byte limit must not need more (fuzz_filter.options keeps generated inputs
 * short; the corpus holds long regression inputs).
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filter.h"
#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define DIM 4
#define NROWS 64
#define NSEG 40 /* rows 0..NSEG-1 are flushed into a segment */
#define NFIELDS 5

static const char *const field_names[NFIELDS] = { "genre", "year", "body", "price", "t.x" };
static const vl_field_type field_types[NFIELDS] = { VL_FIELD_TAG, VL_FIELD_NUMERIC, VL_FIELD_TEXT,
	                                            VL_FIELD_NUMERIC, VL_FIELD_TAG };

static const char *const genres[] = { "drama", "comedy,drama", " noir , drama,", "", "a,b,c,d",
	                              "Drama", "sci-fi", "x y", "\"q\"", "comedy" };

typedef struct row {
	char key[16];
	int live;
	uint32_t nvals;
	vl_value api[NFIELDS];   /* as given to vl_upsert */
	vl_rowval rec[NFIELDS];  /* the same values as the row evaluator sees them */
	char text[NFIELDS][32];
} row;

static row rows[NROWS];
static vl_schema_rec schema;
static vl_store *st;
static vl_collection *coll;
static char dir[256];

static void die(const char *what)
{
	fprintf(stderr, "fuzz_filter init: %s: %s\n", what, vl_errmsg(st));
	abort();
}

/* Row i's attribute values: every field sometimes missing; numbers given as
 * doubles or as decimal text; tags with separators and whitespace. */
static void make_row(int i)
{
	row *r = &rows[i];
	snprintf(r->key, sizeof r->key, "r%d", i);
	r->live = 1;
	r->nvals = 0;
	for (int f = 0; f < NFIELDS; f++) {
		if ((i + f) % 7 == 3)
			continue; /* absent */
		vl_value *v = &r->api[r->nvals];
		vl_rowval *rv = &r->rec[r->nvals];
		memset(v, 0, sizeof *v);
		memset(rv, 0, sizeof *rv);
		v->field = field_names[f];
		rv->field_id = (uint16_t)f;
		char *t = r->text[f];
		switch (f) {
		case 0:
		case 4:
			snprintf(t, sizeof r->text[f], "%s", genres[(i * (f + 1)) % 10]);
			v->data = t;
			v->len = strlen(t);
			rv->kind = VL_VAL_TAG;
			rv->data = (const uint8_t *)t;
			rv->len = v->len;
			break;
		case 2:
			snprintf(t, sizeof r->text[f], "body %d", i);
			v->data = t;
			v->len = strlen(t);
			rv->kind = VL_VAL_TEXT;
			rv->data = (const uint8_t *)t;
			rv->len = v->len;
			break;
		default: {
			double x = f == 1 ? 1990 + (i % 13) - (i % 5 == 0 ? 0.5 : 0) : (i % 9) * 1.25 - 3;
			if (i % 3 == 0) { /* given as text: the engine keeps both */
				snprintf(t, sizeof r->text[f], "%.17g", x);
				v->data = t;
				v->len = strlen(t);
				rv->kind = VL_VAL_NUMTEXT;
				rv->data = (const uint8_t *)t;
				rv->len = v->len;
			} else {
				v->num = x;
				rv->kind = VL_VAL_NUM;
			}
			rv->num = x;
		}
		}
		r->nvals++;
	}
}

static int put_range(int first, int n)
{
	vl_txn *t;
	if (vl_txn_begin(st, &t))
		return -1;
	for (int i = first; i < first + n; i++) {
		float v[DIM];
		for (int d = 0; d < DIM; d++)
			v[d] = (float)((i * 7 + d * 3) % 11) - 5.0f;
		vl_row r = { rows[i].key, strlen(rows[i].key), v, DIM, rows[i].api, rows[i].nvals };
		if (vl_upsert(t, coll, &r, 1)) {
			vl_txn_abort(t);
			return -1;
		}
	}
	return vl_txn_commit(t);
}

static int del_rows(int mod)
{
	vl_txn *t;
	if (vl_txn_begin(st, &t))
		return -1;
	for (int i = 0; i < NROWS; i++)
		if (i % 11 == mod) {
			const void *k = rows[i].key;
			size_t l = strlen(rows[i].key);
			if (vl_delete(t, coll, &k, &l, 1, NULL)) {
				vl_txn_abort(t);
				return -1;
			}
			rows[i].live = 0;
		}
	return vl_txn_commit(t);
}

static void cleanup(void)
{
	vl_collection_close(coll);
	vl_close(st);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz_filter: could not remove %s\n", dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/vlfuzz-filter-%ld", tmp && *tmp ? tmp : "/tmp", (long)getpid());
	vl_open_opts o = VL_OPEN_OPTS_INIT;
	o.flags = VL_OPEN_CREATE | VL_OPEN_NOSYNC;
	if (vl_open(dir, &o, &st))
		die("open");
	vl_field f[NFIELDS];
	for (int i = 0; i < NFIELDS; i++)
		f[i] = (vl_field){ field_names[i], field_types[i] };
	vl_schema s = VL_SCHEMA_INIT;
	s.dim = DIM;
	s.fields = f;
	s.nfields = NFIELDS;
	if (vl_collection_create(st, "c", &s, &coll))
		die("create");
	for (int i = 0; i < NROWS; i++)
		make_row(i);
	if (put_range(0, NSEG) || vl_flush(coll, NULL) || put_range(NSEG, NROWS - NSEG) || del_rows(4))
		die("load");
	/* the schema the row evaluator binds against: same names, own ids */
	static vl_schema_field sf[NFIELDS];
	for (int i = 0; i < NFIELDS; i++) {
		sf[i].id = (uint16_t)i;
		sf[i].type = (uint8_t)field_types[i];
		snprintf(sf[i].name, sizeof sf[i].name, "%s", field_names[i]);
	}
	schema.dim = DIM;
	schema.metric = VL_METRIC_L2;
	schema.next_field_id = NFIELDS;
	schema.nfields = NFIELDS;
	schema.fields = sf;
	atexit(cleanup);
	return 0;
}

static int row_of_key(const void *k, size_t n)
{
	for (int i = 0; i < NROWS; i++)
		if (strlen(rows[i].key) == n && memcmp(rows[i].key, k, n) == 0)
			return i;
	return -1;
}

static void check(char *expr)
{
	const size_t len = strlen(expr);

	vl_diag d;
	vl_diag_clear(&d);
	vl_filter *f = NULL;
	int prc = vl_filter_parse(expr, &f, &d);
	int brc = VL_OK;
	uint8_t match[NROWS] = { 0 };
	uint64_t expect = 0;
	if (prc) {
		if (prc != VL_EFILTER || f || !d.msg[0] || (d.offset != VL_NO_OFFSET && d.offset > len))
			abort(); /* a syntax error names a place inside the text */
	} else {
		brc = vl_filter_bind(f, &schema, &d);
		if (brc != VL_OK && brc != VL_ESCHEMA)
			abort();
		if (brc == VL_OK)
			for (int i = 0; i < NROWS; i++) {
				vl_rowrec r = { (const uint8_t *)rows[i].key, strlen(rows[i].key), rows[i].nvals,
					        rows[i].rec };
				match[i] = (uint8_t)vl_filter_match_rec(f, &r);
				expect += rows[i].live && match[i];
			}
		vl_filter_free(f);
	}

	uint64_t n = 0;
	int crc = vl_count(coll, expr, &n);
	const int want = prc ? prc : brc;
	if (crc != want) {
		fprintf(stderr, "vl_count: %d (%s), parse/bind: %d\n", crc, vl_errmsg(st), want);
		abort();
	}
	if (crc == VL_OK && n != expect) {
		fprintf(stderr, "vl_count %llu, row evaluator %llu\n", (unsigned long long)n,
		        (unsigned long long)expect);
		abort(); /* segment columns and row records disagree */
	}
	if (crc == VL_OK) {
		float q[DIM] = { 0.5f, -1, 2, 0 };
		vl_search_opts so = VL_SEARCH_OPTS_INIT;
		so.k = NROWS + 5;
		so.filter = expr;
		vl_results *res = NULL;
		int src = vl_search(coll, q, DIM, &so, &res);
		if (src != VL_OK || res->n != expect)
			abort();
		for (size_t i = 0; i < res->n; i++) {
			int r = row_of_key(res->hits[i].key, res->hits[i].key_len);
			if (r < 0 || !rows[r].live || !match[r])
				abort(); /* a hit that does not match the filter */
		}
		vl_results_free(res);
	}
}

static void *check_thread(void *arg)
{
	check(arg);
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *expr = malloc(size + 1);
	if (!expr)
		return 0;
	memcpy(expr, data, size);
	expr[size] = 0;
	/* on a thread with a small stack (512 KiB, as applications give their
	 * threads): a long expression must not need a deep stack */
	pthread_attr_t at;
	pthread_t th;
	if (pthread_attr_init(&at) || pthread_attr_setstacksize(&at, 512 * 1024) ||
	    pthread_create(&th, &at, check_thread, expr) || pthread_join(th, NULL))
		abort();
	pthread_attr_destroy(&at);
	free(expr);
	return 0;
}
