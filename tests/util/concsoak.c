/* concsoak.c - concurrency soak harness (see concsoak.h). */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "concsoak.h"
#include "veclite.h"

#define DIM 8
#define B 50               /* rows per batch */
#define MAX_LIVE 40        /* batches the writer keeps at most */
#define MAX_PROCS 16
#define MAX_THREADS 16

const char *cc_read_name(int k)
{
	static const char *const n[CC_NREAD] = { "count", "search", "search-S", "get", "cursor" };
	return k >= 0 && k < CC_NREAD ? n[k] : "?";
}

const char *cc_write_name(int k)
{
	static const char *const n[CC_NWRITE] = { "add", "replace", "replace-S", "delete", "multi",
		                                  "flush", "compact" };
	return k >= 0 && k < CC_NWRITE ? n[k] : "?";
}

/* Shared between the parent, its threads and the forked processes. */
typedef struct shared {
	atomic_int stop;
	atomic_int have_msg;
	atomic_uint_fast64_t max_id;      /* highest batch id committed so far */
	atomic_uint_fast64_t reads[CC_NREAD];
	atomic_uint_fast64_t writes[CC_NWRITE];
	atomic_uint_fast64_t bad, read_errors, max_rows;
	atomic_uint_fast64_t reader_kills;
	char msg[1024];
} shared;

static void problem(shared *sh, int is_error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void problem(shared *sh, int is_error, const char *fmt, ...)
{
	atomic_fetch_add(is_error ? &sh->read_errors : &sh->bad, 1);
	if (atomic_exchange(&sh->have_msg, 1) == 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(sh->msg, sizeof sh->msg, fmt, ap);
		va_end(ap);
	}
}

static uint64_t mix(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void row_vector(uint32_t id, uint32_t ver, uint32_t i, float *v)
{
	v[0] = (float)id;
	v[1] = (float)ver;
	v[2] = (float)i;
	for (uint32_t d = 3; d < DIM; d++) {
		uint64_t h = mix(((uint64_t)id << 40) ^ ((uint64_t)ver << 20) ^ ((uint64_t)i << 4) ^ d);
		v[d] = (float)((h >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
	}
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- writer ------------------------------------------------------------------------ */
typedef struct wstate {
	uint32_t ids[MAX_LIVE + 8];
	uint32_t vers[MAX_LIVE + 8];
	uint32_t n;              /* live batches besides batch 0 */
	uint32_t next_id;
	uint32_t ver0;           /* batch 0's version */
} wstate;

static int put_batch(vl_txn *t, vl_collection *c, uint32_t id, uint32_t ver)
{
	for (uint32_t i = 0; i < B; i++) {
		float v[DIM];
		row_vector(id, ver, i, v);
		char key[32];
		snprintf(key, sizeof key, "b%u-%u", id, i);
		const char *grp = id == 0 ? "S" : "n";
		vl_value vals[3] = { { "id", NULL, 0, (double)id }, { "ver", NULL, 0, (double)ver },
			             { "grp", grp, 1, 0 } };
		vl_row r = { key, strlen(key), v, DIM, vals, 3 };
		int rc = vl_upsert(t, c, &r, 1);
		if (rc)
			return rc;
	}
	return VL_OK;
}

static int del_batch(vl_txn *t, vl_collection *c, uint32_t id)
{
	for (uint32_t i = 0; i < B; i++) {
		char key[32];
		snprintf(key, sizeof key, "b%u-%u", id, i);
		const void *k = key;
		size_t l = strlen(key);
		int rc = vl_delete(t, c, &k, &l, 1, NULL);
		if (rc)
			return rc;
	}
	return VL_OK;
}

static void drop_live(wstate *w, uint32_t j)
{
	w->ids[j] = w->ids[w->n - 1];
	w->vers[j] = w->vers[w->n - 1];
	w->n--;
}

/* One writer operation; 0 or a VL error. */
static int write_op(vl_store *st, vl_collection *c, wstate *w, shared *sh, uint64_t *rng, uint64_t nth,
                    int *kind)
{
	*rng = mix(*rng);
	uint64_t r = *rng % 100;
	int k = r < 30 ? CC_ADD : r < 50 ? CC_REPLACE : r < 68 ? CC_REPLACE_S : r < 83 ? CC_DELETE
	        : r < 91 ? CC_MULTI : r < 97 ? CC_FLUSH : CC_COMPACT;
	if (nth == 3)
		k = CC_FLUSH; /* early, so even a short run has both jobs */
	if (nth == 6)
		k = CC_COMPACT;
	if ((k == CC_ADD || k == CC_MULTI) && w->n >= MAX_LIVE)
		k = CC_DELETE;
	if ((k == CC_REPLACE || k == CC_DELETE || k == CC_MULTI) && w->n < 3)
		k = CC_ADD;
	*kind = k;
	if (k == CC_FLUSH)
		return vl_flush(c, NULL);
	if (k == CC_COMPACT)
		return vl_compact(c, NULL);
	vl_txn *t;
	int rc = vl_txn_begin(st, &t);
	if (rc)
		return rc;
	uint32_t j = (uint32_t)((*rng >> 20) % (w->n ? w->n : 1));
	uint32_t j2 = (uint32_t)((*rng >> 40) % (w->n ? w->n : 1));
	uint32_t new_id = 0;
	int del = -1;
	switch (k) {
	case CC_ADD:
		new_id = w->next_id;
		rc = put_batch(t, c, new_id, 1);
		break;
	case CC_REPLACE: rc = put_batch(t, c, w->ids[j], w->vers[j] + 1); break;
	case CC_REPLACE_S: rc = put_batch(t, c, 0, w->ver0 + 1); break;
	case CC_DELETE:
		rc = del_batch(t, c, w->ids[j]);
		del = (int)j;
		break;
	case CC_MULTI: /* a new batch, a replaced one and a deleted one in one commit */
		new_id = w->next_id;
		rc = put_batch(t, c, new_id, 1);
		if (!rc && j2 != j)
			rc = put_batch(t, c, w->ids[j2], w->vers[j2] + 1);
		if (!rc) {
			rc = del_batch(t, c, w->ids[j]);
			del = (int)j;
		}
		break;
	}
	if (rc) {
		vl_txn_abort(t);
		return rc;
	}
	/* published before the commit: the commit is visible to readers before
	 * vl_txn_commit returns, and max_id must bound every snapshot */
	if (k == CC_ADD || k == CC_MULTI)
		atomic_store(&sh->max_id, new_id);
	if ((rc = vl_txn_commit(t)))
		return rc;
	/* committed: update the writer's own model */
	if (k == CC_REPLACE)
		w->vers[j]++;
	if (k == CC_REPLACE_S)
		w->ver0++;
	if (k == CC_MULTI && j2 != j)
		w->vers[j2]++;
	if (del >= 0)
		drop_live(w, (uint32_t)del);
	if (k == CC_ADD || k == CC_MULTI) {
		w->ids[w->n] = new_id;
		w->vers[w->n++] = 1;
		w->next_id++;
	}
	return VL_OK;
}

typedef struct wctx {
	const cc_opts *o;
	shared *sh;
	wstate w;
} wctx;

static void *writer_main(void *arg)
{
	wctx *x = arg;
	vl_store *st;
	vl_collection *c;
	vl_open_opts oo = VL_OPEN_OPTS_INIT;
	oo.flags = VL_OPEN_NOSYNC;
	if (vl_open(x->o->dir, &oo, &st) || vl_collection_open(st, "c", &c)) {
		problem(x->sh, 1, "writer: open: %s", vl_errmsg(NULL));
		atomic_store(&x->sh->stop, 1);
		return NULL;
	}
	uint64_t rng = mix(x->o->seed ^ 0x77);
	double end = now_s() + x->o->seconds;
	for (uint64_t nth = 0; (now_s() < end || nth < x->o->min_writes) && !atomic_load(&x->sh->stop); nth++) {
		int kind, rc = write_op(st, c, &x->w, x->sh, &rng, nth, &kind);
		if (rc) {
			problem(x->sh, 1, "writer: %s: %s: %s", cc_write_name(kind), vl_strerror(rc), vl_errmsg(st));
			break;
		}
		atomic_fetch_add(&x->sh->writes[kind], 1);
	}
	atomic_store(&x->sh->stop, 1);
	vl_collection_close(c);
	vl_close(st);
	return NULL;
}

/* ---- readers ------------------------------------------------------------------------ */
static const vl_value *val(const vl_value *v, uint32_t n, const char *name)
{
	for (uint32_t i = 0; i < n; i++)
		if (strcmp(v[i].field, name) == 0)
			return &v[i];
	return NULL;
}

static int parse_key(const void *k, size_t n, uint32_t *id, uint32_t *i)
{
	char buf[40];
	if (n >= sizeof buf)
		return -1;
	memcpy(buf, k, n);
	buf[n] = 0;
	unsigned a, b;
	if (sscanf(buf, "b%u-%u", &a, &b) != 2 || b >= B)
		return -1;
	*id = a;
	*i = b;
	return 0;
}

/* A record read by get or a cursor: vector and attributes of one version. */
static int check_record(shared *sh, const vl_record *r, const char *where, uint32_t *id_out, uint32_t *ver_out)
{
	uint32_t id, i;
	if (parse_key(r->key, r->key_len, &id, &i)) {
		problem(sh, 0, "%s: unexpected key %.*s", where, (int)r->key_len, (const char *)r->key);
		return -1;
	}
	const vl_value *vi = val(r->values, r->nvalues, "id"), *vv = val(r->values, r->nvalues, "ver");
	if (r->dim != DIM || !r->vector || !vi || !vv) {
		problem(sh, 0, "%s: b%u-%u lacks its vector or attributes", where, id, i);
		return -1;
	}
	uint32_t ver = (uint32_t)r->vector[1];
	float want[DIM];
	row_vector(id, ver, i, want);
	if (memcmp(r->vector, want, sizeof want) != 0 || vi->num != id || vv->num != ver) {
		problem(sh, 0, "%s: b%u-%u: vector of version %g with attributes id %g ver %g (torn row)", where, id,
		        i, (double)r->vector[1], vi->num, vv->num);
		return -1;
	}
	*id_out = id;
	*ver_out = ver;
	return 0;
}

typedef struct rctx {
	const cc_opts *o;
	shared *sh;
	vl_store *st;
	vl_collection *c;
	uint64_t rng;
} rctx;

static void read_count(rctx *x)
{
	uint64_t n;
	int rc = vl_count(x->c, NULL, &n);
	if (rc) {
		problem(x->sh, 1, "count: %s: %s", vl_strerror(rc), vl_errmsg(x->st));
		return;
	}
	if (n % B)
		problem(x->sh, 0, "count %llu is not a whole number of %d-row batches", (unsigned long long)n, B);
	uint64_t m = atomic_load(&x->sh->max_rows);
	while (n > m && !atomic_compare_exchange_weak(&x->sh->max_rows, &m, n))
		;
}

static void read_search(rctx *x)
{
	float q[DIM];
	for (int d = 0; d < DIM; d++) {
		x->rng = mix(x->rng);
		q[d] = (float)((x->rng >> 40) % 1000) / 100.0f - (d < 3 ? 0 : 5.0f);
	}
	const char *ret[] = { "id", "ver" };
	vl_search_opts so = VL_SEARCH_OPTS_INIT;
	so.k = 20;
	so.return_fields = ret;
	so.nreturn = 2;
	vl_results *res;
	int rc = vl_search(x->c, q, DIM, &so, &res);
	if (rc) {
		problem(x->sh, 1, "search: %s: %s", vl_strerror(rc), vl_errmsg(x->st));
		return;
	}
	if (res->matched != UINT64_MAX && res->matched % B)
		problem(x->sh, 0, "search matched %llu rows: not whole batches", (unsigned long long)res->matched);
	for (size_t h = 0; h < res->n; h++) {
		const vl_hit *hit = &res->hits[h];
		uint32_t id, i;
		const vl_value *vi = val(hit->values, hit->nvalues, "id"), *vv = val(hit->values, hit->nvalues, "ver");
		if (parse_key(hit->key, hit->key_len, &id, &i) || !vi || !vv || vi->num != id) {
			problem(x->sh, 0, "search hit %.*s without its attributes", (int)hit->key_len,
			        (const char *)hit->key);
			break;
		}
		float v[DIM];
		row_vector(id, (uint32_t)vv->num, i, v);
		double d2 = 0;
		for (int d = 0; d < DIM; d++)
			d2 += ((double)q[d] - v[d]) * ((double)q[d] - v[d]);
		if (fabs(d2 - hit->distance) > 1e-4 * (1 + d2)) {
			problem(x->sh, 0, "search hit b%u-%u: distance %g, but its version-%g vector is at %g", id, i,
			        (double)hit->distance, vv->num, d2);
			break;
		}
	}
	vl_results_free(res);
}

static void read_search_s(rctx *x)
{
	float q[DIM] = { 0 };
	const char *ret[] = { "ver" };
	vl_search_opts so = VL_SEARCH_OPTS_INIT;
	so.k = B + 5;
	so.filter = "grp == 'S'";
	so.return_fields = ret;
	so.nreturn = 1;
	vl_results *res;
	int rc = vl_search(x->c, q, DIM, &so, &res);
	if (rc) {
		problem(x->sh, 1, "search S: %s: %s", vl_strerror(rc), vl_errmsg(x->st));
		return;
	}
	if (res->n != B) {
		problem(x->sh, 0, "search for batch S returned %zu rows, not %d", res->n, B);
	} else {
		const vl_value *v0 = val(res->hits[0].values, res->hits[0].nvalues, "ver");
		for (size_t h = 0; h < res->n; h++) {
			const vl_value *v = val(res->hits[h].values, res->hits[h].nvalues, "ver");
			if (!v || !v0 || v->num != v0->num) {
				problem(x->sh, 0, "one search returned batch S at versions %g and %g (two generations)",
				        v0 ? v0->num : -1, v ? v->num : -1);
				break;
			}
		}
	}
	vl_results_free(res);
}

static void read_get(rctx *x)
{
	x->rng = mix(x->rng);
	uint64_t max = atomic_load(&x->sh->max_id);
	uint32_t id = (uint32_t)(x->rng % (max + 1)), i = (uint32_t)((x->rng >> 32) % B);
	char key[32];
	snprintf(key, sizeof key, "b%u-%u", id, i);
	vl_record *r = NULL;
	int rc = vl_get(x->c, key, strlen(key), &r);
	if (rc == VL_ENOTFOUND) {
		if (id == 0)
			problem(x->sh, 0, "get: %s of batch S is missing", key);
		return;
	}
	if (rc) {
		problem(x->sh, 1, "get %s: %s: %s", key, vl_strerror(rc), vl_errmsg(x->st));
		return;
	}
	uint32_t a, b;
	check_record(x->sh, r, "get", &a, &b);
	vl_free(r);
}

static void read_cursor(rctx *x)
{
	vl_cursor *cur;
	int rc = vl_cursor_open(x->c, &cur);
	if (rc) {
		problem(x->sh, 1, "cursor: %s: %s", vl_strerror(rc), vl_errmsg(x->st));
		return;
	}
	/* the snapshot was taken at open: it holds no batch above this */
	uint64_t max = atomic_load(&x->sh->max_id);
	uint32_t *cnt = calloc(max + 1, sizeof *cnt), *ver = calloc(max + 1, sizeof *ver);
	uint64_t total = 0;
	while (cnt && ver) {
		const vl_record *r;
		if ((rc = vl_cursor_next(cur, &r))) {
			problem(x->sh, 1, "cursor_next: %s: %s", vl_strerror(rc), vl_errmsg(x->st));
			break;
		}
		if (!r)
			break;
		uint32_t id, v;
		if (check_record(x->sh, r, "cursor", &id, &v))
			break;
		if (id > max) {
			problem(x->sh, 0, "cursor saw batch %u, committed after its snapshot", id);
			break;
		}
		if (cnt[id] && ver[id] != v) {
			problem(x->sh, 0, "cursor saw batch %u at versions %u and %u", id, ver[id], v);
			break;
		}
		ver[id] = v;
		cnt[id]++;
		total++;
	}
	for (uint64_t id = 0; cnt && ver && id <= max; id++)
		if ((cnt[id] && cnt[id] != B) || (id == 0 && cnt[0] != B)) {
			problem(x->sh, 0, "cursor saw %u of the %d rows of batch %llu", cnt[id], B,
			        (unsigned long long)id);
			break;
		}
	free(cnt);
	free(ver);
	vl_cursor_close(cur);
}

static void reader_loop(rctx *x)
{
	while (!atomic_load(&x->sh->stop)) {
		x->rng = mix(x->rng);
		uint64_t r = x->rng % 100;
		int k = r < 20 ? CC_COUNT : r < 50 ? CC_SEARCH : r < 70 ? CC_SEARCH_S : r < 97 ? CC_GET : CC_CURSOR;
		switch (k) {
		case CC_COUNT: read_count(x); break;
		case CC_SEARCH: read_search(x); break;
		case CC_SEARCH_S: read_search_s(x); break;
		case CC_GET: read_get(x); break;
		default: read_cursor(x); break;
		}
		atomic_fetch_add(&x->sh->reads[k], 1);
	}
}

static void *reader_thread(void *arg)
{
	reader_loop(arg);
	return NULL;
}

static void reader_process(const cc_opts *o, shared *sh, uint64_t seed);

/* The reader processes' parent (single-threaded): forks them, kills one
 * mid-read now and then (kill_readers) and forks a new one, until stop;
 * then waits for them. Never returns. */
static void spawner(const cc_opts *o, shared *sh, int np, uint64_t seed)
{
	pid_t procs[MAX_PROCS];
	for (int i = 0; i < np; i++) {
		seed = mix(seed);
		if ((procs[i] = fork()) == 0)
			reader_process(o, sh, seed);
	}
	uint64_t krng = mix(o->seed ^ 0x99);
	while (!atomic_load(&sh->stop)) {
		usleep(20000);
		if (o->kill_readers && (krng = mix(krng)) % 10 == 0) {
			int i = (int)((krng >> 32) % (uint64_t)np);
			kill(procs[i], SIGKILL);
			waitpid(procs[i], NULL, 0);
			atomic_fetch_add(&sh->reader_kills, 1);
			seed = mix(seed);
			if ((procs[i] = fork()) == 0)
				reader_process(o, sh, seed);
		}
	}
	for (int i = 0; i < np; i++) {
		int status;
		waitpid(procs[i], &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			problem(sh, 1, "reader process %d ended with status %d", i, status);
	}
	_exit(0);
}

static void reader_process(const cc_opts *o, shared *sh, uint64_t seed)
{
	rctx x = { o, sh, NULL, NULL, seed };
	vl_open_opts oo = VL_OPEN_OPTS_INIT;
	oo.flags = VL_OPEN_RDONLY;
	if (vl_open(o->dir, &oo, &x.st) || vl_collection_open(x.st, "c", &x.c)) {
		problem(sh, 1, "reader process: open: %s", vl_errmsg(NULL));
		_exit(3);
	}
	reader_loop(&x);
	vl_collection_close(x.c);
	vl_close(x.st);
	_exit(0);
}

/* ---- the run ---------------------------------------------------------------------- */
static int setup(const cc_opts *o, wstate *w, char *why, size_t wn)
{
	vl_store *st;
	vl_open_opts oo = VL_OPEN_OPTS_INIT;
	oo.flags = VL_OPEN_CREATE | VL_OPEN_NOSYNC;
	if (vl_open(o->dir, &oo, &st)) {
		snprintf(why, wn, "create %s: %s", o->dir, vl_errmsg(NULL));
		return -1;
	}
	vl_field f[3] = { { "id", VL_FIELD_NUMERIC }, { "ver", VL_FIELD_NUMERIC }, { "grp", VL_FIELD_TAG } };
	vl_schema s = VL_SCHEMA_INIT;
	s.dim = DIM;
	s.fields = f;
	s.nfields = 3;
	/* small thresholds: automatic flushes and compactions run at commits too */
	const char *params[] = { "FLUSH_ROWS=400", "COMPACT_DEAD_RATIO=0.3" };
	s.params = params;
	s.nparams = 2;
	vl_collection *c;
	vl_txn *t;
	int rc = vl_collection_create(st, "c", &s, &c);
	if (!rc && !(rc = vl_txn_begin(st, &t))) {
		for (uint32_t id = 0; id < 5 && !rc; id++)
			rc = put_batch(t, c, id, 1);
		rc = rc ? (vl_txn_abort(t), rc) : vl_txn_commit(t);
	}
	if (rc)
		snprintf(why, wn, "setup: %s", vl_errmsg(st));
	memset(w, 0, sizeof *w);
	for (uint32_t id = 1; id < 5; id++) {
		w->ids[w->n] = id;
		w->vers[w->n++] = 1;
	}
	w->next_id = 5;
	w->ver0 = 1;
	if (!rc)
		vl_collection_close(c);
	vl_close(st);
	return rc ? -1 : 0;
}

int cc_run(const cc_opts *o, cc_stats *s, char *why, size_t wn)
{
	memset(s, 0, sizeof *s);
	why[0] = 0;
	shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		snprintf(why, wn, "mmap: %s", strerror(errno));
		return -1;
	}
	memset(sh, 0, sizeof *sh);
	wctx wx;
	memset(&wx, 0, sizeof wx);
	wx.o = o;
	wx.sh = sh;
	if (setup(o, &wx.w, why, wn)) {
		munmap(sh, sizeof *sh);
		return -1;
	}
	atomic_store(&sh->max_id, 4);
	double t0 = now_s();
	const int np = o->reader_procs < MAX_PROCS ? o->reader_procs : MAX_PROCS;
	const int nt = o->reader_threads < MAX_THREADS ? o->reader_threads : MAX_THREADS;
	uint64_t seed = mix(o->seed);
	/* Every process is forked before any thread starts here: the child of
	 * a multi-threaded process may find a lock (malloc's, a sanitizer's)
	 * held forever by a thread it does not have, and may not start threads
	 * of its own (ThreadSanitizer refuses). Reader processes are forked,
	 * killed and forked again by a single-threaded spawner process. */
	fflush(NULL);
	pid_t spid = -1;
	seed = mix(seed);
	if (np && (spid = fork()) == 0)
		spawner(o, sh, np, seed);
	pid_t wpid = -1;
	pthread_t wth;
	if (!o->writer_thread && (wpid = fork()) == 0) {
		writer_main(&wx);
		_exit(0);
	}
	/* reader threads share one store handle */
	rctx rx[MAX_THREADS];
	pthread_t th[MAX_THREADS];
	vl_store *rst = NULL;
	vl_collection *rc_ = NULL;
	if (nt && (vl_open(o->dir, NULL, &rst) || vl_collection_open(rst, "c", &rc_))) {
		problem(sh, 1, "reader threads: open: %s", vl_errmsg(NULL));
		atomic_store(&sh->stop, 1);
	}
	for (int i = 0; i < nt && rc_; i++) {
		seed = mix(seed);
		rx[i] = (rctx){ o, sh, rst, rc_, seed };
		pthread_create(&th[i], NULL, reader_thread, &rx[i]);
	}
	if (o->writer_thread)
		pthread_create(&wth, NULL, writer_main, &wx);
	while (!atomic_load(&sh->stop)) {
		usleep(20000);
		if (o->writer_thread == 0 && wpid > 0 && waitpid(wpid, NULL, WNOHANG) == wpid) {
			wpid = -1;
			atomic_store(&sh->stop, 1);
		}
	}
	if (o->writer_thread)
		pthread_join(wth, NULL);
	else if (wpid > 0)
		waitpid(wpid, NULL, 0);
	for (int i = 0; i < nt && rc_; i++)
		pthread_join(th[i], NULL);
	if (spid > 0) {
		int status;
		waitpid(spid, &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			problem(sh, 1, "the reader spawner ended with status %d", status);
	}
	s->reader_kills = atomic_load(&sh->reader_kills);
	vl_collection_close(rc_);
	/* the store after the soak: verify, and the counts */
	if (!rst && vl_open(o->dir, NULL, &rst) != VL_OK)
		problem(sh, 1, "open after the soak: %s", vl_errmsg(NULL));
	if (rst && vl_verify(rst, NULL, NULL) != VL_OK)
		problem(sh, 1, "verify after the soak: %s", vl_errmsg(rst));
	vl_close(rst);
	char p[1100];
	snprintf(p, sizeof p, "%s/data.mdb", o->dir);
	struct stat sb;
	if (stat(p, &sb) == 0)
		s->lmdb_bytes = (uint64_t)sb.st_size;
	for (int i = 0; i < CC_NREAD; i++)
		s->reads[i] = atomic_load(&sh->reads[i]);
	for (int i = 0; i < CC_NWRITE; i++)
		s->writes[i] = atomic_load(&sh->writes[i]);
	s->inconsistencies = atomic_load(&sh->bad);
	s->read_errors = atomic_load(&sh->read_errors);
	s->max_rows = atomic_load(&sh->max_rows);
	s->seconds = now_s() - t0;
	int rc = 0;
	if (atomic_load(&sh->have_msg)) {
		snprintf(why, wn, "%s", sh->msg);
		rc = -1;
	}
	munmap(sh, sizeof *sh);
	return rc;
}
