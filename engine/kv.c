/* kv.c - LMDB key encodings and per-collection record access (SPEC.md "LMDB databases"). */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "vl_bytes.h"

MDB_val vl_key_coll(uint8_t buf[4], uint32_t coll)
{
	vl_st32be(buf, coll);
	return (MDB_val){ 4, buf };
}

MDB_val vl_key_rid(uint8_t buf[12], uint32_t coll, uint64_t rid)
{
	vl_st32be(buf, coll);
	vl_st64be(buf + 4, rid);
	return (MDB_val){ 12, buf };
}

MDB_val vl_key_seg(uint8_t buf[8], uint32_t coll, uint32_t seg)
{
	vl_st32be(buf, coll);
	vl_st32be(buf + 4, seg);
	return (MDB_val){ 8, buf };
}

MDB_val vl_key_tomb(uint8_t buf[12], uint32_t coll, uint32_t seg, uint32_t chunk)
{
	vl_st32be(buf, coll);
	vl_st32be(buf + 4, seg);
	vl_st32be(buf + 8, chunk);
	return (MDB_val){ 12, buf };
}

MDB_val vl_key_user(uint8_t *buf, uint32_t coll, const void *key, size_t len)
{
	vl_st32be(buf, coll);
	memcpy(buf + 4, key, len);
	return (MDB_val){ 4 + len, buf };
}

int vl_key_in_coll(const MDB_val *k, uint32_t coll)
{
	return k->mv_size >= 4 && vl_ld32be(k->mv_data) == coll;
}

int vl_read_schema(const vl_store *st, MDB_txn *txn, uint32_t coll, vl_schema_rec *s)
{
	uint8_t kb[4];
	MDB_val k = vl_key_coll(kb, coll), v;
	int rc = mdb_get(txn, st->e->db.schema, &k, &v);
	if (rc == MDB_NOTFOUND)
		return vl_fail(st, VL_ENOTFOUND, "collection %u no longer exists", coll);
	if (rc)
		return vl_fail_mdb(st, rc, "reading schema");
	vl_diag d;
	vl_diag_clear(&d);
	rc = vl_schema_decode(v.mv_data, v.mv_size, s, &d);
	if (rc)
		return d.code ? vl_fail_diag(st, &d) : vl_fail(st, rc, "decoding schema");
	return VL_OK;
}

int vl_write_schema(const vl_store *st, MDB_txn *txn, uint32_t coll, const vl_schema_rec *s)
{
	uint8_t kb[4], *buf;
	size_t len;
	if (vl_schema_encode(s, &buf, &len))
		return vl_fail(st, VL_ENOMEM, "out of memory");
	MDB_val k = vl_key_coll(kb, coll), v = { len, buf };
	int rc = mdb_put(txn, st->e->db.schema, &k, &v, 0);
	free(buf);
	return rc ? vl_fail_mdb(st, rc, "writing schema") : VL_OK;
}

int vl_read_cstate(const vl_store *st, MDB_txn *txn, uint32_t coll, vl_cstate *c)
{
	uint8_t kb[4];
	MDB_val k = vl_key_coll(kb, coll), v;
	int rc = mdb_get(txn, st->e->db.cstate, &k, &v);
	if (rc == MDB_NOTFOUND)
		return vl_fail(st, VL_ENOTFOUND, "collection %u no longer exists", coll);
	if (rc)
		return vl_fail_mdb(st, rc, "reading collection state");
	vl_diag d;
	vl_diag_clear(&d);
	if (vl_cstate_decode(v.mv_data, v.mv_size, c, &d))
		return vl_fail_diag(st, &d);
	return VL_OK;
}

int vl_write_cstate(const vl_store *st, MDB_txn *txn, uint32_t coll, const vl_cstate *c)
{
	uint8_t kb[4], buf[VL_CSTATE_BYTES];
	vl_cstate_encode(c, buf);
	MDB_val k = vl_key_coll(kb, coll), v = { sizeof buf, buf };
	int rc = mdb_put(txn, st->e->db.cstate, &k, &v, 0);
	return rc ? vl_fail_mdb(st, rc, "writing collection state") : VL_OK;
}

int vl_read_train(const vl_store *st, MDB_txn *txn, uint32_t coll, const uint8_t **state, size_t *len)
{
	uint8_t kb[4];
	MDB_val k = vl_key_coll(kb, coll), v;
	int rc = mdb_get(txn, st->e->db.train, &k, &v);
	*state = NULL;
	*len = 0;
	if (rc == MDB_NOTFOUND)
		return VL_OK;
	if (rc)
		return vl_fail_mdb(st, rc, "reading trained state");
	*state = v.mv_data;
	*len = v.mv_size;
	return VL_OK;
}

int vl_del_coll_range(const vl_store *st, MDB_txn *txn, MDB_dbi db, uint32_t coll)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, db, &cur);
	if (rc)
		return vl_fail_mdb(st, rc, "opening cursor");
	uint8_t kb[4];
	MDB_val k = vl_key_coll(kb, coll), v;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && vl_key_in_coll(&k, coll)) {
		if ((rc = mdb_cursor_del(cur, 0)))
			break;
		/* after a delete LMDB's MDB_NEXT yields the item that followed */
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc && rc != MDB_NOTFOUND)
		return vl_fail_mdb(st, rc, "deleting collection records");
	return VL_OK;
}
