/*
 * segset.c - the mapped segments of a collection, per manifest generation.
 *
 * Readers take a reference to the set matching their LMDB snapshot; a new
 * set reuses the maps of the previous one for segments that did not change,
 * so a flush maps one new file and a query never re-opens the others. An old
 * set (and any segment only it holds) is unmapped when its last reader lets go.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "segmap.h"
#include "vl_bytes.h"

vl_cshared *vl_cshared_get(vl_env *e, uint32_t coll)
{
	pthread_mutex_lock(&e->mu);
	vl_cshared *sh;
	for (sh = e->shared; sh; sh = sh->next)
		if (sh->id == coll)
			break;
	if (!sh && (sh = calloc(1, sizeof *sh))) {
		sh->id = coll;
		pthread_mutex_init(&sh->mu, NULL);
		sh->next = e->shared;
		e->shared = sh;
	}
	if (sh)
		sh->refs++;
	pthread_mutex_unlock(&e->mu);
	return sh;
}

void vl_cshared_release(vl_env *e, vl_cshared *sh)
{
	if (!sh)
		return;
	pthread_mutex_lock(&e->mu);
	if (--sh->refs == 0) {
		for (vl_cshared **p = &e->shared; *p; p = &(*p)->next)
			if (*p == sh) {
				*p = sh->next;
				break;
			}
		if (sh->cur)
			vl_segset_unref(sh->cur);
		pthread_mutex_destroy(&sh->mu);
		free(sh);
	}
	pthread_mutex_unlock(&e->mu);
}

void vl_segset_unref(vl_segset *s)
{
	if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	for (uint32_t i = 0; i < s->n; i++)
		vl_segmap_unref(s->segs[i]);
	free(s->segs);
	free(s);
}

static vl_segmap *reuse(const vl_segset *old, uint32_t seg_id)
{
	for (uint32_t i = 0; old && i < old->n; i++)
		if (old->segs[i]->seg_id == seg_id) {
			vl_segmap_ref(old->segs[i]);
			return old->segs[i];
		}
	return NULL;
}

static int build_set(vl_collection *c, MDB_txn *txn, uint64_t gen, const vl_segset *old,
                     vl_segset **out, vl_diag *d)
{
	const vl_store *st = c->st;
	vl_segset *s = calloc(1, sizeof *s);
	if (!s)
		return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory");
	atomic_init(&s->refs, 1);
	s->gen = gen;
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, st->e->db.segs, &cur);
	if (rc) {
		free(s);
		return vl_diag_set(d, VL_EIO, VL_NO_OFFSET, "LMDB cursor: %s", mdb_strerror(rc));
	}
	uint8_t kb[4];
	MDB_val k = vl_key_coll(kb, c->id), v;
	size_t cap = 0;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && vl_key_in_coll(&k, c->id);
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 8) {
			rc = vl_diag_set(d, VL_ECORRUPT, VL_NO_OFFSET, "damaged segment manifest key");
			break;
		}
		uint32_t seg_id = vl_ld32be((const uint8_t *)k.mv_data + 4);
		vl_manifest m;
		if ((rc = vl_manifest_decode(v.mv_data, v.mv_size, &m, d)))
			break;
		if (s->n == cap) {
			cap = cap ? cap * 2 : 8;
			vl_segmap **p = realloc(s->segs, cap * sizeof *p);
			if (!p) {
				rc = vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory");
				break;
			}
			s->segs = p;
		}
		vl_segmap *sm = reuse(old, seg_id);
		if (!sm && (rc = vl_segmap_open(st, c->id, seg_id, &m, 0, &sm, d)))
			break;
		s->segs[s->n++] = sm;
	}
	mdb_cursor_close(cur);
	if (rc && rc != MDB_NOTFOUND) {
		vl_segset_unref(s);
		return rc;
	}
	/* order by first row id (stable, readable listings) */
	for (uint32_t i = 1; i < s->n; i++)
		for (uint32_t j = i; j > 0 && s->segs[j - 1]->lay.h.rid_min > s->segs[j]->lay.h.rid_min; j--) {
			vl_segmap *t = s->segs[j];
			s->segs[j] = s->segs[j - 1];
			s->segs[j - 1] = t;
		}
	*out = s;
	return VL_OK;
}

int vl_segset_get(vl_collection *c, MDB_txn *txn, uint64_t gen, vl_segset **out, vl_diag *d)
{
	vl_cshared *sh = c->sh;
	pthread_mutex_lock(&sh->mu);
	if (sh->cur && sh->cur->gen == gen) {
		atomic_fetch_add(&sh->cur->refs, 1);
		*out = sh->cur;
		pthread_mutex_unlock(&sh->mu);
		return VL_OK;
	}
	vl_segset *s = NULL;
	int rc = build_set(c, txn, gen, sh->cur, &s, d);
	if (rc == VL_OK && (!sh->cur || gen > sh->cur->gen)) {
		if (sh->cur)
			vl_segset_unref(sh->cur);
		sh->cur = s;
		atomic_fetch_add(&s->refs, 1);
	}
	pthread_mutex_unlock(&sh->mu);
	if (rc == VL_OK)
		*out = s;
	return rc;
}

int vl_segset_find_rid(const vl_segset *s, uint64_t rid, uint32_t *row)
{
	/* Row id ranges of segments may interleave (a flush after a bulk import
	 * spans ids on both sides of it), the id sets never do: check each
	 * segment whose range covers rid. Segment counts stay small. */
	for (uint32_t i = 0; i < s->n; i++) {
		const vl_segmap *m = s->segs[i];
		if (rid < m->lay.h.rid_min || rid > m->lay.h.rid_max)
			continue;
		int64_t r = vl_segmap_row_of(m, rid);
		if (r >= 0) {
			*row = (uint32_t)r;
			return (int)i;
		}
	}
	return -1;
}
