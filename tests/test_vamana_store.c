/*
 * test_vamana_store.c - the Vamana index end to end through the public API:
 * collections with index=vamana, flush, filtered search (the engine's exact
 * fallback for very selective filters), churn with compaction, and a
 * kill -9 in the middle of a graph build.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/qtest.h"
#include "veclite.h"

#define K 10
#define NQ 100

typedef struct fixture {
	char dir[64];
	vl_store *st;
	vl_collection *c;
	float *rows;               /* pool of Fashion-MNIST rows */
	size_t nrows;
	float *queries;
	size_t nq;
	uint32_t dim;
} fixture;

static uint32_t bucket_of(size_t row)
{
	uint64_t h = (uint64_t)row * 0x9E3779B97F4A7C15ull;
	h ^= h >> 31;
	return (uint32_t)(h % 1000);
}

static void open_store(fixture *f)
{
	vl_open_opts o = VL_OPEN_OPTS_INIT;
	o.flags = VL_OPEN_CREATE | VL_OPEN_NOSYNC;
	int rc = vl_open(f->dir, &o, &f->st);
	cr_assert_eq(rc, VL_OK, "vl_open: %d", rc);
}

static void setup(fixture *f, size_t pool)
{
	memset(f, 0, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/vlvamXXXXXX");
	cr_assert(mkdtemp(f->dir));
	f->rows = qt_load_idx("fmnist-train-images", 0, pool, &f->nrows, &f->dim);
	cr_assert(f->rows, "Fashion-MNIST missing: run `make data`");
	uint32_t d2;
	f->queries = qt_load_idx("fmnist-test-images", 0, NQ, &f->nq, &d2);
	cr_assert(f->queries);
	open_store(f);
}

static int try_create(fixture *f, const char *name, const char *storage, vl_collection **c)
{
	static const vl_field fields[] = { { "bucket", VL_FIELD_NUMERIC } };
	vl_schema s = VL_SCHEMA_INIT;
	s.dim = f->dim;
	s.index = "vamana";
	s.storage = storage;
	s.fields = fields;
	s.nfields = 1;
	return vl_collection_create(f->st, name, &s, c);
}

static void create(fixture *f, const char *name, const char *storage)
{
	int rc = try_create(f, name, storage, &f->c);
	cr_assert_eq(rc, VL_OK, "create: %s", vl_errmsg(f->st));
}

static void rm_rf(const char *dir)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	cr_expect_eq(system(cmd), 0);
}

static void teardown(fixture *f)
{
	if (f->c)
		vl_collection_close(f->c);
	if (f->st)
		vl_close(f->st);
	rm_rf(f->dir);
	free(f->rows);
	free(f->queries);
}

/* Upsert pool rows ids[0..n) with key = decimal pool row, bucket attribute. */
static void put_rows(fixture *f, vl_collection *c, const uint32_t *ids, size_t n)
{
	vl_txn *txn;
	cr_assert_eq(vl_txn_begin(f->st, &txn), VL_OK);
	for (size_t i = 0; i < n; i++) {
		char key[16];
		int kl = snprintf(key, sizeof key, "%u", ids[i]);
		vl_value v = { "bucket", NULL, 0, (double)bucket_of(ids[i]) };
		vl_row r = { key, (size_t)kl, f->rows + (size_t)ids[i] * f->dim, f->dim, &v, 1 };
		int rc = vl_upsert(txn, c, &r, 1);
		cr_assert_eq(rc, VL_OK, "upsert: %s", vl_errmsg(f->st));
	}
	cr_assert_eq(vl_txn_commit(txn), VL_OK, "commit: %s", vl_errmsg(f->st));
}

static void del_rows(fixture *f, vl_collection *c, const uint32_t *ids, size_t n)
{
	vl_txn *txn;
	cr_assert_eq(vl_txn_begin(f->st, &txn), VL_OK);
	for (size_t i = 0; i < n; i++) {
		char key[16];
		int kl = snprintf(key, sizeof key, "%u", ids[i]);
		const void *kp = key;
		size_t klen = (size_t)kl, got;
		cr_assert_eq(vl_delete(txn, c, &kp, &klen, 1, &got), VL_OK);
		cr_assert_eq(got, 1);
	}
	cr_assert_eq(vl_txn_commit(txn), VL_OK);
}

static void flush(fixture *f, vl_collection *c)
{
	vl_job_opts o = VL_JOB_OPTS_INIT;
	o.threads = 2;
	cr_assert_eq(vl_flush(c, &o), VL_OK, "flush: %s", vl_errmsg(f->st));
}

typedef struct filt {
	const char *expr;
	uint32_t below;            /* bucket < below */
} filt;

/* Mean recall@K over the queries among live rows (ids) matching the filter;
 * also checks that min(K, matches) hits come back. */
static double recall(fixture *f, vl_collection *c, const uint32_t *live, size_t nlive,
                     const filt *fl, const char *const *params, size_t np)
{
	double sum = 0;
	double *dist = malloc(nlive * sizeof *dist);
	for (size_t q = 0; q < f->nq; q++) {
		const float *qv = f->queries + q * f->dim;
		size_t m = 0;
		for (size_t i = 0; i < nlive; i++) {
			if (fl && bucket_of(live[i]) >= fl->below)
				continue;
			dist[m++] = qt_exact_dist(VL_METRIC_L2, qv, f->rows + (size_t)live[i] * f->dim, f->dim);
		}
		/* k-th smallest matching distance */
		double kth = INFINITY;
		if (m) {
			for (size_t a = 0; a < m && a < K; a++)
				for (size_t b = a + 1; b < m; b++)
					if (dist[b] < dist[a]) {
						double t = dist[a];
						dist[a] = dist[b];
						dist[b] = t;
					}
			kth = dist[(m < K ? m : K) - 1];
		}
		vl_search_opts so = VL_SEARCH_OPTS_INIT;
		so.k = K;
		so.filter = fl ? fl->expr : NULL;
		so.params = params;
		so.nparams = np;
		vl_results *r;
		int rc = vl_search(c, qv, f->dim, &so, &r);
		cr_assert_eq(rc, VL_OK, "search: %s", vl_errmsg(f->st));
		size_t want = m < K ? m : K;
		cr_expect_eq(r->n, want, "filter %s: %zu hits, %zu rows match", fl ? fl->expr : "-", r->n, m);
		size_t ok = 0;
		for (size_t i = 0; i < r->n; i++) {
			char key[16];
			size_t kl = r->hits[i].key_len < 15 ? r->hits[i].key_len : 15;
			memcpy(key, r->hits[i].key, kl);
			key[kl] = 0;
			uint32_t id = (uint32_t)strtoul(key, NULL, 10);
			cr_expect(!fl || bucket_of(id) < fl->below, "hit %u does not match %s", id, fl->expr);
			double d = qt_exact_dist(VL_METRIC_L2, qv, f->rows + (size_t)id * f->dim, f->dim);
			ok += d <= kth + 1e-6 * (kth + 1);
		}
		sum += want ? (double)ok / want : 1.0;
		vl_results_free(r);
	}
	free(dist);
	return sum / f->nq;
}

static void seq(uint32_t *ids, size_t n, uint32_t from)
{
	for (size_t i = 0; i < n; i++)
		ids[i] = from + (uint32_t)i;
}

Test(vamana_store, recall_and_filters)
{
	fixture f;
	setup(&f, 4000);
	create(&f, "c", "float32");
	uint32_t *ids = malloc(f.nrows * sizeof *ids);
	seq(ids, f.nrows, 0);
	put_rows(&f, f.c, ids, f.nrows);
	flush(&f, f.c);
	double r = recall(&f, f.c, ids, f.nrows, NULL, NULL, 0);
	fprintf(stderr, "vamana store float32: recall@10 %.4f\n", r);
	cr_expect_geq(r, 0.95);
	static const filt fs[] = { { "bucket < 500", 500 }, { "bucket < 100", 100 },
		                       { "bucket < 10", 10 }, { "bucket < 1", 1 } };
	for (size_t i = 0; i < 4; i++) {
		double rf = recall(&f, f.c, ids, f.nrows, &fs[i], NULL, 0);
		fprintf(stderr, "vamana store filter %s: recall@10 %.4f\n", fs[i].expr, rf);
		cr_expect_geq(rf, 0.95, "%s: recall %.4f", fs[i].expr, rf);
	}
	free(ids);
	teardown(&f);
}

Test(vamana_store, recall_lvq4x8)
{
	fixture f;
	setup(&f, 4000);
	if (try_create(&f, "c", "lvq4x8", &f.c) != VL_OK) {
		teardown(&f);
		cr_skip_test("lvq4x8 is not in this build: %s", vl_errmsg(f.st));
		return;
	}
	uint32_t *ids = malloc(f.nrows * sizeof *ids);
	seq(ids, f.nrows, 0);
	put_rows(&f, f.c, ids, f.nrows);
	flush(&f, f.c);
	double r = recall(&f, f.c, ids, f.nrows, NULL, NULL, 0);
	fprintf(stderr, "vamana store lvq4x8: recall@10 %.4f (re-ranked)\n", r);
	cr_expect_geq(r, 0.95);
	free(ids);
	teardown(&f);
}

/* 5 rounds of delete 10% + insert 10% + flush + compact; recall stays within
 * 0.01 of a collection built fresh from the same rows. */
Test(vamana_store, churn_compact)
{
	const size_t n0 = 2500, rounds = 5, step = n0 / 10;
	fixture f;
	setup(&f, n0 + rounds * step);
	create(&f, "c", "float32");
	uint32_t *live = malloc((n0 + step) * sizeof *live);
	seq(live, n0, 0);
	size_t nlive = n0;
	uint32_t next = (uint32_t)n0;
	put_rows(&f, f.c, live, nlive);
	flush(&f, f.c);
	qt_rng rng = { 5 };
	static const char *const w10[] = { "SEARCH_WINDOW_SIZE=10" };
	vl_job_opts jo = VL_JOB_OPTS_INIT;
	jo.threads = 2;
	for (size_t round = 0; round < rounds; round++) {
		uint32_t *gone = malloc(step * sizeof *gone);
		for (size_t k = 0; k < step; k++) {
			size_t at = qt_below(&rng, (uint32_t)nlive);
			gone[k] = live[at];
			live[at] = live[--nlive];
		}
		del_rows(&f, f.c, gone, step);
		uint32_t *add = live + nlive;
		seq(add, step, next);
		next += (uint32_t)step;
		put_rows(&f, f.c, add, step);
		nlive += step;
		flush(&f, f.c);
		cr_assert_eq(vl_compact(f.c, &jo), VL_OK, "compact: %s", vl_errmsg(f.st));
		free(gone);
	}
	vl_info *info;
	cr_assert_eq(vl_collection_info(f.c, &info), VL_OK);
	cr_expect_eq(info->rows, nlive);
	vl_info_free(info);
	double r_churn = recall(&f, f.c, live, nlive, NULL, w10, 1);
	vl_collection *fresh;
	cr_assert_eq(try_create(&f, "fresh", "float32", &fresh), VL_OK);
	put_rows(&f, fresh, live, nlive);
	flush(&f, fresh);
	double r_fresh = recall(&f, fresh, live, nlive, NULL, w10, 1);
	fprintf(stderr, "vamana store churn: recall@10 %.4f after 5 compactions, fresh %.4f\n", r_churn,
	        r_fresh);
	cr_expect_geq(r_churn, r_fresh - 0.01);
	cr_expect_eq(vl_verify(f.st, NULL, NULL), VL_OK, "%s", vl_errmsg(f.st));
	vl_collection_close(fresh);
	free(live);
	teardown(&f);
}

/* The child signals the parent once the graph build is under way. */
static int signal_in_build(void *ud, const char *phase, uint64_t done, uint64_t total)
{
	int fd = *(int *)ud;
	if (strncmp(phase, "vamana", 6) == 0 && fd >= 0) {
		char b = 1;
		if (write(fd, &b, 1) != 1)
			_exit(3);
		*(int *)ud = -1;
		for (;;)
			pause(); /* wait for SIGKILL mid-build */
	}
	return 0;
}

Test(vamana_store, kill9_during_build)
{
	fixture f;
	setup(&f, 3000);
	create(&f, "c", "float32");
	uint32_t *ids = malloc(f.nrows * sizeof *ids);
	seq(ids, f.nrows, 0);
	put_rows(&f, f.c, ids, 1000);
	flush(&f, f.c);
	put_rows(&f, f.c, ids + 1000, 2000); /* committed, still in the write buffer */
	vl_collection_close(f.c);
	f.c = NULL;
	vl_close(f.st);
	f.st = NULL;
	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		vl_store *st;
		vl_collection *c;
		if (vl_open(f.dir, NULL, &st) || vl_collection_open(st, "c", &c))
			_exit(2);
		int fd = pfd[1];
		vl_job_opts o = VL_JOB_OPTS_INIT;
		o.threads = 2;
		o.progress = signal_in_build;
		o.progress_ud = &fd;
		vl_flush(c, &o);
		_exit(4); /* the build must not finish before the kill */
	}
	close(pfd[1]);
	char b;
	cr_assert_eq(read(pfd[0], &b, 1), 1, "child never reached the graph build");
	kill(pid, SIGKILL);
	int status;
	waitpid(pid, &status, 0);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	close(pfd[0]);
	/* the store is as before: 3000 rows, the old segment, all searchable */
	open_store(&f);
	cr_assert_eq(vl_collection_open(f.st, "c", &f.c), VL_OK, "%s", vl_errmsg(f.st));
	cr_expect_eq(vl_verify(f.st, NULL, NULL), VL_OK, "%s", vl_errmsg(f.st));
	vl_info *info;
	cr_assert_eq(vl_collection_info(f.c, &info), VL_OK);
	cr_expect_eq(info->rows, 3000);
	cr_expect_eq(info->buffer_rows, 2000);
	vl_info_free(info);
	double r = recall(&f, f.c, ids, f.nrows, NULL, NULL, 0);
	cr_expect_geq(r, 0.95, "after the kill: recall %.4f", r);
	/* and a new flush completes */
	flush(&f, f.c);
	r = recall(&f, f.c, ids, f.nrows, NULL, NULL, 0);
	fprintf(stderr, "vamana store after kill -9 and a new flush: recall@10 %.4f\n", r);
	cr_expect_geq(r, 0.95);
	cr_expect_eq(vl_verify(f.st, NULL, NULL), VL_OK, "%s", vl_errmsg(f.st));
	free(ids);
	teardown(&f);
}
