/*
 * txn.c - write transactions: upsert, delete, commit, abort.
 *
 * A write updates, in one LMDB transaction: keys (key -> row id), rows (row id
 * -> key + attributes), buf (row id -> vector, the write buffer), and for a
 * replaced or deleted row that already sits in a segment, a tombstone bit
 * plus the counters in cstate and the segment's manifest entry. Every row
 * version gets a fresh row id, so tombstones never need to know about keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segmap.h"
#include "txn.h"
#include "params.h"
#include "rowenc.h"
#include "values.h"
#include "vl_bytes.h"

static void tcoll_free(vl_tcoll *tc)
{
	vl_schema_rec_free(&tc->schema);
	if (tc->set)
		vl_segset_unref(tc->set);
	memset(tc, 0, sizeof *tc);
}

static void txn_free(vl_txn *t)
{
	for (size_t i = 0; i < t->ncolls; i++)
		tcoll_free(&t->colls[i]);
	free(t->colls);
	free(t->keybuf);
	free(t);
}

int vl_txn_begin(vl_store *st, vl_txn **out)
{
	vl_clear_err(st);
	if (!st || !out)
		return VL_EINVAL;
	vl_txn *t = calloc(1, sizeof *t);
	if (!t || !(t->keybuf = malloc(4 + VL_KEY_MAX))) {
		free(t);
		return vl_fail(st, VL_ENOMEM, "out of memory");
	}
	t->st = st;
	t->lockfd = -1;
	int rc = vl_wbegin(st, &t->txn, &t->lockfd);
	if (rc) {
		txn_free(t);
		return rc;
	}
	*out = t;
	return VL_OK;
}

int vl_txn_coll(vl_txn *t, vl_collection *c, vl_tcoll **out)
{
	for (size_t i = 0; i < t->ncolls; i++)
		if (t->colls[i].id == c->id) {
			*out = &t->colls[i];
			return VL_OK;
		}
	if (c->st->e != t->st->e)
		return vl_fail(t->st, VL_EINVAL, "collection '%s' belongs to another store", c->name);
	vl_tcoll *arr = realloc(t->colls, (t->ncolls + 1) * sizeof *arr);
	if (!arr)
		return vl_fail(t->st, VL_ENOMEM, "out of memory");
	t->colls = arr;
	vl_tcoll *tc = &arr[t->ncolls];
	memset(tc, 0, sizeof *tc);
	tc->id = c->id;
	tc->c = c;
	int rc;
	vl_diag d;
	vl_diag_clear(&d);
	if ((rc = vl_coll_schema(c, t->txn, &tc->schema)) || (rc = vl_read_cstate(t->st, t->txn, c->id, &tc->cs)))
		goto fail;
	if ((rc = vl_segset_get(c, t->txn, tc->cs.manifest_gen, &tc->set, &d))) {
		vl_fail_diag(t->st, &d);
		goto fail;
	}
	t->ncolls++;
	*out = tc;
	return VL_OK;
fail:
	tcoll_free(tc);
	return rc;
}

/* Mark row `row` of segment `sm` deleted. */
static int tombstone(vl_txn *t, vl_tcoll *tc, const vl_segmap *sm, uint32_t row)
{
	const vl_store *st = t->st;
	uint8_t kb[12], bm[VL_TOMB_CHUNK_BYTES];
	MDB_val k = vl_key_tomb(kb, tc->id, sm->seg_id, row / VL_TOMB_CHUNK_ROWS), v;
	int rc = mdb_get(t->txn, st->e->db.tomb, &k, &v);
	if (rc == 0 && v.mv_size == sizeof bm)
		memcpy(bm, v.mv_data, sizeof bm);
	else if (rc == MDB_NOTFOUND)
		memset(bm, 0, sizeof bm);
	else
		return rc ? vl_fail_mdb(st, rc, "reading tombstones")
		          : vl_fail(st, VL_ECORRUPT, "damaged tombstone record of %s", sm->relpath);
	uint32_t bit = row % VL_TOMB_CHUNK_ROWS;
	if (vl_bit(bm, bit))
		return VL_OK; /* already dead: nothing to count */
	bm[bit >> 3] |= (uint8_t)(1u << (bit & 7));
	v = (MDB_val){ sizeof bm, bm };
	if ((rc = mdb_put(t->txn, st->e->db.tomb, &k, &v, 0)))
		return vl_fail_mdb(st, rc, "writing tombstone");
	uint8_t sk[8], mb[VL_MANIFEST_BYTES];
	MDB_val mk = vl_key_seg(sk, tc->id, sm->seg_id), mv;
	vl_manifest m;
	vl_diag d;
	vl_diag_clear(&d);
	if ((rc = mdb_get(t->txn, st->e->db.segs, &mk, &mv)))
		return vl_fail_mdb(st, rc, "reading segment manifest");
	if (vl_manifest_decode(mv.mv_data, mv.mv_size, &m, &d))
		return vl_fail_diag(st, &d);
	m.dead_rows++;
	vl_manifest_encode(&m, mb);
	mv = (MDB_val){ sizeof mb, mb };
	if ((rc = mdb_put(t->txn, st->e->db.segs, &mk, &mv, 0)))
		return vl_fail_mdb(st, rc, "writing segment manifest");
	tc->cs.dead_rows++;
	return VL_OK;
}

int vl_txn_remove_rid(vl_txn *t, vl_tcoll *tc, uint64_t rid)
{
	const vl_store *st = t->st;
	uint8_t kb[12];
	MDB_val k = vl_key_rid(kb, tc->id, rid);
	int rc = mdb_del(t->txn, st->e->db.buf, &k, NULL);
	if (rc == 0) {
		tc->cs.buffer_rows--;
		tc->cs.buffer_bytes -= (uint64_t)tc->schema.dim * 4;
	} else if (rc == MDB_NOTFOUND) {
		uint32_t row;
		int s = vl_segset_find_rid(tc->set, rid, &row);
		/* not in a segment either: a row of the bulk load in progress,
		 * which skips ids whose row record is gone */
		if (s >= 0 && (rc = tombstone(t, tc, tc->set->segs[s], row)))
			return rc;
	} else {
		return vl_fail_mdb(st, rc, "deleting from the write buffer");
	}
	rc = mdb_del(t->txn, st->e->db.rows, &k, NULL);
	if (rc && rc != MDB_NOTFOUND)
		return vl_fail_mdb(st, rc, "deleting row record");
	tc->cs.live_rows--;
	return VL_OK;
}

/* The row id a key maps to, 0 when absent. */
static int key_rid(vl_txn *t, vl_tcoll *tc, const void *key, size_t klen, uint64_t *rid)
{
	MDB_val k = vl_key_user(t->keybuf, tc->id, key, klen), v;
	int rc = mdb_get(t->txn, t->st->e->db.keys, &k, &v);
	*rid = 0;
	if (rc == MDB_NOTFOUND)
		return VL_OK;
	if (rc)
		return vl_fail_mdb(t->st, rc, "reading key");
	if (v.mv_size != 8)
		return vl_fail(t->st, VL_ECORRUPT, "damaged key record");
	*rid = vl_ld64(v.mv_data);
	return VL_OK;
}

static int check_row(vl_txn *t, vl_tcoll *tc, const vl_row *r, size_t i, char *desc, size_t dlen)
{
	if (!r->key || r->key_len == 0)
		return vl_fail(t->st, VL_EKEY, "row %zu: empty key", i);
	if (r->key_len > VL_KEY_MAX)
		return vl_fail(t->st, VL_EKEY, "row %zu: key of %zu bytes exceeds %u", i, r->key_len, VL_KEY_MAX);
	char kd[128];
	vl_key_desc(kd, sizeof kd, r->key, r->key_len);
	snprintf(desc, dlen, "row %zu (key %s)", i, kd);
	if (r->dim != tc->schema.dim)
		return vl_fail(t->st, VL_EDIM, "%s: vector has %u dimensions; collection '%s' has %u", desc,
		               r->dim, tc->c->name, tc->schema.dim);
	return vl_check_vector(t->st, r->vector, r->dim, desc);
}

/* Write one validated row whose record is already encoded. */
static int upsert_one(vl_txn *t, vl_tcoll *tc, const vl_row *r, const uint8_t *rec, size_t rec_len)
{
	const vl_store *st = t->st;
	uint64_t old;
	int rc;
	if ((rc = key_rid(t, tc, r->key, r->key_len, &old)) || (old && (rc = vl_txn_remove_rid(t, tc, old))))
		return rc;
	uint64_t rid = tc->cs.next_rid++;
	uint8_t kb[12], rb[8];
	vl_st64(rb, rid);
	MDB_val kk = vl_key_user(t->keybuf, tc->id, r->key, r->key_len), kv = { 8, rb };
	MDB_val rk = vl_key_rid(kb, tc->id, rid), rv = { rec_len, (void *)(uintptr_t)rec };
	if ((rc = mdb_put(t->txn, st->e->db.keys, &kk, &kv, 0)) ||
	    (rc = mdb_put(t->txn, st->e->db.rows, &rk, &rv, 0)))
		return vl_fail_mdb(st, rc, "writing row");
	if (t->bulk) {
		if ((rc = vl_bulk_spill(t->bulk, rid, r->vector)))
			return rc;
	} else {
		MDB_val bv = { (size_t)r->dim * 4, (void *)r->vector };
		if ((rc = mdb_put(t->txn, st->e->db.buf, &rk, &bv, 0)))
			return vl_fail_mdb(st, rc, "writing vector");
		tc->cs.buffer_rows++;
		tc->cs.buffer_bytes += bv.mv_size;
	}
	tc->cs.live_rows++;
	return VL_OK;
}

/*
 * A call either applies all its rows or none (VL_EDIM, VL_ENAN, VL_EKEY,
 * VL_ESCHEMA...): every row is validated before the first write. A failure
 * while writing (LMDB full, I/O error, out of memory) marks the transaction
 * broken: it can only be aborted. No nested LMDB transactions: they cannot
 * spill dirty pages, which caps a transaction at ~512 MiB of changes
 * (MDB_TXN_FULL); a top-level transaction spills and has no such cap.
 */
static int apply(vl_txn *t, vl_tcoll *tc, int (*check)(vl_txn *, vl_tcoll *, const void *),
                 int (*write)(vl_txn *, vl_tcoll *, const void *), const void *arg)
{
	if (t->broken)
		return vl_fail(t->st, VL_ETXN, "the transaction failed earlier; abort it");
	int rc = check(t, tc, arg);
	if (rc)
		return rc;
	tc->dirty = 1;
	if ((rc = write(t, tc, arg)))
		t->broken = 1;
	return rc;
}

typedef struct upsert_arg {
	const vl_row *rows;
	size_t n;
} upsert_arg;

static int with_vals(vl_txn *t, const upsert_arg *a, vl_rowval **vals)
{
	size_t maxv = 0;
	for (size_t i = 0; i < a->n; i++)
		if (a->rows[i].nvalues > maxv)
			maxv = a->rows[i].nvalues;
	if (maxv > VL_FIELDS_MAX)
		return vl_fail(t->st, VL_ELIMIT, "a row has more than %u values", VL_FIELDS_MAX);
	if (!(*vals = malloc((maxv ? maxv : 1) * sizeof **vals)))
		return vl_fail(t->st, VL_ENOMEM, "out of memory");
	return VL_OK;
}

static int upsert_check(vl_txn *t, vl_tcoll *tc, const void *arg)
{
	const upsert_arg *a = arg;
	vl_rowval *vals = NULL;
	int rc = with_vals(t, a, &vals);
	for (size_t i = 0; i < a->n && rc == VL_OK; i++) {
		const vl_row *r = &a->rows[i];
		char desc[200];
		if ((rc = check_row(t, tc, r, i, desc, sizeof desc)) == VL_OK)
			rc = vl_values_to_row(t->st, &tc->schema, r->values, r->nvalues, vals, desc);
	}
	free(vals);
	return rc;
}

/* Records are encoded a chunk at a time (in parallel: rowenc.c), then
 * written in row order; a chunk bounds the encoded bytes held at once. */
#define ENCODE_CHUNK 1024

static int upsert_write(vl_txn *t, vl_tcoll *tc, const void *arg)
{
	const upsert_arg *a = arg;
	size_t cap = a->n < ENCODE_CHUNK ? a->n : ENCODE_CHUNK;
	vl_rowenc *enc = calloc(cap ? cap : 1, sizeof *enc);
	if (!enc)
		return vl_fail(t->st, VL_ENOMEM, "out of memory");
	int rc = VL_OK;
	for (size_t i0 = 0; i0 < a->n && rc == VL_OK; i0 += cap) {
		size_t m = a->n - i0 < cap ? a->n - i0 : cap;
		rc = vl_rowenc_batch(t->st, &tc->schema, a->rows + i0, m, enc);
		for (size_t i = 0; i < m && rc == VL_OK; i++)
			rc = upsert_one(t, tc, &a->rows[i0 + i], enc[i].rec, enc[i].len);
		for (size_t i = 0; i < m; i++) {
			free(enc[i].rec);
			enc[i].rec = NULL;
		}
	}
	free(enc);
	return rc;
}

int vl_upsert(vl_txn *t, vl_collection *c, const vl_row *rows, size_t n)
{
	if (!t || !c || (n && !rows))
		return t ? vl_fail(t->st, VL_EINVAL, "vl_upsert: NULL argument") : VL_EINVAL;
	vl_clear_err(t->st);
	vl_tcoll *tc;
	int rc = vl_txn_coll(t, c, &tc);
	if (rc)
		return rc;
	upsert_arg a = { rows, n };
	return apply(t, tc, upsert_check, upsert_write, &a);
}

typedef struct delete_arg {
	const void *const *keys;
	const size_t *lens;
	size_t n, deleted;
} delete_arg;

static int delete_check(vl_txn *t, vl_tcoll *tc, const void *arg)
{
	const delete_arg *a = arg;
	for (size_t i = 0; i < a->n; i++)
		if (!a->keys[i] || !a->lens[i] || a->lens[i] > VL_KEY_MAX)
			return vl_fail(t->st, VL_EKEY, "key %zu is empty or longer than %u bytes", i, VL_KEY_MAX);
	return VL_OK;
}

static int delete_write(vl_txn *t, vl_tcoll *tc, const void *arg)
{
	delete_arg *a = (delete_arg *)(uintptr_t)arg;
	a->deleted = 0;
	for (size_t i = 0; i < a->n; i++) {
		uint64_t rid;
		int rc = key_rid(t, tc, a->keys[i], a->lens[i], &rid);
		if (rc)
			return rc;
		if (!rid)
			continue;
		if ((rc = vl_txn_remove_rid(t, tc, rid)))
			return rc;
		MDB_val k = vl_key_user(t->keybuf, tc->id, a->keys[i], a->lens[i]);
		if ((rc = mdb_del(t->txn, t->st->e->db.keys, &k, NULL)))
			return vl_fail_mdb(t->st, rc, "deleting key");
		a->deleted++;
	}
	return VL_OK;
}

int vl_delete(vl_txn *t, vl_collection *c, const void *const *keys, const size_t *key_lens,
              size_t n, size_t *deleted)
{
	if (!t || !c || (n && (!keys || !key_lens)))
		return t ? vl_fail(t->st, VL_EINVAL, "vl_delete: NULL argument") : VL_EINVAL;
	vl_clear_err(t->st);
	vl_tcoll *tc;
	int rc = vl_txn_coll(t, c, &tc);
	if (rc)
		return rc;
	delete_arg a = { keys, key_lens, n, 0 };
	rc = apply(t, tc, delete_check, delete_write, &a);
	if (deleted)
		*deleted = rc ? 0 : a.deleted;
	return rc;
}

int vl_txn_flush_counters(vl_txn *t)
{
	for (size_t i = 0; i < t->ncolls; i++) {
		vl_tcoll *tc = &t->colls[i];
		if (!tc->dirty)
			continue;
		int rc = vl_write_cstate(t->st, t->txn, tc->id, &tc->cs);
		if (rc)
			return rc;
	}
	return VL_OK;
}

/* After a commit: flush full write buffers, compact segments past the dead-row
 * ratio. Failures do not undo the commit; they are left in vl_errmsg. */
static void after_commit(vl_store *st, vl_collection **colls, vl_cstate *cs, vl_schema_rec *schemas,
                         size_t n)
{
	for (size_t i = 0; i < n; i++) {
		vl_policy p;
		vl_policy_of(&schemas[i], &p);
		int want_flush = (p.flush_rows && cs[i].buffer_rows >= p.flush_rows) ||
		                 (p.flush_bytes && cs[i].buffer_bytes >= p.flush_bytes);
		int want_compact = p.compact_ratio > 0 && cs[i].segment_rows &&
		                   (double)cs[i].dead_rows > p.compact_ratio * (double)cs[i].segment_rows;
		int rc = VL_OK;
		if (want_flush)
			rc = vl_flush(colls[i], NULL);
		if (rc == VL_OK && want_compact)
			rc = vl_compact(colls[i], NULL);
		if (rc && rc != VL_EBUSY) {
			char msg[900];
			snprintf(msg, sizeof msg, "%s", vl_errmsg(st));
			vl_note_flush_failure(colls[i]);
			vl_fail(st, rc, "committed; automatic %s of '%s' failed (retried at the next commit): %s",
			        want_flush ? "flush" : "compaction", colls[i]->name, msg);
		}
	}
}

int vl_txn_commit(vl_txn *t)
{
	if (!t)
		return VL_EINVAL;
	vl_store *st = t->st;
	vl_clear_err(st);
	int rc;
	if (t->broken) {
		vl_txn_abort(t);
		return vl_fail(st, VL_ETXN, "the transaction failed earlier and was aborted");
	}
	if ((rc = vl_txn_flush_counters(t))) {
		vl_txn_abort(t);
		return rc;
	}
	size_t n = t->no_jobs ? 0 : t->ncolls;
	vl_collection **colls = calloc(n + 1, sizeof *colls);
	vl_cstate *cs = calloc(n + 1, sizeof *cs);
	vl_schema_rec *schemas = calloc(n + 1, sizeof *schemas);
	if (!colls || !cs || !schemas) {
		free(colls);
		free(cs);
		free(schemas);
		vl_txn_abort(t);
		return vl_fail(st, VL_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		colls[i] = t->colls[i].c;
		cs[i] = t->colls[i].cs;
		schemas[i] = t->colls[i].schema; /* moved: freed below */
		memset(&t->colls[i].schema, 0, sizeof t->colls[i].schema);
	}
	rc = vl_wcommit(st, t->txn, t->lockfd);
	t->txn = NULL;
	t->lockfd = -1;
	txn_free(t);
	if (rc == VL_OK)
		after_commit(st, colls, cs, schemas, n);
	for (size_t i = 0; i < n; i++)
		vl_schema_rec_free(&schemas[i]);
	free(colls);
	free(cs);
	free(schemas);
	return rc;
}

void vl_txn_abort(vl_txn *t)
{
	if (!t)
		return;
	vl_wabort(t->txn, t->lockfd);
	txn_free(t);
}

int vl_put(vl_collection *c, const vl_row *row)
{
	if (!c)
		return VL_EINVAL;
	vl_txn *t;
	int rc = vl_txn_begin(c->st, &t);
	if (rc)
		return rc;
	if ((rc = vl_upsert(t, c, row, 1))) {
		vl_txn_abort(t);
		return rc;
	}
	return vl_txn_commit(t);
}
