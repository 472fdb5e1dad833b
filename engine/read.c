/* read.c - get, count and the export cursor. */
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "read.h"
#include "segmap.h"
#include "values.h"
#include "vl_bytes.h"

int vl_snap_key_rid(vl_snap *s, const void *key, size_t klen, uint64_t *rid)
{
	const vl_store *st = s->c->st;
	uint8_t kb[4 + VL_KEY_MAX];
	*rid = 0;
	if (!key || klen == 0 || klen > VL_KEY_MAX)
		return vl_fail(st, VL_EKEY, "key is empty or longer than %u bytes", VL_KEY_MAX);
	MDB_val k = vl_key_user(kb, s->c->id, key, klen), v;
	int rc = mdb_get(s->txn, st->e->db.keys, &k, &v);
	if (rc == MDB_NOTFOUND)
		return VL_OK;
	if (rc)
		return vl_fail_mdb(st, rc, "reading key");
	if (v.mv_size != 8)
		return vl_fail(st, VL_ECORRUPT, "damaged key record");
	*rid = vl_ld64(v.mv_data);
	return VL_OK;
}

int vl_snap_rowrec(vl_snap *s, uint64_t rid, const uint8_t **rec, size_t *len)
{
	const vl_store *st = s->c->st;
	uint8_t kb[12];
	MDB_val k = vl_key_rid(kb, s->c->id, rid), v;
	int rc = mdb_get(s->txn, st->e->db.rows, &k, &v);
	if (rc)
		return rc == MDB_NOTFOUND ? vl_fail(st, VL_ECORRUPT, "row %llu has no record", (unsigned long long)rid)
		                          : vl_fail_mdb(st, rc, "reading row");
	*rec = v.mv_data;
	*len = v.mv_size;
	return VL_OK;
}

int vl_snap_vector(vl_snap *s, uint64_t rid, float *out)
{
	const vl_store *st = s->c->st;
	uint32_t dim = s->schema.dim;
	uint8_t kb[12];
	MDB_val k = vl_key_rid(kb, s->c->id, rid), v;
	int rc = mdb_get(s->txn, st->e->db.buf, &k, &v);
	if (rc == 0) {
		if (v.mv_size != (size_t)dim * 4)
			return vl_fail(st, VL_ECORRUPT, "buffered vector of row %llu has %zu bytes",
			               (unsigned long long)rid, v.mv_size);
		memcpy(out, v.mv_data, v.mv_size);
		return VL_OK;
	}
	if (rc != MDB_NOTFOUND)
		return vl_fail_mdb(st, rc, "reading buffered vector");
	uint32_t row;
	int si = vl_segset_find_rid(s->set, rid, &row);
	if (si < 0)
		return vl_fail(st, VL_ECORRUPT, "row %llu is in neither the buffer nor a segment",
		               (unsigned long long)rid);
	memcpy(out, s->set->segs[si]->vectors + (size_t)row * dim, (size_t)dim * 4);
	return VL_OK;
}

int vl_record_build(const vl_store *st, const vl_schema_rec *schema, const uint8_t *rec,
                    size_t rec_len, const float *vec, vl_rowbuf *rb, void **buf, size_t *cap)
{
	vl_rowrec r;
	vl_diag d;
	vl_diag_clear(&d);
	if (vl_rowrec_decode(rec, rec_len, &r, rb, 1, &d))
		return vl_fail_diag(st, &d);
	uint32_t nv;
	size_t vbytes = vl_values_size(schema, &r, NULL, 0, &nv);
	size_t need = sizeof(vl_record) + (size_t)schema->dim * 4 + vbytes + r.key_len + 1 + 16;
	if (need > *cap) {
		void *p = realloc(*buf, need);
		if (!p)
			return vl_fail(st, VL_ENOMEM, "out of memory");
		*buf = p;
		*cap = need;
	}
	/* layout: record | vector | values | strings (key, names, data) */
	vl_record *out = *buf;
	float *v = (float *)(void *)(out + 1);
	memcpy(v, vec, (size_t)schema->dim * 4);
	vl_value *vals = (vl_value *)(void *)(v + schema->dim + (schema->dim & 1));
	char *pool = (char *)(vals + nv);
	memcpy(pool, r.key, r.key_len);
	pool[r.key_len] = 0;
	out->key = pool;
	out->key_len = r.key_len;
	pool += r.key_len + 1;
	vl_values_fill(schema, &r, NULL, 0, vals, &pool);
	out->vector = v;
	out->dim = schema->dim;
	out->nvalues = nv;
	out->values = vals;
	return VL_OK;
}

int vl_get(vl_collection *c, const void *key, size_t key_len, vl_record **out)
{
	if (!c || !out)
		return VL_EINVAL;
	vl_clear_err(c->st);
	*out = NULL;
	vl_snap s;
	int rc = vl_snap_begin(c, &s);
	if (rc)
		return rc;
	uint64_t rid;
	const uint8_t *rec;
	size_t len, cap = 0;
	void *buf = NULL;
	float *vec = malloc((size_t)s.schema.dim * 4);
	vl_rowbuf rb = { 0 };
	if (!vec) {
		rc = vl_fail(c->st, VL_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = vl_snap_key_rid(&s, key, key_len, &rid)))
		goto out;
	if (!rid) {
		char kd[128];
		vl_key_desc(kd, sizeof kd, key, key_len);
		rc = vl_fail(c->st, VL_ENOTFOUND, "no key %s in collection '%s'", kd, c->name);
		goto out;
	}
	if ((rc = vl_snap_rowrec(&s, rid, &rec, &len)) || (rc = vl_snap_vector(&s, rid, vec)) ||
	    (rc = vl_record_build(c->st, &s.schema, rec, len, vec, &rb, &buf, &cap)))
		goto out;
	*out = buf;
	buf = NULL;
out:
	free(buf);
	free(vec);
	vl_rowbuf_free(&rb);
	vl_snap_end(&s);
	return rc;
}

struct vl_cursor {
	vl_snap s;
	MDB_cursor *cur;
	int started;
	float *vec;
	void *buf;
	size_t cap;
	vl_rowbuf rb;
};

int vl_cursor_open(vl_collection *c, vl_cursor **out)
{
	if (!c || !out)
		return VL_EINVAL;
	vl_clear_err(c->st);
	vl_cursor *k = calloc(1, sizeof *k);
	if (!k)
		return vl_fail(c->st, VL_ENOMEM, "out of memory");
	int rc = vl_snap_begin(c, &k->s);
	if (rc) {
		free(k);
		return rc;
	}
	if (!(k->vec = malloc((size_t)k->s.schema.dim * 4))) {
		vl_cursor_close(k);
		return vl_fail(c->st, VL_ENOMEM, "out of memory");
	}
	if ((rc = mdb_cursor_open(k->s.txn, c->st->e->db.keys, &k->cur))) {
		k->cur = NULL;
		vl_cursor_close(k);
		return vl_fail_mdb(c->st, rc, "opening cursor");
	}
	*out = k;
	return VL_OK;
}

int vl_cursor_next(vl_cursor *k, const vl_record **rec)
{
	if (!k || !rec)
		return VL_EINVAL;
	vl_collection *c = k->s.c;
	*rec = NULL;
	uint8_t kb[4];
	MDB_val key = vl_key_coll(kb, c->id), v;
	int rc = k->started ? mdb_cursor_get(k->cur, &key, &v, MDB_NEXT)
	                    : mdb_cursor_get(k->cur, &key, &v, MDB_SET_RANGE);
	k->started = 1;
	if (rc == MDB_NOTFOUND || (rc == 0 && !vl_key_in_coll(&key, c->id)))
		return VL_OK;
	if (rc)
		return vl_fail_mdb(c->st, rc, "iterating keys");
	if (v.mv_size != 8)
		return vl_fail(c->st, VL_ECORRUPT, "damaged key record");
	uint64_t rid = vl_ld64(v.mv_data);
	const uint8_t *r;
	size_t len;
	if ((rc = vl_snap_rowrec(&k->s, rid, &r, &len)) || (rc = vl_snap_vector(&k->s, rid, k->vec)) ||
	    (rc = vl_record_build(c->st, &k->s.schema, r, len, k->vec, &k->rb, &k->buf, &k->cap)))
		return rc;
	*rec = k->buf;
	return VL_OK;
}

void vl_cursor_close(vl_cursor *k)
{
	if (!k)
		return;
	if (k->cur)
		mdb_cursor_close(k->cur);
	vl_snap_end(&k->s);
	free(k->vec);
	free(k->buf);
	vl_rowbuf_free(&k->rb);
	free(k);
}
