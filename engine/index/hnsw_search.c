/*
 * hnsw_search.c - queries over the mapped HNSW layers.
 *
 * Greedy descent through the upper layers from the entry node, then an ef
 * search on layer 0 (hnswlib's searchBaseLayerST semantics with a filter):
 * every reachable node is a candidate for traversal, only accepted rows
 * enter the result set, and the search goes on until ef accepted rows are
 * held and no candidate can improve them (or the candidates run out).
 * Distances are the storage type's primary-level distances. Neighbour ids
 * and degrees read from the file are bounds-checked as they are used.
 */
#include <stdlib.h>
#include <string.h>

#include "hnsw.h"

typedef struct hcand {
	float d;
	uint32_t id;
} hcand;

struct hnsw_scratch {
	uint64_t n;
	uint16_t *tags;            /* visited marks, reset by epoch */
	uint16_t epoch;
	hcand *cand;               /* min-heap: candidates to expand */
	hcand *res;                /* max-heap: accepted results */
	size_t cand_cap, res_cap;
	uint32_t *ids;
	float *dists;
	size_t ids_cap;
};

void hnsw_scratch_free(hnsw_scratch *sc)
{
	if (!sc)
		return;
	free(sc->tags);
	free(sc->cand);
	free(sc->res);
	free(sc->ids);
	free(sc->dists);
	free(sc);
}

static hnsw_scratch *scratch_new(uint64_t n, uint32_t M0)
{
	hnsw_scratch *sc = calloc(1, sizeof *sc);
	if (!sc)
		return NULL;
	sc->n = n;
	sc->tags = calloc(n ? n : 1, sizeof *sc->tags);
	sc->ids_cap = M0 ? M0 : 1;
	sc->ids = malloc(sc->ids_cap * sizeof *sc->ids);
	sc->dists = malloc(sc->ids_cap * sizeof *sc->dists);
	if (!sc->tags || !sc->ids || !sc->dists) {
		hnsw_scratch_free(sc);
		return NULL;
	}
	return sc;
}

static void new_epoch(hnsw_scratch *sc)
{
	if (++sc->epoch == 0) {
		memset(sc->tags, 0, sc->n * sizeof *sc->tags);
		sc->epoch = 1;
	}
}

static int grow(hcand **h, size_t *cap, size_t want)
{
	if (*cap >= want)
		return VL_OK;
	size_t c = *cap ? *cap : 64;
	while (c < want)
		c *= 2;
	hcand *p = realloc(*h, c * sizeof *p);
	if (!p)
		return VL_ENOMEM;
	*h = p;
	*cap = c;
	return VL_OK;
}

/* ---- heaps --------------------------------------------------------------- */

static void minheap_push(hcand *h, size_t *n, float d, uint32_t id)
{
	size_t i = (*n)++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (h[p].d <= d)
			break;
		h[i] = h[p];
		i = p;
	}
	h[i] = (hcand){ d, id };
}

static hcand minheap_pop(hcand *h, size_t *n)
{
	hcand top = h[0], last = h[--*n];
	size_t i = 0, m = *n;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= m)
			break;
		if (c + 1 < m && h[c + 1].d < h[c].d)
			c++;
		if (h[c].d >= last.d)
			break;
		h[i] = h[c];
		i = c;
	}
	if (m)
		h[i] = last;
	return top;
}

static void maxheap_push(hcand *h, size_t *n, float d, uint32_t id)
{
	size_t i = (*n)++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (h[p].d >= d)
			break;
		h[i] = h[p];
		i = p;
	}
	h[i] = (hcand){ d, id };
}

static void maxheap_pop(hcand *h, size_t *n)
{
	hcand last = h[--*n];
	size_t i = 0, m = *n;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= m)
			break;
		if (c + 1 < m && h[c + 1].d > h[c].d)
			c++;
		if (h[c].d <= last.d)
			break;
		h[i] = h[c];
		i = c;
	}
	if (m)
		h[i] = last;
}

/* ---- search -------------------------------------------------------------- */

static inline void prefetch_row(const vl_qview *q, uint32_t id)
{
	__builtin_prefetch(q->primary + (size_t)id * q->pstride);
}

/* Greedy walk on one upper level: move to the closest neighbour while it
 * improves. */
static uint32_t greedy(const hnsw_state *s, const void *qbuf, hnsw_scratch *sc, uint32_t level,
                       uint32_t cur, float *curd, uint64_t *evals)
{
	const vl_qview *q = s->q;
	for (int changed = 1; changed;) {
		changed = 0;
		uint64_t off = hnsw_upper_list(s, cur, level);
		if (off == UINT64_MAX)
			break;
		const uint32_t *list = s->links + off;
		uint32_t deg = list[0] <= s->M ? list[0] : s->M;
		size_t m = 0;
		for (uint32_t j = 0; j < deg; j++)
			if (list[1 + j] < s->n) {
				sc->ids[m++] = list[1 + j];
				prefetch_row(q, list[1 + j]);
			}
		if (!m)
			break;
		q->ops->dist_rows(q, qbuf, sc->ids, m, sc->dists);
		*evals += m;
		for (size_t j = 0; j < m; j++)
			if (sc->dists[j] < *curd) {
				*curd = sc->dists[j];
				cur = sc->ids[j];
				changed = 1;
			}
	}
	return cur;
}

/* Layer-0 ef search from ep; accepted results pushed into out. The
 * candidate heap holds every node pushed and not yet expanded: it grows on
 * demand (a selective filter can make it large). */
static int search_l0(const hnsw_state *s, const vl_index_query *qr, hnsw_scratch *sc,
                      uint32_t ep, float epd, size_t ef, vl_topk *out, uint64_t *evals)
{
	const vl_qview *q = s->q;
	const vl_accept *acc = &qr->accept;
	size_t nc = 0, nr = 0;
	if (grow(&sc->res, &sc->res_cap, ef + 2) || grow(&sc->cand, &sc->cand_cap, ef + s->M0 + 2))
		return VL_ENOMEM;
	hcand *C = sc->cand, *W = sc->res;
	uint16_t ep_tag = sc->epoch;
	float lower = __builtin_inff();
	sc->tags[ep] = ep_tag;
	minheap_push(C, &nc, epd, ep);
	if (vl_accepts(acc, ep)) {
		maxheap_push(W, &nr, epd, ep);
		lower = epd;
	}
	const size_t stride = (size_t)s->M0 + 1;
	while (nc) {
		if (C[0].d > lower && nr >= ef)
			break;
		hcand c = minheap_pop(C, &nc);
		const uint32_t *list = s->l0 + c.id * stride;
		uint32_t deg = list[0] <= s->M0 ? list[0] : s->M0;
		size_t m = 0;
		for (uint32_t j = 0; j < deg; j++) {
			uint32_t id = list[1 + j];
			if (id >= s->n || sc->tags[id] == ep_tag)
				continue;
			sc->tags[id] = ep_tag;
			prefetch_row(q, id);
			sc->ids[m++] = id;
		}
		if (!m)
			continue;
		if (nc + m > sc->cand_cap) {
			if (grow(&sc->cand, &sc->cand_cap, nc + m))
				return VL_ENOMEM;
			C = sc->cand;
		}
		q->ops->dist_rows(q, qr->qbuf, sc->ids, m, sc->dists);
		*evals += m;
		for (size_t j = 0; j < m; j++) {
			float d = sc->dists[j];
			uint32_t id = sc->ids[j];
			if (nr < ef || d < lower) {
				minheap_push(C, &nc, d, id);
				__builtin_prefetch(s->l0 + (size_t)C[0].id * stride);
				if (vl_accepts(acc, id)) {
					maxheap_push(W, &nr, d, id);
					if (nr > ef)
						maxheap_pop(W, &nr);
					lower = W[0].d;
				}
			}
		}
	}
	for (size_t i = 0; i < nr; i++)
		vl_topk_push(out, W[i].d, W[i].id, qr->src);
	return VL_OK;
}

static hnsw_scratch *get_scratch(hnsw_state *st)
{
	hnsw_scratch *sc = vl_spool_take(&st->scratch);
	return sc ? sc : scratch_new(st->n, st->M0 > st->M ? st->M0 : st->M);
}

int hnsw_search(void *state, const vl_index_query *qr, vl_topk *out, vl_diag *d)
{
	hnsw_state *st = state;
	uint64_t ef;
	int rc = vl_param_u64(&qr->params, HNSW_P_EF, st->ef, 1, HNSW_MAX_EF, &ef, d);
	if (rc)
		return rc;
	if (st->n == 0 || !out->cap)
		return VL_OK;
	/* ef must cover what the engine keeps (k, or its re-rank window) */
	if (ef < qr->k)
		ef = qr->k;
	if (ef < out->cap)
		ef = out->cap;
	hnsw_scratch *sc = get_scratch(st);
	if (!sc)
		return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory for hnsw search scratch");
	uint64_t evals = 0;
	const vl_qview *q = st->q;
	uint32_t cur = st->entry;
	float curd = q->ops->dist(q, qr->qbuf, cur);
	evals++;
	for (uint32_t l = st->max_level; l >= 1; l--)
		cur = greedy(st, qr->qbuf, sc, l, cur, &curd, &evals);
	new_epoch(sc);
	rc = search_l0(st, qr, sc, cur, curd, (size_t)ef, out, &evals);
	vl_spool_give(&st->scratch, sc);
	if (qr->distance_evals)
		*qr->distance_evals += evals;
	if (rc)
		return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory in hnsw search");
	return VL_OK;
}
