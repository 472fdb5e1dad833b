/*
 * vamana_search.c - beam search over a fixed-degree adjacency.
 *
 * One routine serves queries and construction: a buffer of candidates sorted
 * by distance, of which the best `window` must all be expanded before the
 * search stops (DiskANN's GreedySearch with SVS's window/buffer split).
 * Expanding a node evaluates its unvisited neighbours in one dist_rows call
 * after prefetching their codes. Visited nodes are tagged with an 8-bit epoch
 * in per-thread scratch memory, so a query allocates nothing proportional to
 * the number of nodes.
 *
 * Filters: every evaluated node may guide the traversal, but only accepted
 * ones are pushed to the results. When the window's best `window` nodes are
 * expanded and fewer than `need` of them are accepted, the window doubles
 * (up to window_cap) while unexpanded candidates remain.
 */
#include <stdlib.h>
#include <string.h>

#include "vamana.h"

#define VAM_ALIGN 64

static void *alloc_aligned(size_t n)
{
	void *p = NULL;
	if (posix_memalign(&p, VAM_ALIGN, n ? (n + VAM_ALIGN - 1) / VAM_ALIGN * VAM_ALIGN : VAM_ALIGN))
		return NULL;
	return p;
}

vam_scratch *vam_scratch_new(uint64_t n, uint32_t R, size_t qbuf_size)
{
	vam_scratch *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->n = n;
	s->tags = calloc(n ? n : 1, sizeof *s->tags);
	s->ids_cap = R;
	s->ids = malloc((R ? R : 1) * sizeof *s->ids);
	s->dists = malloc((R ? R : 1) * sizeof *s->dists);
	s->qbuf_size = qbuf_size;
	s->qbuf = alloc_aligned(qbuf_size);
	if (!s->tags || !s->ids || !s->dists || !s->qbuf) {
		vam_scratch_free(s);
		return NULL;
	}
	return s;
}

void vam_scratch_free(vam_scratch *s)
{
	if (!s)
		return;
	free(s->tags);
	free(s->buf);
	free(s->merge);
	free(s->expanded);
	free(s->ids);
	free(s->dists);
	free(s->qbuf);
	free(s);
}

int vam_scratch_reserve(vam_scratch *s, size_t buf_cap)
{
	if (buf_cap <= s->buf_cap)
		return VL_OK;
	size_t cap = s->buf_cap ? s->buf_cap : 64;
	while (cap < buf_cap)
		cap *= 2;
	vam_cand *b = realloc(s->buf, cap * sizeof *b);
	if (!b)
		return VL_ENOMEM;
	s->buf = b;
	vam_cand *m = realloc(s->merge, (cap + s->ids_cap) * sizeof *m);
	if (!m)
		return VL_ENOMEM; /* buf_cap unchanged: the next call retries both */
	s->merge = m;
	s->buf_cap = cap;
	return VL_OK;
}

static int push_expanded(vam_scratch *s, float dist, uint32_t id)
{
	if (s->exp_n == s->exp_cap) {
		size_t cap = s->exp_cap ? s->exp_cap * 2 : 256;
		vam_cand *e = realloc(s->expanded, cap * sizeof *e);
		if (!e)
			return VL_ENOMEM;
		s->expanded = e;
		s->exp_cap = cap;
	}
	s->expanded[s->exp_n].dist = dist;
	s->expanded[s->exp_n].id = id;
	s->exp_n++;
	return VL_OK;
}

/* A fresh epoch: every node unvisited. */
void vam_scratch_epoch(vam_scratch *s)
{
	if (++s->epoch == 0) {
		memset(s->tags, 0, s->n * sizeof *s->tags);
		s->epoch = 1;
	}
}

/* First position of the sorted buffer buf[0..n) whose distance exceeds d:
 * equal distances stay ahead of d. */
static size_t buf_upper(const vam_cand *buf, size_t n, float d)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (buf[mid].dist <= d)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Insert (d, id) into the sorted buffer of *size entries (capacity cap);
 * returns its position, or cap if it did not fit. Equal distances keep
 * arrival order so results do not depend on anything but the inputs. */
static size_t buf_insert(vam_cand *buf, size_t *size, size_t cap, float d, uint32_t id)
{
	size_t n = *size;
	if (n == cap && !(d < buf[n - 1].dist))
		return cap;
	size_t lo = buf_upper(buf, n, d);
	size_t move = (n == cap ? n - 1 : n) - lo;
	memmove(buf + lo + 1, buf + lo, move * sizeof *buf);
	buf[lo].dist = d;
	buf[lo].id = id;
	if (n < cap)
		*size = n + 1;
	return lo;
}

/*
 * Merge the m evaluated neighbours (ids[i], d[i], in evaluation order) into
 * the sorted buffer. The result is what m calls of buf_insert give (equal
 * distances: buffered entries first, then evaluation order) with one pass
 * over the buffer's tail instead of a memmove per insertion. tmp holds
 * m + cap entries. Returns the position of the best new entry, or cap when
 * none entered (buf_insert's smallest return value).
 */
static size_t buf_merge(vam_cand *buf, size_t *size, size_t cap, const uint32_t *ids,
                        const float *d, size_t m, vam_cand *tmp)
{
	size_t n = *size, k = 0;
	for (size_t i = 0; i < m; i++) {
		if (n == cap && !(d[i] < buf[n - 1].dist))
			continue; /* cannot enter even before the others */
		size_t j = k++;
		for (; j > 0 && tmp[j - 1].dist > d[i]; j--)
			tmp[j] = tmp[j - 1];
		tmp[j].dist = d[i];
		tmp[j].id = ids[i];
	}
	if (!k)
		return cap;
	/* entries up to the first one farther than the best new one stay */
	size_t p0 = buf_upper(buf, n, tmp[0].dist), total = n + k < cap ? n + k : cap;
	vam_cand *tail = tmp + k;
	memcpy(tail, buf + p0, (n - p0) * sizeof *buf);
	size_t a = 0, b = 0, nt = n - p0;
	for (size_t o = p0; o < total; o++)
		buf[o] = b == k || (a < nt && tail[a].dist <= tmp[b].dist) ? tail[a++] : tmp[b++];
	*size = total;
	return p0;
}

/* Accepted nodes among the first w of the buffer. */
static size_t accepted_in(const vam_cand *buf, size_t w, const vl_accept *acc)
{
	size_t c = 0;
	for (size_t i = 0; i < w; i++)
		c += vl_accepts(acc, buf[i].id & ~VAM_EXPANDED) != 0;
	return c;
}

typedef struct beam_out {
	vl_topk *out;
	const vl_accept *acc;
	uint32_t src;
	float worst;
} beam_out;

static inline void offer(beam_out *o, float d, uint32_t id)
{
	if (!o->out || !(d <= o->worst))
		return;
	if (o->acc && !vl_accepts(o->acc, id))
		return;
	if (vl_topk_push(o->out, d, id, o->src))
		o->worst = vl_topk_worst(o->out);
}

/* Collect the unvisited, valid neighbours of node c into s->ids. */
static size_t gather(const vam_graph *g, const vl_qview *q, vam_scratch *s, uint32_t c)
{
	const uint32_t *row = g->adj + (uint64_t)c * g->R;
	uint8_t *tags = s->tags;
	uint8_t ep = s->epoch;
	size_t m = 0;
	for (uint32_t j = 0; j < g->R; j++) {
		uint32_t id = row[j];
		if (id == VAM_PAD)
			break;
		__builtin_prefetch(&tags[id < g->n ? id : 0]);
	}
	for (uint32_t j = 0; j < g->R; j++) {
		uint32_t id = row[j];
		if (id == VAM_PAD)
			break;
		if (id >= g->n || tags[id] == ep)
			continue; /* a corrupt id is skipped, never followed */
		tags[id] = ep;
		s->ids[m++] = id;
	}
	/* the codes of every new neighbour, a few lines each (the kernel
	 * streams the rest) */
	size_t bytes = q->pstride < 512 ? q->pstride : 512;
	for (size_t i = 0; i < m; i++)
		vam_prefetch(q->primary + (uint64_t)s->ids[i] * q->pstride, bytes);
	return m;
}

/* Prefetch the adjacency row of the node `skip` unexpanded entries after
 * position from (skip 0: the next the search will expand). */
static inline void prefetch_row(const vam_graph *g, const vam_cand *buf, size_t from, size_t lim,
                                unsigned skip)
{
	for (size_t i = from; i < lim; i++)
		if (!(buf[i].id & VAM_EXPANDED) && !skip--) {
			vam_prefetch(g->adj + (uint64_t)buf[i].id * g->R, (size_t)g->R * sizeof *g->adj);
			return;
		}
}

int vam_beam_search(const vam_graph *g, const vl_qview *q, const void *qbuf, vam_scratch *s,
                    const vam_beam *a, uint64_t *evals_out)
{
	*evals_out = 0;
	s->exp_n = 0;
	if (g->n == 0 || g->entry >= g->n)
		return VL_OK;
	size_t w = a->window ? a->window : 1;
	size_t cap = a->buffer > w ? a->buffer : w;
	if (vam_scratch_reserve(s, cap))
		return VL_ENOMEM;
	int rc = VL_OK;
	vam_scratch_epoch(s);
	beam_out o = { a->out, a->accept && a->accept->fn ? a->accept : NULL, a->src,
	               a->out ? vl_topk_worst(a->out) : 0 };
	/* Without a filter (or with one that rejects almost nothing, such as
	 * tombstones), the best out->cap nodes evaluated are the buffer's first
	 * entries when the buffer holds that many: keep them there (no accept
	 * call or heap push per evaluation) and hand the accepted ones over at
	 * the end. Entries past the window are never expanded, so the traversal
	 * is unchanged. */
	int direct = a->out && (!o.acc || a->direct);
	if (direct) {
		if (cap < a->out->cap)
			cap = a->out->cap;
		if (vam_scratch_reserve(s, cap))
			return VL_ENOMEM;
		o.out = NULL;
	}
	vam_cand *buf = s->buf;
	size_t size = 0, cur = 0;
	uint64_t evals = 1;
	uint32_t e = g->entry;
	s->tags[e] = s->epoch;
	float d0 = q->ops->dist(q, qbuf, e);
	buf_insert(buf, &size, cap, d0, e);
	offer(&o, d0, e);
	for (;;) {
		size_t lim = size < w ? size : w;
		while (cur < lim && (buf[cur].id & VAM_EXPANDED))
			cur++;
		if (cur >= lim) {
			/* filtered: widen while the window holds too few accepted nodes */
			if (o.acc && a->need && w < a->window_cap && size > w &&
			    accepted_in(buf, lim, o.acc) < a->need) {
				/* the buffer stays twice the window, so that candidates
				 * beyond the window survive to be expanded next time */
				w = w * 2 < a->window_cap ? w * 2 : a->window_cap;
				if (cap < 2 * w) {
					if ((rc = vam_scratch_reserve(s, 2 * w)))
						break;
					buf = s->buf;
					cap = 2 * w;
				}
				continue;
			}
			break;
		}
		uint32_t c = buf[cur].id;
		buf[cur].id |= VAM_EXPANDED;
		if (a->record_expanded && (rc = push_expanded(s, buf[cur].dist, c)))
			break;
		size_t m = gather(g, q, s, c);
		prefetch_row(g, buf, cur + 1, lim, 0);
		if (!m)
			continue;
		q->ops->dist_rows(q, qbuf, s->ids, m, s->dists);
		evals += m;
		int nan = 0;
		for (size_t i = 0; i < m; i++) {
			offer(&o, s->dists[i], s->ids[i]);
			nan |= s->dists[i] != s->dists[i];
		}
		if (!nan) {
			size_t pos = buf_merge(buf, &size, cap, s->ids, s->dists, m, s->merge);
			if (pos < cur)
				cur = pos;
			/* the row after next: a whole expansion to arrive */
			prefetch_row(g, buf, cur, size < w ? size : w, 1);
			continue;
		}
		/* a NaN distance (damaged codes): one at a time, as buf_insert
		 * orders it */
		for (size_t i = 0; i < m; i++) {
			size_t pos = buf_insert(buf, &size, cap, s->dists[i], s->ids[i]);
			if (pos < cur)
				cur = pos;
		}
	}
	if (direct)
		for (size_t i = 0; i < size; i++) {
			uint32_t id = buf[i].id & ~VAM_EXPANDED;
			if (!o.acc || vl_accepts(o.acc, id))
				vl_topk_push(a->out, buf[i].dist, id, a->src);
		}
	*evals_out = evals;
	return rc;
}

/* ---- queries ------------------------------------------------------------- */

vam_scratch *vam_state_scratch(vam_state *st)
{
	vam_scratch *sc = vl_spool_take(&st->scratch);
	return sc ? sc : vam_scratch_new(st->g.n, st->g.R, st->q->qbuf_size);
}

void vam_state_release(vam_state *st, vam_scratch *sc) { vl_spool_give(&st->scratch, sc); }

int vam_search(void *state, const vl_index_query *qr, vl_topk *out, vl_diag *d)
{
	vam_state *st = state;
	uint64_t win, bufcap;
	int rc = vl_param_u64(&qr->params, VAM_P_SW, st->search_window, 1, VAM_MAX_WINDOW, &win, d);
	if (rc)
		return rc;
	uint64_t defb = st->search_buffer > win ? st->search_buffer : win;
	if ((rc = vl_param_u64(&qr->params, VAM_P_SB, defb, 1, VAM_MAX_WINDOW, &bufcap, d)))
		return rc;
	if (st->g.n == 0 || !out->cap)
		return VL_OK;
	/* by default the window holds the k results asked for; an explicit
	 * smaller window trades recall for speed (the buffer still keeps k) */
	if (win < qr->k && !vl_param_get(&qr->params, VAM_P_SW))
		win = qr->k;
	if (bufcap < qr->k)
		bufcap = qr->k;
	vam_beam a = { .accept = &qr->accept, .out = out, .src = qr->src };
	uint64_t cap_w = VAM_FILTER_WINDOW_CAP > win ? VAM_FILTER_WINDOW_CAP : win;
	double sel = 1;
	if (qr->accept.fn) {
		sel = qr->accept.selectivity;
		if (!(sel > 0) || sel > 1)
			sel = 1;
		double w = (double)win / sel;
		win = w > (double)cap_w ? cap_w : (uint64_t)(w + 0.999);
		a.need = qr->k < out->cap ? qr->k : (uint32_t)out->cap;
		a.direct = sel >= VAM_DIRECT_SELECTIVITY;
	}
	a.window = (uint32_t)win;
	a.buffer = (uint32_t)(bufcap > win ? bufcap : win);
	if (qr->accept.fn && a.buffer < 2 * win) /* see the window growth in vam_beam_search */
		a.buffer = (uint32_t)(2 * win > VAM_MAX_WINDOW ? VAM_MAX_WINDOW : 2 * win);
	if (a.direct) { /* room for the results the filter will drop */
		double b = (double)out->cap / sel + 1;
		if (b > a.buffer)
			a.buffer = b > (double)VAM_MAX_WINDOW ? VAM_MAX_WINDOW : (uint32_t)b;
	}
	a.window_cap = (uint32_t)cap_w;
	vam_scratch *sc = vam_state_scratch(st);
	if (!sc)
		return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory for vamana search scratch");
	uint64_t evals = 0;
	rc = vam_beam_search(&st->g, st->q, qr->qbuf, sc, &a, &evals);
	vam_state_release(st, sc);
	if (qr->distance_evals)
		*qr->distance_evals += evals;
	if (rc)
		return vl_diag_set(d, rc, VL_NO_OFFSET, "out of memory in vamana search");
	return VL_OK;
}
