/* snap.c - consistent read snapshots: LMDB read txn + counters + segment set. */
#include <string.h>

#include "internal.h"
#include "segmap.h"

int vl_snap_begin(vl_collection *c, vl_snap *s)
{
	const vl_store *st = c->st;
	memset(s, 0, sizeof *s);
	s->c = c;
	for (int attempt = 0;; attempt++) {
		int rc = mdb_txn_begin(st->e->env, NULL, MDB_RDONLY, &s->txn);
		if (rc)
			return vl_fail_mdb(st, rc, "beginning read transaction");
		if ((rc = vl_read_schema(st, s->txn, c->id, &s->schema)) ||
		    (rc = vl_read_cstate(st, s->txn, c->id, &s->cs))) {
			if (rc == VL_ENOTFOUND)
				vl_fail(st, rc, "collection '%s' was dropped", c->name);
			vl_snap_end(s);
			return rc;
		}
		vl_diag d;
		vl_diag_clear(&d);
		rc = vl_segset_get(c, s->txn, s->cs.manifest_gen, &s->set, &d);
		if (rc == VL_OK)
			return VL_OK;
		vl_snap_end(s);
		s->c = c;
		/* a file named by an old snapshot can vanish after a compaction:
		 * a newer snapshot names the files that replaced it */
		if (rc != VL_ENOTFOUND || attempt + 1 >= VL_RETRIES)
			return vl_fail_diag(st, &d);
	}
}

void vl_snap_end(vl_snap *s)
{
	if (s->set)
		vl_segset_unref(s->set);
	if (s->txn)
		mdb_txn_abort(s->txn);
	vl_schema_rec_free(&s->schema);
	s->set = NULL;
	s->txn = NULL;
}

const uint8_t *vl_tomb_chunk(const vl_store *st, MDB_txn *txn, uint32_t coll, uint32_t seg,
                             uint32_t chunk)
{
	uint8_t kb[12];
	MDB_val k = vl_key_tomb(kb, coll, seg, chunk), v;
	if (mdb_get(txn, st->e->db.tomb, &k, &v) != 0 || v.mv_size != VL_TOMB_CHUNK_BYTES)
		return NULL;
	return v.mv_data;
}
