/*
 * compact.c - compaction and reindex: rewrite all segments of a collection
 * into one, without dead rows, optionally with another storage type, index
 * kind or parameters (reindex).
 *
 * Built from a snapshot without the writer lock; the commit checks which
 * rows were deleted since the snapshot and tombstones them in the new
 * segment, swaps the manifest (and schema, for reindex) in one LMDB
 * transaction, and only then unlinks the old files. Readers holding older
 * snapshots keep their mappings of the old files until they finish.
 */
#include <stdlib.h>
#include <string.h>

#include "index/index.h"
#include "maint.h"
#include "params.h"
#include "quant/quant.h"
#include "read.h"
#include "segbuild.h"
#include "segmap.h"

typedef struct mergesrc {
	vl_snap *s;
	uint32_t nseg;
	uint64_t *pos;             /* next row per segment */
	const uint8_t ***chunks;   /* snapshot tombstones per segment */
	uint32_t **map;            /* old row -> new row, UINT32_MAX = dropped */
	uint64_t out;
} mergesrc;

static int dead_in_snap(const mergesrc *m, uint32_t si, uint64_t row)
{
	const uint8_t *ch = m->chunks[si][row / VL_TOMB_CHUNK_ROWS];
	return ch && vl_bit(ch, (uint32_t)(row % VL_TOMB_CHUNK_ROWS));
}

static int merge_next(void *ud, uint64_t *rid, const float **vec, const uint8_t **rec,
                      size_t *rec_len, vl_diag *d)
{
	mergesrc *m = ud;
	vl_snap *s = m->s;
	for (;;) {
		int best = -1;
		uint64_t best_rid = 0;
		for (uint32_t i = 0; i < m->nseg; i++) {
			const vl_segmap *sm = s->set->segs[i];
			while (m->pos[i] < sm->nrows && dead_in_snap(m, i, m->pos[i]))
				m->pos[i]++;
			if (m->pos[i] < sm->nrows && (best < 0 || sm->rowids[m->pos[i]] < best_rid)) {
				best = (int)i;
				best_rid = sm->rowids[m->pos[i]];
			}
		}
		if (best < 0)
			return 0;
		const vl_segmap *sm = s->set->segs[best];
		uint64_t row = m->pos[best]++;
		uint8_t kb[12];
		MDB_val k = vl_key_rid(kb, s->c->id, best_rid), v;
		int rc = mdb_get(s->txn, s->c->st->e->db.rows, &k, &v);
		if (rc == MDB_NOTFOUND)
			return vl_diag_set(d, VL_ECORRUPT, VL_NO_OFFSET,
			                   "%s: live row %llu has no row record (run verify)", sm->relpath,
			                   (unsigned long long)best_rid);
		if (rc)
			return vl_diag_set(d, VL_EIO, VL_NO_OFFSET, "LMDB: %s", mdb_strerror(rc));
		*rid = best_rid;
		*vec = sm->vectors + (size_t)row * sm->lay.h.dim;
		*rec = v.mv_data;
		*rec_len = v.mv_size;
		m->map[best][row] = (uint32_t)m->out++;
		return 1;
	}
}

static void merge_free(mergesrc *m)
{
	for (uint32_t i = 0; i < m->nseg; i++) {
		if (m->map)
			free(m->map[i]);
		if (m->chunks)
			free(m->chunks[i]);
	}
	free(m->map);
	free(m->chunks);
	free(m->pos);
}

static int merge_init(mergesrc *m, vl_snap *s)
{
	const vl_store *st = s->c->st;
	memset(m, 0, sizeof *m);
	m->s = s;
	m->nseg = s->set->n;
	m->pos = calloc(m->nseg + 1, sizeof *m->pos);
	m->chunks = calloc(m->nseg + 1, sizeof *m->chunks);
	m->map = calloc(m->nseg + 1, sizeof *m->map);
	if (!m->pos || !m->chunks || !m->map)
		return vl_fail(st, VL_ENOMEM, "out of memory");
	for (uint32_t i = 0; i < m->nseg; i++) {
		const vl_segmap *sm = s->set->segs[i];
		uint32_t nch = (uint32_t)((sm->nrows + VL_TOMB_CHUNK_ROWS - 1) / VL_TOMB_CHUNK_ROWS);
		m->chunks[i] = calloc(nch + 1, sizeof **m->chunks);
		m->map[i] = malloc((sm->nrows ? sm->nrows : 1) * sizeof **m->map);
		if (!m->chunks[i] || !m->map[i])
			return vl_fail(st, VL_ENOMEM, "out of memory");
		memset(m->map[i], 0xff, sm->nrows * sizeof **m->map);
		for (uint32_t c = 0; c < nch; c++)
			m->chunks[i][c] = vl_tomb_chunk(st, s->txn, s->c->id, sm->seg_id, c);
	}
	return VL_OK;
}

/* Rows deleted between the snapshot and now: tombstone them in the new segment. */
static int carry_deletes(const mergesrc *m, MDB_txn *txn, vl_tombs *tb)
{
	const vl_store *st = m->s->c->st;
	for (uint32_t i = 0; i < m->nseg; i++) {
		const vl_segmap *sm = m->s->set->segs[i];
		uint32_t nch = (uint32_t)((sm->nrows + VL_TOMB_CHUNK_ROWS - 1) / VL_TOMB_CHUNK_ROWS);
		for (uint32_t c = 0; c < nch; c++) {
			const uint8_t *now = vl_tomb_chunk(st, txn, m->s->c->id, sm->seg_id, c);
			const uint8_t *then = m->chunks[i][c];
			if (!now || now == then)
				continue;
			for (uint32_t b = 0; b < VL_TOMB_CHUNK_ROWS; b++) {
				uint64_t row = (uint64_t)c * VL_TOMB_CHUNK_ROWS + b;
				if (row >= sm->nrows)
					break;
				if (vl_bit(now, b) && !(then && vl_bit(then, b)) && m->map[i][row] != UINT32_MAX) {
					int rc = vl_tombs_set(tb, m->map[i][row]);
					if (rc)
						return vl_fail(st, rc, "out of memory");
				}
			}
		}
	}
	return VL_OK;
}

typedef struct job {
	vl_collection *c;
	const vl_schema_rec *new_schema;   /* reindex: the schema to switch to, else NULL */
	const vl_job_opts *o;
} job;

static int rewrite_commit(const job *j, vl_snap *s, mergesrc *m, vl_segbuild *sb, int built)
{
	const vl_store *st = j->c->st;
	MDB_txn *txn;
	int lk, rc;
	vl_tombs tb;
	vl_tombs_init(&tb, j->c->id, sb->seg_id);
	if ((rc = vl_wbegin(st, &txn, &lk)))
		return rc;
	vl_cstate cs;
	vl_schema_rec cur = { 0 };
	if ((rc = vl_coll_schema(j->c, txn, &cur)) || (rc = vl_read_cstate(st, txn, j->c->id, &cs)))
		goto fail;
	if (cs.manifest_gen != s->cs.manifest_gen) {
		rc = vl_fail(st, VL_EBUSY, "the segments of '%s' changed meanwhile", j->c->name);
		goto fail;
	}
	if (built && (rc = carry_deletes(m, txn, &tb)))
		goto fail;
	for (uint32_t i = 0; i < m->nseg; i++)
		if ((rc = vl_del_segment_records(st, txn, j->c->id, s->set->segs[i]->seg_id)))
			goto fail;
	cs.segment_rows = 0;
	cs.dead_rows = 0;
	if (built) {
		sb->man.dead_rows = tb.count;
		if ((rc = vl_tombs_write(&tb, st, txn)) || (rc = vl_put_manifest(st, txn, j->c->id, sb->seg_id, &sb->man)))
			goto fail;
		cs.segment_rows = sb->man.nrows;
		cs.dead_rows = tb.count;
		cs.next_seg = sb->seg_id + 1;
	}
	if (j->new_schema) {
		uint8_t kb[4];
		MDB_val k = vl_key_coll(kb, j->c->id);
		rc = mdb_del(txn, st->e->db.train, &k, NULL);
		if (rc && rc != MDB_NOTFOUND) {
			rc = vl_fail_mdb(st, rc, "replacing trained state");
			goto fail;
		}
		cs.flags &= ~(uint32_t)VL_CSTATE_TRAINED;
		if ((rc = vl_write_schema(st, txn, j->c->id, j->new_schema)))
			goto fail;
	}
	if ((rc = vl_put_train(st, txn, j->c->id, sb->new_qstate, sb->new_qstate_len)))
		goto fail;
	if (sb->new_qstate)
		cs.flags |= VL_CSTATE_TRAINED;
	cs.manifest_gen++;
	if ((rc = vl_write_cstate(st, txn, j->c->id, &cs)))
		goto fail;
	vl_tombs_free(&tb);
	vl_schema_rec_free(&cur);
	return vl_wcommit(st, txn, lk);
fail:
	vl_tombs_free(&tb);
	vl_schema_rec_free(&cur);
	vl_wabort(txn, lk);
	return rc;
}

/* Can the index kind reuse the old graphs? Same kind and storage on every
 * source, and the storage's trained state unchanged (not a reindex). */
static int can_rebuild(const job *j, const vl_snap *s)
{
	if (j->new_schema)
		return 0;
	const vl_index_ops *io = vl_index_by_id(s->schema.index);
	if (!io || !io->rebuild)
		return 0;
	for (uint32_t i = 0; i < s->set->n; i++) {
		const vl_segmap *sm = s->set->segs[i];
		if (sm->lay.h.index_kind != s->schema.index || sm->lay.h.storage != s->schema.storage || !sm->istate)
			return 0;
	}
	return 1;
}

static int rewrite(const job *j)
{
	vl_collection *c = j->c;
	const vl_store *st = c->st;
	int mk = vl_maint_lock(st);
	if (mk < 0)
		return mk;
	vl_snap s;
	mergesrc m = { 0 };
	vl_segbuild sb = { 0 };
	void **rb_src = NULL;
	uint64_t *rb_rows = NULL;
	int rc = vl_snap_begin(c, &s);
	if (rc)
		goto out_lock;
	uint64_t live_in_segs = s.cs.segment_rows - s.cs.dead_rows;
	if (!j->new_schema && (s.set->n == 0 || (s.set->n == 1 && s.cs.dead_rows == 0)))
		goto out_snap; /* already compact */
	if ((rc = merge_init(&m, &s)))
		goto out_snap;
	const vl_schema_rec *schema = j->new_schema ? j->new_schema : &s.schema;
	sb.st = st;
	sb.coll_id = c->id;
	sb.seg_id = s.cs.next_seg;
	sb.schema = schema;
	sb.threads = j->o->threads;
	sb.seed = j->o->seed;
	sb.progress = j->o->progress;
	sb.progress_ud = j->o->progress_ud;
	if (!j->new_schema && (rc = vl_read_train(st, s.txn, c->id, &sb.qstate, &sb.qstate_len)))
		goto out_snap;
	if (can_rebuild(j, &s)) {
		rb_src = calloc(s.set->n, sizeof *rb_src);
		rb_rows = calloc(s.set->n, sizeof *rb_rows);
		if (!rb_src || !rb_rows) {
			rc = vl_fail(st, VL_ENOMEM, "out of memory");
			goto out_snap;
		}
		for (uint32_t i = 0; i < s.set->n; i++) {
			rb_src[i] = s.set->segs[i]->istate;
			rb_rows[i] = s.set->segs[i]->nrows;
		}
		sb.rb_src = rb_src;
		sb.rb_map = (const uint32_t *const *)m.map;
		sb.rb_rows = rb_rows;
		sb.rb_n = s.set->n;
	}
	int built = 0;
	if (live_in_segs > 0) {
		vl_segsrc src = { merge_next, &m, live_in_segs };
		vl_diag d;
		vl_diag_clear(&d);
		if ((rc = vl_segbuild_run(&sb, &src, &d)) || (rc = vl_segbuild_install(&sb, &d))) {
			vl_segbuild_discard(&sb);
			rc = vl_fail_diag(st, &d);
			goto out_snap;
		}
		built = 1;
	}
	rc = rewrite_commit(j, &s, &m, &sb, built);
	if (rc) {
		if (built)
			vl_segbuild_discard(&sb);
		goto out_snap;
	}
	vl_segbuild_free(&sb);
	/* the old files are no longer listed: unlink them (mapped readers keep theirs) */
	uint32_t *old = malloc((s.set->n + 1) * sizeof *old);
	if (old) {
		for (uint32_t i = 0; i < s.set->n; i++)
			old[i] = s.set->segs[i]->seg_id;
		vl_unlink_segments(st, c->id, old, s.set->n);
		free(old);
	}
out_snap:
	free(rb_src);
	free(rb_rows);
	merge_free(&m);
	vl_snap_end(&s);
out_lock:
	vl_maint_unlock(mk);
	return rc;
}

int vl_compact(vl_collection *c, const vl_job_opts *opts)
{
	if (!c)
		return VL_EINVAL;
	vl_clear_err(c->st);
	vl_job_opts def = VL_JOB_OPTS_INIT;
	job j = { c, NULL, opts ? opts : &def };
	return rewrite(&j);
}

/* The schema a reindex switches to: storage/index/params replaced. */
static int reindex_schema(vl_collection *c, const vl_schema_rec *old, const vl_schema *ch, vl_schema_rec *out)
{
	const vl_store *st = c->st;
	const vl_quant_ops *qo = vl_quant_by_id(old->storage);
	const vl_index_ops *io = vl_index_by_id(old->index);
	if (ch->storage && !(qo = vl_quant_find(ch->storage)))
		return vl_fail(st, VL_EINVAL, "unknown storage type '%s'", ch->storage);
	if (ch->index && !(io = vl_index_find(ch->index)))
		return vl_fail(st, VL_EINVAL, "unknown index kind '%s'", ch->index);
	if (!qo || !io)
		return vl_fail(st, VL_EUNSUPPORTED, "the current storage or index is not in this build");
	int rc = vl_check_create_params(st, old->dim, (vl_metric)old->metric, qo, io, ch->params, ch->nparams);
	if (rc)
		return rc;
	*out = *old;
	out->storage = (uint8_t)qo->id;
	out->index = (uint8_t)io->id;
	const char *const *defs = io->defaults ? io->defaults(old->dim, (vl_metric)old->metric) : NULL;
	size_t ndefs = 0;
	while (defs && defs[ndefs])
		ndefs++;
	/* keep the engine's policy parameters; index/storage ones are replaced */
	static const char *const keep[] = { "FLUSH_ROWS=", "FLUSH_BYTES=", "COMPACT_DEAD_RATIO=" };
	out->params = calloc(old->nparams + ndefs + ch->nparams + 1, sizeof *out->params);
	out->fields = malloc((old->nfields + 1) * sizeof *out->fields);
	out->nparams = 0;
	if (!out->params || !out->fields)
		goto oom;
	memcpy(out->fields, old->fields, old->nfields * sizeof *out->fields);
	for (uint32_t i = 0; i < old->nparams; i++)
		for (size_t k = 0; k < sizeof keep / sizeof keep[0]; k++)
			if (strncmp(old->params[i], keep[k], strlen(keep[k])) == 0 &&
			    !(out->params[out->nparams++] = strdup(old->params[i])))
				goto oom;
	for (size_t i = 0; i < ndefs + ch->nparams; i++) {
		if (i < ndefs && vl_params_has_name(ch->params, ch->nparams, defs[i]))
			continue;
		if (!(out->params[out->nparams++] = strdup(i < ndefs ? defs[i] : ch->params[i - ndefs])))
			goto oom;
	}
	return VL_OK;
oom:
	vl_schema_rec_free(out);
	return vl_fail(st, VL_ENOMEM, "out of memory");
}

int vl_reindex(vl_collection *c, const vl_schema *changes, const vl_job_opts *opts)
{
	if (!c || !changes)
		return VL_EINVAL;
	const vl_store *st = c->st;
	vl_clear_err(st);
	if (changes->size < offsetof(vl_schema, nfields) + sizeof changes->nfields)
		return vl_fail(st, VL_EINVAL, "schema size field is not set (use VL_SCHEMA_INIT)");
	vl_job_opts def = VL_JOB_OPTS_INIT;
	const vl_job_opts *o = opts ? opts : &def;
	/* everything into segments first, so the new index covers all rows */
	int rc = vl_flush(c, o);
	if (rc)
		return rc;
	vl_snap s;
	if ((rc = vl_snap_begin(c, &s)))
		return rc;
	vl_schema_rec ns;
	rc = reindex_schema(c, &s.schema, changes, &ns);
	vl_snap_end(&s);
	if (rc)
		return rc;
	job j = { c, &ns, o };
	rc = rewrite(&j);
	vl_schema_rec_free(&ns);
	return rc;
}
