/* maint.c - record helpers for jobs that install or retire segments. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "maint.h"

void vl_tombs_init(vl_tombs *t, uint32_t coll, uint32_t seg)
{
	memset(t, 0, sizeof *t);
	t->coll = coll;
	t->seg = seg;
}

int vl_tombs_set(vl_tombs *t, uint32_t row)
{
	uint32_t ch = row / VL_TOMB_CHUNK_ROWS, bit = row % VL_TOMB_CHUNK_ROWS;
	if (ch >= t->nchunks) {
		uint8_t **p = realloc(t->chunks, (ch + 1) * sizeof *p);
		if (!p)
			return VL_ENOMEM;
		memset(p + t->nchunks, 0, (ch + 1 - t->nchunks) * sizeof *p);
		t->chunks = p;
		t->nchunks = ch + 1;
	}
	if (!t->chunks[ch] && !(t->chunks[ch] = calloc(1, VL_TOMB_CHUNK_BYTES)))
		return VL_ENOMEM;
	uint8_t *b = &t->chunks[ch][bit >> 3];
	if (!(*b & (1u << (bit & 7)))) {
		*b |= (uint8_t)(1u << (bit & 7));
		t->count++;
	}
	return VL_OK;
}

int vl_tombs_write(const vl_tombs *t, const vl_store *st, MDB_txn *txn)
{
	for (uint32_t i = 0; i < t->nchunks; i++) {
		if (!t->chunks[i])
			continue;
		uint8_t kb[12];
		MDB_val k = vl_key_tomb(kb, t->coll, t->seg, i), v = { VL_TOMB_CHUNK_BYTES, t->chunks[i] };
		int rc = mdb_put(txn, st->e->db.tomb, &k, &v, 0);
		if (rc)
			return vl_fail_mdb(st, rc, "writing tombstones");
	}
	return VL_OK;
}

void vl_tombs_free(vl_tombs *t)
{
	for (uint32_t i = 0; i < t->nchunks; i++)
		free(t->chunks[i]);
	free(t->chunks);
	t->chunks = NULL;
	t->nchunks = 0;
}

int vl_put_manifest(const vl_store *st, MDB_txn *txn, uint32_t coll, uint32_t seg, const vl_manifest *m)
{
	uint8_t kb[8], vb[VL_MANIFEST_BYTES];
	vl_manifest_encode(m, vb);
	MDB_val k = vl_key_seg(kb, coll, seg), v = { sizeof vb, vb };
	int rc = mdb_put(txn, st->e->db.segs, &k, &v, 0);
	return rc ? vl_fail_mdb(st, rc, "writing segment manifest") : VL_OK;
}

int vl_put_train(const vl_store *st, MDB_txn *txn, uint32_t coll, const uint8_t *state, size_t len)
{
	if (!state)
		return VL_OK;
	uint8_t kb[4];
	MDB_val k = vl_key_coll(kb, coll), v = { len, (void *)state };
	int rc = mdb_put(txn, st->e->db.train, &k, &v, 0);
	return rc ? vl_fail_mdb(st, rc, "writing trained state") : VL_OK;
}

int vl_del_segment_records(const vl_store *st, MDB_txn *txn, uint32_t coll, uint32_t seg)
{
	uint8_t kb[12];
	MDB_val k = vl_key_seg(kb, coll, seg);
	int rc = mdb_del(txn, st->e->db.segs, &k, NULL);
	if (rc && rc != MDB_NOTFOUND)
		return vl_fail_mdb(st, rc, "deleting segment manifest");
	MDB_cursor *cur;
	if ((rc = mdb_cursor_open(txn, st->e->db.tomb, &cur)))
		return vl_fail_mdb(st, rc, "opening cursor");
	MDB_val v;
	k = vl_key_tomb(kb, coll, seg, 0);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		uint8_t pre[8];
		vl_key_seg(pre, coll, seg);
		if (k.mv_size != 12 || memcmp(k.mv_data, pre, 8) != 0)
			break;
		if ((rc = mdb_cursor_del(cur, 0)))
			break;
	}
	mdb_cursor_close(cur);
	if (rc && rc != MDB_NOTFOUND)
		return vl_fail_mdb(st, rc, "deleting tombstones");
	return VL_OK;
}

void vl_unlink_segments(const vl_store *st, uint32_t coll, const uint32_t *segs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char rel[64];
		vl_seg_relpath(rel, sizeof rel, coll, segs[i]);
		unlinkat(st->e->dirfd, rel, 0);
	}
	if (n)
		vl_fsync_dir(st, "seg");
}
