/*
 * rdbimport_load.c - pass 2 of `veclite import-rdb`.
 *
 * Two threads share the work: a reader thread runs vl_rdb_parse (read,
 * CRC-64, LZF, decoding) and turns each selected key into a vl_row in a
 * batch; the calling thread owns the vl_bulk load (LMDB puts, zstd of long
 * texts, the spill file) and feeds it the batches. A bounded queue of
 * batches (RI_BATCHES, each up to BATCH_ROWS rows / BATCH_BYTES bytes plus
 * one oversized row) bounds memory whatever the dump size. The load commits
 * only after the parse returned 0, i.e. after the CRC trailer was verified;
 * any failure aborts it and the store is left as it was.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rdbimport.h"

#define RI_BATCHES 3
#define BATCH_ROWS 1024
#define BATCH_BYTES (4u << 20)
#define BLOCK_BYTES (1u << 20)

/* ---- arena: stable pointers, rollback to a mark ----------------------------------- */

typedef struct arena {
	uint8_t **blk;
	size_t *cap;
	size_t nblk, cur, used;
	size_t fill;            /* bytes handed out since the last reset */
} arena;

typedef struct arena_mark {
	size_t cur, used, fill;
} arena_mark;

static void *arena_alloc(arena *a, size_t n, size_t align)
{
	for (;;) {
		if (a->cur < a->nblk) {
			size_t at = (a->used + align - 1) & ~(align - 1);
			if (at <= a->cap[a->cur] && n <= a->cap[a->cur] - at) {
				a->fill += n + (at - a->used);
				a->used = at + n;
				return a->blk[a->cur] + at;
			}
			if (a->used == 0) { /* an empty block too small: grow it */
				size_t cap = n > BLOCK_BYTES ? n : BLOCK_BYTES;
				uint8_t *p = malloc(cap);
				if (!p)
					return NULL;
				free(a->blk[a->cur]);
				a->blk[a->cur] = p;
				a->cap[a->cur] = cap;
				continue;
			}
			a->cur++;
			a->used = 0;
			continue;
		}
		uint8_t **b = realloc(a->blk, (a->nblk + 1) * sizeof *b);
		if (!b)
			return NULL;
		a->blk = b;
		size_t *c = realloc(a->cap, (a->nblk + 1) * sizeof *c);
		if (!c)
			return NULL;
		a->cap = c;
		size_t cap = n + align > BLOCK_BYTES ? n + align : BLOCK_BYTES;
		if (!(a->blk[a->nblk] = malloc(cap)))
			return NULL;
		a->cap[a->nblk++] = cap;
		a->cur = a->nblk - 1;
		a->used = 0;
	}
}

static arena_mark arena_get_mark(const arena *a)
{
	return (arena_mark){ a->cur, a->used, a->fill };
}

static void arena_rollback(arena *a, arena_mark m)
{
	a->cur = m.cur;
	a->used = m.used;
	a->fill = m.fill;
}

/* Keep ordinary blocks for reuse; give oversized ones back. */
static void arena_reset(arena *a)
{
	size_t keep = 0;
	for (size_t i = 0; i < a->nblk; i++) {
		if (a->cap[i] > BLOCK_BYTES || keep >= BATCH_BYTES / BLOCK_BYTES + 1) {
			free(a->blk[i]);
			continue;
		}
		a->blk[keep] = a->blk[i];
		a->cap[keep++] = a->cap[i];
	}
	a->nblk = keep;
	a->cur = a->used = a->fill = 0;
}

static void arena_free(arena *a)
{
	for (size_t i = 0; i < a->nblk; i++)
		free(a->blk[i]);
	free(a->blk);
	free(a->cap);
	memset(a, 0, sizeof *a);
}

/* ---- batches and the queue ---------------------------------------------------------- */

typedef struct batch {
	vl_row *rows;
	size_t n, cap;
	vl_value *vals;
	size_t nv, vcap;
	arena ar;
	uint64_t file_off;      /* reader position after the batch's last key */
	uint64_t keys_read;
	struct batch *next;
} batch;

typedef struct queue {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	batch *free_list;
	batch *head, *tail;     /* full batches, oldest first */
	int done;               /* the reader has finished */
	int abort;              /* the consumer failed: stop reading */
} queue;

static void batch_free(batch *b)
{
	if (!b)
		return;
	free(b->rows);
	free(b->vals);
	arena_free(&b->ar);
	free(b);
}

static batch *queue_take_free(queue *q)
{
	pthread_mutex_lock(&q->mu);
	while (!q->free_list && !q->abort)
		pthread_cond_wait(&q->cv, &q->mu);
	batch *b = q->free_list;
	if (b && !q->abort)
		q->free_list = b->next;
	else
		b = NULL;
	pthread_mutex_unlock(&q->mu);
	return b;
}

static void queue_push(queue *q, batch *b)
{
	pthread_mutex_lock(&q->mu);
	b->next = NULL;
	if (q->tail)
		q->tail->next = b;
	else
		q->head = b;
	q->tail = b;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

/* Next full batch, or NULL once the reader is done and the queue empty. */
static batch *queue_pop(queue *q)
{
	pthread_mutex_lock(&q->mu);
	while (!q->head && !q->done)
		pthread_cond_wait(&q->cv, &q->mu);
	batch *b = q->head;
	if (b) {
		q->head = b->next;
		if (!q->head)
			q->tail = NULL;
	}
	pthread_mutex_unlock(&q->mu);
	return b;
}

static void queue_release(queue *q, batch *b)
{
	b->n = b->nv = 0;
	arena_reset(&b->ar);
	pthread_mutex_lock(&q->mu);
	b->next = q->free_list;
	q->free_list = b;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

static void queue_set(queue *q, int *field)
{
	pthread_mutex_lock(&q->mu);
	*field = 1;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

static int queue_aborted(queue *q)
{
	pthread_mutex_lock(&q->mu);
	int a = q->abort;
	pthread_mutex_unlock(&q->mu);
	return a;
}

/* ---- the reader ------------------------------------------------------------------------ */

enum { VEC_NONE, VEC_OK, VEC_WRONG_LEN, VEC_NONFINITE };

typedef struct reader {
	const ri_opts *o;
	const ri_plan *pl;
	queue *q;
	volatile sig_atomic_t *stop;
	vl_diag *d;             /* the parse's diag: strict errors are written here */
	int64_t now_ms;
	size_t vbytes;          /* dim x dtype size */
	batch *b;
	/* the key being read */
	int want;
	vl_rdb_kind kind;
	arena_mark mark;
	size_t vals_start;
	const uint8_t *key;
	size_t key_len;
	int vec_state;
	size_t vec_len;
	float *vec;
	uint64_t rows_sent;
	/* counters (read by the main thread after join) */
	ri_stats st;
	int rc;
	vl_rdb_result res;
	vl_diag diag;
	ri_input *in;
} reader;

static void key_text(char *out, size_t cap, const uint8_t *k, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n && i < 64 && o + 8 < cap; i++) {
		if (k[i] >= 0x20 && k[i] < 0x7f && k[i] != '\\' && k[i] != '\'')
			out[o++] = (char)k[i];
		else
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", k[i]);
	}
	if (n > 64 && o + 4 < cap)
		memcpy(out + o, "...", 3), o += 3;
	out[o] = 0;
}

static void note(char *slot, size_t cap, const char *key, uint64_t off, const char *why)
{
	if (!slot[0] && snprintf(slot, cap, "key '%s' at offset %" PRIu64 ": %s", key, off, why) >= (int)cap)
		memcpy(slot + cap - 4, "...", 4); /* cut */
}

/* A key left out: counted, or fatal under --strict (expired keys never are). */
static int skip_key(reader *r, const vl_rdb_key *k, int reason, const char *why)
{
	char kt[300];
	key_text(kt, sizeof kt, k->key, k->key_len);
	r->st.skipped[reason]++;
	note(r->st.first_skip, sizeof r->st.first_skip, kt, k->offset, why);
	if (r->o->strict && reason != RI_SKIP_EXPIRED) {
		const int code = reason == RI_SKIP_WRONG_LEN ? VL_EDIM
		               : reason == RI_SKIP_NONFINITE ? VL_ENAN
		               : reason == RI_SKIP_BAD_KEY   ? VL_EKEY
		                                             : VL_EFORMAT;
		return vl_diag_set(r->d, code, k->offset, "key '%s': %s (--strict)", kt, why);
	}
	return 0;
}

static int drop_value(reader *r, const vl_rdb_key *k, int reason, const uint8_t *f, size_t fl)
{
	char kt[300], ft[80], why[160];
	r->st.dropped[reason]++;
	key_text(ft, sizeof ft, f, fl > 40 ? 40 : fl);
	snprintf(why, sizeof why, "field \"%s\": %s", ft,
	         reason == RI_DROP_UNKNOWN_FIELD ? "not in the collection's schema (declare it with --field NAME:TYPE)"
	         : reason == RI_DROP_NOT_NUMERIC ? "not a number, but the field is numeric"
	         : reason == RI_DROP_BAD_NAME    ? "not a valid veclite field name (1..255 bytes, no NUL)"
	                                         : "field TTL already past");
	key_text(kt, sizeof kt, k->key, k->key_len);
	note(r->st.first_drop, sizeof r->st.first_drop, kt, k->offset, why);
	if (r->o->strict && reason != RI_DROP_EXPIRED)
		return vl_diag_set(r->d, VL_ESCHEMA, k->offset, "key '%s': %s (--strict)", kt, why);
	return 0;
}

static int batch_ready(reader *r)
{
	if (r->b)
		return 0;
	r->b = queue_take_free(r->q);
	return r->b ? 0 : VL_ECANCELED;
}

static int r_key(void *ud, const vl_rdb_key *k)
{
	reader *r = ud;
	r->want = 0;
	if (*r->stop)
		return vl_diag_set(r->d, VL_ECANCELED, k->offset, "interrupted");
	if ((r->rows_sent & 63) == 0 && queue_aborted(r->q))
		return vl_diag_set(r->d, VL_ECANCELED, k->offset, "the load failed");
	if (!ri_key_selected(r->o, r->pl, 1, k)) {
		r->st.not_selected++;
		return VL_RDB_SKIP;
	}
	const int take = (k->kind == VL_RDB_KIND_HASH && r->pl->hashes) ||
	                 (k->kind == VL_RDB_KIND_STRING && r->pl->strings);
	if (!take) {
		r->st.other_type[k->kind]++;
		return VL_RDB_SKIP;
	}
	int rc;
	if (k->key_len == 0 || k->key_len > VL_KEY_MAX) {
		char why[96];
		snprintf(why, sizeof why, "a key of %zu bytes (veclite keys are 1..%u bytes)", k->key_len,
		         VL_KEY_MAX);
		return skip_key(r, k, RI_SKIP_BAD_KEY, why);
	}
	if (k->expire_ms != VL_RDB_NO_EXPIRE && k->expire_ms <= r->now_ms)
		return skip_key(r, k, RI_SKIP_EXPIRED, "expire time already past");
	if ((rc = batch_ready(r)))
		return vl_diag_set(r->d, rc, k->offset, "the load failed");
	batch *b = r->b;
	r->mark = arena_get_mark(&b->ar);
	r->vals_start = b->nv;
	uint8_t *kc = arena_alloc(&b->ar, k->key_len, 1);
	if (!kc)
		return vl_diag_set(r->d, VL_ENOMEM, k->offset, "out of memory");
	memcpy(kc, k->key, k->key_len);
	r->key = kc;
	r->key_len = k->key_len;
	r->kind = k->kind;
	r->vec_state = VEC_NONE;
	r->vec = NULL;
	r->want = 1;
	return VL_RDB_WANT;
}

static int take_vector(reader *r, const vl_rdb_key *k, const uint8_t *v, size_t len)
{
	if (r->vec_state != VEC_NONE)
		return 0;
	if (len != r->vbytes) {
		r->vec_state = VEC_WRONG_LEN;
		r->vec_len = len;
		return 0;
	}
	float *f = arena_alloc(&r->b->ar, (size_t)r->pl->dim * sizeof(float), sizeof(float));
	if (!f)
		return vl_diag_set(r->d, VL_ENOMEM, k->offset, "out of memory");
	const size_t bad = vl_rdb_dtype_to_f32(r->pl->dtype, v, r->pl->dim, f);
	r->vec = f;
	r->vec_state = bad ? VEC_NONFINITE : VEC_OK;
	return 0;
}

/* A value the engine's numeric parser takes: decimal only (no inf/nan/hex),
 * finite, and no underflow/overflow (strtod's ERANGE). */
static int numeric_ok(const uint8_t *v, size_t len)
{
	char tmp[72];
	if (!vl_rdb_is_number(v, len, NULL))
		return 0;
	memcpy(tmp, v, len);
	tmp[len] = 0;
	errno = 0;
	double x = strtod(tmp, NULL);
	return errno != ERANGE && isfinite(x);
}

static int r_elem(void *ud, const vl_rdb_key *k, const vl_rdb_elem *e)
{
	reader *r = ud;
	if (!r->want)
		return 0;
	if (k->kind == VL_RDB_KIND_STRING)
		return take_vector(r, k, e->a, e->a_len);
	const ri_plan *pl = r->pl;
	if (e->a_len == pl->vfield_len && memcmp(e->a, pl->vfield, e->a_len) == 0)
		return take_vector(r, k, e->b, e->b_len);
	if (e->expire_ms != VL_RDB_NO_EXPIRE && e->expire_ms <= r->now_ms)
		return drop_value(r, k, RI_DROP_EXPIRED, e->a, e->a_len);
	const ri_attr *a = ri_plan_attr(pl, e->a, e->a_len);
	if (!a) {
		const int bad = e->a_len == 0 || e->a_len > RI_FIELD_NAME_MAX || memchr(e->a, 0, e->a_len);
		return drop_value(r, k, bad ? RI_DROP_BAD_NAME : RI_DROP_UNKNOWN_FIELD, e->a, e->a_len);
	}
	if (a->skip)
		return 0;
	if (a->type == VL_FIELD_NUMERIC && !numeric_ok(e->b, e->b_len))
		return drop_value(r, k, RI_DROP_NOT_NUMERIC, e->a, e->a_len);
	batch *b = r->b;
	uint8_t *copy = arena_alloc(&b->ar, e->b_len ? e->b_len : 1, 1);
	if (!copy)
		return vl_diag_set(r->d, VL_ENOMEM, k->offset, "out of memory");
	if (e->b_len)
		memcpy(copy, e->b, e->b_len);
	if (b->nv == b->vcap) {
		size_t cap = b->vcap ? b->vcap * 2 : 1024;
		vl_value *p = realloc(b->vals, cap * sizeof *p);
		if (!p)
			return vl_diag_set(r->d, VL_ENOMEM, k->offset, "out of memory");
		b->vals = p;
		b->vcap = cap;
	}
	b->vals[b->nv++] = (vl_value){ a->name, copy, e->b_len, 0 };
	return 0;
}

/* Hand the batch to the consumer (row value pointers fixed up first). */
static void seal(reader *r, uint64_t off, uint64_t keys)
{
	batch *b = r->b;
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++)
		b->rows[i].values = b->vals + (uintptr_t)b->rows[i].values;
	b->file_off = off;
	b->keys_read = keys;
	r->b = NULL;
	queue_push(r->q, b);
}

static int r_key_end(void *ud, const vl_rdb_key *k, const vl_rdb_value_info *info)
{
	reader *r = ud;
	if (!r->want)
		return 0;
	r->want = 0;
	batch *b = r->b;
	if (r->vec_state != VEC_OK) {
		char why[200];
		int reason;
		char fn[80];
		key_text(fn, sizeof fn, r->pl->vfield ? r->pl->vfield : (const uint8_t *)"",
		         r->pl->vfield_len > 40 ? 40 : r->pl->vfield_len);
		if (r->vec_state == VEC_NONE) {
			reason = RI_SKIP_NO_VECTOR;
			snprintf(why, sizeof why, "the hash has no field \"%s\"", fn);
		} else if (r->vec_state == VEC_WRONG_LEN) {
			reason = RI_SKIP_WRONG_LEN;
			snprintf(why, sizeof why, "%s of %zu bytes; %u x %s is %zu bytes",
			         r->kind == VL_RDB_KIND_STRING ? "a string value" : "a vector field", r->vec_len,
			         r->pl->dim, vl_rdb_dtype_name(r->pl->dtype), r->vbytes);
		} else {
			reason = RI_SKIP_NONFINITE;
			snprintf(why, sizeof why, "the vector holds NaN or infinite components%s",
			         r->pl->dtype == VL_RDB_DT_F64 ? " (or values beyond float32's range)" : "");
		}
		arena_rollback(&b->ar, r->mark);
		b->nv = r->vals_start;
		return skip_key(r, k, reason, why);
	}
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		vl_row *p = realloc(b->rows, cap * sizeof *p);
		if (!p)
			return vl_diag_set(r->d, VL_ENOMEM, k->offset, "out of memory");
		b->rows = p;
		b->cap = cap;
	}
	b->rows[b->n++] = (vl_row){ r->key, r->key_len, r->vec, r->pl->dim,
		                    (const vl_value *)(uintptr_t)r->vals_start, b->nv - r->vals_start };
	r->st.imported++;
	if (r->kind == VL_RDB_KIND_STRING)
		r->st.imported_strings++;
	else
		r->st.imported_hashes++;
	r->st.with_expire += k->expire_ms != VL_RDB_NO_EXPIRE;
	r->rows_sent++;
	if (b->n >= BATCH_ROWS || b->ar.fill >= BATCH_BYTES)
		seal(r, k->offset + info->file_bytes, k->ordinal + 1);
	return 0;
}

static void *reader_main(void *arg)
{
	reader *r = arg;
	static const vl_rdb_handlers h = { .key = r_key, .elem = r_elem, .key_end = r_key_end };
	vl_rdb_opts ro = VL_RDB_OPTS_INIT;
	ro.flags = ri_rdb_flags(r->o);
	r->rc = vl_rdb_parse(ri_input_read, r->in, &ro, &h, r, &r->res, r->d);
	if (r->rc == 0)
		seal(r, r->res.bytes, r->res.keys);
	else if (r->b)
		queue_release(r->q, r->b), r->b = NULL;
	queue_set(r->q, &r->q->done);
	return NULL;
}

/* ---- the consumer ------------------------------------------------------------------------ */

typedef struct progress {
	cli_progress p;
	uint64_t total;
	volatile sig_atomic_t *stop;
} progress;

static void human(double x, char *buf, size_t len)
{
	if (x >= 1e9)
		snprintf(buf, len, "%.2fG", x / 1e9);
	else if (x >= 1e6)
		snprintf(buf, len, "%.1fM", x / 1e6);
	else if (x >= 1e3)
		snprintf(buf, len, "%.1fk", x / 1e3);
	else
		snprintf(buf, len, "%.0f", x);
}

static void show_progress(progress *pg, const batch *b, uint64_t rows, int final)
{
	cli_progress *p = &pg->p;
	if (!p->enabled)
		return;
	const double now = cli_now();
	if (!final && now - p->last < 0.1)
		return;
	p->last = now;
	snprintf(p->phase, sizeof p->phase, "import");
	const double el = now - p->start;
	const double frac = pg->total ? (double)b->file_off / (double)pg->total : 0;
	char done[16], tot[16], keys[16], rate[16];
	human((double)b->file_off, done, sizeof done);
	human((double)pg->total, tot, sizeof tot);
	human((double)b->keys_read, keys, sizeof keys);
	human(el > 0 ? (double)rows / el : 0, rate, sizeof rate);
	const double eta = frac > 0.001 && frac < 1 ? el * (1 - frac) / frac : 0;
	if (pg->total)
		fprintf(stderr, "\rreading %3.0f%%  %sB/%sB  %s keys  %s vectors/s  ETA %.0fs   ", 100 * frac,
		        done, tot, keys, rate, eta);
	else /* a pipe: no size, no ETA */
		fprintf(stderr, "\rreading  %sB  %s keys  %s vectors/s   ", done, keys, rate);
	fflush(stderr);
}

/* Engine progress during the commit (segment build); cancels on a signal. */
static int commit_progress(void *ud, const char *phase, uint64_t done, uint64_t total)
{
	progress *pg = ud;
	if (*pg->stop)
		return 1;
	return cli_progress_cb(&pg->p, phase, done, total);
}

int ri_load(const ri_opts *o, const ri_plan *pl, ri_input *in, vl_store *st, vl_collection *c,
            const vl_schema *create, ri_stats *stats, volatile sig_atomic_t *stop)
{
	if (ri_input_rewind(in, 0))
		return CLI_ERR;
	const double t0 = cli_now();
	int rc = CLI_OK, vr;
	queue q = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
	reader *r = calloc(1, sizeof *r);
	progress pg = { .total = in->size, .stop = stop };
	cli_progress_init(&pg.p, o->quiet);
	if (!r)
		return cli_error("out of memory");
	for (int i = 0; i < RI_BATCHES; i++) {
		batch *b = calloc(1, sizeof *b);
		if (!b) {
			rc = cli_error("out of memory");
			goto out;
		}
		b->next = q.free_list;
		q.free_list = b;
	}
	r->o = o;
	r->pl = pl;
	r->q = &q;
	r->stop = stop;
	r->d = &r->diag;
	r->in = in;
	r->now_ms = ri_now_ms();
	r->vbytes = (size_t)pl->dim * vl_rdb_dtype_size(pl->dtype);

	vl_bulk *bulk = NULL;
	vl_job_opts jo = VL_JOB_OPTS_INIT;
	jo.threads = (uint32_t)o->threads;
	jo.progress = commit_progress;
	jo.progress_ud = &pg;
	if ((vr = create ? vl_bulk_begin_new(st, o->coll, create, &jo, &bulk)
	                 : vl_bulk_begin(c, &jo, &bulk))) {
		rc = cli_fail(st, vr, "bulk load");
		goto out;
	}
	pthread_t th;
	if (pthread_create(&th, NULL, reader_main, r) != 0) {
		vl_bulk_abort(bulk);
		rc = cli_error("cannot start the reader thread");
		goto out;
	}
	/* signals go to the reader thread while it runs (see ri_input_read) */
	sigset_t stopsigs, oldmask;
	sigemptyset(&stopsigs);
	sigaddset(&stopsigs, SIGINT);
	sigaddset(&stopsigs, SIGTERM);
	sigaddset(&stopsigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stopsigs, &oldmask);
	uint64_t rows = 0, add_off = 0, add_rows = 0;
	char add_err[VL_DIAG_MSG + 64] = "";
	int add_rc = 0;
	for (batch *b; (b = queue_pop(&q));) {
		if (!add_rc && (add_rc = vl_bulk_add(bulk, b->rows, b->n)) != 0) {
			snprintf(add_err, sizeof add_err, "%s", vl_errmsg(st));
			add_off = b->file_off;
			add_rows = rows;
			queue_set(&q, &q.abort);
		}
		rows += b->n;
		show_progress(&pg, b, rows, 0);
		queue_release(&q, b);
	}
	pthread_join(th, NULL);
	pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
	if (pg.p.enabled && pg.p.phase[0]) {
		fputc('\n', stderr);
		pg.p.phase[0] = 0;
	}
	*stats = r->st;
	stats->res = r->res;
	stats->keys = r->res.keys;
	stats->read_seconds = cli_now() - t0;
	if (add_rc) {
		vl_bulk_abort(bulk);
		rc = cli_error("adding rows (after %" PRIu64 " rows, the batch ending at byte %" PRIu64
		               " of the dump): %s (%s); nothing was imported",
		               add_rows, add_off, add_err, vl_strerror(add_rc));
		goto out;
	}
	if (r->rc) {
		vl_bulk_abort(bulk);
		if (r->rc == VL_ECANCELED && *stop)
			rc = cli_error("interrupted at offset %" PRIu64 "; nothing was imported",
			               r->diag.offset == VL_NO_OFFSET ? r->res.bytes : r->diag.offset);
		else
			rc = cli_error("%s: %s (%s); nothing was imported", o->dump, r->diag.msg,
			               vl_strerror(r->rc));
		goto out;
	}
	const double t1 = cli_now();
	vr = vl_bulk_commit(bulk);
	cli_progress_done(&pg.p);
	stats->commit_seconds = cli_now() - t1;
	stats->seconds = cli_now() - t0;
	if (vr) {
		if (vr == VL_ECANCELED && *stop)
			rc = cli_error("interrupted while building the segment; nothing was imported");
		else
			rc = cli_fail(st, vr, "bulk commit (nothing was imported)");
	}
out:
	while (q.free_list) {
		batch *b = q.free_list;
		q.free_list = b->next;
		batch_free(b);
	}
	free(r);
	return rc;
}
