/*
 * test_concurrency.c - readers keep a consistent snapshot while a writer
 * commits, flushes and compacts; readers in other threads and processes
 * never see half a transaction.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/tstore.h"

#define DIM 8
#define BATCH 100

static char *dir;
static void setup(void) { dir = ts_tmpdir("conc"); }
static void teardown(void)
{
	ts_rmtree(dir);
	free(dir);
}
TestSuite(concurrency, .init = setup, .fini = teardown);

Test(concurrency, cursor_snapshot_survives_commit_flush_and_compact)
{
	ts_rng rng = { 11 };
	float v[600 * DIM];
	ts_vectors(&rng, v, 600, DIM);
	vl_store *st = ts_open(dir);
	vl_collection *c = ts_create(st, "c", DIM, VL_METRIC_L2, NULL, NULL, NULL, NULL);
	cr_assert_eq(ts_put_rows(st, c, "a", v, 0, 200, DIM, NULL), VL_OK);
	cr_assert_eq(vl_flush(c, NULL), VL_OK);
	cr_assert_eq(ts_put_rows(st, c, "a", v + 200 * DIM, 200, 100, DIM, NULL), VL_OK);
	vl_cursor *cur;
	cr_assert_eq(vl_cursor_open(c, &cur), VL_OK);
	/* the writer changes everything the cursor's snapshot holds */
	cr_assert_eq(ts_put_rows(st, c, "b", v + 300 * DIM, 300, 300, DIM, NULL), VL_OK);
	vl_txn *t;
	cr_assert_eq(vl_txn_begin(st, &t), VL_OK);
	for (int i = 0; i < 300; i += 3) {
		char key[16];
		snprintf(key, sizeof key, "a%d", i);
		const void *k[] = { key };
		size_t l[] = { strlen(key) };
		cr_assert_eq(vl_delete(t, c, k, l, 1, NULL), VL_OK);
	}
	cr_assert_eq(vl_txn_commit(t), VL_OK);
	cr_assert_eq(vl_flush(c, NULL), VL_OK);
	cr_assert_eq(vl_compact(c, NULL), VL_OK, "%s", vl_errmsg(st));
	size_t seen = 0;
	for (;;) {
		const vl_record *r;
		cr_assert_eq(vl_cursor_next(cur, &r), VL_OK, "%s", vl_errmsg(st));
		if (!r)
			break;
		cr_assert_eq(((const char *)r->key)[0], 'a', "cursor saw a later row");
		int i = atoi((const char *)r->key + 1);
		cr_assert_eq(memcmp(r->vector, v + i * DIM, DIM * 4), 0);
		seen++;
	}
	cr_assert_eq(seen, 300, "the snapshot must hold all 300 rows, deleted ones included");
	vl_cursor_close(cur);
	uint64_t n;
	cr_assert_eq(vl_count(c, NULL, &n), VL_OK);
	cr_assert_eq(n, 500);
	vl_collection_close(c);
	vl_close(st);
}

typedef struct shared {
	vl_store *st;
	vl_collection *c;
	atomic_int stop;
	atomic_int bad;
	atomic_long reads;
	char why[256];
} shared;

/* Writer: batches of BATCH rows, some batches deleted again (whole). */
static void *writer(void *arg)
{
	shared *s = arg;
	ts_rng rng = { 5 };
	float v[BATCH * DIM];
	for (int b = 0; b < 60 && !atomic_load(&s->bad); b++) {
		ts_vectors(&rng, v, BATCH, DIM);
		char prefix[16];
		snprintf(prefix, sizeof prefix, "b%d-", b);
		if (ts_put_rows(s->st, s->c, prefix, v, 0, BATCH, DIM, NULL)) {
			atomic_store(&s->bad, 1);
			break;
		}
		if (b % 7 == 6) { /* delete batch b-3 in one txn */
			vl_txn *t;
			vl_txn_begin(s->st, &t);
			for (int i = 0; i < BATCH; i++) {
				char key[32];
				snprintf(key, sizeof key, "b%d-%d", b - 3, i);
				const void *k[] = { key };
				size_t l[] = { strlen(key) };
				vl_delete(t, s->c, k, l, 1, NULL);
			}
			vl_txn_commit(t);
		}
		if (b % 10 == 9)
			vl_flush(s->c, NULL);
		if (b % 20 == 19)
			vl_compact(s->c, NULL);
	}
	atomic_store(&s->stop, 1);
	return NULL;
}

static void *reader(void *arg)
{
	shared *s = arg;
	float q[DIM] = { 0 };
	while (!atomic_load(&s->stop)) {
		uint64_t n;
		if (vl_count(s->c, NULL, &n) || n % BATCH) {
			snprintf(s->why, sizeof s->why, "count %llu is not a whole number of batches", (unsigned long long)n);
			atomic_store(&s->bad, 1);
			break;
		}
		vl_results *res;
		vl_search_opts so = VL_SEARCH_OPTS_INIT;
		so.k = 20;
		int rc = vl_search(s->c, q, DIM, &so, &res);
		if (rc) {
			snprintf(s->why, sizeof s->why, "search failed: %s", vl_errmsg(s->st));
			atomic_store(&s->bad, 1);
			break;
		}
		/* every hit's key must be readable in a later snapshot unless deleted;
		 * and a search never returns more than the count allows */
		if (res->n > 20 || (n >= 20 && res->n != 20)) {
			snprintf(s->why, sizeof s->why, "search returned %zu hits with %llu rows", res->n,
			         (unsigned long long)n);
			atomic_store(&s->bad, 1);
		}
		vl_results_free(res);
		atomic_fetch_add(&s->reads, 1);
	}
	return NULL;
}

Test(concurrency, reader_threads_never_see_torn_batches, .timeout = 120)
{
	shared s = { 0 };
	s.st = ts_open(dir);
	s.c = ts_create(s.st, "c", DIM, VL_METRIC_L2, NULL, NULL, NULL, NULL);
	pthread_t w, r[3];
	for (int i = 0; i < 3; i++)
		pthread_create(&r[i], NULL, reader, &s);
	pthread_create(&w, NULL, writer, &s);
	pthread_join(w, NULL);
	for (int i = 0; i < 3; i++)
		pthread_join(r[i], NULL);
	cr_assert_eq(atomic_load(&s.bad), 0, "%s", s.why);
	cr_assert_gt(atomic_load(&s.reads), 10);
	cr_assert_eq(vl_verify(s.st, NULL, NULL), VL_OK, "%s", vl_errmsg(s.st));
	vl_collection_close(s.c);
	vl_close(s.st);
}

Test(concurrency, reader_processes_never_see_torn_batches, .timeout = 120)
{
	vl_store *st = ts_open(dir);
	vl_collection *c = ts_create(st, "c", DIM, VL_METRIC_L2, NULL, NULL, NULL, NULL);
	vl_collection_close(c);
	vl_close(st);
	pid_t kids[2];
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK); /* readers poll it */
	for (int k = 0; k < 2; k++) {
		kids[k] = fork();
		if (kids[k] == 0) {
			/* reader process: its own open of the store */
			vl_store *rs;
			vl_collection *rc;
			if (vl_open(dir, NULL, &rs) || vl_collection_open(rs, "c", &rc))
				_exit(3);
			long reads = 0;
			char b;
			for (;;) {
				uint64_t n;
				if (vl_count(rc, NULL, &n))
					_exit(4);
				if (n % BATCH)
					_exit(5);
				reads++;
				if (read(fds[0], &b, 1) == 1) /* parent done */
					break;
			}
			_exit(reads > 0 ? 0 : 6);
		}
	}
	shared s = { 0 };
	s.st = ts_open(dir);
	cr_assert_eq(vl_collection_open(s.st, "c", &s.c), VL_OK);
	writer(&s);
	cr_assert_eq(write(fds[1], "xx", 2), 2);
	for (int k = 0; k < 2; k++) {
		int status;
		waitpid(kids[k], &status, 0);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "reader process failed: status %d",
		          WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
	vl_collection_close(s.c);
	vl_close(s.st);
}
