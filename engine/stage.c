/*
 * stage.c - collections being filled by a staged bulk load
 * (vl_bulk_begin_new): created without a catalog entry, so no name reaches
 * them, filled in several commits (each bounded, so the writer's memory
 * does not grow with the load), and named by the load's last commit.
 *
 * Meta record "stage" + u32 BE id -> the name the load will publish. A
 * crash leaves the record; the next writable open, holding maint.lock
 * (which every bulk load holds throughout, so no live load is affected),
 * deletes the collection's records; its segment files are then seg/
 * orphans and go with them.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "vl_bytes.h"

#define STAGE_PREFIX "stage"
#define STAGE_KEY_LEN 9

MDB_val vl_stage_key(uint8_t buf[9], uint32_t id)
{
	memcpy(buf, STAGE_PREFIX, 5);
	vl_st32be(buf + 5, id);
	return (MDB_val){ STAGE_KEY_LEN, buf };
}

int vl_stage_publish(const vl_store *st, MDB_txn *txn, const char *name, uint32_t id)
{
	uint8_t kb[STAGE_KEY_LEN], idb[4];
	MDB_val sk = vl_stage_key(kb, id);
	int rc = mdb_del(txn, st->e->db.meta, &sk, NULL);
	if (rc)
		return vl_fail_mdb(st, rc, "removing the bulk load's stage record");
	vl_st32(idb, id);
	MDB_val k = { strlen(name), (void *)name }, v = { 4, idb };
	rc = mdb_put(txn, st->e->db.colls, &k, &v, MDB_NOOVERWRITE);
	if (rc == MDB_KEYEXIST)
		return vl_fail(st, VL_EEXIST,
		               "collection '%s' was created by someone else during the bulk load", name);
	return rc ? vl_fail_mdb(st, rc, "writing catalog") : VL_OK;
}

int vl_stage_drop(const vl_store *st, uint32_t id)
{
	MDB_txn *txn;
	int lk, rc;
	if ((rc = vl_wbegin(st, &txn, &lk)))
		return rc;
	uint8_t kb[STAGE_KEY_LEN];
	MDB_val sk = vl_stage_key(kb, id);
	rc = mdb_del(txn, st->e->db.meta, &sk, NULL);
	if (rc && rc != MDB_NOTFOUND) {
		vl_wabort(txn, lk);
		return vl_fail_mdb(st, rc, "removing a stage record");
	}
	if ((rc = vl_coll_del_records(st, txn, id))) {
		vl_wabort(txn, lk);
		return rc;
	}
	return vl_wcommit(st, txn, lk);
}

void vl_stage_drop_all(const vl_store *st)
{
	for (;;) {
		MDB_txn *txn;
		MDB_cursor *cur;
		if (mdb_txn_begin(st->e->env, NULL, MDB_RDONLY, &txn))
			return;
		if (mdb_cursor_open(txn, st->e->db.meta, &cur)) {
			mdb_txn_abort(txn);
			return;
		}
		uint8_t kb[STAGE_KEY_LEN];
		MDB_val k = vl_stage_key(kb, 0), v;
		int found = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE) == 0 &&
		            k.mv_size == STAGE_KEY_LEN && memcmp(k.mv_data, STAGE_PREFIX, 5) == 0;
		uint32_t id = found ? vl_ld32be((const uint8_t *)k.mv_data + 5) : 0;
		mdb_cursor_close(cur);
		mdb_txn_abort(txn);
		/* one at a time; stop on the first failure (read-only media, a
		 * full disk): the records stay hidden and are tried again */
		if (!found || vl_stage_drop(st, id) != VL_OK)
			return;
	}
}

void vl_stage_report(const vl_store *st, MDB_txn *txn, vl_report_fn report, void *ud)
{
	MDB_cursor *cur;
	if (!report || mdb_cursor_open(txn, st->e->db.meta, &cur))
		return;
	uint8_t kb[STAGE_KEY_LEN];
	MDB_val k = vl_stage_key(kb, 0), v;
	for (int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	     rc == 0 && k.mv_size == STAGE_KEY_LEN && memcmp(k.mv_data, STAGE_PREFIX, 5) == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		char msg[512];
		snprintf(msg, sizeof msg,
		         "note: a bulk load into new collection '%.*s' (id %u) is running or was "
		         "interrupted; it is not visible, and the next writable open removes an "
		         "interrupted one",
		         (int)(v.mv_size < 200 ? v.mv_size : 200), (const char *)v.mv_data,
		         vl_ld32be((const uint8_t *)k.mv_data + 5));
		report(ud, msg);
	}
	mdb_cursor_close(cur);
}
