/*
 * flush.c - turn the write buffer into a segment.
 *
 * The segment is built from a read snapshot without holding the writer
 * lock (index builds take a while; writers and readers carry on). The commit
 * then moves exactly the captured rows: each one still in the buffer leaves
 * it; one deleted or replaced meanwhile is tombstoned in the new segment.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "maint.h"
#include "read.h"
#include "segbuild.h"
#include "txn.h"
#include "vl_bytes.h"

typedef struct bufsrc {
	vl_snap *s;
	MDB_cursor *cur;
	int started;
	float *vec;                /* aligned copy (LMDB values are 2-byte aligned) */
	uint64_t *rids;            /* captured row ids, in order */
	size_t n, cap;
} bufsrc;

static int bufsrc_next(void *ud, uint64_t *rid, const float **vec, const uint8_t **rec,
                       size_t *rec_len, vl_diag *d)
{
	bufsrc *b = ud;
	vl_snap *s = b->s;
	uint32_t coll = s->c->id, dim = s->schema.dim;
	uint8_t kb[4];
	MDB_val k = vl_key_coll(kb, coll), v;
	int rc = mdb_cursor_get(b->cur, &k, &v, b->started ? MDB_NEXT : MDB_SET_RANGE);
	b->started = 1;
	if (rc == MDB_NOTFOUND || (rc == 0 && !vl_key_in_coll(&k, coll)))
		return 0;
	if (rc)
		return vl_diag_set(d, VL_EIO, VL_NO_OFFSET, "LMDB buffer scan: %s", mdb_strerror(rc));
	if (k.mv_size != 12 || v.mv_size != (size_t)dim * 4)
		return vl_diag_set(d, VL_ECORRUPT, VL_NO_OFFSET, "damaged write buffer record");
	*rid = vl_ld64be((const uint8_t *)k.mv_data + 4);
	memcpy(b->vec, v.mv_data, v.mv_size);
	*vec = b->vec;
	uint8_t rk[12];
	MDB_val rkey = vl_key_rid(rk, coll, *rid), rv;
	if ((rc = mdb_get(s->txn, s->c->st->e->db.rows, &rkey, &rv)))
		return vl_diag_set(d, VL_ECORRUPT, VL_NO_OFFSET, "buffered row %llu has no row record",
		                   (unsigned long long)*rid);
	*rec = rv.mv_data;
	*rec_len = rv.mv_size;
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		uint64_t *p = realloc(b->rids, cap * sizeof *p);
		if (!p)
			return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory");
		b->rids = p;
		b->cap = cap;
	}
	b->rids[b->n++] = *rid;
	return 1;
}

/* Commit: move captured rows out of the buffer, tombstone the ones gone. */
static int flush_commit(vl_collection *c, vl_segbuild *sb, const bufsrc *b, uint64_t gen)
{
	const vl_store *st = c->st;
	MDB_txn *txn;
	int lk, rc;
	if ((rc = vl_wbegin(st, &txn, &lk)))
		return rc;
	vl_cstate cs;
	vl_schema_rec schema = { 0 };
	if ((rc = vl_coll_schema(c, txn, &schema)) || (rc = vl_read_cstate(st, txn, c->id, &cs)))
		goto fail;
	if (cs.manifest_gen != gen) {
		rc = vl_fail(st, VL_EBUSY, "the segments of '%s' changed during the flush", c->name);
		goto fail;
	}
	vl_tombs tb;
	vl_tombs_init(&tb, c->id, sb->seg_id);
	uint64_t moved = 0;
	for (size_t i = 0; i < b->n; i++) {
		uint8_t kb[12];
		MDB_val k = vl_key_rid(kb, c->id, b->rids[i]);
		rc = mdb_del(txn, st->e->db.buf, &k, NULL);
		if (rc == 0)
			moved++;
		else if (rc == MDB_NOTFOUND)
			rc = vl_tombs_set(&tb, (uint32_t)i);
		else
			rc = vl_fail_mdb(st, rc, "removing flushed rows from the buffer");
		if (rc)
			goto fail_tb;
	}
	sb->man.dead_rows = tb.count;
	if ((rc = vl_tombs_write(&tb, st, txn)) || (rc = vl_put_manifest(st, txn, c->id, sb->seg_id, &sb->man)) ||
	    (rc = vl_put_train(st, txn, c->id, sb->new_qstate, sb->new_qstate_len)))
		goto fail_tb;
	cs.buffer_rows -= moved;
	cs.buffer_bytes -= moved * (uint64_t)schema.dim * 4;
	cs.segment_rows += sb->man.nrows;
	cs.dead_rows += tb.count;
	cs.manifest_gen++;
	cs.next_seg = sb->seg_id + 1;
	cs.flush_failures = 0;
	if (sb->new_qstate)
		cs.flags |= VL_CSTATE_TRAINED;
	if ((rc = vl_write_cstate(st, txn, c->id, &cs)))
		goto fail_tb;
	vl_tombs_free(&tb);
	vl_schema_rec_free(&schema);
	return vl_wcommit(st, txn, lk);
fail_tb:
	vl_tombs_free(&tb);
fail:
	vl_schema_rec_free(&schema);
	vl_wabort(txn, lk);
	return rc;
}

int vl_flush(vl_collection *c, const vl_job_opts *opts)
{
	if (!c)
		return VL_EINVAL;
	const vl_store *st = c->st;
	vl_clear_err(st);
	vl_job_opts def = VL_JOB_OPTS_INIT;
	const vl_job_opts *o = opts ? opts : &def;
	int mk = vl_maint_lock(st);
	if (mk < 0)
		return mk;
	vl_snap s;
	bufsrc b = { 0 };
	vl_segbuild sb = { 0 };
	int rc = vl_snap_begin(c, &s);
	if (rc)
		goto out_lock;
	if (s.cs.buffer_rows == 0)
		goto out_snap;
	if (!(b.vec = malloc((size_t)s.schema.dim * 4)) || (rc = mdb_cursor_open(s.txn, st->e->db.buf, &b.cur))) {
		rc = rc ? vl_fail_mdb(st, rc, "opening buffer cursor") : vl_fail(st, VL_ENOMEM, "out of memory");
		goto out_snap;
	}
	b.s = &s;
	vl_segsrc src = { bufsrc_next, &b, s.cs.buffer_rows };
	sb.st = st;
	sb.coll_id = c->id;
	sb.seg_id = s.cs.next_seg;
	sb.schema = &s.schema;
	sb.threads = o->threads;
	sb.seed = o->seed;
	sb.progress = o->progress;
	sb.progress_ud = o->progress_ud;
	if ((rc = vl_read_train(st, s.txn, c->id, &sb.qstate, &sb.qstate_len)))
		goto out_snap;
	vl_diag d;
	vl_diag_clear(&d);
	if ((rc = vl_segbuild_run(&sb, &src, &d)) || (rc = vl_segbuild_install(&sb, &d))) {
		vl_segbuild_discard(&sb);
		rc = vl_fail_diag(st, &d);
		goto out_snap;
	}
	rc = flush_commit(c, &sb, &b, s.cs.manifest_gen);
	if (rc)
		vl_segbuild_discard(&sb);
	else
		vl_segbuild_free(&sb);
out_snap:
	if (b.cur)
		mdb_cursor_close(b.cur);
	free(b.vec);
	free(b.rids);
	vl_snap_end(&s);
out_lock:
	vl_maint_unlock(mk);
	return rc;
}

void vl_note_flush_failure(vl_collection *c)
{
	MDB_txn *txn;
	int lk;
	vl_cstate cs;
	if (vl_wbegin(c->st, &txn, &lk))
		return;
	if (vl_read_cstate(c->st, txn, c->id, &cs) == VL_OK) {
		cs.flush_failures++;
		if (vl_write_cstate(c->st, txn, c->id, &cs) == VL_OK) {
			vl_wcommit(c->st, txn, lk);
			return;
		}
	}
	vl_wabort(txn, lk);
}
