/*
 * ivf.c - the IVF index (inverted file over k-means centroids; FAISS's
 * IndexIVF, pgvector's ivfflat): ops table, parameters, the view over its
 * sections in a mapped segment, and search.
 *
 * A query ranks the centroids, then scans the rows of the NPROBE closest
 * lists with the storage type's primary distances. With a row filter of
 * estimated selectivity s it probes NPROBE/sqrt(s) lists. With or without
 * a filter it then goes on list by list in centroid order until it holds k
 * accepted rows or every list is scanned: k hits whenever k rows match
 * (and a list shorter than k at NPROBE=1 costs one more list, not the
 * engine's exact scan of the segment).
 *
 * open() checks the meta record, section sizes and the list offsets
 * (O(nlist)); row ids are bounds-checked as lists are scanned, and verify()
 * checks that the lists hold every row exactly once.
 */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ivf.h"
#include "quant/lvq.h"
#include "quant/qcommon.h"
#include "simd/fp16.h"
#include "simd/simd.h"
#include "vl_bytes.h"

/* ---- parameters ---------------------------------------------------------- */

int ivf_parse_params(const vl_params *p, ivf_params *out, vl_diag *d)
{
	uint64_t nl, np, sm, it, lc;
	int rc;
	if ((rc = vl_param_u64(p, IVF_P_NLIST, 0, 0, IVF_MAX_NLIST, &nl, d)) ||
	    (rc = vl_param_u64(p, IVF_P_NPROBE, IVF_DEF_NPROBE, 1, IVF_MAX_NLIST, &np, d)) ||
	    (rc = vl_param_u64(p, IVF_P_SAMPLE, 0, 0, UINT32_MAX, &sm, d)) ||
	    (rc = vl_param_u64(p, IVF_P_ITER, IVF_DEF_ITER, 0, IVF_MAX_ITER, &it, d)) ||
	    (rc = vl_param_u64(p, IVF_P_CODES, 1, 0, 1, &lc, d)))
		return rc;
	out->codes = (uint32_t)lc;
	out->nlist = (uint32_t)nl;
	out->nprobe = (uint32_t)np;
	out->sample = sm;
	out->iters = (uint32_t)it;
	return VL_OK;
}

uint32_t ivf_nlist_for(const ivf_params *p, uint64_t n)
{
	uint64_t nl = p->nlist ? p->nlist : (uint64_t)llround(4.0 * sqrt((double)n));
	if (nl < 1)
		nl = 1;
	if (nl > n)
		nl = n;
	if (nl > IVF_MAX_NLIST)
		nl = IVF_MAX_NLIST;
	return (uint32_t)nl;
}

static const char *const names[] = { IVF_P_NLIST, IVF_P_NPROBE, IVF_P_SAMPLE, IVF_P_ITER,
	                                    IVF_P_CODES };

static int check_one(const char *name, const char *value, vl_diag *d)
{
	char kv[256];
	int n = snprintf(kv, sizeof kv, "%s=%s", name, value);
	if (n < 0 || (size_t)n >= sizeof kv)
		return vl_diag_set(d, VL_EINVAL, VL_NO_OFFSET, "parameter %s: value too long", name);
	const char *kvs[1] = { kv };
	vl_params p = { kvs, 1 };
	ivf_params out;
	return ivf_parse_params(&p, &out, d);
}

static int ivf_check_param(const char *name, const char *value, uint32_t dim, vl_metric metric,
                           vl_diag *d)
{
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(name, names[i]) == 0)
			return check_one(name, value, d);
	return VL_ENOTFOUND;
}

static int ivf_check_runtime_param(const char *name, const char *value, vl_diag *d)
{
	if (strcmp(name, IVF_P_NPROBE))
		return VL_ENOTFOUND;
	return check_one(name, value, d);
}

static const char *const ivf_defaults_list[] = {
	IVF_P_NPROBE "=16", IVF_P_ITER "=10", IVF_P_CODES "=1", NULL,
};

static const char *const *ivf_defaults(uint32_t dim, vl_metric metric)
{
	return ivf_defaults_list;
}

/* ---- open ----------------------------------------------------------------- */

typedef struct ivf_state {
	uint64_t n;
	uint32_t nlist, dim, nprobe, iters;
	uint64_t sample, maxlist, seed;
	double obj;
	uint8_t metric, spherical, has16, has_codes;
	const float *cent;
	const uint8_t *cent16;     /* float16 centroids, or NULL */
	const uint64_t *off;       /* nlist + 1, validated */
	const uint32_t *rows;
	const vl_qview *q;
	/* CODES present: the storage view with its primary level (and norms)
	 * replaced by the list-ordered copies; row r of lv = ROWS entry r */
	vl_qview lv;
	/* LVQ-8 centroids, encoded at the first search (c8_ready: 0 not yet,
	 * 1 ready, -1 failed: rank with float16/float32 instead) */
	pthread_mutex_t c8_mu;
	atomic_int c8_ready;
	vl_lvq_codec c8;
	float *c8_mean;
	uint8_t *c8_rows;
} ivf_state;

static int bad(vl_diag *d, const vl_index_seg *seg, uint64_t off, const char *what)
{
	return vl_diag_set(d, VL_ECORRUPT, off, "%s: ivf index: %s", seg->path ? seg->path : "segment",
	                   what);
}

static const vl_seg_section *need(const vl_index_seg *seg, uint32_t kind, uint64_t len,
                                  const char *what, vl_diag *d)
{
	const vl_seg_section *sec = vl_seg_find(seg->layout, kind, 0);
	if (!sec) {
		vl_diag_set(d, VL_ECORRUPT, VL_NO_OFFSET, "%s: ivf index: %s section is missing",
		            seg->path ? seg->path : "segment", what);
		return NULL;
	}
	if (sec->length != len) {
		vl_diag_set(d, VL_ECORRUPT, sec->offset,
		            "%s: ivf index: %s section holds %" PRIu64 " bytes, expected %" PRIu64,
		            seg->path ? seg->path : "segment", what, sec->length, len);
		return NULL;
	}
	return sec;
}

static int decode_meta(const vl_index_seg *seg, ivf_state *s, vl_diag *d)
{
	const vl_seg_section *sec = vl_seg_find(seg->layout, VL_SEC_IVF_META, 0);
	if (!sec)
		return bad(d, seg, VL_NO_OFFSET, "meta section is missing");
	const uint8_t *m = seg->base + sec->offset;
	if (sec->length != IVF_META_BYTES || memcmp(m, IVF_MAGIC, 8) != 0)
		return bad(d, seg, sec->offset, "meta section has a bad size or magic");
	if (vl_ld32(m + 8) != IVF_VERSION)
		return vl_diag_set(d, VL_EVERSION, sec->offset + 8, "%s: ivf index version %u is unknown",
		                   seg->path ? seg->path : "segment", vl_ld32(m + 8));
	if (vl_ld32(m + 12) != IVF_META_BYTES || vl_ld64(m + 16) != seg->nrows)
		return bad(d, seg, sec->offset + 12, "meta does not match the segment");
	s->n = vl_ld64(m + 16);
	s->nlist = vl_ld32(m + 24);
	s->dim = vl_ld32(m + 28);
	s->nprobe = vl_ld32(m + 32);
	s->iters = vl_ld32(m + 36);
	s->sample = vl_ld64(m + 40);
	s->metric = m[48];
	s->spherical = m[49];
	s->has16 = m[50];
	s->has_codes = m[51];
	s->seed = vl_ld64(m + 56);
	s->maxlist = vl_ld64(m + 64);
	s->obj = vl_ldf64(m + 72);
	if (s->n >= UINT32_MAX)
		return bad(d, seg, sec->offset + 16, "row count out of range");
	if (s->nlist < 1 || s->nlist > IVF_MAX_NLIST || (s->n && s->nlist > s->n))
		return bad(d, seg, sec->offset + 24, "list count out of range");
	if (s->dim != seg->layout->h.dim)
		return bad(d, seg, sec->offset + 28, "centroid dimension does not match the segment");
	if (s->metric != seg->layout->h.metric)
		return bad(d, seg, sec->offset + 48, "lists were built for another metric");
	if (s->spherical > 1 || s->has16 > 1 || s->has_codes > 1)
		return bad(d, seg, sec->offset + 49, "bad spherical, float16 or codes flag");
	if (s->nprobe < 1 || s->nprobe > IVF_MAX_NLIST)
		s->nprobe = IVF_DEF_NPROBE;
	return VL_OK;
}

/* The list-ordered copy of the primary codes (and norms): a view that
 * reads them as rows 0..n-1 of the storage type. */
static int open_codes(const vl_index_seg *seg, ivf_state *s, vl_diag *d)
{
	const vl_qview *q = seg->q;
	if (!q || !q->primary || !q->pstride)
		return bad(d, seg, VL_NO_OFFSET, "codes section without a storage view");
	const vl_seg_section *c = need(seg, VL_SEC_IVF_CODES, s->n * q->pstride, "codes", d);
	if (!c)
		return VL_ECORRUPT;
	s->lv = *q;
	s->lv.primary = seg->base + c->offset;
	s->lv.secondary = NULL;
	s->lv.sstride = 0;
	if (q->norms) {
		const vl_seg_section *nm = need(seg, VL_SEC_IVF_NORMS, s->n * 4, "norms", d);
		if (!nm)
			return VL_ECORRUPT;
		s->lv.norms = (const float *)(const void *)(seg->base + nm->offset);
	}
	return VL_OK;
}

static int ivf_open(const vl_index_seg *seg, void **state, vl_diag *d)
{
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
	return vl_diag_set(d, VL_EUNSUPPORTED, VL_NO_OFFSET,
	                   "ivf: searching the mapped lists needs a little-endian host");
#endif
	ivf_state *s = calloc(1, sizeof *s);
	if (!s)
		return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory");
	int rc = decode_meta(seg, s, d);
	if (rc)
		goto fail;
	const vl_seg_section *c, *o, *r;
	rc = VL_ECORRUPT;
	if (!(c = need(seg, VL_SEC_IVF_CENTROIDS, (uint64_t)s->nlist * s->dim * 4, "centroids", d)) ||
	    !(o = need(seg, VL_SEC_IVF_OFFSETS, ((uint64_t)s->nlist + 1) * 8, "offsets", d)) ||
	    !(r = need(seg, VL_SEC_IVF_ROWS, s->n * 4, "rows", d)))
		goto fail;
	s->cent = (const float *)(const void *)(seg->base + c->offset);
	if (s->has16) {
		const vl_seg_section *h = need(seg, VL_SEC_IVF_CENT16, (uint64_t)s->nlist * s->dim * 2,
		                               "float16 centroids", d);
		if (!h)
			goto fail;
		s->cent16 = seg->base + h->offset;
	}
	s->off = (const uint64_t *)(const void *)(seg->base + o->offset);
	s->rows = (const uint32_t *)(const void *)(seg->base + r->offset);
	/* monotonic offsets from 0 to nrows: every list lies inside ROWS */
	if (s->off[0] != 0 || s->off[s->nlist] != s->n) {
		rc = bad(d, seg, o->offset, "list offsets do not span the rows section");
		goto fail;
	}
	for (uint32_t i = 0; i < s->nlist; i++)
		if (s->off[i + 1] < s->off[i]) {
			rc = bad(d, seg, o->offset + 8 * (i + 1), "list offsets are not monotonic");
			goto fail;
		}
	s->q = seg->q;
	if (s->has_codes && (rc = open_codes(seg, s, d)))
		goto fail;
	if (pthread_mutex_init(&s->c8_mu, NULL)) {
		rc = vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "ivf: cannot create a mutex");
		goto fail;
	}
	atomic_init(&s->c8_ready, 0);
	*state = s;
	return VL_OK;
fail:
	free(s);
	return rc;
}

static void ivf_close(void *state)
{
	ivf_state *s = state;
	if (!s)
		return;
	pthread_mutex_destroy(&s->c8_mu);
	free(s->c8_mean);
	free(s->c8_rows);
	free(s);
}

/* ---- search ---------------------------------------------------------------- */

typedef struct lrank {
	float d;
	uint32_t list;
} lrank;

static int lrank_cmp(const void *a, const void *b)
{
	const lrank *x = a, *y = b;
	if (x->d != y->d)
		return x->d < y->d ? -1 : 1;
	return x->list < y->list ? -1 : x->list > y->list;
}

/* Distances from the query to centroids (float32, or float16 when f16). */
static void centroid_dists(const ivf_state *s, const float *query, int f16, float *out)
{
	const vl_kernels *k = vl_kern();
	if (s->metric == VL_METRIC_L2) {
		if (f16)
			k->l2_f16_batch(query, s->cent16, (size_t)s->dim * 2, s->dim, s->nlist, out);
		else
			k->l2_f32_batch(query, s->cent, s->dim, s->nlist, out);
		return;
	}
	if (f16)
		k->dot_f16_batch(query, s->cent16, (size_t)s->dim * 2, s->dim, s->nlist, out);
	else
		k->dot_f32_batch(query, s->cent, s->dim, s->nlist, out);
	for (uint32_t i = 0; i < s->nlist; i++)
		out[i] = -out[i];
}

/* Exact (float32) distance to one centroid. */
static float centroid_dist(const ivf_state *s, const float *query, uint32_t c)
{
	const vl_kernels *k = vl_kern();
	const float *x = s->cent + (size_t)c * s->dim;
	return s->metric == VL_METRIC_L2 ? k->l2_f32(query, x, s->dim) : -k->dot_f32(query, x, s->dim);
}

/* Encode the LVQ-8 centroids (once per open segment; under c8_mu), with
 * the codec's own training (mean and exponent of the cleaned centroids).
 * Non-finite components of a damaged file are encoded as 0: the exact
 * re-rank still sees them, and verify reports them. */
static int encode_c8(ivf_state *s)
{
	uint32_t dim = s->dim;
	float *mean = malloc((size_t)dim * sizeof *mean), *x = malloc((size_t)dim * sizeof *x);
	double amax = 0;
	int rc = -1;
	if (!mean || !x || vl_quant_train_mean(s->cent, s->nlist, dim, 0, mean, &amax))
		goto out;
	vl_lvq_codec_init(&s->c8, dim, 8, 0, vl_lvq_exp_for(amax), mean);
	size_t bytes = (size_t)s->nlist * s->c8.pstride;
	if (!(s->c8_rows = vl_qalloc(bytes)))
		goto out;
	memset(s->c8_rows, 0, bytes);
	for (uint32_t c = 0; c < s->nlist; c++) {
		vl_qclean(s->cent + (size_t)c * dim, dim, 0, x);
		vl_lvq_encode(&s->c8, x, s->c8_rows + (size_t)c * s->c8.pstride, NULL);
	}
	s->c8_mean = mean;
	mean = NULL;
	rc = 0;
out:
	free(mean);
	free(x);
	return rc;
}

static int have_c8(const ivf_state *cs)
{
	ivf_state *s = (ivf_state *)(uintptr_t)cs; /* the lazily built copy is the only mutable part */
	int r = atomic_load_explicit(&s->c8_ready, memory_order_acquire);
	if (r)
		return r > 0;
	pthread_mutex_lock(&s->c8_mu);
	r = atomic_load_explicit(&s->c8_ready, memory_order_relaxed);
	if (!r) {
		r = encode_c8(s) == 0 ? 1 : -1;
		atomic_store_explicit(&s->c8_ready, r, memory_order_release);
	}
	pthread_mutex_unlock(&s->c8_mu);
	return r > 0;
}

/* Centroid ranks for the query (NaN centroids from a damaged file sort
 * last), with the LVQ-8 copy when c8 (have_c8). Returns non-zero when the
 * ranks are approximate (LVQ-8 or float16) and the best few need an exact
 * re-rank. qbuf: vl_lvq_qsize bytes, 64-byte aligned (unused without c8). */
static int rank_lists(const ivf_state *s, const float *query, int c8, lrank *rk, float *tmp,
                      void *qbuf)
{
	int approx = 1;
	if (c8) {
		const vl_kernels *k = vl_kern();
		float *w = vl_lvq_qfloats(&s->c8, qbuf);
		k->clean_f32(query, s->dim, w);
		/* dot: a0 - <w, c> = -<w, c>, the same order as largest dot first */
		vl_lvq_prepare(&s->c8, w, s->metric == VL_METRIC_L2, 0.0f, qbuf, NULL);
		k->lvq_scan(qbuf, s->c8_rows, s->c8.pstride, s->nlist, tmp);
	} else {
		centroid_dists(s, query, s->cent16 != NULL, tmp);
		approx = s->cent16 != NULL;
	}
	for (uint32_t i = 0; i < s->nlist; i++)
		rk[i] = (lrank){ tmp[i] == tmp[i] ? tmp[i] : INFINITY, i };
	return approx;
}

/* Partial selection: the best `want` first, sorted (a max-heap of the
 * best seen so far: O(n log want)). */
static void sift_down(lrank *h, uint32_t n, uint32_t i)
{
	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= n)
			return;
		if (c + 1 < n && lrank_cmp(&h[c + 1], &h[c]) > 0)
			c++;
		if (lrank_cmp(&h[c], &h[i]) <= 0)
			return;
		lrank t = h[i];
		h[i] = h[c];
		h[c] = t;
		i = c;
	}
}

static void select_best(lrank *rk, uint32_t n, uint32_t want)
{
	if (want >= n / 4) {
		qsort(rk, n, sizeof *rk, lrank_cmp);
		return;
	}
	for (uint32_t i = want / 2 + 1; i-- > 0;)
		sift_down(rk, want, i);
	for (uint32_t i = want; i < n; i++)
		if (lrank_cmp(&rk[i], &rk[0]) < 0) {
			rk[0] = rk[i];
			sift_down(rk, want, 0);
		}
	qsort(rk, want, sizeof *rk, lrank_cmp);
}

#define SCAN_CHUNK 128

/* Offer m scanned rows (ids[i] at distance dist[i]); ids >= nrows, from a
 * damaged file, are skipped. Returns the rows accepted. */
static uint64_t offer_rows(const ivf_state *s, const vl_index_query *qr, const uint32_t *ids,
                           const float *dist, size_t m, vl_topk *out)
{
	uint64_t accepted = 0;
	float worst = vl_topk_worst(out);
	for (size_t i = 0; i < m; i++) {
		if (ids[i] >= s->n || !vl_accepts(&qr->accept, ids[i]))
			continue;
		accepted++;
		if (dist[i] <= worst && vl_topk_push(out, dist[i], ids[i], qr->src))
			worst = vl_topk_worst(out);
	}
	return accepted;
}

/* Scan one list into out; returns the rows accepted (offered). With CODES
 * the list's codes lie in one run (dist_range over the list view); without,
 * the listed rows are gathered from the segment's primary level. */
static uint64_t scan_list(const ivf_state *s, const vl_index_query *qr, uint32_t list, vl_topk *out,
                          uint64_t *evals)
{
	const vl_qview *q = s->q;
	const uint32_t *ids = s->rows + s->off[list];
	uint64_t len = s->off[list + 1] - s->off[list], accepted = 0;
	uint32_t buf[SCAN_CHUNK];
	float dist[SCAN_CHUNK];
	for (uint64_t i0 = 0; i0 < len; i0 += SCAN_CHUNK) {
		size_t m = 0, cnt = len - i0 < SCAN_CHUNK ? (size_t)(len - i0) : SCAN_CHUNK;
		const uint32_t *got = buf;
		if (s->has_codes) {
			q->ops->dist_range(&s->lv, qr->qbuf, s->off[list] + i0, cnt, dist);
			got = ids + i0;
			m = cnt;
		} else {
			for (size_t i = 0; i < cnt; i++)
				if (ids[i0 + i] < s->n)
					buf[m++] = ids[i0 + i];
			if (m)
				q->ops->dist_rows(q, qr->qbuf, buf, m, dist);
		}
		*evals += m;
		accepted += offer_rows(s, qr, got, dist, m, out);
	}
	return accepted;
}

static int ivf_search(void *state, const vl_index_query *qr, vl_topk *out, vl_diag *d)
{
	const ivf_state *s = state;
	uint64_t np;
	int rc = vl_param_u64(&qr->params, IVF_P_NPROBE, s->nprobe, 1, IVF_MAX_NLIST, &np, d);
	if (rc)
		return rc;
	if (s->n == 0 || !out->cap)
		return VL_OK;
	int filtered = qr->accept.fn && qr->accept.selectivity < 1.0;
	if (filtered) {
		/* the k best accepted rows lie about as far as the k/sel best rows:
		 * probe more lists, sqrt(1/sel) times as many (measured on
		 * Fashion-MNIST: recall under a filter then matches the unfiltered
		 * one down to the engine's EXACT_BELOW) */
		double sel = qr->accept.selectivity > 1e-6 ? qr->accept.selectivity : 1e-6;
		double scaled = ceil((double)np / sqrt(sel));
		np = scaled > (double)IVF_MAX_NLIST ? IVF_MAX_NLIST : (uint64_t)scaled;
	}
	uint32_t nprobe = np > s->nlist ? s->nlist : (uint32_t)np;
	/* one block: ranks, distances, then the 64-byte aligned LVQ query */
	size_t rk_bytes = (size_t)s->nlist * sizeof(lrank), tmp_bytes = (size_t)s->nlist * 4;
	size_t q_at = vl_qalign(rk_bytes + tmp_bytes, 64);
	int c8 = have_c8(s);
	uint8_t *blk = vl_qalloc(q_at + (c8 ? vl_lvq_qsize(&s->c8) : 0));
	if (!blk)
		return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory in ivf search");
	lrank *rk = (lrank *)(void *)blk;
	float *tmp = (float *)(void *)(blk + rk_bytes);
	uint64_t evals = s->nlist;
	uint32_t sorted; /* rk[0..sorted) is in probing order */
	if (rank_lists(s, qr->query, c8, rk, tmp, blk + q_at)) {
		/* approximate ranks: re-rank the best few exactly so the probed
		 * lists are the ones float32 centroids would pick */
		uint32_t m = nprobe * 2 + 8 < s->nlist ? nprobe * 2 + 8 : s->nlist;
		select_best(rk, s->nlist, filtered ? s->nlist : m);
		for (uint32_t i = 0; i < m; i++) {
			float dd = centroid_dist(s, qr->query, rk[i].list);
			rk[i].d = dd == dd ? dd : INFINITY;
		}
		qsort(rk, m, sizeof *rk, lrank_cmp);
		evals += m;
		sorted = filtered ? s->nlist : m;
	} else {
		sorted = filtered ? s->nlist : nprobe;
		select_best(rk, s->nlist, sorted);
	}
	/* past NPROBE lists, go on in centroid order until k rows are held:
	 * with or without a filter, a short list (fewer rows than k) must not
	 * leave the engine to scan the whole segment exactly */
	uint64_t need = qr->k < out->cap ? qr->k : out->cap, accepted = 0;
	for (uint32_t i = 0; i < s->nlist; i++) {
		if (i >= nprobe && accepted >= need)
			break;
		if (i == sorted) {
			qsort(rk + sorted, s->nlist - sorted, sizeof *rk, lrank_cmp);
			sorted = s->nlist;
		}
		accepted += scan_list(s, qr, rk[i].list, out, &evals);
	}
	free(blk);
	if (qr->distance_evals)
		*qr->distance_evals += evals;
	return VL_OK;
}

/* ---- verify / describe ------------------------------------------------------- */

/* The list-ordered copies at position i hold row r's primary codes and norm. */
static int verify_copy(const ivf_state *s, uint64_t i, uint32_t r, vl_diag *d)
{
	size_t ps = s->q->pstride;
	if (memcmp(s->lv.primary + i * ps, s->q->primary + (size_t)r * ps, ps) != 0)
		return vl_diag_set(d, VL_ECORRUPT, VL_NO_OFFSET,
		                   "ivf: codes at list position %" PRIu64 " differ from row %u's", i, r);
	if (s->q->norms && memcmp(&s->lv.norms[i], &s->q->norms[r], sizeof(float)) != 0)
		return vl_diag_set(d, VL_ECORRUPT, VL_NO_OFFSET,
		                   "ivf: norm at list position %" PRIu64 " differs from row %u's", i, r);
	return VL_OK;
}

static int ivf_verify(void *state, vl_diag *d)
{
	const ivf_state *s = state;
	for (uint64_t i = 0; i < (uint64_t)s->nlist * s->dim; i++)
		if (!isfinite(s->cent[i]))
			return vl_diag_set(d, VL_ECORRUPT, VL_NO_OFFSET,
			                   "ivf: centroid %" PRIu64 " has a non-finite component", i / s->dim);
	for (uint64_t i = 0; s->cent16 && i < (uint64_t)s->nlist * s->dim; i++)
		if (vl_ld16(s->cent16 + 2 * i) != vl_f16_from_f32(s->cent[i]))
			return vl_diag_set(d, VL_ECORRUPT, VL_NO_OFFSET,
			                   "ivf: float16 centroid %" PRIu64 " differs from its float32 one",
			                   i / s->dim);
	uint8_t *seen = calloc(s->n ? s->n : 1, 1);
	if (!seen)
		return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory");
	int rc = VL_OK;
	for (uint32_t l = 0; l < s->nlist && rc == VL_OK; l++)
		for (uint64_t i = s->off[l]; i < s->off[l + 1]; i++) {
			uint32_t r = s->rows[i];
			if (r >= s->n || seen[r]) {
				rc = vl_diag_set(d, VL_ECORRUPT, VL_NO_OFFSET,
				                 "ivf: list %u holds row %u, which is %s", l, r,
				                 r >= s->n ? "out of range" : "already in a list");
				break;
			}
			if (i > s->off[l] && r <= s->rows[i - 1]) {
				rc = vl_diag_set(d, VL_ECORRUPT, VL_NO_OFFSET,
				                 "ivf: list %u is not in ascending row order", l);
				break;
			}
			if (s->has_codes && (rc = verify_copy(s, i, r, d)))
				break;
			seen[r] = 1;
		}
	free(seen);
	return rc;
}

static void ivf_describe(void *state, char *buf, size_t len)
{
	const ivf_state *s = state;
	snprintf(buf, len,
	         "nlist=%u nprobe=%u avg_list=%.1f max_list=%" PRIu64 " train_sample=%" PRIu64
	         " train_iter=%u%s%s",
	         s->nlist, s->nprobe, s->nlist ? (double)s->n / s->nlist : 0.0, s->maxlist, s->sample,
	         s->iters, s->spherical ? " spherical" : "", s->has_codes ? " list_codes" : "");
}

const vl_index_ops vl_index_ivf = {
	.name = "ivf",
	.id = VL_INDEX_IVF,
	.check_param = ivf_check_param,
	.check_runtime_param = ivf_check_runtime_param,
	.defaults = ivf_defaults,
	.build = ivf_build,
	.rebuild = NULL,
	.open = ivf_open,
	.close = ivf_close,
	.search = ivf_search,
	.verify = ivf_verify,
	.describe = ivf_describe,
};
