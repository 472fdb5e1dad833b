/*
 * test_crash.c - a child process killed with SIGKILL in the middle of a
 * batch load or of a flush leaves a store that opens, passes verify and
 * holds exactly the committed batches.
 *
 * The child reports each batch number after vl_txn_commit() returns; the
 * store must then hold every reported batch, and at most one more (a commit
 * that finished after the last report), each batch whole or absent.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/tstore.h"

#define DIM 32
#define BATCH 200

static char *dir;
static void setup(void) { dir = ts_tmpdir("crash"); }
static void teardown(void)
{
	ts_rmtree(dir);
	free(dir);
}
TestSuite(crash, .init = setup, .fini = teardown, .timeout = 300);

static vl_store *open_durable(void)
{
	vl_store *st;
	vl_open_opts o = VL_OPEN_OPTS_INIT;
	o.flags = VL_OPEN_CREATE; /* fsync on commit: what crash safety promises */
	if (vl_open(dir, &o, &st))
		return NULL;
	return st;
}

/* Child: batches from `first` on, flushing every `flush_every` batches
 * (0: never; 1: right after every commit, to kill inside flushes). */
static void child(int wfd, int first, int flush_every)
{
	vl_store *st = open_durable();
	vl_collection *c;
	if (!st || vl_collection_open(st, "c", &c))
		_exit(3);
	ts_rng rng = { (uint64_t)first * 977 + 1 };
	static float v[BATCH * DIM];
	for (int b = first;; b++) {
		ts_vectors(&rng, v, BATCH, DIM);
		for (int i = 0; i < BATCH; i++)
			v[i * DIM] = (float)b; /* the vector records its batch */
		char prefix[16];
		snprintf(prefix, sizeof prefix, "b%d-", b);
		if (ts_put_rows(st, c, prefix, v, 0, BATCH, DIM, NULL))
			_exit(4);
		if (write(wfd, &b, sizeof b) != sizeof b)
			_exit(5);
		if (flush_every && b % flush_every == 0 && vl_flush(c, NULL))
			_exit(6);
	}
}

/* Batches present: each must be whole; returns how many (a prefix 0..n-1). */
static int check_store(int reported_last)
{
	vl_store *st = open_durable();
	cr_assert(st, "store does not open after the crash: %s", vl_errmsg(NULL));
	cr_assert_eq(vl_verify(st, NULL, NULL), VL_OK, "verify after crash: %s", vl_errmsg(st));
	vl_collection *c;
	cr_assert_eq(vl_collection_open(st, "c", &c), VL_OK);
	uint64_t n;
	cr_assert_eq(vl_count(c, NULL, &n), VL_OK);
	cr_assert_eq(n % BATCH, 0, "%llu rows: a batch was applied in part", (unsigned long long)n);
	int batches = (int)(n / BATCH);
	cr_assert(batches >= reported_last + 1, "committed batch %d lost (store holds %d batches)", reported_last, batches);
	cr_assert(batches <= reported_last + 2, "store holds %d batches, only %d were committed", batches, reported_last + 1);
	for (int b = 0; b < batches; b++)
		for (int i = 0; i < BATCH; i += 67) {
			char key[32];
			snprintf(key, sizeof key, "b%d-%d", b, i);
			vl_record *r;
			cr_assert_eq(vl_get(c, key, strlen(key), &r), VL_OK, "missing %s", key);
			cr_assert_eq(r->vector[0], (float)b);
			vl_free(r);
		}
	vl_collection_close(c);
	vl_close(st);
	return batches;
}

static void kill_loop(int rounds, int flush_every, int min_ms, int max_ms)
{
	vl_store *st = open_durable();
	cr_assert(st);
	vl_collection *c = ts_create(st, "c", DIM, VL_METRIC_L2, "flat", NULL, NULL, NULL);
	vl_collection_close(c);
	vl_close(st);
	int have = 0;
	srand((unsigned)time(NULL));
	for (int round = 0; round < rounds; round++) {
		int fds[2];
		cr_assert_eq(pipe(fds), 0);
		pid_t pid = fork();
		cr_assert(pid >= 0);
		if (pid == 0) {
			close(fds[0]);
			child(fds[1], have, flush_every);
		}
		close(fds[1]);
		/* wait for the first commit (slow machines, sanitizer builds), then
		 * let the child run a random while before the kill */
		int b, last = have - 1;
		if (read(fds[0], &b, sizeof b) == sizeof b)
			last = b;
		int ms = min_ms + rand() % (max_ms - min_ms + 1);
		usleep((useconds_t)ms * 1000);
		kill(pid, SIGKILL);
		int status;
		waitpid(pid, &status, 0);
		cr_assert(WIFSIGNALED(status), "child exited on its own (status %d)", WEXITSTATUS(status));
		while (read(fds[0], &b, sizeof b) == sizeof b)
			last = b;
		close(fds[0]);
		have = check_store(last);
	}
	cr_assert_geq(have, rounds, "every round commits at least one batch before its kill");
}

Test(crash, sigkill_during_batch_loads) { kill_loop(6, 0, 30, 250); }

Test(crash, sigkill_during_flushes) { kill_loop(6, 1, 30, 400); }
