/*
 * test_concsoak.c - concurrency: the soak harness (tests/util/concsoak.c) in
 * quick mode, and the second-writer rule of SPEC.md 4.1: with
 * VL_OPEN_NOWAIT a second writer fails at once with VL_EBUSY and a message
 * naming the lock; without it, it waits for the first writer's commit and
 * then sees it. Both across processes and between threads of one process;
 * the maintenance lock (flush, compaction, bulk load) likewise.
 * The long soak is the program tests/concsoak.c.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "util/concsoak.h"
#include "util/tstore.h"

static char *dir;
static void setup(void) { dir = ts_tmpdir("concsoak"); }
static void teardown(void)
{
	ts_rmtree(dir);
	free(dir);
}
TestSuite(concsoak, .init = setup, .fini = teardown, .timeout = 120);

static void soak(double seconds, int threads, int procs, int writer_thread, int kill_readers)
{
	cc_opts o = { dir, seconds, 60, threads, procs, writer_thread, kill_readers, 42 };
	cc_stats s;
	char why[1200];
	int rc = cc_run(&o, &s, why, sizeof why);
	cr_assert_eq(rc, 0, "%s", why);
	cr_assert_eq(s.inconsistencies, 0);
	cr_assert_eq(s.read_errors, 0);
	uint64_t w = 0, r = 0;
	for (int i = 0; i < CC_NWRITE; i++)
		w += s.writes[i];
	for (int i = 0; i < CC_NREAD; i++)
		r += s.reads[i];
	cr_assert_geq(w, 60, "the writer committed %llu operations", (unsigned long long)w);
	cr_assert_gt(s.writes[CC_FLUSH] + s.writes[CC_COMPACT], 0);
	cr_assert_gt(r, 50, "readers did %llu operations", (unsigned long long)r);
	for (int i = 0; i < CC_NREAD; i++)
		cr_assert_gt(s.reads[i], 0, "no %s was run", cc_read_name(i));
	fprintf(stderr, "concsoak %.1f s: %llu writes, %llu reads, max %llu rows, %llu reader kills\n", s.seconds,
	            (unsigned long long)w, (unsigned long long)r, (unsigned long long)s.max_rows,
	            (unsigned long long)s.reader_kills);
}

/* A writer process against reader threads and processes (some killed mid-read). */
Test(concsoak, quick_writer_process) { soak(3, 2, 2, 0, 1); }

/* The writer as a thread, so ThreadSanitizer watches writer and readers together. */
Test(concsoak, quick_writer_thread) { soak(2, 2, 0, 1, 0); }

/* ---- the second writer --------------------------------------------------------------- */
static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static vl_store *open_flags(uint32_t flags)
{
	vl_store *st;
	vl_open_opts o = VL_OPEN_OPTS_INIT;
	o.flags = VL_OPEN_CREATE | VL_OPEN_NOSYNC | flags;
	cr_assert_eq(vl_open(dir, &o, &st), VL_OK, "%s", vl_errmsg(NULL));
	return st;
}

static void make_coll(void)
{
	vl_store *st = open_flags(0);
	vl_collection *c = ts_create(st, "c", 4, VL_METRIC_L2, NULL, NULL, NULL, NULL);
	vl_collection_close(c);
	vl_close(st);
}

/* Child: hold a write transaction (one row "held") for hold_ms, then commit.
 * Tells the parent through the pipe once the lock is held. */
static pid_t holder(int wfd, int hold_ms, int bulk)
{
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid)
		return pid;
	vl_store *st;
	vl_collection *c;
	if (vl_open(dir, NULL, &st) || vl_collection_open(st, "c", &c))
		_exit(3);
	float v[4] = { 1, 2, 3, 4 };
	vl_row r = { "held", 4, v, 4, NULL, 0 };
	vl_txn *t = NULL;
	vl_bulk *b = NULL;
	if (bulk ? (vl_bulk_begin(c, NULL, &b) || vl_bulk_add(b, &r, 1)) : (vl_txn_begin(st, &t) || vl_upsert(t, c, &r, 1)))
		_exit(4);
	if (write(wfd, "x", 1) != 1)
		_exit(5);
	usleep((useconds_t)hold_ms * 1000);
	if (bulk ? vl_bulk_commit(b) : vl_txn_commit(t))
		_exit(6);
	_exit(0);
}

static void wait_ok(pid_t pid)
{
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "holder failed: %d", status);
}

/* The holder has not committed and exited yet: a call that returned while
 * this holds did not wait for it (an ordering, not a timing, check). */
static int holder_running(pid_t pid)
{
	int status;
	return waitpid(pid, &status, WNOHANG) == 0;
}

static int has_held(vl_collection *c)
{
	vl_record *r = NULL;
	int rc = vl_get(c, "held", 4, &r);
	vl_free(r);
	return rc == VL_OK;
}

Test(concsoak, second_writer_process_nowait_fails_fast)
{
	make_coll();
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	pid_t pid = holder(fds[1], 600, 0);
	char ch;
	cr_assert_eq(read(fds[0], &ch, 1), 1);
	vl_store *st = open_flags(VL_OPEN_NOWAIT);
	vl_txn *t;
	double t0 = now();
	int rc = vl_txn_begin(st, &t);
	double took = now() - t0;
	cr_assert_eq(rc, VL_EBUSY, "got %d", rc);
	cr_assert(holder_running(pid), "failing fast waited for the holder (%.3f s)", took);
	cr_assert(strstr(vl_errmsg(st), "write.lock"), "message names the lock: %s", vl_errmsg(st));
	/* readers are not blocked meanwhile */
	vl_collection *c;
	cr_assert_eq(vl_collection_open(st, "c", &c), VL_OK);
	uint64_t n;
	cr_assert_eq(vl_count(c, NULL, &n), VL_OK);
	cr_assert_eq(n, 0);
	wait_ok(pid);
	cr_assert(has_held(c));
	/* and once the first writer is done, the second gets the lock */
	cr_assert_eq(vl_txn_begin(st, &t), VL_OK);
	vl_txn_abort(t);
	vl_collection_close(c);
	vl_close(st);
}

Test(concsoak, second_writer_process_waits_for_the_commit)
{
	make_coll();
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	pid_t pid = holder(fds[1], 400, 0);
	char ch;
	cr_assert_eq(read(fds[0], &ch, 1), 1);
	vl_store *st = open_flags(0);
	vl_collection *c;
	cr_assert_eq(vl_collection_open(st, "c", &c), VL_OK);
	vl_txn *t;
	double t0 = now();
	cr_assert_eq(vl_txn_begin(st, &t), VL_OK, "%s", vl_errmsg(st));
	double took = now() - t0;
	cr_assert_gt(took, 0.2, "the second writer did not wait (%.3f s)", took);
	/* it begins after the first commit, so it sees it */
	cr_assert(has_held(c), "the waiting writer's snapshot lacks the first writer's commit");
	float v[4] = { 0 };
	vl_row r = { "second", 6, v, 4, NULL, 0 };
	cr_assert_eq(vl_upsert(t, c, &r, 1), VL_OK);
	cr_assert_eq(vl_txn_commit(t), VL_OK);
	wait_ok(pid);
	uint64_t n;
	cr_assert_eq(vl_count(c, NULL, &n), VL_OK);
	cr_assert_eq(n, 2);
	vl_collection_close(c);
	vl_close(st);
}

typedef struct tw {
	vl_store *st;
	int rc;
	double took;
	atomic_int done;        /* vl_txn_begin returned */
} tw;

static void *second_thread(void *arg)
{
	tw *x = arg;
	vl_txn *t;
	double t0 = now();
	x->rc = vl_txn_begin(x->st, &t);
	x->took = now() - t0;
	atomic_store(&x->done, 1);
	if (x->rc == VL_OK)
		vl_txn_abort(t);
	return NULL;
}

Test(concsoak, second_writer_thread_waits_or_fails)
{
	make_coll();
	for (int nowait = 0; nowait < 2; nowait++) {
		vl_store *st = open_flags(nowait ? VL_OPEN_NOWAIT : 0);
		vl_txn *t;
		cr_assert_eq(vl_txn_begin(st, &t), VL_OK);
		tw x = { st, 1, 0, 0 };
		pthread_t th;
		pthread_create(&th, NULL, second_thread, &x);
		usleep(300000);
		int returned_while_held = atomic_load(&x.done);
		vl_txn_abort(t);
		pthread_join(th, NULL);
		if (nowait) {
			cr_assert_eq(x.rc, VL_EBUSY);
			cr_assert(returned_while_held, "the NOWAIT thread waited for the writer (%.3f s)", x.took);
		} else {
			cr_assert_eq(x.rc, VL_OK);
			cr_assert_gt(x.took, 0.2, "the second thread did not wait (%.3f s)", x.took);
		}
		vl_close(st);
	}
}

Test(concsoak, maintenance_lock_nowait_and_wait)
{
	make_coll();
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	/* a bulk load holds the maintenance lock and the writer lock */
	pid_t pid = holder(fds[1], 500, 1);
	char ch;
	cr_assert_eq(read(fds[0], &ch, 1), 1);
	vl_store *st = open_flags(VL_OPEN_NOWAIT);
	vl_collection *c;
	cr_assert_eq(vl_collection_open(st, "c", &c), VL_OK);
	double t0 = now();
	int rc = vl_flush(c, NULL);
	cr_assert_eq(rc, VL_EBUSY, "flush during a bulk load: %d %s", rc, vl_errmsg(st));
	cr_assert(holder_running(pid), "flush waited for the bulk load (%.3f s)", now() - t0);
	cr_assert(strstr(vl_errmsg(st), "maint.lock"), "%s", vl_errmsg(st));
	vl_collection_close(c);
	vl_close(st);
	st = open_flags(0);
	cr_assert_eq(vl_collection_open(st, "c", &c), VL_OK);
	t0 = now();
	cr_assert_eq(vl_compact(c, NULL), VL_OK, "%s", vl_errmsg(st));
	cr_assert_gt(now() - t0, 0.15, "compaction did not wait for the bulk load");
	wait_ok(pid);
	cr_assert(has_held(c));
	vl_collection_close(c);
	vl_close(st);
}

/* ---- opening while another process writes; forked readers ---------------------------- */
Test(concsoak, writable_open_does_not_wait_for_a_writer)
{
	make_coll();
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	pid_t pid = holder(fds[1], 800, 1); /* a bulk load: writer and maintenance locks */
	char ch;
	cr_assert_eq(read(fds[0], &ch, 1), 1);
	for (int nowait = 0; nowait < 2; nowait++) {
		vl_store *st;
		vl_open_opts o = VL_OPEN_OPTS_INIT;
		o.flags = nowait ? VL_OPEN_NOWAIT : 0;
		double t0 = now();
		cr_assert_eq(vl_open(dir, &o, &st), VL_OK, "%s", vl_errmsg(NULL));
		double took = now() - t0;
		cr_assert(holder_running(pid), "a writable open waited %.3f s for another process's bulk load", took);
		vl_collection *c;
		cr_assert_eq(vl_collection_open(st, "c", &c), VL_OK);
		cr_assert(!has_held(c), "the bulk load is not committed yet");
		vl_collection_close(c);
		vl_close(st);
	}
	wait_ok(pid);
}

static void count_active(const char *line, int *n)
{
	/* "   pid   thread   txnid": txnid is "-" for a free slot */
	unsigned long pid, thr;
	char txn[32];
	if (sscanf(line, "%lu %lx %31s", &pid, &thr, txn) == 3 && strcmp(txn, "-") != 0)
		(*n)++;
}

static int reader_line(const char *msg, void *ctx)
{
	char buf[512];
	snprintf(buf, sizeof buf, "%s", msg);
	for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n"))
		count_active(l, ctx);
	return 0;
}

/* Children forked from a process that has the store open open it again and
 * are killed in the middle of a read: their LMDB reader slots must be
 * freed (a slot left behind pins its snapshot; the data file grows). */
Test(concsoak, killed_forked_readers_leave_no_reader_slots)
{
	make_coll();
	vl_store *st = open_flags(0);
	vl_collection *c;
	cr_assert_eq(vl_collection_open(st, "c", &c), VL_OK);
	float v[4 * 50];
	ts_rng rng = { 3 };
	ts_vectors(&rng, v, 50, 4);
	cr_assert_eq(ts_put_rows(st, c, "k", v, 0, 50, 4, NULL), VL_OK);
	for (int i = 0; i < 5; i++) {
		int fds[2];
		cr_assert_eq(pipe(fds), 0);
		pid_t pid = fork();
		cr_assert(pid >= 0);
		if (pid == 0) {
			vl_store *cs;
			vl_collection *cc;
			vl_cursor *cur;
			if (vl_open(dir, NULL, &cs) || vl_collection_open(cs, "c", &cc) || vl_cursor_open(cc, &cur))
				_exit(3);
			if (write(fds[1], "x", 1) != 1)
				_exit(4);
			pause(); /* killed while the cursor's read transaction is open */
			_exit(0);
		}
		char ch;
		cr_assert_eq(read(fds[0], &ch, 1), 1, "the child could not open the store");
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(fds[0]);
		close(fds[1]);
	}
	/* a write transaction frees the slots of dead readers */
	cr_assert_eq(ts_put_rows(st, c, "z", v, 0, 1, 4, NULL), VL_OK);
	int active = 0;
	mdb_reader_list(st->e->env, reader_line, &active);
	cr_assert_eq(active, 0, "%d reader slots still held after their processes died", active);
	vl_collection_close(c);
	vl_close(st);
}
