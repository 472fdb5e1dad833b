/* crashsoak.c - crash-consistency harness (see crashsoak.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crashsoak.h"
#include "redis_fixture.h"
#include "veclite.h"

#define DIM 16
#define BATCH 40          /* rows of a transaction batch */
#define BULK_ROWS 300     /* rows of a bulk batch */
#define MAX_PRESENT 60    /* above this many batches, deletes are preferred */
#define R_ROWS 120        /* rows of each Redis dump */

const char *cs_op_name(int kind)
{
	static const char *const n[CS_NOPS] = { "add", "replace", "delete", "mixed", "bulk",
		                                "flush", "compact", "reindex", "import" };
	return kind >= 0 && kind < CS_NOPS ? n[kind] : "?";
}

/* ---- deterministic content ------------------------------------------------------ */
static uint64_t mix(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static float unitf(uint64_t h)
{
	return (float)((h >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

/* Row i of batch id at version ver: the vector names all three. */
static void row_vector(uint32_t id, uint32_t ver, uint32_t i, float *v)
{
	v[0] = (float)id;
	v[1] = (float)ver;
	v[2] = (float)i;
	for (uint32_t d = 3; d < DIM; d++)
		v[d] = unitf(mix(((uint64_t)id << 40) ^ ((uint64_t)ver << 24) ^ ((uint64_t)i << 8) ^ d));
}

static void row_tag(uint32_t id, uint32_t ver, char *buf, size_t len)
{
	snprintf(buf, len, "g%u,v%u", id % 5, ver);
}

/* Row i of Redis dump `dump` (1 or 2). */
static void dump_vector(int dump, uint32_t i, float *v)
{
	for (uint32_t d = 0; d < DIM; d++)
		v[d] = unitf(mix(((uint64_t)dump << 48) ^ ((uint64_t)i << 8) ^ d));
}

/* ---- the model ------------------------------------------------------------------ */
typedef struct model {
	uint32_t *ver;   /* by batch id: version, 0 = absent */
	uint32_t *size;  /* rows of the batch */
	size_t cap;
	int r_state;     /* collection r: 0 absent or empty, else the dump it holds */
	int cfg;         /* not checked: the reindex target last committed */
} model;

static int model_reserve(model *m, size_t id)
{
	if (id < m->cap)
		return 0;
	size_t cap = m->cap ? m->cap : 1024;
	while (cap <= id)
		cap *= 2;
	uint32_t *v = realloc(m->ver, cap * sizeof *v);
	if (!v)
		return -1;
	m->ver = v;
	uint32_t *s = realloc(m->size, cap * sizeof *s);
	if (!s)
		return -1;
	m->size = s;
	memset(m->ver + m->cap, 0, (cap - m->cap) * sizeof *v);
	memset(m->size + m->cap, 0, (cap - m->cap) * sizeof *s);
	m->cap = cap;
	return 0;
}

static int model_copy(model *dst, const model *src)
{
	free(dst->ver);
	free(dst->size);
	*dst = *src;
	dst->ver = malloc((src->cap ? src->cap : 1) * sizeof *dst->ver);
	dst->size = malloc((src->cap ? src->cap : 1) * sizeof *dst->size);
	if (!dst->ver || !dst->size)
		return -1;
	if (src->cap) {
		memcpy(dst->ver, src->ver, src->cap * sizeof *dst->ver);
		memcpy(dst->size, src->size, src->cap * sizeof *dst->size);
	}
	return 0;
}

static void model_free(model *m)
{
	free(m->ver);
	free(m->size);
	memset(m, 0, sizeof *m);
}

static uint32_t model_present(const model *m)
{
	uint32_t n = 0;
	for (size_t i = 0; i < m->cap; i++)
		n += m->ver[i] != 0;
	return n;
}

/* The j-th present batch id. */
static uint32_t model_nth(const model *m, uint32_t j)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->ver[i] && j-- == 0)
			return (uint32_t)i;
	return 0;
}

/* ---- operations ----------------------------------------------------------------- */
typedef struct op {
	int kind;
	uint32_t k;       /* operation number; also the id of a batch it adds */
	uint32_t target;  /* existing batch (replace, delete, mixed, bulk), 0 = none */
	int cfg;          /* reindex target */
	int dump;         /* import: which dump */
} op;

typedef struct cfg {
	const char *storage, *index;
} cfg;
static const cfg configs[] = {
	{ "float32", "flat" }, { "float16", "hnsw" }, { "lvq8", "vamana" }, { "float32", "ivf" },
	{ "lvq4x8", "flat" },
};
#define NCFG (int)(sizeof configs / sizeof configs[0])

/* Operation k, chosen from the seed and the model (so the worker and the
 * parent, holding the same model, choose the same). */
static void plan_op(const model *m, uint64_t seed, uint32_t k, int with_import, op *o)
{
	static const int weight[CS_NOPS] = { 30, 14, 10, 5, 10, 10, 8, 5, 5 };
	uint64_t h = mix(seed ^ ((uint64_t)k * 0x100000001b3ull));
	int total = 0;
	for (int i = 0; i < CS_NOPS; i++)
		total += (i == CS_IMPORT && !with_import) ? 0 : weight[i];
	int r = (int)(h % (uint64_t)total), kind = 0;
	while (r >= weight[kind] || (kind == CS_IMPORT && !with_import)) {
		if (!(kind == CS_IMPORT && !with_import))
			r -= weight[kind];
		kind++;
	}
	uint32_t present = model_present(m);
	if ((kind == CS_ADD || kind == CS_BULK) && present > MAX_PRESENT)
		kind = CS_DELETE;
	if ((kind == CS_REPLACE || kind == CS_DELETE || kind == CS_MIXED) && present == 0)
		kind = CS_ADD;
	memset(o, 0, sizeof *o);
	o->kind = kind;
	o->k = k;
	if (present && (kind == CS_REPLACE || kind == CS_DELETE || kind == CS_MIXED ||
	                (kind == CS_BULK && (h >> 32) % 2)))
		o->target = model_nth(m, (uint32_t)((h >> 16) % present));
	o->cfg = (int)((h >> 40) % NCFG);
	o->dump = m->r_state == 1 ? 2 : 1;
}

static int apply_op(model *m, const op *o)
{
	if (model_reserve(m, o->k))
		return -1;
	switch (o->kind) {
	case CS_ADD:
	case CS_MIXED:
		m->ver[o->k] = 1;
		m->size[o->k] = BATCH;
		if (o->kind == CS_MIXED)
			m->ver[o->target] = 0;
		break;
	case CS_REPLACE: m->ver[o->target]++; break;
	case CS_DELETE: m->ver[o->target] = 0; break;
	case CS_BULK:
		m->ver[o->k] = 1;
		m->size[o->k] = BULK_ROWS;
		if (o->target)
			m->ver[o->target]++;
		break;
	case CS_REINDEX: m->cfg = o->cfg; break;
	case CS_IMPORT: m->r_state = o->dump; break;
	default: break;
	}
	return 0;
}

/* ---- the worker (child process) ------------------------------------------------ */
typedef struct msg {
	uint32_t k;
	uint32_t done;    /* 0: starting operation k; 1: operation k committed */
} msg;

static void say(int fd, uint32_t k, uint32_t done)
{
	msg mm = { k, done };
	if (write(fd, &mm, sizeof mm) != (ssize_t)sizeof mm)
		_exit(90);
}

static void worker_fail(const vl_store *st, const op *o, int rc, const char *what)
{
	fprintf(stderr, "crashsoak worker: op %u (%s) %s: %s: %s\n", o->k, cs_op_name(o->kind), what,
	        vl_strerror(rc), vl_errmsg(st));
	_exit(20 + o->kind);
}

/* Rows of a batch at a version, into an upsert/bulk call. */
static int put_batch(vl_store *st, vl_txn *t, vl_bulk *b, vl_collection *c, uint32_t id,
                     uint32_t ver, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		float v[DIM];
		char key[32], tag[32];
		row_vector(id, ver, i, v);
		snprintf(key, sizeof key, "b%u-%u", id, i);
		row_tag(id, ver, tag, sizeof tag);
		vl_value vals[2] = { { "tag", tag, strlen(tag), 0 }, { "num", NULL, 0, (double)ver } };
		vl_row r = { key, strlen(key), v, DIM, vals, 2 };
		int rc = t ? vl_upsert(t, c, &r, 1) : vl_bulk_add(b, &r, 1);
		if (rc)
			return rc;
	}
	(void)st;
	return VL_OK;
}

static int delete_batch(vl_txn *t, vl_collection *c, uint32_t id, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		char key[32];
		snprintf(key, sizeof key, "b%u-%u", id, i);
		const void *k = key;
		size_t l = strlen(key);
		size_t del = 0;
		int rc = vl_delete(t, c, &k, &l, 1, &del);
		if (rc)
			return rc;
		if (del != 1)
			return VL_ENOTFOUND;
	}
	return VL_OK;
}

static int run_import(const cs_opts *o, const char *dump_path)
{
	char log[1100];
	snprintf(log, sizeof log, "%s.import.log", o->dir);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		/* a small commit step: an import that creates r commits many
		 * times before it names r, and kills land between those commits */
		setenv("VECLITE_BULK_CHUNK", "4096", 1);
		execl(o->cli, o->cli, "import-rdb", dump_path, o->dir, "-c", "r", "--quiet", "--threads", "1",
		      (char *)NULL);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static void worker(const cs_opts *o, model *m, uint32_t k, int fd)
{
	vl_store *st;
	vl_collection *c;
	vl_open_opts oo = VL_OPEN_OPTS_INIT;
	oo.flags = VL_OPEN_CREATE; /* durable commits: what crash safety promises */
	int rc = vl_open(o->dir, &oo, &st);
	if (rc) {
		fprintf(stderr, "crashsoak worker: open: %s\n", vl_errmsg(NULL));
		_exit(11);
	}
	if ((rc = vl_collection_open(st, "c", &c))) {
		fprintf(stderr, "crashsoak worker: open c: %s\n", vl_errmsg(st));
		_exit(12);
	}
	vl_job_opts jo = VL_JOB_OPTS_INIT;
	jo.threads = 1;
	for (;; k++) {
		op p;
		plan_op(m, o->seed, k, o->cli != NULL, &p);
		say(fd, k, 0);
		vl_txn *t = NULL;
		vl_bulk *b = NULL;
		switch (p.kind) {
		case CS_ADD:
		case CS_REPLACE:
		case CS_DELETE:
		case CS_MIXED:
			if ((rc = vl_txn_begin(st, &t)))
				worker_fail(st, &p, rc, "begin");
			if (p.kind == CS_ADD || p.kind == CS_MIXED)
				rc = put_batch(st, t, NULL, c, p.k, 1, BATCH);
			if (!rc && p.kind == CS_REPLACE)
				rc = put_batch(st, t, NULL, c, p.target, m->ver[p.target] + 1, m->size[p.target]);
			if (!rc && (p.kind == CS_DELETE || p.kind == CS_MIXED))
				rc = delete_batch(t, c, p.target, m->size[p.target]);
			if (rc)
				worker_fail(st, &p, rc, "write");
			if ((rc = vl_txn_commit(t)))
				worker_fail(st, &p, rc, "commit");
			break;
		case CS_BULK:
			if ((rc = vl_bulk_begin(c, &jo, &b)))
				worker_fail(st, &p, rc, "bulk begin");
			rc = put_batch(st, NULL, b, c, p.k, 1, BULK_ROWS);
			if (!rc && p.target)
				rc = put_batch(st, NULL, b, c, p.target, m->ver[p.target] + 1, m->size[p.target]);
			if (rc)
				worker_fail(st, &p, rc, "bulk add");
			if ((rc = vl_bulk_commit(b)))
				worker_fail(st, &p, rc, "bulk commit");
			break;
		case CS_FLUSH:
			if ((rc = vl_flush(c, &jo)))
				worker_fail(st, &p, rc, "flush");
			break;
		case CS_COMPACT:
			if ((rc = vl_compact(c, &jo)))
				worker_fail(st, &p, rc, "compact");
			break;
		case CS_REINDEX: {
			vl_schema ch = VL_SCHEMA_INIT;
			ch.storage = configs[p.cfg].storage;
			ch.index = configs[p.cfg].index;
			if ((rc = vl_reindex(c, &ch, &jo)))
				worker_fail(st, &p, rc, "reindex");
			break;
		}
		case CS_IMPORT: {
			char dump[1100];
			snprintf(dump, sizeof dump, "%s.dump%d.rdb", o->dir, p.dump);
			if (run_import(o, dump))
				worker_fail(st, &p, VL_EIO, "veclite import-rdb failed (see the .import.log)");
			break;
		}
		}
		say(fd, k, 1);
		if (apply_op(m, &p))
			_exit(91);
	}
}

/* ---- checks ------------------------------------------------------------------------ */
static int fail(char *why, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *why, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, n, fmt, ap);
	va_end(ap);
	return -1;
}

static const vl_value *value_of(const vl_record *r, const char *name)
{
	for (uint32_t i = 0; i < r->nvalues; i++)
		if (strcmp(r->values[i].field, name) == 0)
			return &r->values[i];
	return NULL;
}

/* Collection c against model m, row by row. */
static int check_c(vl_collection *c, const model *m, char *why, size_t wn, uint64_t *rows)
{
	uint32_t *seen = calloc(m->cap ? m->cap : 1, sizeof *seen);
	vl_cursor *cur = NULL;
	uint64_t total = 0;
	int rc = -1, vr;
	if (!seen)
		return fail(why, wn, "out of memory");
	if ((vr = vl_cursor_open(c, &cur))) {
		fail(why, wn, "cursor: %s", vl_strerror(vr));
		goto out;
	}
	for (;;) {
		const vl_record *r;
		if ((vr = vl_cursor_next(cur, &r))) {
			fail(why, wn, "cursor_next: %s", vl_strerror(vr));
			goto out;
		}
		if (!r)
			break;
		char key[64];
		unsigned id, i;
		snprintf(key, sizeof key, "%.*s", (int)(r->key_len < 63 ? r->key_len : 63), (const char *)r->key);
		if (sscanf(key, "b%u-%u", &id, &i) != 2) {
			fail(why, wn, "unexpected key '%s'", key);
			goto out;
		}
		if (id >= m->cap || !m->ver[id]) {
			fail(why, wn, "row %s of batch %u, which is not committed (deleted or never added)", key, id);
			goto out;
		}
		if (i >= m->size[id]) {
			fail(why, wn, "row %s beyond batch %u's %u rows", key, id, m->size[id]);
			goto out;
		}
		float v[DIM];
		row_vector(id, m->ver[id], i, v);
		if (r->dim != DIM || memcmp(r->vector, v, sizeof v) != 0) {
			fail(why, wn, "row %s: vector of version %g, expected version %u", key, (double)r->vector[1],
			     m->ver[id]);
			goto out;
		}
		char tag[32];
		row_tag(id, m->ver[id], tag, sizeof tag);
		const vl_value *tv = value_of(r, "tag"), *nv = value_of(r, "num");
		if (!tv || tv->len != strlen(tag) || memcmp(tv->data, tag, tv->len) != 0 || !nv ||
		    nv->num != (double)m->ver[id]) {
			fail(why, wn, "row %s: attributes do not match its version %u", key, m->ver[id]);
			goto out;
		}
		seen[id]++;
		total++;
	}
	for (size_t id = 0; id < m->cap; id++)
		if (m->ver[id] && seen[id] != m->size[id]) {
			fail(why, wn, "batch %zu holds %u of its %u rows", id, seen[id], m->size[id]);
			goto out;
		}
	uint64_t n;
	if ((vr = vl_count(c, NULL, &n)) || n != total) {
		fail(why, wn, "count %llu (%s), cursor saw %llu rows", (unsigned long long)n, vl_strerror(vr),
		     (unsigned long long)total);
		goto out;
	}
	float q[DIM] = { 0 };
	vl_search_opts so = VL_SEARCH_OPTS_INIT;
	so.k = 5;
	vl_results *res = NULL;
	if ((vr = vl_search(c, q, DIM, &so, &res)) || res->n != (total < 5 ? total : 5)) {
		fail(why, wn, "search: %s, %zu hits of %llu rows", vl_strerror(vr), res ? res->n : 0,
		     (unsigned long long)total);
		vl_results_free(res);
		goto out;
	}
	vl_results_free(res);
	*rows += total;
	rc = 0;
out:
	vl_cursor_close(cur);
	free(seen);
	return rc;
}

/* Collection r (import-rdb) against the dump the model says it holds. */
static int check_r(vl_store *st, const model *m, char *why, size_t wn, uint64_t *rows)
{
	vl_collection *c;
	int vr = vl_collection_open(st, "r", &c);
	if (vr == VL_ENOTFOUND)
		return m->r_state ? fail(why, wn, "collection r is gone; it held dump %d", m->r_state) : 0;
	if (vr)
		return fail(why, wn, "open r: %s", vl_strerror(vr));
	uint64_t n;
	int rc = 0;
	if (m->r_state == 0) {
		/* the import names the collection it creates in its last commit */
		rc = fail(why, wn, "collection r exists, but no import committed");
	} else if ((vr = vl_count(c, NULL, &n))) {
		rc = fail(why, wn, "count r: %s", vl_strerror(vr));
	} else if (n != R_ROWS) {
		rc = fail(why, wn, "collection r holds %llu rows, dump %d has %d", (unsigned long long)n,
		          m->r_state, R_ROWS);
	} else {
		for (uint32_t i = 0; i < R_ROWS && !rc; i++) {
			char key[32];
			snprintf(key, sizeof key, "doc:%u", i);
			vl_record *rec;
			float v[DIM];
			dump_vector(m->r_state, i, v);
			if ((vr = vl_get(c, key, strlen(key), &rec)))
				rc = fail(why, wn, "r: get %s: %s", key, vl_strerror(vr));
			else if (rec->dim != DIM || memcmp(rec->vector, v, sizeof v) != 0)
				rc = fail(why, wn, "r: %s does not hold dump %d's vector", key, m->r_state);
			if (!vr)
				vl_free(rec);
		}
		*rows += R_ROWS;
	}
	vl_collection_close(c);
	return rc;
}

static int count_files(const char *dir, const char *sub)
{
	char p[1200];
	snprintf(p, sizeof p, "%s/%s", dir, sub);
	DIR *d = opendir(p);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static int segments_of(vl_store *st, const char *name)
{
	vl_collection *c;
	vl_info *inf;
	if (vl_collection_open(st, name, &c))
		return 0;
	int n = vl_collection_info(c, &inf) ? -1000 : (int)inf->segments;
	if (n >= 0)
		vl_info_free(inf);
	vl_collection_close(c);
	return n;
}

typedef struct probs {
	char first[512];
	int n;
} probs;

static void on_problem(void *ud, const char *p)
{
	probs *pr = ud;
	if (!pr->n++)
		snprintf(pr->first, sizeof pr->first, "%s", p);
}

/* Open the store after a kill; check it against candidates a and b (b may be
 * NULL). Returns 0 (store == a), 1 (store == b) or -1. */
static int check_store(const cs_opts *o, const model *a, const model *b, cs_stats *s, char *why,
                       size_t wn)
{
	vl_store *st;
	vl_open_opts oo = VL_OPEN_OPTS_INIT;
	oo.flags = VL_OPEN_NOWAIT; /* nobody else may hold a lock now */
	int vr = vl_open(o->dir, &oo, &st);
	if (vr) {
		s->bad_opens++;
		return fail(why, wn, "the store does not open after the kill: %s", vl_errmsg(NULL));
	}
	int rc = -1;
	probs pr = { { 0 }, 0 };
	if ((vr = vl_verify(st, on_problem, &pr))) {
		s->bad_opens++;
		fail(why, wn, "verify after the kill: %s (%d problems; first: %s)", vl_strerror(vr), pr.n, pr.first);
		goto out;
	}
	/* the writable open removed what the killed job left behind */
	int tmpn = count_files(o->dir, "tmp"), segn = count_files(o->dir, "seg");
	int want = segments_of(st, "c") + segments_of(st, "r");
	if (tmpn != 0 || segn != want) {
		fail(why, wn, "leftover files: tmp/ holds %d, seg/ holds %d files for %d segments", tmpn, segn, want);
		goto out;
	}
	vl_collection *c;
	if ((vr = vl_collection_open(st, "c", &c))) {
		fail(why, wn, "open c: %s", vl_strerror(vr));
		goto out;
	}
	char wa[512] = "", wb[512] = "";
	uint64_t rows = 0;
	if (check_c(c, a, wa, sizeof wa, &rows) == 0 && check_r(st, a, wa, sizeof wa, &rows) == 0) {
		rc = 0;
	} else if (b && (rows = 0, check_c(c, b, wb, sizeof wb, &rows) == 0) &&
	           check_r(st, b, wb, sizeof wb, &rows) == 0) {
		rc = 1;
	} else {
		s->lost++;
		fail(why, wn, "the store holds neither the committed state (%s) nor that plus the operation in "
		     "flight (%s)", wa, b ? wb : "none in flight");
	}
	s->rows_checked += rows;
	vl_collection_close(c);
out:
	vl_close(st);
	return rc;
}

/* ---- Redis dumps for import ------------------------------------------------------- */
static int make_dumps(const cs_opts *o, char *why, size_t wn)
{
	for (int dump = 1; dump <= 2; dump++) {
		vl_redis r;
		if (vl_redis_start(&r, NULL))
			return fail(why, wn, "redis-server: %s", r.err);
		int bad = 0;
		for (uint32_t i = 0; i < R_ROWS && !bad; i++) {
			float v[DIM];
			dump_vector(dump, i, v);
			char key[32], genre[16];
			snprintf(key, sizeof key, "doc:%u", i);
			snprintf(genre, sizeof genre, "g%u", i % 4);
			const void *argv[] = { "HSET", key, "embedding", v, "genre", genre };
			const size_t lens[] = { 4, strlen(key), 9, sizeof v, 5, strlen(genre) };
			bad = vl_redis_cmdv(&r, NULL, 0, 6, argv, lens) != 0;
		}
		uint8_t *buf = NULL;
		size_t len = 0;
		if (bad || vl_redis_save(&r, &buf, &len)) {
			fail(why, wn, "redis: %s", r.err);
			vl_redis_stop(&r);
			free(buf);
			return -1;
		}
		vl_redis_stop(&r);
		char path[1100];
		snprintf(path, sizeof path, "%s.dump%d.rdb", o->dir, dump);
		FILE *fp = fopen(path, "wb");
		int ok = fp && fwrite(buf, 1, len, fp) == len;
		if (fp && fclose(fp) != 0)
			ok = 0;
		free(buf);
		if (!ok)
			return fail(why, wn, "writing %s: %s", path, strerror(errno));
	}
	return 0;
}

/* ---- the loop -------------------------------------------------------------------- */
static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One message from the worker: a start (the operation in flight) or a
 * commit (applied to the model). */
static int take_msg(const cs_opts *o, model *m, const msg *mm, uint32_t *next, int *in_flight, op *fl,
                    cs_stats *s, char *why, size_t wn)
{
	op p;
	plan_op(m, o->seed, mm->k, o->cli != NULL, &p);
	if (mm->k != *next)
		return fail(why, wn, "worker reported operation %u, expected %u", mm->k, *next);
	if (!mm->done) {
		*in_flight = 1;
		*fl = p;
		return 0;
	}
	*in_flight = 0;
	if (apply_op(m, &p))
		return fail(why, wn, "out of memory");
	s->committed[p.kind]++;
	(*next)++;
	return 0;
}

static int setup_store(const cs_opts *o, char *why, size_t wn)
{
	vl_store *st;
	vl_open_opts oo = VL_OPEN_OPTS_INIT;
	oo.flags = VL_OPEN_CREATE;
	if (vl_open(o->dir, &oo, &st))
		return fail(why, wn, "create store %s: %s", o->dir, vl_errmsg(NULL));
	vl_field f[2] = { { "tag", VL_FIELD_TAG }, { "num", VL_FIELD_NUMERIC } };
	vl_schema s = VL_SCHEMA_INIT;
	s.dim = DIM;
	s.fields = f;
	s.nfields = 2;
	/* small thresholds so automatic flushes and compactions run (and get killed) too */
	const char *params[] = { "FLUSH_ROWS=150", "COMPACT_DEAD_RATIO=0.3" };
	s.params = params;
	s.nparams = 2;
	int rc = vl_collection_create(st, "c", &s, NULL);
	if (rc)
		fail(why, wn, "create collection: %s", vl_errmsg(st));
	vl_close(st);
	return rc ? -1 : 0;
}

int cs_run(const cs_opts *o, cs_stats *s, char *why, size_t wn)
{
	memset(s, 0, sizeof *s);
	why[0] = 0;
	double t0 = now_s();
	if (setup_store(o, why, wn) || (o->cli && make_dumps(o, why, wn)))
		return -1;
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_CHILD_SUBREAPER, 1); /* orphaned CLI processes come back to us */
	model m = { 0 }, cand = { 0 };
	uint32_t next = 1; /* operation numbers (and batch ids) start at 1 */
	uint64_t rs = mix(o->seed ^ 0xabcdef);
	int rc = 0;
	for (int round = 0; round < o->iterations && rc == 0; round++) {
		int fds[2];
		if (pipe2(fds, O_CLOEXEC))
			return fail(why, wn, "pipe: %s", strerror(errno));
		fflush(NULL);
		pid_t pid = fork();
		if (pid < 0)
			return fail(why, wn, "fork: %s", strerror(errno));
		if (pid == 0) {
			setpgid(0, 0); /* the kill takes an import's CLI process with it */
			close(fds[0]);
			worker(o, &m, next, fds[1]);
			_exit(92);
		}
		setpgid(pid, pid);
		close(fds[1]);
		/* wait for the worker's first operation (or, in commit-first
		 * rounds, its first commit), then a random while */
		const int after_commit = o->kill_after == CS_KILL_AFTER_COMMIT ||
		                         (o->kill_after == CS_KILL_ALTERNATE && round % 2 == 0);
		msg mm;
		int in_flight = 0;
		op fl = { 0 };
		struct pollfd pfd = { fds[0], POLLIN, 0 };
		for (int seen = 0; !seen && poll(&pfd, 1, 30000) == 1;) {
			if (!after_commit)
				break;
			if (read(fds[0], &mm, sizeof mm) != (ssize_t)sizeof mm)
				break; /* the worker died: reported below */
			if ((rc = take_msg(o, &m, &mm, &next, &in_flight, &fl, s, why, wn)))
				break;
			seen = mm.done;
		}
		rs = mix(rs);
		int ms = o->max_kill_ms > 0 ? (int)(rs % (uint64_t)(o->max_kill_ms + 1)) : 0;
		usleep((useconds_t)ms * 1000);
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		int status, st2;
		waitpid(pid, &status, 0);
		/* and an import's CLI process, ours now (subreaper): it must be gone
		 * before the store is opened again */
		while (waitpid(-pid, &st2, 0) > 0 || errno == EINTR)
			;
		/* what the worker reported: commits in order, maybe one in flight */
		while (rc == 0 && read(fds[0], &mm, sizeof mm) == (ssize_t)sizeof mm)
			rc = take_msg(o, &m, &mm, &next, &in_flight, &fl, s, why, wn);
		close(fds[0]);
		if (rc)
			break;
		if (!WIFSIGNALED(status)) {
			rc = fail(why, wn, "round %d: the worker exited with status %d before the kill (op %u %s failed; "
			          "see its stderr)", round, WIFEXITED(status) ? WEXITSTATUS(status) : -1, fl.k,
			          cs_op_name(fl.kind));
			break;
		}
		if (in_flight)
			s->killed_in[fl.kind]++;
		else
			s->killed_between++;
		const model *b = NULL;
		if (in_flight) {
			if (model_copy(&cand, &m) || apply_op(&cand, &fl))
				return fail(why, wn, "out of memory");
			b = &cand;
		}
		char w2[768];
		int which = check_store(o, &m, b, s, w2, sizeof w2);
		if (which < 0) {
			rc = fail(why, wn, "round %d, killed %s after %d ms: %s", round,
			          in_flight ? cs_op_name(fl.kind) : "between operations", ms, w2);
			break;
		}
		if (which == 1) {
			model_copy(&m, &cand);
			s->committed[fl.kind]++;
			s->in_flight_applied++;
		}
		if (in_flight)
			next = fl.k + 1; /* an operation that did not commit is skipped */
		s->rounds++;
		if (o->verbose)
			fprintf(stderr, "round %d: killed %s%s after %d ms; %u batches live\n", round,
			        in_flight ? "in " : "between operations", in_flight ? cs_op_name(fl.kind) : "", ms,
			        model_present(&m));
	}
	model_free(&m);
	model_free(&cand);
	s->seconds = now_s() - t0;
	return rc;
}
