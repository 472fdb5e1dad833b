/*
 * test_reindex.c - vl_reindex into the HNSW and IVF kinds (and back)
 * through the public API and the CLI:
 *   - every key, vector and field is kept exactly (export before == after);
 *   - filtered searches give k hits whenever k rows match, with good recall;
 *   - a SIGKILL in the middle of a reindex leaves the old index serving;
 *   - `veclite reindex --report` (direct, gated, dry run) and its JSON.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "quant/quant.h"
#include "util/tstore.h"

#define DIM 24

static char *dir;
static void setup(void) { dir = ts_tmpdir("reindex"); }
static void teardown(void)
{
	ts_rmtree(dir);
	free(dir);
}
TestSuite(reindex, .init = setup, .fini = teardown, .timeout = 300);

/* ---- an export as bytes ------------------------------------------------------ */

typedef struct blob {
	uint8_t *p;
	size_t n, cap;
	size_t rows;
} blob;

static void put(blob *b, const void *p, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 4096;
		b->p = realloc(b->p, b->cap);
		cr_assert(b->p);
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

/* Every live row in key order: key, vector bits, and each value (field,
 * bytes or the number's bits). */
static blob export_all(vl_collection *c)
{
	blob b = { 0 };
	vl_cursor *cur;
	cr_assert_eq(vl_cursor_open(c, &cur), VL_OK);
	const vl_record *r;
	while (vl_cursor_next(cur, &r) == VL_OK && r) {
		put(&b, &r->key_len, sizeof r->key_len);
		put(&b, r->key, r->key_len);
		put(&b, &r->dim, sizeof r->dim);
		put(&b, r->vector, (size_t)r->dim * 4);
		put(&b, &r->nvalues, sizeof r->nvalues);
		for (uint32_t i = 0; i < r->nvalues; i++) {
			const vl_value *v = &r->values[i];
			put(&b, v->field, strlen(v->field) + 1);
			put(&b, &v->len, sizeof v->len);
			if (v->data)
				put(&b, v->data, v->len);
			put(&b, &v->num, sizeof v->num);
		}
		b.rows++;
	}
	vl_cursor_close(cur);
	return b;
}

static size_t values_of(size_t i, vl_value *vals, char *buf, size_t len)
{
	size_t n = 0;
	static const char *const cats[] = { "a", "b", "c", "d", "e", "f", "g", "h", "i", "j" };
	vals[n++] = (vl_value){ "cat", cats[i % 10], 1, 0 };
	if (i % 3)
		vals[n++] = (vl_value){ "price", NULL, 0, (double)i * 0.25 - 7 };
	if (i % 7 == 0) {
		int w = snprintf(buf, len, "note %zu: \xe2\x82\xac and bytes \x01\x02", i);
		vals[n++] = (vl_value){ "note", buf, (size_t)w, 0 };
	}
	return n;
}

static void check_same(vl_collection *c, const blob *before, const char *what)
{
	blob after = export_all(c);
	cr_expect_eq(after.rows, before->rows, "%s: %zu rows, had %zu", what, after.rows, before->rows);
	cr_expect(after.n == before->n && memcmp(after.p, before->p, after.n) == 0,
	          "%s: the export differs", what);
	free(after.p);
}

static void expect_index(vl_collection *c, const char *index, const char *storage)
{
	vl_info *inf;
	cr_assert_eq(vl_collection_info(c, &inf), VL_OK);
	cr_expect_str_eq(inf->index, index);
	if (storage)
		cr_expect_str_eq(inf->storage, storage);
	vl_info_free(inf);
}

Test(reindex, keeps_rows_exactly)
{
	vl_store *st = ts_open(dir);
	vl_collection *c = ts_create(st, "c", DIM, VL_METRIC_L2, "flat", "float32",
	                             "cat:tag,price:numeric,note:text", NULL);
	ts_rng rng = { 42 };
	size_t n = 3000;
	float *v = malloc(n * DIM * sizeof *v);
	ts_vectors(&rng, v, n, DIM);
	cr_assert_eq(ts_put_rows(st, c, "k", v, 0, 2000, DIM, values_of), VL_OK);
	cr_assert_eq(vl_flush(c, NULL), VL_OK);
	/* deletes and replacements in the segment, more rows in the write buffer */
	vl_txn *t;
	cr_assert_eq(vl_txn_begin(st, &t), VL_OK);
	for (size_t i = 0; i < 2000; i += 17) {
		char key[32];
		snprintf(key, sizeof key, "k%zu", i);
		const void *kp = key;
		size_t kl = strlen(key);
		cr_assert_eq(vl_delete(t, c, &kp, &kl, 1, NULL), VL_OK);
	}
	cr_assert_eq(vl_txn_commit(t), VL_OK);
	cr_assert_eq(ts_put_rows(st, c, "k", v + 2000 * DIM, 2000, 1000, DIM, values_of), VL_OK);
	cr_assert_eq(ts_put_rows(st, c, "k", v + 500 * DIM, 1, 200, DIM, values_of), VL_OK);
	blob before = export_all(c);
	cr_assert_gt(before.rows, 2800);

	struct {
		const char *index, *storage;
		const char *params[3];
	} steps[] = {
		{ "hnsw", NULL, { "M=8", "EF_CONSTRUCTION=64" } },
		{ "ivf", NULL, { "NLIST=20" } },
		{ "hnsw", "lvq4x8", { NULL } },
		{ "ivf", "lvq4x8", { NULL } },
		{ "flat", "float32", { NULL } },
	};
	for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
		if (steps[s].storage && !vl_quant_find(steps[s].storage))
			continue;
		vl_schema ch = VL_SCHEMA_INIT;
		ch.index = steps[s].index;
		ch.storage = steps[s].storage;
		size_t np = 0;
		while (np < 3 && steps[s].params[np])
			np++;
		ch.params = steps[s].params;
		ch.nparams = np;
		vl_job_opts jo = VL_JOB_OPTS_INIT;
		jo.threads = 2;
		int rc = vl_reindex(c, &ch, &jo);
		cr_assert_eq(rc, VL_OK, "reindex to %s: %s", steps[s].index, vl_errmsg(st));
		expect_index(c, steps[s].index, steps[s].storage);
		char what[64];
		snprintf(what, sizeof what, "after reindex to %s/%s", steps[s].index,
		         steps[s].storage ? steps[s].storage : "same storage");
		check_same(c, &before, what);
		cr_expect_eq(vl_verify(st, NULL, NULL), VL_OK, "%s: verify: %s", what, vl_errmsg(st));
	}
	/* a bad parameter changes nothing */
	vl_schema bad = VL_SCHEMA_INIT;
	bad.index = "hnsw";
	static const char *const bp[] = { "M=1" };
	bad.params = bp;
	bad.nparams = 1;
	cr_expect_eq(vl_reindex(c, &bad, NULL), VL_EINVAL);
	cr_expect(strstr(vl_errmsg(st), "M=1"), "%s", vl_errmsg(st));
	expect_index(c, "flat", "float32");
	check_same(c, &before, "after a failed reindex");
	free(before.p);
	free(v);
	vl_collection_close(c);
	vl_close(st);
}

/* ---- filtered queries through the public API -------------------------------- */

static size_t tag_of(size_t i, vl_value *vals, char *buf, size_t len)
{
	/* 1 row in 10 is "hot", 1 in 200 is "rare" */
	const char *t = i % 200 == 7 ? "rare" : i % 10 == 3 ? "hot" : "cold";
	vals[0] = (vl_value){ "t", t, strlen(t), 0 };
	return 1;
}

static const char *tag_name(size_t i) { return i % 200 == 7 ? "rare" : i % 10 == 3 ? "hot" : "cold"; }

static void filtered_case(const char *index, const char *const *params, const char *sparam)
{
	vl_store *st = ts_open(dir);
	vl_collection *c = ts_create(st, index, DIM, VL_METRIC_L2, index, "float32", "t:tag", params);
	ts_rng rng = { 7 };
	size_t n = 6000, nq = 40;
	float *v = malloc(n * DIM * sizeof *v), *q = malloc(nq * DIM * sizeof *q);
	ts_vectors(&rng, v, n, DIM);
	ts_vectors(&rng, q, nq, DIM);
	cr_assert_eq(ts_put_rows(st, c, "r", v, 0, n, DIM, tag_of), VL_OK);
	cr_assert_eq(vl_flush(c, NULL), VL_OK);
	expect_index(c, index, NULL);
	struct {
		const char *filter, *tag;
	} fs[] = { { "t == 'hot'", "hot" }, { "t == 'rare'", "rare" }, { "t == 'cold'", "cold" } };
	uint8_t *alive = malloc(n);
	for (int f = 0; f < 3; f++) {
		size_t match = 0;
		for (size_t i = 0; i < n; i++)
			match += (alive[i] = strcmp(tag_name(i), fs[f].tag) == 0);
		double sum = 0;
		for (size_t qi = 0; qi < nq; qi++) {
			vl_search_opts o = VL_SEARCH_OPTS_INIT;
			o.k = 10;
			o.filter = fs[f].filter;
			const char *sp[1] = { sparam };
			o.params = sp;
			o.nparams = 1;
			vl_results *r;
			cr_assert_eq(vl_search(c, q + qi * DIM, DIM, &o, &r), VL_OK, "%s", vl_errmsg(st));
			size_t want = match < 10 ? match : 10;
			cr_assert_eq(r->n, want, "%s %s: %zu hits, %zu rows match", index, fs[f].filter, r->n,
			             match);
			size_t exact[10];
			size_t ne = ts_topk(VL_METRIC_L2, q + qi * DIM, v, n, DIM, alive, 10, exact);
			size_t hit = 0;
			for (size_t i = 0; i < r->n; i++) {
				size_t row = (size_t)atol((const char *)r->hits[i].key + 1);
				cr_assert(alive[row], "%s: hit %zu does not match %s", index, row, fs[f].filter);
				for (size_t j = 0; j < ne; j++)
					hit += exact[j] == row;
			}
			sum += ne ? (double)hit / (double)ne : 1.0;
			vl_results_free(r);
		}
		double rec = sum / (double)nq;
		fprintf(stderr, "%s filter %s (%zu rows): recall@10 %.3f\n", index, fs[f].filter, match, rec);
		cr_expect_geq(rec, 0.9, "%s %s: recall %.3f", index, fs[f].filter, rec);
	}
	free(alive);
	free(v);
	free(q);
	vl_collection_close(c);
	vl_close(st);
}

Test(reindex, filtered_hnsw)
{
	static const char *const p[] = { "M=16", "EF_CONSTRUCTION=100", NULL };
	filtered_case("hnsw", p, "EF_RUNTIME=100");
}

Test(reindex, filtered_ivf)
{
	static const char *const p[] = { "NLIST=40", NULL };
	filtered_case("ivf", p, "NPROBE=16"); /* uniform random data: weak clusters */
}

/* ---- SIGKILL in the middle of a reindex ------------------------------------------ */

static int announce(void *ud, const char *phase, uint64_t done, uint64_t total)
{
	int fd = *(int *)ud;
	if (strcmp(phase, "hnsw") == 0) {
		/* the build is under way: tell the parent, then wait for the kill */
		if (write(fd, "k", 1) != 1)
			_exit(4);
		sleep(30);
	}
	return 0;
}

static void top_keys(vl_collection *c, const float *q, size_t nq, char out[][10][16])
{
	for (size_t i = 0; i < nq; i++) {
		vl_search_opts o = VL_SEARCH_OPTS_INIT;
		vl_results *r;
		cr_assert_eq(vl_search(c, q + i * DIM, DIM, &o, &r), VL_OK);
		cr_assert_eq(r->n, 10);
		for (size_t j = 0; j < 10; j++)
			snprintf(out[i][j], 16, "%.*s", (int)r->hits[j].key_len, (const char *)r->hits[j].key);
		vl_results_free(r);
	}
}

Test(reindex, sigkill_keeps_old_index)
{
	size_t n = 5000, nq = 20;
	float *v = malloc(n * DIM * sizeof *v), *q = malloc(nq * DIM * sizeof *q);
	ts_rng rng = { 99 };
	ts_vectors(&rng, v, n, DIM);
	ts_vectors(&rng, q, nq, DIM);
	static char before[20][10][16], after[20][10][16];
	{
		vl_store *st = ts_open(dir);
		vl_collection *c = ts_create(st, "c", DIM, VL_METRIC_L2, "flat", "float32", "t:tag", NULL);
		cr_assert_eq(ts_put_rows(st, c, "r", v, 0, n, DIM, tag_of), VL_OK);
		cr_assert_eq(vl_flush(c, NULL), VL_OK);
		top_keys(c, q, nq, before);
		vl_collection_close(c);
		vl_close(st);
	}
	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		vl_store *st;
		vl_open_opts oo = VL_OPEN_OPTS_INIT; /* durable: what crash safety promises */
		vl_collection *c;
		if (vl_open(dir, &oo, &st) || vl_collection_open(st, "c", &c))
			_exit(3);
		vl_schema ch = VL_SCHEMA_INIT;
		ch.index = "hnsw";
		vl_job_opts jo = VL_JOB_OPTS_INIT;
		jo.threads = 1;
		jo.progress = announce;
		jo.progress_ud = &pfd[1];
		vl_reindex(c, &ch, &jo);
		_exit(5); /* reached only if the build never reported */
	}
	close(pfd[1]);
	char b;
	cr_assert_eq(read(pfd[0], &b, 1), 1, "the child never reached the hnsw build");
	close(pfd[0]);
	kill(pid, SIGKILL);
	int status;
	waitpid(pid, &status, 0);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	vl_store *st = ts_open(dir);
	cr_assert_eq(vl_verify(st, NULL, NULL), VL_OK, "verify after the kill: %s", vl_errmsg(st));
	vl_collection *c;
	cr_assert_eq(vl_collection_open(st, "c", &c), VL_OK);
	expect_index(c, "flat", "float32");
	vl_info *inf;
	cr_assert_eq(vl_collection_info(c, &inf), VL_OK);
	cr_expect_eq(inf->rows, n);
	vl_info_free(inf);
	top_keys(c, q, nq, after);
	cr_expect(memcmp(before, after, sizeof before) == 0, "results changed after the killed reindex");
	/* the abandoned temp segment was cleaned by the writable open */
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s/tmp", dir);
	DIR *dd = opendir(tmp);
	if (dd) {
		struct dirent *e;
		while ((e = readdir(dd)))
			cr_expect(e->d_name[0] == '.', "left in tmp/: %s", e->d_name);
		closedir(dd);
	}
	/* and the reindex can be run again */
	vl_schema ch = VL_SCHEMA_INIT;
	ch.index = "hnsw";
	cr_assert_eq(vl_reindex(c, &ch, NULL), VL_OK, "%s", vl_errmsg(st));
	expect_index(c, "hnsw", "float32");
	free(v);
	free(q);
	vl_collection_close(c);
	vl_close(st);
}

/* ---- the CLI and its report ---------------------------------------------------------- */

static double json_num(const char *doc, const char *after, const char *key)
{
	const char *p = strstr(doc, after);
	cr_assert(p, "no %s in %s", after, doc);
	p = strstr(p, key);
	cr_assert(p, "no %s after %s", key, after);
	return atof(p + strlen(key));
}

static int shadow_left(void)
{
	char parent[4096], base[256];
	snprintf(parent, sizeof parent, "%s", dir);
	char *slash = strrchr(parent, '/');
	cr_assert(slash);
	snprintf(base, sizeof base, "%s.reindex-", slash + 1);
	*slash = 0;
	DIR *dd = opendir(parent);
	int found = 0;
	struct dirent *e;
	while (dd && (e = readdir(dd)))
		found |= strncmp(e->d_name, base, strlen(base)) == 0;
	if (dd)
		closedir(dd);
	return found;
}

Test(reindex, cli_report)
{
	{
		vl_store *st = ts_open(dir);
		vl_collection *c = ts_create(st, "default", DIM, VL_METRIC_L2, "flat", "float32", "t:tag",
		                             NULL);
		ts_rng rng = { 5 };
		float *v = malloc(3000 * DIM * sizeof *v);
		ts_vectors(&rng, v, 3000, DIM);
		cr_assert_eq(ts_put_rows(st, c, "r", v, 0, 3000, DIM, tag_of), VL_OK);
		free(v);
		vl_collection_close(c);
		vl_close(st);
	}
	char cmd[8192], *out = NULL;
	/* direct: switch, then measure */
	snprintf(cmd, sizeof cmd,
	         "%s reindex '%s' --index hnsw --set EF_RUNTIME=64 --report --sample 100 --json --quiet",
	         ts_cli(), dir);
	int rc = ts_run(cmd, &out);
	cr_assert_eq(rc, 0, "%s\n%s", cmd, out);
	cr_expect(strstr(out, "\"mode\": \"direct\"") && strstr(out, "\"switched\": true"), "%s", out);
	cr_expect(strstr(out, "\"index\": \"flat\"") && strstr(out, "\"index\": \"hnsw\""), "%s", out);
	cr_expect(strstr(out, "\"count\": 100"), "%s", out);
	double rb = json_num(out, "\"before\"", "\"10\": ");
	double ra = json_num(out, "\"after\"", "\"10\": ");
	cr_expect_eq(rb, 1.0, "flat recall@10 %g", rb);
	cr_expect(ra > 0.8 && ra <= 1.0, "hnsw recall@10 %g", ra);
	cr_expect(json_num(out, "\"after\"", "\"p99\": ") > 0);
	cr_expect(json_num(out, "\"after\"", "\"qps\": ") > 0);
	cr_expect(json_num(out, "\"after\"", "\"memory_bytes\": ") >=
	          json_num(out, "\"before\"", "\"memory_bytes\": "));
	cr_expect(strstr(out, "\"result\": \"LIMITED BENEFIT\"") ||
	          strstr(out, "\"result\": \"NOT RECOMMENDED\""), "hnsw adds memory: %s", out);
	free(out);

	/* gated: 90% savings are out of reach, so nothing changes (exit 1) */
	snprintf(cmd, sizeof cmd,
	         "%s reindex '%s' --index ivf --set NLIST=30 --min-savings 90 --sample 50 --json "
	         "--quiet 2>/dev/null",
	         ts_cli(), dir);
	rc = ts_run(cmd, &out);
	cr_expect_eq(rc, 1, "%s\n%s", cmd, out);
	cr_expect(strstr(out, "\"mode\": \"gated\"") && strstr(out, "\"switched\": false"), "%s", out);
	cr_expect(strstr(out, "\"savings_ok\": false"), "%s", out);
	free(out);
	cr_expect(!shadow_left(), "the shadow store was not removed");
	snprintf(cmd, sizeof cmd, "%s info '%s' --json", ts_cli(), dir);
	cr_assert_eq(ts_run(cmd, &out), 0);
	cr_expect(strstr(out, "\"index\": \"hnsw\""), "gated reindex changed the index: %s", out);
	free(out);

	/* gated and passing: switches */
	snprintf(cmd, sizeof cmd,
	         "%s reindex '%s' --index ivf --set NLIST=30 --set NPROBE=30 --min-recall 0.9 "
	         "--min-savings 0 --sample 50 --quiet",
	         ts_cli(), dir);
	rc = ts_run(cmd, &out);
	cr_expect_eq(rc, 0, "%s\n%s", cmd, out);
	cr_expect(strstr(out, "verdict: RECOMMENDED") && strstr(out, "switched: yes"), "%s", out);
	cr_expect(strstr(out, "recall@1 / @5 / @10"), "%s", out);
	free(out);
	snprintf(cmd, sizeof cmd, "%s info '%s' --json", ts_cli(), dir);
	cr_assert_eq(ts_run(cmd, &out), 0);
	cr_expect(strstr(out, "\"index\": \"ivf\""), "%s", out);
	free(out);
	cr_expect(!shadow_left(), "the shadow store was not removed");

	/* dry run: never switches */
	snprintf(cmd, sizeof cmd, "%s reindex '%s' --index flat --dry-run --sample 20 --json --quiet",
	         ts_cli(), dir);
	rc = ts_run(cmd, &out);
	cr_expect_eq(rc, 0, "%s\n%s", cmd, out);
	cr_expect(strstr(out, "\"mode\": \"dry-run\"") && strstr(out, "\"switched\": false"), "%s", out);
	free(out);
	snprintf(cmd, sizeof cmd, "%s info '%s' --json", ts_cli(), dir);
	cr_assert_eq(ts_run(cmd, &out), 0);
	cr_expect(strstr(out, "\"index\": \"ivf\""), "%s", out);
	free(out);

	/* queries from a file (.fvecs), dry run */
	char qpath[4200];
	snprintf(qpath, sizeof qpath, "%s/q.fvecs", dir);
	FILE *qf = fopen(qpath, "wb");
	cr_assert(qf);
	ts_rng qr = { 77 };
	for (int i = 0; i < 7; i++) {
		float qv[DIM];
		int32_t d = DIM;
		ts_vectors(&qr, qv, 1, DIM);
		cr_assert(fwrite(&d, 4, 1, qf) == 1 && fwrite(qv, 4, DIM, qf) == DIM);
	}
	fclose(qf);
	snprintf(cmd, sizeof cmd,
	         "%s reindex '%s' --index hnsw --dry-run --queries '%s' --json --quiet", ts_cli(), dir,
	         qpath);
	rc = ts_run(cmd, &out);
	cr_expect_eq(rc, 0, "%s\n%s", cmd, out);
	cr_expect(strstr(out, "\"count\": 7") && strstr(out, "q.fvecs"), "%s", out);
	free(out);
	cr_expect(!shadow_left(), "the shadow store was not removed");

	/* usage errors */
	snprintf(cmd, sizeof cmd, "%s reindex '%s' 2>/dev/null", ts_cli(), dir);
	cr_expect_eq(ts_run(cmd, NULL), 2);
	snprintf(cmd, sizeof cmd, "%s reindex '%s' --index nope 2>/dev/null", ts_cli(), dir);
	cr_expect_eq(ts_run(cmd, NULL), 1);
	snprintf(cmd, sizeof cmd, "%s reindex '%s' --index hnsw --min-recall 2 2>/dev/null", ts_cli(),
	         dir);
	cr_expect_eq(ts_run(cmd, NULL), 2);
}
