/*
 * search.c - the query planner and executor.
 *
 * For each segment of the snapshot: build the row acceptance test
 * (tombstones + filter compiled against the segment's columns), estimate the
 * filter's selectivity from a sample, and either scan the matching rows
 * exactly or ask the index, keeping a re-rank window of candidates; if the
 * index comes back with fewer than k accepted rows, scan that segment exactly
 * (so k hits come back whenever k rows match). Candidates are re-ranked with
 * the storage's secondary level or with the full-precision originals. The
 * write buffer is scanned exactly. Everything merges into one top-k.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "io/rowread.h"
#include "params.h"
#include "read.h"
#include "search.h"
#include "segmap.h"
#include "simd/simd.h"
#include "topk.h"
#include "values.h"
#include "vl_bytes.h"
#include "vthread.h"

#define BUFFER_SRC UINT32_MAX
#define SAMPLE_ROWS 512

/* Row acceptance for one segment: tombstones and the filter. */
typedef struct seg_accept {
	const uint8_t **chunks;    /* tombstone bitmap per 65536 rows, NULL = none dead */
	uint32_t nchunks;
	const vl_fseg *fs;         /* NULL = no filter */
} seg_accept;

static int accept_row(void *ud, uint32_t row)
{
	const seg_accept *a = ud;
	uint32_t ch = row / VL_TOMB_CHUNK_ROWS;
	if (ch < a->nchunks && a->chunks[ch] && vl_bit(a->chunks[ch], row % VL_TOMB_CHUNK_ROWS))
		return 0;
	return !a->fs || vl_fseg_match(a->fs, row);
}

/* Full-precision distance in the collection's metric. */
float vl_exact_dist(vl_metric m, const float *q, float qnorm, const float *x, float xnorm, uint32_t dim)
{
	const vl_kernels *k = vl_kern();
	switch (m) {
	case VL_METRIC_IP:
		return -k->dot_f32(q, x, dim);
	case VL_METRIC_COSINE: {
		float d = qnorm * xnorm;
		return d > 0 ? 1.0f - k->dot_f32(q, x, dim) / d : 1.0f;
	}
	default:
		return k->l2_f32(q, x, dim);
	}
}

/* Per-query scratch, reused across the queries of a batch. */
typedef struct scratch {
	void *qbuf;
	size_t qcap;
	const uint8_t **chunks;
	uint32_t ccap;
	vl_topk seg, all;
	uint64_t *bufrids;
	size_t bcap;
	float *vec;
	vl_rowbuf rb;
	float *rows;               /* re-rank rows read from disk */
	size_t rows_cap;
	uint64_t *offs;
} scratch;

static void scratch_free(scratch *s)
{
	free(s->qbuf);
	free(s->chunks);
	vl_topk_free(&s->seg);
	vl_topk_free(&s->all);
	free(s->bufrids);
	free(s->vec);
	vl_rowbuf_free(&s->rb);
	free(s->rows);
	free(s->offs);
	memset(s, 0, sizeof *s);
}

static int scratch_qbuf(scratch *s, size_t n)
{
	if (n <= s->qcap)
		return VL_OK;
	free(s->qbuf);
	s->qcap = (n + 63) / 64 * 64;
	s->qbuf = aligned_alloc(64, s->qcap);
	return s->qbuf ? VL_OK : VL_ENOMEM;
}

static int topk_reserve(vl_topk *t, size_t cap)
{
	if (cap <= t->cap && t->a) {
		t->n = 0;
		t->cap = cap;
		return VL_OK;
	}
	vl_topk_free(t);
	return vl_topk_init(t, cap);
}

typedef struct query {
	const vl_store *st;
	vl_snap *snap;
	const float *q;            /* the query as given */
	float qnorm;
	uint32_t k;
	const vl_search_opts *o;
	vl_runtime rt;
	const vl_filter *filter;   /* bound, or NULL */
	const vl_index_ops *iops;
	uint64_t evals;
	uint64_t matched;          /* rows accepted, when counted exactly */
	int matched_exact;
	int all_exact;
} query;

static int load_chunks(query *qr, scratch *sc, const vl_segmap *sm, seg_accept *acc)
{
	uint32_t n = (uint32_t)((sm->nrows + VL_TOMB_CHUNK_ROWS - 1) / VL_TOMB_CHUNK_ROWS);
	if (n > sc->ccap) {
		const uint8_t **p = realloc(sc->chunks, n * sizeof *p);
		if (!p)
			return VL_ENOMEM;
		sc->chunks = p;
		sc->ccap = n;
	}
	for (uint32_t i = 0; i < n; i++)
		sc->chunks[i] = vl_tomb_chunk(qr->st, qr->snap->txn, sm->coll_id, sm->seg_id, i);
	acc->chunks = sc->chunks;
	acc->nchunks = n;
	return VL_OK;
}

/* Exact scan of one segment's accepted rows into t; counts them. */
static uint64_t scan_exact(query *qr, const vl_qview *q, const void *qbuf, seg_accept *acc,
                           vl_topk *t, uint32_t src, uint64_t nrows)
{
	uint64_t matched = 0;
	float dist[256];
	uint32_t rows[256];
	for (uint64_t r0 = 0; r0 < nrows; r0 += 256) {
		uint32_t n = 0;
		uint64_t end = r0 + 256 < nrows ? r0 + 256 : nrows;
		for (uint64_t r = r0; r < end; r++)
			if (accept_row(acc, (uint32_t)r))
				rows[n++] = (uint32_t)r;
		matched += n;
		if (!n)
			continue;
		if (n == end - r0)
			q->ops->dist_range(q, qbuf, r0, n, dist);
		else
			q->ops->dist_rows(q, qbuf, rows, n, dist);
		qr->evals += n;
		for (uint32_t i = 0; i < n; i++)
			vl_topk_push(t, dist[i], rows[i], src);
	}
	return matched;
}

/* Is the primary level an exact copy of the originals? */
static int primary_is_exact(const vl_segmap *sm)
{
	return sm->lay.h.storage == VL_STORAGE_FLOAT32;
}

/* Full-precision rows of the candidates read through pread/io_uring
 * (RERANK_IO) instead of the mapping: a store can keep only codes and
 * graph hot, DiskANN style. */
static int read_candidates(query *qr, scratch *sc, const vl_segmap *sm, const vl_topk *t)
{
	uint32_t dim = qr->snap->schema.dim;
	size_t row = (size_t)dim * 4;
	if (t->n > sc->rows_cap) {
		float *p = realloc(sc->rows, t->n * row);
		uint64_t *o = realloc(sc->offs, t->n * sizeof *o);
		if (p)
			sc->rows = p;
		if (o)
			sc->offs = o;
		if (!p || !o)
			return vl_fail(qr->st, VL_ENOMEM, "out of memory");
		sc->rows_cap = t->n;
	}
	for (size_t i = 0; i < t->n; i++)
		sc->offs[i] = sm->vec_sec->offset + (uint64_t)t->a[i].row * row;
	vl_diag d;
	vl_diag_clear(&d);
	if (vl_rowread(sm->fd, sc->offs, t->n, row, sc->rows, (vl_rowio)qr->rt.rerank_io, &d)) {
		vl_diag_prefix(&d, "%s", sm->relpath);
		return vl_fail_diag(qr->st, &d);
	}
	return VL_OK;
}

static int rerank(query *qr, scratch *sc, const vl_segmap *sm, const void *qbuf, vl_topk *t)
{
	vl_rerank_mode mode = qr->rt.rerank_with;
	if (mode == VL_RERANK_AUTO)
		mode = primary_is_exact(sm) ? VL_RERANK_NONE
		       : sm->q.ops->dist_secondary && sm->q.secondary ? VL_RERANK_SECONDARY
		                                                      : VL_RERANK_FULL;
	if (mode == VL_RERANK_SECONDARY && !(sm->q.ops->dist_secondary && sm->q.secondary))
		mode = VL_RERANK_FULL;
	if (mode == VL_RERANK_NONE || t->n == 0)
		return VL_OK;
	uint32_t dim = qr->snap->schema.dim;
	vl_metric m = (vl_metric)qr->snap->schema.metric;
	if (mode == VL_RERANK_SECONDARY) {
		const vl_quant_ops *qo = sm->q.ops;
		if (!qo->dist_secondary_rows) {
			for (size_t i = 0; i < t->n; i++)
				t->a[i].dist = qo->dist_secondary(&sm->q, qbuf, t->a[i].row);
			return VL_OK;
		}
		/* a block of candidates per call: the kernel overlaps their misses */
		uint32_t rows[64];
		float dist[64];
		for (size_t i0 = 0; i0 < t->n; i0 += 64) {
			size_t nb = t->n - i0 < 64 ? t->n - i0 : 64;
			for (size_t i = 0; i < nb; i++)
				rows[i] = t->a[i0 + i].row;
			qo->dist_secondary_rows(&sm->q, qbuf, rows, nb, dist);
			for (size_t i = 0; i < nb; i++)
				t->a[i0 + i].dist = dist[i];
		}
		return VL_OK;
	}
	int from_disk = qr->rt.rerank_io != VL_ROWIO_MMAP;
	if (from_disk) {
		int rc = read_candidates(qr, sc, sm, t);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < t->n; i++) {
		uint32_t row = t->a[i].row;
		const float *x = from_disk ? sc->rows + i * dim : sm->vectors + (size_t)row * dim;
		t->a[i].dist = vl_exact_dist(m, qr->q, qr->qnorm, x, sm->norms[row], dim);
	}
	return VL_OK;
}

static int search_segment(query *qr, scratch *sc, uint32_t si)
{
	const vl_segmap *sm = qr->snap->set->segs[si];
	seg_accept acc = { 0 };
	vl_fseg *fs = NULL;
	int rc;
	/* VL_SEARCH_EXACT is ground truth: full-precision originals, whatever
	 * the storage type (the planner's own exact scans use the primary codes
	 * and re-rank) */
	int truth = (qr->o->flags & VL_SEARCH_EXACT) != 0;
	const vl_qview *q = truth ? &sm->fq : &sm->q;
	if ((rc = load_chunks(qr, sc, sm, &acc)) || (rc = scratch_qbuf(sc, q->qbuf_size)))
		return vl_fail(qr->st, VL_ENOMEM, "out of memory");
	if (qr->filter && (rc = vl_fseg_new(qr->filter, sm, &fs)))
		return vl_fail(qr->st, VL_ENOMEM, "out of memory");
	acc.fs = fs;
	q->ops->prepare(q, qr->q, sc->qbuf);
	double sel = fs ? vl_fseg_estimate(fs, sm->nrows, SAMPLE_ROWS) : 1.0;
	uint32_t window = qr->k;
	if (!truth && !primary_is_exact(sm))
		window = qr->rt.rerank ? (qr->rt.rerank > qr->k ? qr->rt.rerank : qr->k) : qr->k * 4;
	if ((rc = topk_reserve(&sc->seg, window))) {
		vl_fseg_free(fs);
		return vl_fail(qr->st, VL_ENOMEM, "out of memory");
	}
	int exact = truth || sm->lay.h.index_kind == VL_INDEX_FLAT ||
	            (fs && (sel < qr->rt.exact_below || sel * (double)sm->nrows < 4.0 * window));
	uint64_t matched = 0;
	if (!exact) {
		vl_diag d;
		vl_diag_clear(&d);
		/* no filter and no dead row in the segment: let the index skip the
		 * per-candidate test altogether */
		int any_dead = 0;
		for (uint32_t c = 0; c < acc.nchunks && !any_dead; c++)
			any_dead = acc.chunks[c] != NULL;
		vl_index_query iq = {
			.query = qr->q, .qbuf = sc->qbuf, .k = qr->k,
			.params = { qr->o->params, qr->o->nparams },
			.accept = { (fs || any_dead) ? accept_row : NULL, &acc, sel }, .src = si,
			.distance_evals = &qr->evals,
		};
		if ((rc = sm->iops->search(sm->istate, &iq, &sc->seg, &d))) {
			vl_fseg_free(fs);
			return vl_fail_diag(qr->st, &d);
		}
		/* fewer than k accepted: the graph missed some; the exact scan finds
		 * every accepted row, so k hits come back whenever k rows match */
		if (sc->seg.n < qr->k) {
			vl_topk_clear(&sc->seg);
			exact = 1;
		}
	}
	if (exact)
		matched = scan_exact(qr, q, sc->qbuf, &acc, &sc->seg, si, sm->nrows);
	else
		qr->all_exact = 0;
	qr->matched += matched;
	if (!exact)
		qr->matched_exact = 0;
	vl_fseg_free(fs);
	if (!truth && (rc = rerank(qr, sc, sm, sc->qbuf, &sc->seg)))
		return rc;
	for (size_t i = 0; i < sc->seg.n; i++)
		vl_topk_push(&sc->all, sc->seg.a[i].dist, sc->seg.a[i].row, si);
	return VL_OK;
}

static int push_bufrid(scratch *sc, size_t i, uint64_t rid)
{
	if (i >= sc->bcap) {
		size_t cap = sc->bcap ? sc->bcap * 2 : 1024;
		uint64_t *p = realloc(sc->bufrids, cap * sizeof *p);
		if (!p)
			return VL_ENOMEM;
		sc->bufrids = p;
		sc->bcap = cap;
	}
	sc->bufrids[i] = rid;
	return VL_OK;
}

/* Exact scan of the write buffer (LMDB), filter evaluated on row records. */
static int search_buffer(query *qr, scratch *sc)
{
	const vl_store *st = qr->st;
	vl_snap *s = qr->snap;
	uint32_t dim = s->schema.dim;
	MDB_cursor *cur;
	int rc = mdb_cursor_open(s->txn, st->e->db.buf, &cur);
	if (rc)
		return vl_fail_mdb(st, rc, "opening buffer cursor");
	uint8_t kb[4];
	MDB_val k = vl_key_coll(kb, s->c->id), v;
	size_t i = 0;
	vl_metric m = (vl_metric)s->schema.metric;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && vl_key_in_coll(&k, s->c->id);
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 12 || v.mv_size != (size_t)dim * 4) {
			rc = vl_fail(st, VL_ECORRUPT, "damaged write buffer record");
			goto out;
		}
		uint64_t rid = vl_ld64be((const uint8_t *)k.mv_data + 4);
		if (qr->filter) {
			const uint8_t *rec;
			size_t len;
			vl_rowrec r;
			vl_diag d;
			vl_diag_clear(&d);
			if ((rc = vl_snap_rowrec(s, rid, &rec, &len)))
				goto out;
			if ((rc = vl_rowrec_decode(rec, len, &r, &sc->rb, 0, &d))) {
				rc = vl_fail_diag(st, &d);
				goto out;
			}
			if (!vl_filter_match_rec(qr->filter, &r))
				continue;
		}
		qr->matched++;
		memcpy(sc->vec, v.mv_data, v.mv_size); /* LMDB values are only 2-byte aligned */
		float xn = m == VL_METRIC_COSINE ? sqrtf(vl_kern()->dot_f32(sc->vec, sc->vec, dim)) : 0;
		float dist = vl_exact_dist(m, qr->q, qr->qnorm, sc->vec, xn, dim);
		qr->evals++;
		if ((rc = push_bufrid(sc, i, rid)))
			goto out;
		vl_topk_push(&sc->all, dist, (uint32_t)i, BUFFER_SRC);
		if (++i > UINT32_MAX - 1) {
			rc = vl_fail(st, VL_ELIMIT, "write buffer too large to search; flush it");
			goto out;
		}
	}
	rc = (rc == 0 || rc == MDB_NOTFOUND) ? VL_OK : vl_fail_mdb(st, rc, "scanning buffer");
out:
	mdb_cursor_close(cur);
	return rc;
}

/* Results: one allocation holding hits, keys and returned values. */
static int build_results(query *qr, scratch *sc, vl_results **out)
{
	vl_snap *s = qr->snap;
	vl_topk *t = &sc->all;
	vl_topk_sort(t);
	int want_keys = !(qr->o->flags & VL_SEARCH_NO_KEYS);
	int want_vals = qr->o->nreturn > 0;
	size_t bytes = sizeof(vl_results) + t->n * sizeof(vl_hit);
	uint64_t *rids = malloc((t->n ? t->n : 1) * sizeof *rids);
	if (!rids)
		return vl_fail(qr->st, VL_ENOMEM, "out of memory");
	int rc = VL_OK;
	/* pass 1: sizes */
	for (size_t i = 0; i < t->n; i++) {
		const vl_cand *c = &t->a[i];
		rids[i] = c->src == BUFFER_SRC ? sc->bufrids[c->row] : s->set->segs[c->src]->rowids[c->row];
		if (!want_keys && !want_vals)
			continue;
		const uint8_t *rec;
		size_t len;
		vl_rowrec r;
		vl_diag d;
		vl_diag_clear(&d);
		if ((rc = vl_snap_rowrec(s, rids[i], &rec, &len)))
			goto out;
		if ((rc = vl_rowrec_decode(rec, len, &r, &sc->rb, want_vals, &d))) {
			rc = vl_fail_diag(qr->st, &d);
			goto out;
		}
		uint32_t nv = 0;
		if (want_vals)
			bytes += vl_values_size(&s->schema, &r, qr->o->return_fields, qr->o->nreturn, &nv);
		bytes += r.key_len + 1 + 8;
	}
	vl_results *res = calloc(1, bytes);
	if (!res) {
		rc = vl_fail(qr->st, VL_ENOMEM, "out of memory");
		goto out;
	}
	res->hits = (vl_hit *)(void *)(res + 1);
	res->n = t->n;
	res->distance_evals = qr->evals;
	res->matched = qr->matched_exact ? qr->matched : UINT64_MAX;
	if (qr->all_exact)
		res->flags |= VL_RESULT_EXACT;
	if (t->n < qr->k && qr->matched_exact)
		res->flags |= VL_RESULT_FEWER;
	char *pool = (char *)(res->hits + t->n);
	for (size_t i = 0; i < t->n; i++) {
		vl_hit *h = &res->hits[i];
		h->distance = t->a[i].dist;
		if (!want_keys && !want_vals)
			continue;
		const uint8_t *rec;
		size_t len;
		vl_rowrec r;
		vl_diag d;
		vl_diag_clear(&d);
		if ((rc = vl_snap_rowrec(s, rids[i], &rec, &len)) ||
		    (rc = vl_rowrec_decode(rec, len, &r, &sc->rb, want_vals, &d))) {
			if (d.code)
				rc = vl_fail_diag(qr->st, &d);
			free(res);
			goto out;
		}
		if (want_vals) {
			uint32_t nv;
			vl_values_size(&s->schema, &r, qr->o->return_fields, qr->o->nreturn, &nv);
			/* vl_value needs pointer alignment */
			pool = (char *)(((uintptr_t)pool + 7) & ~(uintptr_t)7);
			vl_value *vals = (vl_value *)(void *)pool;
			pool += nv * sizeof *vals;
			vl_values_fill(&s->schema, &r, qr->o->return_fields, qr->o->nreturn, vals, &pool);
			h->values = vals;
			h->nvalues = nv;
		}
		memcpy(pool, r.key, r.key_len);
		pool[r.key_len] = 0;
		h->key = pool;
		h->key_len = r.key_len;
		pool += r.key_len + 1;
	}
	*out = res;
out:
	free(rids);
	return rc;
}

static int check_opts(const vl_store *st, const vl_search_opts *o)
{
	if (o->size < offsetof(vl_search_opts, threads) + sizeof o->threads)
		return vl_fail(st, VL_EINVAL, "search options size %u is too small (use VL_SEARCH_OPTS_INIT)", o->size);
	if (o->k > (1u << 20))
		return vl_fail(st, VL_EINVAL, "k = %u is larger than 1048576", o->k);
	if (o->nparams && !o->params)
		return vl_fail(st, VL_EINVAL, "nparams without params");
	if (o->nreturn && !o->return_fields)
		return vl_fail(st, VL_EINVAL, "nreturn without return_fields");
	return VL_OK;
}

/* Everything that depends on the snapshot but not on the query vector. */
typedef struct plan {
	vl_runtime rt;
	vl_filter *filter;
	const vl_index_ops *iops;
} plan;

static int plan_make(const vl_store *st, vl_snap *s, const vl_search_opts *o, plan *p)
{
	memset(p, 0, sizeof *p);
	p->iops = vl_index_by_id(s->schema.index);
	if (!p->iops)
		return vl_fail(st, VL_EUNSUPPORTED, "index kind %u is not in this build", s->schema.index);
	int rc;
	if ((rc = vl_check_runtime_params(st, p->iops, o->params, o->nparams)) ||
	    (rc = vl_runtime_of(st, o->params, o->nparams, &p->rt)))
		return rc;
	for (size_t i = 0; i < o->nreturn; i++)
		if (!o->return_fields[i] || !vl_schema_field_find(&s->schema, o->return_fields[i]))
			return vl_fail(st, VL_ESCHEMA, "cannot return unknown field '%s'",
			               o->return_fields[i] ? o->return_fields[i] : "(null)");
	if (o->filter) {
		vl_diag d;
		vl_diag_clear(&d);
		if ((rc = vl_filter_parse(o->filter, &p->filter, &d)) ||
		    (rc = vl_filter_bind(p->filter, &s->schema, &d))) {
			vl_filter_free(p->filter);
			p->filter = NULL;
			return vl_fail_diag(st, &d);
		}
	}
	return VL_OK;
}

static int search_one(vl_snap *s, const plan *p, scratch *sc, const float *q, const vl_search_opts *o,
                      vl_results **out)
{
	const vl_store *st = s->c->st;
	int rc = vl_check_vector(st, q, s->schema.dim, "query");
	if (rc)
		return rc;
	query qr = {
		.st = st, .snap = s, .q = q, .k = o->k ? o->k : 10, .o = o, .rt = p->rt, .filter = p->filter,
		.iops = p->iops, .matched_exact = 1, .all_exact = 1,
	};
	qr.qnorm = sqrtf(vl_kern()->dot_f32(q, q, s->schema.dim));
	if (!sc->vec && !(sc->vec = malloc((size_t)s->schema.dim * 4)))
		return vl_fail(st, VL_ENOMEM, "out of memory");
	if (topk_reserve(&sc->all, qr.k))
		return vl_fail(st, VL_ENOMEM, "out of memory");
	for (uint32_t i = 0; i < s->set->n; i++)
		if ((rc = search_segment(&qr, sc, i)))
			return rc;
	if ((rc = search_buffer(&qr, sc)))
		return rc;
	if (!p->filter) {
		qr.matched = s->cs.live_rows;
		qr.matched_exact = 1;
	}
	return build_results(&qr, sc, out);
}

int vl_search(vl_collection *c, const float *query_vec, uint32_t dim, const vl_search_opts *opts,
              vl_results **out)
{
	if (!c || !out)
		return VL_EINVAL;
	vl_clear_err(c->st);
	*out = NULL;
	vl_search_opts def = VL_SEARCH_OPTS_INIT;
	const vl_search_opts *o = opts ? opts : &def;
	int rc = check_opts(c->st, o);
	if (rc)
		return rc;
	vl_snap s;
	if ((rc = vl_snap_begin(c, &s)))
		return rc;
	if (dim != s.schema.dim) {
		vl_snap_end(&s);
		return vl_fail(c->st, VL_EDIM, "query has %u dimensions; collection '%s' has %u", dim, c->name,
		               s.schema.dim);
	}
	plan p;
	scratch sc = { 0 };
	if ((rc = plan_make(c->st, &s, o, &p)) == VL_OK)
		rc = search_one(&s, &p, &sc, query_vec, o, out);
	vl_filter_free(p.filter);
	scratch_free(&sc);
	vl_snap_end(&s);
	return rc;
}

void vl_results_free(vl_results *r)
{
	free(r);
}

/* ---- batch ---------------------------------------------------------------- */
typedef struct batch {
	vl_collection *c;
	const float *queries;
	size_t nq;
	uint32_t dim;
	const vl_search_opts *o;
	vl_results **out;
	atomic_size_t next;
	atomic_int rc;
	char msg[1024];
	pthread_mutex_t mu;
} batch;

static void *batch_worker(void *arg)
{
	batch *b = arg;
	vl_snap s;
	plan p = { 0 };
	scratch sc = { 0 };
	int rc = vl_snap_begin(b->c, &s);
	if (rc == VL_OK) {
		rc = s.schema.dim == b->dim ? plan_make(b->c->st, &s, b->o, &p)
		                            : vl_fail(b->c->st, VL_EDIM, "queries have %u dimensions; collection '%s' has %u",
		                                      b->dim, b->c->name, s.schema.dim);
		for (;;) {
			if (rc || atomic_load(&b->rc))
				break;
			size_t i = atomic_fetch_add(&b->next, 1);
			if (i >= b->nq)
				break;
			rc = search_one(&s, &p, &sc, b->queries + i * b->dim, b->o, &b->out[i]);
		}
		vl_filter_free(p.filter);
		vl_snap_end(&s);
	}
	scratch_free(&sc);
	if (rc) {
		int zero = 0;
		if (atomic_compare_exchange_strong(&b->rc, &zero, rc)) {
			pthread_mutex_lock(&b->mu);
			snprintf(b->msg, sizeof b->msg, "%s", vl_errmsg(b->c->st));
			pthread_mutex_unlock(&b->mu);
		}
	}
	return NULL;
}

int vl_search_batch(vl_collection *c, const float *queries, size_t nq, uint32_t dim,
                    const vl_search_opts *opts, vl_results **out)
{
	if (!c || !out || (nq && !queries))
		return VL_EINVAL;
	vl_clear_err(c->st);
	vl_search_opts def = VL_SEARCH_OPTS_INIT;
	const vl_search_opts *o = opts ? opts : &def;
	int rc = check_opts(c->st, o);
	if (rc)
		return rc;
	for (size_t i = 0; i < nq; i++)
		out[i] = NULL;
	unsigned threads = o->threads ? o->threads : vl_ncpu();
	if (threads > nq)
		threads = nq ? (unsigned)nq : 1;
	batch b = { .c = c, .queries = queries, .nq = nq, .dim = dim, .o = o, .out = out };
	atomic_init(&b.next, 0);
	atomic_init(&b.rc, 0);
	pthread_mutex_init(&b.mu, NULL);
	pthread_t *tid = calloc(threads, sizeof *tid);
	if (!tid) {
		pthread_mutex_destroy(&b.mu);
		return vl_fail(c->st, VL_ENOMEM, "out of memory");
	}
	unsigned started = 0;
	for (unsigned t = 1; t < threads; t++) {
		if (vl_thread_start(&tid[t], batch_worker, &b) != 0)
			break; /* fewer threads: the caller's thread still works */
		started++;
	}
	batch_worker(&b);
	for (unsigned t = 1; t <= started; t++)
		pthread_join(tid[t], NULL);
	free(tid);
	pthread_mutex_destroy(&b.mu);
	rc = atomic_load(&b.rc);
	if (rc) {
		for (size_t i = 0; i < nq; i++) {
			vl_results_free(out[i]);
			out[i] = NULL;
		}
		return vl_fail(c->st, rc, "%s", b.msg);
	}
	return VL_OK;
}

/* ---- count ---------------------------------------------------------------- */
int vl_count(vl_collection *c, const char *filter, uint64_t *out)
{
	if (!c || !out)
		return VL_EINVAL;
	vl_clear_err(c->st);
	vl_snap s;
	int rc = vl_snap_begin(c, &s);
	if (rc)
		return rc;
	if (!filter) {
		*out = s.cs.live_rows;
		vl_snap_end(&s);
		return VL_OK;
	}
	vl_search_opts o = VL_SEARCH_OPTS_INIT;
	o.filter = filter;
	plan p;
	scratch sc = { 0 };
	if ((rc = plan_make(c->st, &s, &o, &p)))
		goto out;
	uint64_t n = 0;
	query qr = { .st = c->st, .snap = &s, .filter = p.filter };
	for (uint32_t i = 0; i < s.set->n && rc == VL_OK; i++) {
		const vl_segmap *sm = s.set->segs[i];
		seg_accept acc = { 0 };
		vl_fseg *fs = NULL;
		if (load_chunks(&qr, &sc, sm, &acc) || vl_fseg_new(p.filter, sm, &fs)) {
			rc = vl_fail(c->st, VL_ENOMEM, "out of memory");
			break;
		}
		acc.fs = fs;
		for (uint64_t r = 0; r < sm->nrows; r++)
			n += (uint64_t)accept_row(&acc, (uint32_t)r);
		vl_fseg_free(fs);
	}
	if (rc == VL_OK) {
		/* buffer rows: reuse the buffer scan's filter path without distances */
		MDB_cursor *cur;
		if ((rc = mdb_cursor_open(s.txn, c->st->e->db.buf, &cur))) {
			rc = vl_fail_mdb(c->st, rc, "opening buffer cursor");
			goto out;
		}
		uint8_t kb[4];
		MDB_val k = vl_key_coll(kb, c->id), v;
		int mrc;
		for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == 0 && vl_key_in_coll(&k, c->id);
		     mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			const uint8_t *rec;
			size_t len;
			vl_rowrec r;
			vl_diag d;
			vl_diag_clear(&d);
			if (k.mv_size != 12) {
				rc = vl_fail(c->st, VL_ECORRUPT, "damaged write buffer record");
				break;
			}
			if ((rc = vl_snap_rowrec(&s, vl_ld64be((const uint8_t *)k.mv_data + 4), &rec, &len)))
				break;
			if (vl_rowrec_decode(rec, len, &r, &sc.rb, 0, &d)) {
				rc = vl_fail_diag(c->st, &d);
				break;
			}
			n += (uint64_t)vl_filter_match_rec(p.filter, &r);
		}
		mdb_cursor_close(cur);
	}
	if (rc == VL_OK)
		*out = n;
out:
	vl_filter_free(p.filter);
	scratch_free(&sc);
	vl_snap_end(&s);
	return rc;
}
