/*
 * test_iofail.c - injected write failures (ENOSPC, EIO, zero-byte writes,
 * failed fsync) on segment files and bulk-load spill files, through the
 * vl_io hooks (engine/io/segwriter.h).
 *
 * For each job (flush, compaction, reindex, bulk load, the automatic flush
 * at commit) the Nth write fails, for N = 1, 2, ... until the job completes
 * without reaching N. Every failure must be a clean error (VL_ENOSPC or
 * VL_EIO with a message) that leaves the store exactly as it was: same
 * rows, vectors and attributes (a digest of a full export), same search
 * results, same segments, vl_verify clean, and no file left in tmp/.
 * Short writes (at most 777 bytes per call) must not change anything either.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/segwriter.h"
#include "util/tstore.h"

#define DIM 24

static char *dir;

/* ---- the hooks ------------------------------------------------------------------- */
static int writes, fail_write_at, fail_errno, zero_write;
static int fsyncs, fail_fsync_at;
static size_t short_max;
static vl_io_hooks saved;

static ssize_t hook_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	if (++writes == fail_write_at) {
		if (zero_write)
			return 0; /* a full disk as some file systems report it */
		errno = fail_errno;
		return -1;
	}
	if (short_max && n > short_max)
		n = short_max;
	return saved.pwrite(fd, buf, n, off);
}

static int hook_fsync(int fd)
{
	if (++fsyncs == fail_fsync_at) {
		errno = EIO;
		return -1;
	}
	return saved.fsync(fd);
}

static void arm(int write_at, int err, int zero, int fsync_at, size_t shortw)
{
	writes = fsyncs = 0;
	fail_write_at = write_at;
	fail_errno = err;
	zero_write = zero;
	fail_fsync_at = fsync_at;
	short_max = shortw;
}

static void setup(void)
{
	dir = ts_tmpdir("iofail");
	saved = vl_io;
	vl_io.pwrite = hook_pwrite;
	vl_io.fsync = hook_fsync;
	arm(0, 0, 0, 0, 0);
}

static void teardown(void)
{
	vl_io = saved;
	ts_rmtree(dir);
	free(dir);
}

TestSuite(iofail, .init = setup, .fini = teardown, .timeout = 240);

/* ---- the store's observable state -------------------------------------------------- */
typedef struct state {
	uint64_t rows, digest, search, segments;
	char storage[32], index[32];
} state;

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static int tmp_files(void)
{
	char p[1200];
	snprintf(p, sizeof p, "%s/tmp", dir);
	DIR *d = opendir(p);
	cr_assert(d);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void observe(vl_store *st, vl_collection *c, state *s)
{
	memset(s, 0, sizeof *s);
	s->digest = 0xcbf29ce484222325ull;
	vl_cursor *cur;
	cr_assert_eq(vl_cursor_open(c, &cur), VL_OK, "%s", vl_errmsg(st));
	for (;;) {
		const vl_record *r;
		cr_assert_eq(vl_cursor_next(cur, &r), VL_OK, "%s", vl_errmsg(st));
		if (!r)
			break;
		s->rows++;
		s->digest = fnv(s->digest, r->key, r->key_len);
		s->digest = fnv(s->digest, r->vector, (size_t)r->dim * 4);
		for (uint32_t i = 0; i < r->nvalues; i++) {
			const vl_value *v = &r->values[i];
			s->digest = fnv(s->digest, v->field, strlen(v->field));
			if (v->data)
				s->digest = fnv(s->digest, v->data, v->len);
			s->digest = fnv(s->digest, &v->num, sizeof v->num);
		}
	}
	vl_cursor_close(cur);
	uint64_t n;
	cr_assert_eq(vl_count(c, NULL, &n), VL_OK);
	cr_assert_eq(n, s->rows);
	float q[DIM];
	for (int i = 0; i < DIM; i++)
		q[i] = (float)(i % 3) * 0.3f;
	vl_search_opts so = VL_SEARCH_OPTS_INIT;
	so.k = 10;
	so.filter = "grp IN ('a', 'c') OR n < 30";
	vl_results *res;
	cr_assert_eq(vl_search(c, q, DIM, &so, &res), VL_OK, "%s", vl_errmsg(st));
	s->search = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < res->n; i++) {
		s->search = fnv(s->search, res->hits[i].key, res->hits[i].key_len);
		s->search = fnv(s->search, &res->hits[i].distance, sizeof(float));
	}
	vl_results_free(res);
	vl_info *inf;
	cr_assert_eq(vl_collection_info(c, &inf), VL_OK);
	s->segments = inf->segments;
	snprintf(s->storage, sizeof s->storage, "%s", inf->storage);
	snprintf(s->index, sizeof s->index, "%s", inf->index);
	vl_info_free(inf);
	cr_assert_eq(vl_verify(st, NULL, NULL), VL_OK, "%s", vl_errmsg(st));
}

/* Reindex flushes the write buffer before it rebuilds: a failure in the
 * rebuild keeps that flush (same rows, one more segment). */
static int segments_may_grow;

static void same(const state *a, const state *b, const char *what)
{
	cr_assert_eq(a->rows, b->rows, "%s: %llu rows, expected %llu", what, (unsigned long long)b->rows,
	             (unsigned long long)a->rows);
	cr_assert_eq(a->digest, b->digest, "%s: rows changed", what);
	cr_assert_eq(a->search, b->search, "%s: search results changed", what);
	if (!segments_may_grow || b->segments < a->segments)
		cr_assert_eq(a->segments, b->segments, "%s: %llu segments, expected %llu", what,
		             (unsigned long long)b->segments, (unsigned long long)a->segments);
	cr_assert_str_eq(a->storage, b->storage, "%s", what);
	cr_assert_str_eq(a->index, b->index, "%s", what);
}

static size_t vals(size_t i, vl_value *v, char *buf, size_t len)
{
	static const char *const g[] = { "a", "b", "c", "a,b" };
	snprintf(buf, len, "%zu", i % 97);
	v[0] = (vl_value){ "grp", g[i % 4], strlen(g[i % 4]), 0 };
	v[1] = (vl_value){ "n", buf, strlen(buf), 0 };
	return 2;
}

/* Rows in two segments and the buffer, with deletions in both: keys a0..,
 * b.., c.. (1200, 1000 and 500 rows; a tenth of that when small). */
static vl_store *build_n(vl_collection **out, const char *const *params, int small)
{
	vl_open_opts o = VL_OPEN_OPTS_INIT;
	o.flags = VL_OPEN_CREATE; /* fsync on: the fsync hook is reached */
	vl_store *st;
	cr_assert_eq(vl_open(dir, &o, &st), VL_OK);
	vl_collection *c = ts_create(st, "c", DIM, VL_METRIC_L2, "flat", NULL, "grp:tag,n:numeric", params);
	const int na = small ? 120 : 1200, nb = small ? 100 : 1000, nc = small ? 50 : 500;
	ts_rng rng = { 99 };
	float *v = malloc((size_t)(na + nb + nc) * DIM * sizeof *v);
	ts_vectors(&rng, v, (size_t)(na + nb + nc), DIM);
	cr_assert_eq(ts_put_rows(st, c, "a", v, 0, (size_t)na, DIM, vals), VL_OK);
	cr_assert_eq(vl_flush(c, NULL), VL_OK);
	cr_assert_eq(ts_put_rows(st, c, "b", v + na * DIM, (size_t)na, (size_t)nb, DIM, vals), VL_OK);
	cr_assert_eq(vl_flush(c, NULL), VL_OK);
	cr_assert_eq(ts_put_rows(st, c, "c", v + (na + nb) * DIM, (size_t)(na + nb), (size_t)nc, DIM, vals), VL_OK);
	vl_txn *t;
	cr_assert_eq(vl_txn_begin(st, &t), VL_OK);
	for (int i = 0; i < na + nb + nc; i += 13) {
		char key[16];
		snprintf(key, sizeof key, "%c%d", i < na ? 'a' : i < na + nb ? 'b' : 'c', i);
		const void *k = key;
		size_t l = strlen(key);
		cr_assert_eq(vl_delete(t, c, &k, &l, 1, NULL), VL_OK);
	}
	cr_assert_eq(vl_txn_commit(t), VL_OK);
	free(v);
	*out = c;
	return st;
}

static vl_store *build(vl_collection **out, const char *const *params)
{
	return build_n(out, params, 0);
}

typedef int (*job_fn)(vl_store *st, vl_collection *c);

static int do_flush(vl_store *st, vl_collection *c)
{
	(void)st;
	return vl_flush(c, NULL);
}

static int do_compact(vl_store *st, vl_collection *c)
{
	(void)st;
	return vl_compact(c, NULL);
}

static int do_reindex_hnsw(vl_store *st, vl_collection *c)
{
	(void)st;
	vl_schema ch = VL_SCHEMA_INIT;
	ch.index = "hnsw";
	ch.storage = "float16";
	vl_job_opts jo = VL_JOB_OPTS_INIT;
	jo.threads = 1;
	return vl_reindex(c, &ch, &jo);
}

static int do_reindex_vamana(vl_store *st, vl_collection *c)
{
	(void)st;
	vl_schema ch = VL_SCHEMA_INIT;
	ch.index = "vamana";
	ch.storage = "lvq8";
	vl_job_opts jo = VL_JOB_OPTS_INIT;
	jo.threads = 1;
	return vl_reindex(c, &ch, &jo);
}

/* A bulk load of new rows that also replaces some existing keys; n rows.
 * Unless unique, keys repeat within the load too (rows replaced later in
 * the same load: the segment is copied out of the spill file); unique keys
 * make the spill file the segment itself. */
static int bulk_rows(vl_collection *c, size_t n, int unique)
{
	vl_bulk *b;
	int rc = vl_bulk_begin(c, NULL, &b);
	if (rc)
		return rc;
	ts_rng rng = { 1234 };
	float v[DIM];
	for (size_t i = 0; i < n && rc == VL_OK; i++) {
		ts_vectors(&rng, v, 1, DIM);
		char key[48], buf[32];
		if (i % 10 == 0 && (!unique || i < 1200))
			snprintf(key, sizeof key, "a%zu", i % 1200); /* replaces a row of the first segment */
		else
			snprintf(key, sizeof key, "bulk%zu", i);
		vl_value vv[2];
		size_t nv = vals(i, vv, buf, sizeof buf);
		vl_row r = { key, strlen(key), v, DIM, vv, nv };
		rc = vl_bulk_add(b, &r, 1);
	}
	if (rc) {
		vl_bulk_abort(b);
		return rc;
	}
	return vl_bulk_commit(b);
}

static int do_bulk(vl_store *st, vl_collection *c)
{
	(void)st;
	return bulk_rows(c, 2000, 0);
}

static int do_bulk_unique(vl_store *st, vl_collection *c)
{
	(void)st;
	return bulk_rows(c, 2000, 1);
}

/* 70000 rows of 96 bytes: the 4 MiB spill buffer is written during the adds too. */
static int do_bulk_big(vl_store *st, vl_collection *c)
{
	(void)st;
	return bulk_rows(c, 70000, 0);
}

/* Give every job something to do: a new segment with deletions in it and
 * rows in the write buffer. */
static void churn(vl_store *st, vl_collection *c, int round)
{
	ts_rng rng = { 777 + (uint64_t)round };
	float v[100 * DIM];
	ts_vectors(&rng, v, 100, DIM);
	char prefix[16];
	snprintf(prefix, sizeof prefix, "p%d-", round);
	cr_assert_eq(ts_put_rows(st, c, prefix, v, 0, 60, DIM, vals), VL_OK);
	cr_assert_eq(vl_flush(c, NULL), VL_OK, "%s", vl_errmsg(st));
	vl_txn *t;
	cr_assert_eq(vl_txn_begin(st, &t), VL_OK);
	for (int i = 0; i < 60; i += 7) {
		char key[48];
		snprintf(key, sizeof key, "%s%d", prefix, i);
		const void *k = key;
		size_t l = strlen(key);
		cr_assert_eq(vl_delete(t, c, &k, &l, 1, NULL), VL_OK);
	}
	cr_assert_eq(vl_txn_commit(t), VL_OK);
	cr_assert_eq(ts_put_rows(st, c, prefix, v + 60 * DIM, 60, 40, DIM, vals), VL_OK);
}

/* Fail each write, then each fsync, of one job in turn; every failure leaves
 * the store as it was. Returns the number of injected failures. */
static int fail_each(vl_store *st, vl_collection *c, job_fn job, const char *name, int content_kept)
{
	state before, after;
	int injected = 0;
	/* modes: ENOSPC, EIO, zero-byte write, failed fsync */
	for (int mode = 0; mode < 4; mode++) {
		churn(st, c, mode);
		observe(st, c, &before);
		for (int n = 1;; n++) {
			if (mode < 3)
				arm(n, mode == 1 ? EIO : ENOSPC, mode == 2, 0, 0);
			else
				arm(0, 0, 0, n, 0);
			int rc = job(st, c);
			int reached = mode < 3 ? writes >= n : fsyncs >= n;
			arm(0, 0, 0, 0, 0);
			if (!reached) {
				/* the job ran to its end without meeting failure n */
				cr_assert_eq(rc, VL_OK, "%s: %s", name, vl_errmsg(st));
				cr_assert_gt(n, 1, "%s: the job made no write through the hooks", name);
				break;
			}
			int want = mode == 1 || mode == 3 ? VL_EIO : VL_ENOSPC;
			char what[128];
			snprintf(what, sizeof what, "%s, %s %d failed (%s)", name, mode == 3 ? "fsync" : "write", n,
			         mode == 0 ? "ENOSPC" : mode == 1 ? "EIO" : mode == 2 ? "0 bytes" : "EIO");
			cr_assert_eq(rc, want, "%s: returned %d (%s): %s", what, rc, vl_strerror(rc), vl_errmsg(st));
			cr_assert(vl_errmsg(st)[0], "%s: no message", what);
			observe(st, c, &after);
			same(&before, &after, what);
			cr_assert_eq(tmp_files(), 0, "%s: a file was left in tmp/", what);
			injected++;
		}
		fprintf(stderr, "iofail %s, %s: %d failures injected, all clean\n", name,
		        mode == 0 ? "ENOSPC" : mode == 1 ? "EIO" : mode == 2 ? "0-byte write" : "fsync EIO", injected);
		observe(st, c, &after);
		if (content_kept) {
			cr_assert_eq(after.rows, before.rows, "%s", name);
			cr_assert_eq(after.digest, before.digest, "%s changed the rows", name);
		}
	}
	return injected;
}

Test(iofail, flush_and_compact)
{
	vl_collection *c;
	vl_store *st = build(&c, NULL);
	cr_assert_gt(fail_each(st, c, do_flush, "flush", 1), 3);
	cr_assert_gt(fail_each(st, c, do_compact, "compact", 1), 3);
	vl_collection_close(c);
	vl_close(st);
}

Test(iofail, reindex)
{
	vl_collection *c;
	vl_store *st = build_n(&c, NULL, 1); /* small: each failure means a rebuild */
	segments_may_grow = 1;
	cr_assert_gt(fail_each(st, c, do_reindex_hnsw, "reindex to hnsw/float16", 1), 3);
	cr_assert_gt(fail_each(st, c, do_reindex_vamana, "reindex to vamana/lvq8", 1), 3);
	vl_collection_close(c);
	vl_close(st);
}

/* Rows replaced within the load (the segment is copied out of the spill
 * file), then every row surviving (the build writes into the spill file
 * itself): a failure anywhere removes the file and changes nothing. */
Test(iofail, bulk_load)
{
	vl_collection *c;
	vl_store *st = build(&c, NULL);
	cr_assert_gt(fail_each(st, c, do_bulk, "bulk load", 0), 3);
	cr_assert_gt(fail_each(st, c, do_bulk_unique, "bulk load (in place)", 0), 3);
	vl_collection_close(c);
	vl_close(st);
}

Test(iofail, bulk_load_spilling_during_adds, .timeout = 600)
{
	vl_collection *c;
	vl_store *st = build(&c, NULL);
	state before, after;
	observe(st, c, &before);
	/* write 1 is the spill buffer's first flush, inside vl_bulk_add */
	arm(1, ENOSPC, 0, 0, 0);
	int rc = do_bulk_big(st, c);
	arm(0, 0, 0, 0, 0);
	cr_assert_eq(rc, VL_ENOSPC, "%d: %s", rc, vl_errmsg(st));
	observe(st, c, &after);
	same(&before, &after, "bulk load, spill write 1 failed");
	cr_assert_eq(tmp_files(), 0);
	/* and through short writes it loads everything: 63000 new keys, and
	 * the replaced keys that had been deleted come back */
	uint64_t back = 0;
	for (int j = 0; j < 1200; j += 10) {
		char key[16];
		snprintf(key, sizeof key, "a%d", j);
		vl_record *r = NULL;
		back += vl_get(c, key, strlen(key), &r) == VL_ENOTFOUND;
		vl_free(r);
	}
	arm(0, 0, 0, 0, 777);
	rc = do_bulk_big(st, c);
	arm(0, 0, 0, 0, 0);
	cr_assert_eq(rc, VL_OK, "%s", vl_errmsg(st));
	observe(st, c, &after);
	cr_assert_eq(after.rows, before.rows + 63000 + back, "%llu rows", (unsigned long long)after.rows);
	vl_collection_close(c);
	vl_close(st);
}

/* A flush that runs inside vl_txn_commit and fails keeps the commit. */
Test(iofail, automatic_flush_failure_keeps_the_commit)
{
	const char *params[] = { "FLUSH_ROWS=100", NULL };
	vl_collection *c;
	vl_store *st = build(&c, params);
	state before, after;
	observe(st, c, &before);
	ts_rng rng = { 5 };
	float v[200 * DIM];
	ts_vectors(&rng, v, 200, DIM);
	arm(1, ENOSPC, 0, 0, 0);
	int rc = ts_put_rows(st, c, "x", v, 0, 200, DIM, NULL);
	int reached = writes >= 1;
	arm(0, 0, 0, 0, 0);
	cr_assert(reached, "the commit did not start an automatic flush");
	cr_assert_eq(rc, VL_OK, "the commit is durable even if its flush fails: %s", vl_errmsg(st));
	vl_info *inf;
	cr_assert_eq(vl_collection_info(c, &inf), VL_OK);
	cr_assert_eq(inf->flush_failures, 1);
	cr_assert_geq(inf->buffer_rows, 200);
	vl_info_free(inf);
	observe(st, c, &after);
	cr_assert_eq(after.rows, before.rows + 200);
	cr_assert_eq(after.segments, before.segments);
	cr_assert_eq(tmp_files(), 0);
	/* the next commit retries and succeeds */
	cr_assert_eq(ts_put_rows(st, c, "y", v, 0, 1, DIM, NULL), VL_OK);
	cr_assert_eq(vl_collection_info(c, &inf), VL_OK);
	cr_assert_eq(inf->flush_failures, 0);
	cr_assert_eq(inf->buffer_rows, 0);
	vl_info_free(inf);
	observe(st, c, &after);
	cr_assert_eq(after.rows, before.rows + 201);
	vl_collection_close(c);
	vl_close(st);
}

Test(iofail, short_writes_change_nothing)
{
	vl_collection *c;
	vl_store *st = build(&c, NULL);
	state before, after;
	observe(st, c, &before);
	arm(0, 0, 0, 0, 777);
	cr_assert_eq(vl_flush(c, NULL), VL_OK, "%s", vl_errmsg(st));
	cr_assert_eq(vl_compact(c, NULL), VL_OK, "%s", vl_errmsg(st));
	cr_assert_eq(do_reindex_vamana(st, c), VL_OK, "%s", vl_errmsg(st));
	int w = writes;
	arm(0, 0, 0, 0, 0);
	cr_assert_gt(w, 100, "short writes were exercised");
	observe(st, c, &after);
	cr_assert_eq(after.rows, before.rows);
	cr_assert_eq(after.digest, before.digest);
	cr_assert_eq(after.segments, 1);
	vl_collection_close(c);
	vl_close(st);
}

/* The default 1 TiB map is only address space; where that is limited
 * (ulimit -v, valgrind) the open falls back to smaller maps. Sanitizers
 * need terabytes of address space of their own: not under them. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define LIMITED_AS_SKIP 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define LIMITED_AS_SKIP 1
#endif
#endif

Test(iofail, open_with_limited_address_space)
{
#ifdef LIMITED_AS_SKIP
	cr_skip_test("sanitizer builds cannot run with a limited address space");
#else
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = { 8ull << 30, 8ull << 30 };
		if (setrlimit(RLIMIT_AS, &rl) != 0)
			_exit(2);
		vl_store *st;
		vl_open_opts o = VL_OPEN_OPTS_INIT;
		o.flags = VL_OPEN_CREATE | VL_OPEN_NOSYNC;
		if (vl_open(dir, &o, &st) != VL_OK) {
			fprintf(stderr, "open under an 8 GiB address space: %s\n", vl_errmsg(NULL));
			_exit(3);
		}
		vl_schema s = VL_SCHEMA_INIT;
		s.dim = 4;
		vl_collection *c;
		float v[4] = { 1, 2, 3, 4 };
		vl_row r = { "k", 1, v, 4, NULL, 0 };
		uint64_t n = 0;
		if (vl_collection_create(st, "c", &s, &c) || vl_put(c, &r) || vl_flush(c, NULL) ||
		    vl_count(c, NULL, &n) || n != 1)
			_exit(4);
		vl_collection_close(c);
		vl_close(st);
		/* an explicit map size is used as given: too large fails */
		o.flags = 0;
		o.map_size = 1ull << 40;
		_exit(vl_open(dir, &o, &st) == VL_OK ? 5 : 0);
	}
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
#endif
}
