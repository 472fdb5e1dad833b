/*
 * verify.c - recompute every checksum and cross-check LMDB with the segments.
 *
 * Checks, per collection: every segment listed in the manifest opens, matches
 * its entry, passes its section CRCs and its index's own invariants, has
 * strictly ascending row ids; every live row (not tombstoned) has a row
 * record whose key maps back to it; every buffered row likewise; the number
 * of keys equals the live count; tombstone records belong to listed segments
 * and their bit counts match the manifest; the counters in cstate add up.
 * Files in seg/ that no manifest lists are reported as notes (not failures).
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "segmap.h"
#include "values.h"
#include "vl_bytes.h"

typedef struct vctx {
	const vl_store *st;
	vl_report_fn report;
	void *ud;
	uint64_t problems;
	char first[900];
} vctx;

static void problem(vctx *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(vctx *v, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (!v->problems++) {
		size_t n = strnlen(msg, sizeof v->first - 1);
		memcpy(v->first, msg, n);
		v->first[n] = 0;
	}
	if (v->report)
		v->report(v->ud, msg);
}

static int popcount_chunk(const uint8_t *p, size_t n)
{
	int c = 0;
	for (size_t i = 0; i < n; i++)
		c += __builtin_popcount(p[i]);
	return c;
}

/* Key of a row record must map back to rid. */
static void check_row(vctx *v, MDB_txn *txn, uint32_t coll, const char *cname, uint64_t rid, const char *where)
{
	const vl_store *st = v->st;
	uint8_t kb[12];
	MDB_val k = vl_key_rid(kb, coll, rid), val;
	if (mdb_get(txn, st->e->db.rows, &k, &val) != 0) {
		problem(v, "%s: %s row %" PRIu64 " is live but has no row record", cname, where, rid);
		return;
	}
	const uint8_t *key;
	size_t klen;
	if (vl_rowrec_key(val.mv_data, val.mv_size, &key, &klen) || klen == 0 || klen > VL_KEY_MAX) {
		problem(v, "%s: row record %" PRIu64 " is damaged", cname, rid);
		return;
	}
	uint8_t ub[4 + VL_KEY_MAX];
	MDB_val uk = vl_key_user(ub, coll, key, klen), uv;
	if (mdb_get(txn, st->e->db.keys, &uk, &uv) != 0 || uv.mv_size != 8 || vl_ld64(uv.mv_data) != rid) {
		char kd[128];
		vl_key_desc(kd, sizeof kd, key, klen);
		problem(v, "%s: key %s does not map to its row %" PRIu64, cname, kd, rid);
	}
}

static uint64_t check_segment(vctx *v, MDB_txn *txn, uint32_t coll, const char *cname, uint32_t seg,
                              const vl_manifest *m, uint64_t *dead)
{
	vl_segmap *sm;
	vl_diag d;
	vl_diag_clear(&d);
	if (vl_segmap_open(v->st, coll, seg, m, 1, &sm, &d)) {
		problem(v, "%s: %s", cname, d.msg);
		return 0;
	}
	if (sm->iops->verify && sm->iops->verify(sm->istate, &d))
		problem(v, "%s: %s: %s", cname, sm->relpath, d.msg);
	for (uint64_t r = 1; r < sm->nrows; r++)
		if (sm->rowids[r] <= sm->rowids[r - 1]) {
			problem(v, "%s: %s: row ids are not ascending at row %" PRIu64, cname, sm->relpath, r);
			break;
		}
	uint64_t live = 0, ndead = 0;
	uint32_t nch = (uint32_t)((sm->nrows + VL_TOMB_CHUNK_ROWS - 1) / VL_TOMB_CHUNK_ROWS);
	for (uint32_t c = 0; c < nch; c++) {
		const uint8_t *ch = vl_tomb_chunk(v->st, txn, coll, seg, c);
		uint64_t end = (uint64_t)(c + 1) * VL_TOMB_CHUNK_ROWS;
		if (end > sm->nrows)
			end = sm->nrows;
		if (ch)
			ndead += (uint64_t)popcount_chunk(ch, VL_TOMB_CHUNK_BYTES);
		for (uint64_t r = (uint64_t)c * VL_TOMB_CHUNK_ROWS; r < end; r++)
			if (!ch || !vl_bit(ch, (uint32_t)(r % VL_TOMB_CHUNK_ROWS))) {
				live++;
				check_row(v, txn, coll, cname, sm->rowids[r], sm->relpath);
			}
	}
	if (ndead != m->dead_rows)
		problem(v, "%s: %s has %" PRIu64 " tombstones but its manifest counts %" PRIu64, cname,
		        sm->relpath, ndead, m->dead_rows);
	*dead += ndead;
	vl_segmap_unref(sm);
	return live;
}

static void check_tombs_listed(vctx *v, MDB_txn *txn, uint32_t coll, const char *cname)
{
	MDB_cursor *cur;
	if (mdb_cursor_open(txn, v->st->e->db.tomb, &cur))
		return;
	uint8_t kb[4];
	MDB_val k = vl_key_coll(kb, coll), val;
	for (int rc = mdb_cursor_get(cur, &k, &val, MDB_SET_RANGE); rc == 0 && vl_key_in_coll(&k, coll);
	     rc = mdb_cursor_get(cur, &k, &val, MDB_NEXT)) {
		if (k.mv_size != 12 || val.mv_size != VL_TOMB_CHUNK_BYTES) {
			problem(v, "%s: damaged tombstone record", cname);
			continue;
		}
		uint32_t seg = vl_ld32be((const uint8_t *)k.mv_data + 4);
		uint8_t sk[8];
		MDB_val mk = vl_key_seg(sk, coll, seg), mv;
		if (mdb_get(txn, v->st->e->db.segs, &mk, &mv) != 0)
			problem(v, "%s: tombstones for segment %u, which is not in the manifest", cname, seg);
	}
	mdb_cursor_close(cur);
}

static uint64_t count_prefix(MDB_txn *txn, MDB_dbi db, uint32_t coll)
{
	MDB_cursor *cur;
	uint64_t n = 0;
	if (mdb_cursor_open(txn, db, &cur))
		return 0;
	uint8_t kb[4];
	MDB_val k = vl_key_coll(kb, coll), val;
	for (int rc = mdb_cursor_get(cur, &k, &val, MDB_SET_RANGE); rc == 0 && vl_key_in_coll(&k, coll);
	     rc = mdb_cursor_get(cur, &k, &val, MDB_NEXT))
		n++;
	mdb_cursor_close(cur);
	return n;
}

static void check_collection(vctx *v, MDB_txn *txn, const char *cname, uint32_t coll)
{
	const vl_store *st = v->st;
	vl_schema_rec s;
	vl_cstate cs;
	vl_diag d;
	vl_diag_clear(&d);
	if (vl_read_schema(st, txn, coll, &s)) {
		problem(v, "%s: %s", cname, vl_errmsg(st));
		return;
	}
	if (vl_read_cstate(st, txn, coll, &cs)) {
		problem(v, "%s: %s", cname, vl_errmsg(st));
		vl_schema_rec_free(&s);
		return;
	}
	uint64_t live = 0, seg_rows = 0, dead = 0;
	MDB_cursor *cur;
	if (mdb_cursor_open(txn, st->e->db.segs, &cur) == 0) {
		uint8_t kb[4];
		MDB_val k = vl_key_coll(kb, coll), val;
		for (int rc = mdb_cursor_get(cur, &k, &val, MDB_SET_RANGE); rc == 0 && vl_key_in_coll(&k, coll);
		     rc = mdb_cursor_get(cur, &k, &val, MDB_NEXT)) {
			vl_manifest m;
			if (k.mv_size != 8 || vl_manifest_decode(val.mv_data, val.mv_size, &m, &d)) {
				problem(v, "%s: damaged manifest entry", cname);
				continue;
			}
			uint32_t seg = vl_ld32be((const uint8_t *)k.mv_data + 4);
			seg_rows += m.nrows;
			live += check_segment(v, txn, coll, cname, seg, &m, &dead);
		}
		mdb_cursor_close(cur);
	}
	/* buffered rows */
	uint64_t buffered = 0;
	if (mdb_cursor_open(txn, st->e->db.buf, &cur) == 0) {
		uint8_t kb[4];
		MDB_val k = vl_key_coll(kb, coll), val;
		for (int rc = mdb_cursor_get(cur, &k, &val, MDB_SET_RANGE); rc == 0 && vl_key_in_coll(&k, coll);
		     rc = mdb_cursor_get(cur, &k, &val, MDB_NEXT)) {
			buffered++;
			if (k.mv_size != 12 || val.mv_size != (size_t)s.dim * 4) {
				problem(v, "%s: damaged write buffer record", cname);
				continue;
			}
			check_row(v, txn, coll, cname, vl_ld64be((const uint8_t *)k.mv_data + 4), "buffered");
		}
		mdb_cursor_close(cur);
	}
	live += buffered;
	check_tombs_listed(v, txn, coll, cname);
	uint64_t nkeys = count_prefix(txn, st->e->db.keys, coll), nrows = count_prefix(txn, st->e->db.rows, coll);
	if (nkeys != live || nrows != live || cs.live_rows != live)
		problem(v, "%s: %" PRIu64 " live rows in segments and buffer, but %" PRIu64 " keys, %" PRIu64
		        " row records and a live count of %" PRIu64, cname, live, nkeys, nrows, cs.live_rows);
	if (cs.buffer_rows != buffered || cs.segment_rows != seg_rows || cs.dead_rows != dead)
		problem(v, "%s: counters disagree: buffer %" PRIu64 "/%" PRIu64 ", segment rows %" PRIu64 "/%" PRIu64
		        ", dead %" PRIu64 "/%" PRIu64, cname, cs.buffer_rows, buffered, cs.segment_rows, seg_rows,
		        cs.dead_rows, dead);
	vl_schema_rec_free(&s);
}

static void check_orphans(vctx *v, MDB_txn *txn)
{
	int fd = openat(v->st->e->dirfd, "seg", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	DIR *dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(dir))) {
		unsigned coll, seg;
		char tail[8];
		if (de->d_name[0] == '.')
			continue;
		if (sscanf(de->d_name, "c%u-s%u%7s", &coll, &seg, tail) != 3 || strcmp(tail, ".vseg"))
			continue;
		uint8_t kb[8];
		MDB_val k = vl_key_seg(kb, coll, seg), val;
		/* harmless (a crashed or running job's file): noted, not a failure */
		if (mdb_get(txn, v->st->e->db.segs, &k, &val) != 0 && v->report) {
			char msg[512];
			snprintf(msg, sizeof msg, "note: seg/%.200s is not listed in any manifest (a crashed or running job's file; the next writable open removes it)", de->d_name);
			v->report(v->ud, msg);
		}
	}
	closedir(dir);
}

int vl_verify(vl_store *st, vl_report_fn report, void *ud)
{
	if (!st)
		return VL_EINVAL;
	vl_clear_err(st);
	vctx v = { .st = st, .report = report, .ud = ud };
	MDB_txn *txn;
	MDB_cursor *cur;
	int rc = mdb_txn_begin(st->e->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return vl_fail_mdb(st, rc, "beginning read transaction");
	if ((rc = mdb_cursor_open(txn, st->e->db.colls, &cur))) {
		mdb_txn_abort(txn);
		return vl_fail_mdb(st, rc, "opening cursor");
	}
	MDB_val k, val;
	for (rc = mdb_cursor_get(cur, &k, &val, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &val, MDB_NEXT)) {
		char name[VL_NAME_MAX + 1];
		size_t n = k.mv_size < VL_NAME_MAX ? k.mv_size : VL_NAME_MAX;
		memcpy(name, k.mv_data, n);
		name[n] = 0;
		if (val.mv_size != 4) {
			problem(&v, "catalog entry '%s' is damaged", name);
			continue;
		}
		check_collection(&v, txn, name, vl_ld32(val.mv_data));
	}
	mdb_cursor_close(cur);
	check_orphans(&v, txn);
	vl_stage_report(st, txn, report, ud);
	mdb_txn_abort(txn);
	if (v.problems)
		return vl_fail(st, VL_ECORRUPT, "%" PRIu64 " problem(s); first: %s", v.problems, v.first);
	return VL_OK;
}
