/*
 * hnsw_build.c - HNSW construction, hnswlib's algorithm:
 *
 *   - node levels floor(-ln(u)·mL), mL = 1/ln(M), drawn per node from the
 *     seed (hnsw_level), so the layout of the upper lists is known up front
 *     and is exactly the on-disk one;
 *   - each node is inserted by a greedy descent from the entry to its level,
 *     then on each of its levels an ef_construction search, the neighbour
 *     selection heuristic down to M, and reverse links to each chosen
 *     neighbour (re-pruned with the heuristic when it is full: M on upper
 *     levels, M0 = 2M on layer 0);
 *   - threads insert nodes claimed in order from an atomic counter, with a
 *     lock per list stripe (hnswlib: one lock per node) and a global lock
 *     while the entry point may change. With one thread the build is
 *     deterministic for a given seed;
 *   - unlike hnswlib, a last pass gives every node left unreachable on
 *     layer 0 an in-edge (reconnect()).
 *
 * Construction distances use the float32 originals (as hnswlib does), so
 * the graph does not depend on the storage type; searches then run on the
 * storage's primary codes.
 */
#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "hnsw.h"
#include "io/segwriter.h"
#include "simd/simd.h"
#include "vl_bytes.h"
#include "vthread.h"

#define NSTRIPES 4096u

typedef struct bcand {
	float d;
	uint32_t id;
} bcand;

typedef struct hb_tls {
	uint16_t *tags;
	uint16_t epoch;
	bcand *cand, *res, *tmp;   /* heaps and a sort buffer */
	size_t cap;
	uint32_t *list;            /* copy of a list read under its lock */
	bcand *sel;                /* heuristic output */
} hb_tls;

typedef struct hbuild {
	uint64_t n;
	uint32_t M, M0, efc, dim;
	vl_metric metric;
	const float *vec;
	const float *norms;
	const vl_kernels *k;
	uint8_t *level;
	uint64_t *uoff;            /* word offset of each node's level-1 list, UINT64_MAX if none */
	uint32_t *l0;              /* n * (M0 + 1) */
	uint32_t *links;           /* upper_words */
	uint64_t n_upper, upper_words;
	pthread_mutex_t stripes[NSTRIPES];
	pthread_mutex_t glock;
	uint32_t entry, max_level;
	atomic_size_t next;
	atomic_size_t done;
	atomic_int stop;
	int err;                   /* VL_ENOMEM / VL_ECANCELED, set under glock */
	pthread_mutex_t plock;     /* progress callback */
	const vl_index_build *b;
} hbuild;

/* ---- distances on the originals ----------------------------------------- */

static inline float dist_ij(const hbuild *h, uint32_t a, uint32_t b)
{
	const float *x = h->vec + (size_t)a * h->dim, *y = h->vec + (size_t)b * h->dim;
	switch (h->metric) {
	case VL_METRIC_IP:
		return -h->k->dot_f32(x, y, h->dim);
	case VL_METRIC_COSINE: {
		float na = h->norms[a], nb = h->norms[b];
		if (!(na > 0) || !(nb > 0))
			return 1.0f;
		return 1.0f - h->k->dot_f32(x, y, h->dim) / (na * nb);
	}
	default:
		return h->k->l2_f32(x, y, h->dim);
	}
}

static inline pthread_mutex_t *lock_of(hbuild *h, uint32_t node)
{
	return &h->stripes[node % NSTRIPES];
}

static inline uint32_t *list_of(hbuild *h, uint32_t node, uint32_t level)
{
	if (level == 0)
		return h->l0 + (size_t)node * (h->M0 + 1);
	return h->links + h->uoff[node] + (size_t)(level - 1) * (h->M + 1);
}

/* Copy node's list at level into out (under its lock); returns the degree. */
static uint32_t read_list(hbuild *h, uint32_t node, uint32_t level, uint32_t *out)
{
	pthread_mutex_t *mu = lock_of(h, node);
	pthread_mutex_lock(mu);
	const uint32_t *l = list_of(h, node, level);
	uint32_t deg = l[0];
	memcpy(out, l + 1, deg * sizeof *out);
	pthread_mutex_unlock(mu);
	return deg;
}

/* ---- heaps (as in hnsw_search.c, on build candidates) -------------------- */

static void minpush(bcand *h, size_t *n, bcand c)
{
	size_t i = (*n)++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (h[p].d <= c.d)
			break;
		h[i] = h[p];
		i = p;
	}
	h[i] = c;
}

static bcand minpop(bcand *h, size_t *n)
{
	bcand top = h[0], last = h[--*n];
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

static void maxpush(bcand *h, size_t *n, bcand c)
{
	size_t i = (*n)++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (h[p].d >= c.d)
			break;
		h[i] = h[p];
		i = p;
	}
	h[i] = c;
}

static void maxpop(bcand *h, size_t *n)
{
	bcand last = h[--*n];
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

static int cand_cmp(const void *a, const void *b)
{
	const bcand *x = a, *y = b;
	if (x->d != y->d)
		return x->d < y->d ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int tls_grow(hb_tls *t, size_t want)
{
	if (t->cap >= want)
		return VL_OK;
	size_t c = t->cap ? t->cap : 256;
	while (c < want)
		c *= 2;
	bcand *a = realloc(t->cand, c * sizeof *a);
	if (!a)
		return VL_ENOMEM;
	t->cand = a;
	bcand *r = realloc(t->res, c * sizeof *r);
	if (!r)
		return VL_ENOMEM;
	t->res = r;
	bcand *s = realloc(t->tmp, c * sizeof *s);
	if (!s)
		return VL_ENOMEM;
	t->tmp = s;
	t->cap = c;
	return VL_OK;
}

/* ---- insertion ----------------------------------------------------------- */

/* ef search on one level from ep for node q; the result (<= ef, ascending)
 * is left in t->res[0..*nres). */
static int search_level(hbuild *h, hb_tls *t, uint32_t q, uint32_t ep, float epd, uint32_t level,
                        size_t ef, size_t *nres)
{
	if (++t->epoch == 0) {
		memset(t->tags, 0, h->n * sizeof *t->tags);
		t->epoch = 1;
	}
	uint32_t cap = level ? h->M : h->M0;
	size_t nc = 0, nr = 0;
	if (tls_grow(t, ef + cap + 2))
		return VL_ENOMEM;
	t->tags[ep] = t->epoch;
	minpush(t->cand, &nc, (bcand){ epd, ep });
	maxpush(t->res, &nr, (bcand){ epd, ep });
	while (nc) {
		if (t->cand[0].d > t->res[0].d && nr >= ef)
			break;
		bcand c = minpop(t->cand, &nc);
		uint32_t deg = read_list(h, c.id, level, t->list);
		if (nc + deg + 1 > t->cap && tls_grow(t, nc + deg + 1))
			return VL_ENOMEM;
		for (uint32_t j = 0; j < deg; j++) {
			uint32_t id = t->list[j];
			if (t->tags[id] == t->epoch)
				continue;
			t->tags[id] = t->epoch;
			float d = dist_ij(h, q, id);
			if (nr < ef || d < t->res[0].d) {
				minpush(t->cand, &nc, (bcand){ d, id });
				maxpush(t->res, &nr, (bcand){ d, id });
				if (nr > ef)
					maxpop(t->res, &nr);
			}
		}
	}
	qsort(t->res, nr, sizeof *t->res, cand_cmp);
	*nres = nr;
	return VL_OK;
}

/* The neighbour-selection heuristic: walk candidates from the closest and
 * keep one only if it is closer to the base than to every one kept so far.
 * c[0..n) ascending; writes up to m into out; returns how many. */
static size_t heuristic(const hbuild *h, const bcand *c, size_t n, size_t m, bcand *out)
{
	if (n < m) {
		memcpy(out, c, n * sizeof *out);
		return n;
	}
	size_t k = 0;
	for (size_t i = 0; i < n && k < m; i++) {
		int good = 1;
		for (size_t j = 0; j < k; j++)
			if (dist_ij(h, c[i].id, out[j].id) < c[i].d) {
				good = 0;
				break;
			}
		if (good)
			out[k++] = c[i];
	}
	return k;
}

static void write_list(uint32_t *l, const bcand *c, size_t n, uint32_t cap)
{
	l[0] = (uint32_t)n;
	for (size_t i = 0; i < n; i++)
		l[1 + i] = c[i].id;
	for (size_t i = n; i < cap; i++)
		l[1 + i] = HNSW_PAD;
}

/* Link q to its selected neighbours at level and add the reverse edges. */
static void connect(hbuild *h, hb_tls *t, uint32_t q, uint32_t level, const bcand *w, size_t nw,
                    size_t *nsel)
{
	uint32_t maxm = level ? h->M : h->M0;
	size_t ns = heuristic(h, w, nw, h->M, t->sel);
	*nsel = ns;
	pthread_mutex_t *mu = lock_of(h, q);
	pthread_mutex_lock(mu);
	write_list(list_of(h, q, level), t->sel, ns, maxm);
	pthread_mutex_unlock(mu);
	for (size_t i = 0; i < ns; i++) {
		uint32_t e = t->sel[i].id;
		if (e == q)
			continue;
		mu = lock_of(h, e);
		pthread_mutex_lock(mu);
		uint32_t *l = list_of(h, e, level);
		uint32_t deg = l[0];
		int present = 0;
		for (uint32_t j = 0; j < deg; j++)
			present |= l[1 + j] == q;
		if (present) {
		} else if (deg < maxm) {
			l[1 + deg] = q;
			l[0] = deg + 1;
		} else {
			/* full: re-select among the old neighbours and q */
			bcand *cs = t->tmp;
			cs[0] = (bcand){ t->sel[i].d, q };
			for (uint32_t j = 0; j < deg; j++)
				cs[1 + j] = (bcand){ dist_ij(h, e, l[1 + j]), l[1 + j] };
			qsort(cs, deg + 1, sizeof *cs, cand_cmp);
			bcand keep[2 * HNSW_MAX_M + 1];
			size_t nk = heuristic(h, cs, deg + 1, maxm, keep);
			write_list(l, keep, nk, maxm);
		}
		pthread_mutex_unlock(mu);
	}
}

static int insert(hbuild *h, hb_tls *t, uint32_t q)
{
	uint32_t lq = h->level[q];
	pthread_mutex_lock(&h->glock);
	uint32_t maxl = h->max_level, ep = h->entry;
	int hold = lq > maxl;      /* as hnswlib: keep the global lock while raising the top */
	if (!hold)
		pthread_mutex_unlock(&h->glock);
	float epd = dist_ij(h, q, ep);
	for (uint32_t l = maxl; l > lq; l--) {
		for (int changed = 1; changed;) {
			changed = 0;
			uint32_t deg = read_list(h, ep, l, t->list);
			for (uint32_t j = 0; j < deg; j++) {
				float d = dist_ij(h, q, t->list[j]);
				if (d < epd) {
					epd = d;
					ep = t->list[j];
					changed = 1;
				}
			}
		}
	}
	int rc = VL_OK;
	for (uint32_t l = (lq < maxl ? lq : maxl) + 1; l-- > 0;) {
		size_t nw, ns;
		if ((rc = search_level(h, t, q, ep, epd, l, h->efc, &nw)))
			break;
		if (tls_grow(t, (size_t)h->M0 + 2)) {
			rc = VL_ENOMEM;
			break;
		}
		connect(h, t, q, l, t->res, nw, &ns);
		/* hnswlib continues from the closest selected neighbour */
		if (ns) {
			ep = t->sel[0].id;
			epd = t->sel[0].d;
		}
	}
	if (hold) {
		if (rc == VL_OK) {
			h->entry = q;
			h->max_level = lq;
		}
		pthread_mutex_unlock(&h->glock);
	}
	return rc;
}

/* ---- threads -------------------------------------------------------------- */

static void fail(hbuild *h, int rc)
{
	pthread_mutex_lock(&h->plock);
	if (!h->err)
		h->err = rc;
	pthread_mutex_unlock(&h->plock);
	atomic_store(&h->stop, 1);
}

static void *worker(void *arg)
{
	hbuild *h = arg;
	hb_tls t = { 0 };
	t.tags = calloc(h->n, sizeof *t.tags);
	t.list = malloc(((size_t)h->M0 + 1) * sizeof *t.list);
	t.sel = malloc(((size_t)h->M0 + 1) * sizeof *t.sel);
	if (!t.tags || !t.list || !t.sel || tls_grow(&t, (size_t)h->efc + h->M0 + 2)) {
		fail(h, VL_ENOMEM);
		goto out;
	}
	const vl_index_build *b = h->b;
	while (!atomic_load(&h->stop)) {
		size_t i = atomic_fetch_add(&h->next, 1);
		if (i >= h->n)
			break;
		int rc = insert(h, &t, (uint32_t)i);
		if (rc) {
			fail(h, rc);
			break;
		}
		size_t done = atomic_fetch_add(&h->done, 1) + 1;
		if (b->progress && (done & 4095) == 0) {
			pthread_mutex_lock(&h->plock);
			int cancel = b->progress(b->progress_ud, "hnsw", done, h->n);
			pthread_mutex_unlock(&h->plock);
			if (cancel)
				fail(h, VL_ECANCELED);
		}
	}
out:
	free(t.tags);
	free(t.list);
	free(t.sel);
	free(t.cand);
	free(t.res);
	free(t.tmp);
	return NULL;
}

/* ---- layer-0 reachability ------------------------------------------------- */

/* Mark every node reachable on layer 0 from `from` (BFS through queue). */
static void mark_from(hbuild *h, uint32_t from, uint8_t *seen, uint32_t *queue)
{
	size_t head = 0, tail = 0;
	if (seen[from])
		return;
	seen[from] = 1;
	queue[tail++] = from;
	while (head < tail) {
		const uint32_t *l = list_of(h, queue[head++], 0);
		for (uint32_t j = 0; j < l[0]; j++)
			if (!seen[l[1 + j]]) {
				seen[l[1 + j]] = 1;
				queue[tail++] = l[1 + j];
			}
	}
}

/* Give orphan u an in-edge from v: append, or replace v's farthest
 * neighbour that keeps another in-edge. 0 when v has no such slot. */
static int link_into(hbuild *h, uint32_t v, uint32_t u, uint32_t *indeg)
{
	uint32_t *l = list_of(h, v, 0);
	if (l[0] < h->M0) {
		l[1 + l[0]++] = u;
		indeg[u]++;
		return 1;
	}
	uint32_t best = UINT32_MAX;
	float bestd = -1.0f;
	for (uint32_t j = 0; j < l[0]; j++) {
		float dj = dist_ij(h, v, l[1 + j]);
		if (indeg[l[1 + j]] > 1 && dj > bestd) {
			bestd = dj;
			best = j;
		}
	}
	if (best == UINT32_MAX)
		return 0;
	indeg[l[1 + best]]--;
	l[1 + best] = u;
	indeg[u]++;
	return 1;
}

/*
 * hnswlib's re-pruning of full neighbour lists can remove a node's last
 * in-edge on layer 0; no search finds such a node again, at any ef (seen
 * on clustered 768-d data: 4 of 1,000 nodes unreachable, recall capped at
 * 0.955). After the build, each node not reachable from the entry gets an
 * in-edge from the nearest reachable node that can take one (found by an
 * ef_construction search from the entry). A replaced edge can cut off
 * what lay behind it, so passes repeat until nothing is left or a pass
 * makes no progress. Returns the number of nodes still unreachable.
 */
static int reconnect(hbuild *h, uint64_t *left)
{
	int rc = VL_OK;
	hb_tls t = { 0 };
	uint8_t *seen = malloc(h->n);
	uint32_t *queue = malloc(h->n * sizeof *queue);
	uint32_t *indeg = calloc(h->n, sizeof *indeg);
	t.tags = calloc(h->n, sizeof *t.tags);
	t.list = malloc(((size_t)h->M0 + 1) * sizeof *t.list);
	t.sel = malloc(((size_t)h->M0 + 1) * sizeof *t.sel);
	if (!seen || !queue || !indeg || !t.tags || !t.list || !t.sel ||
	    tls_grow(&t, (size_t)h->efc + h->M0 + 2)) {
		rc = VL_ENOMEM;
		goto out;
	}
	uint64_t prev = UINT64_MAX;
	for (int pass = 0; pass < 8; pass++) {
		memset(seen, 0, h->n);
		memset(indeg, 0, h->n * sizeof *indeg);
		for (uint64_t v = 0; v < h->n; v++) {
			const uint32_t *l = list_of(h, (uint32_t)v, 0);
			for (uint32_t j = 0; j < l[0]; j++)
				indeg[l[1 + j]]++;
		}
		mark_from(h, h->entry, seen, queue);
		uint64_t orphans = 0;
		for (uint64_t u = 0; u < h->n; u++)
			orphans += !seen[u];
		*left = orphans;
		if (!orphans || orphans >= prev)
			break;
		prev = orphans;
		for (uint64_t u = 0; u < h->n; u++) {
			if (seen[u])
				continue;
			size_t nr;
			uint32_t q = (uint32_t)u;
			if ((rc = search_level(h, &t, q, h->entry, dist_ij(h, q, h->entry), 0, h->efc, &nr)))
				goto out;
			for (size_t i = 0; i < nr; i++)
				if (t.res[i].id != q && seen[t.res[i].id] && link_into(h, t.res[i].id, q, indeg)) {
					mark_from(h, q, seen, queue);
					break;
				}
		}
	}
out:
	free(seen);
	free(queue);
	free(indeg);
	free(t.tags);
	free(t.list);
	free(t.sel);
	free(t.cand);
	free(t.res);
	free(t.tmp);
	return rc;
}

/* ---- sections ------------------------------------------------------------- */

static int write_u32s(vl_segw *w, const uint32_t *p, uint64_t n)
{
	uint8_t buf[16384];
	int rc = VL_OK;
	for (uint64_t i = 0; i < n && rc == VL_OK;) {
		size_t m = n - i < sizeof buf / 4 ? (size_t)(n - i) : sizeof buf / 4;
		for (size_t j = 0; j < m; j++)
			vl_st32(buf + 4 * j, p[i + j]);
		rc = vl_segw_write(w, buf, m * 4);
		i += m;
	}
	return rc;
}

static int write_sections(hbuild *h, const vl_index_build *b, uint64_t seed, uint32_t ef)
{
	vl_segw *w = b->w;
	uint64_t e0 = 0, eu = 0;
	for (uint64_t v = 0; v < h->n; v++) {
		e0 += h->l0[v * (h->M0 + 1)];
		for (uint32_t l = 1; l <= h->level[v]; l++)
			eu += list_of(h, (uint32_t)v, l)[0];
	}
	uint8_t m[HNSW_META_BYTES] = { 0 };
	memcpy(m, HNSW_MAGIC, 8);
	vl_st32(m + 8, HNSW_VERSION);
	vl_st32(m + 12, HNSW_META_BYTES);
	vl_st64(m + 16, h->n);
	vl_st32(m + 24, h->M);
	vl_st32(m + 28, h->M0);
	vl_st32(m + 32, h->efc);
	vl_st32(m + 36, ef);
	vl_st32(m + 40, h->entry);
	vl_st32(m + 44, h->max_level);
	vl_st64(m + 48, h->n_upper);
	vl_st64(m + 56, h->upper_words);
	vl_st64(m + 64, e0);
	vl_st64(m + 72, eu);
	vl_st64(m + 80, seed);
	m[88] = (uint8_t)h->metric;
	int rc;
	if ((rc = vl_segw_begin(w, VL_SEC_HNSW_META, 0, 0)) || (rc = vl_segw_write(w, m, sizeof m)) ||
	    (rc = vl_segw_end(w)))
		return rc;
	if ((rc = vl_segw_begin(w, VL_SEC_HNSW_L0, 0, ((uint64_t)h->M0 + 1) * 4)) ||
	    (rc = write_u32s(w, h->l0, h->n * (h->M0 + 1))) || (rc = vl_segw_end(w)))
		return rc;
	if ((rc = vl_segw_begin(w, VL_SEC_HNSW_UPPER, 0, 0)))
		return rc;
	for (uint64_t v = 0; v < h->n && rc == VL_OK; v++) {
		if (!h->level[v])
			continue;
		uint8_t e[HNSW_UPPER_ENTRY];
		vl_st32(e, (uint32_t)v);
		vl_st32(e + 4, h->level[v]);
		vl_st64(e + 8, h->uoff[v]);
		rc = vl_segw_write(w, e, sizeof e);
	}
	if (rc || (rc = vl_segw_end(w)))
		return rc;
	if ((rc = vl_segw_begin(w, VL_SEC_HNSW_LINKS, 0, 0)) ||
	    (rc = write_u32s(w, h->links, h->upper_words)) || (rc = vl_segw_end(w)))
		return rc;
	return VL_OK;
}

/* ---- entry point ----------------------------------------------------------- */

static void hbuild_free(hbuild *h, int locks)
{
	if (locks) {
		for (unsigned i = 0; i < NSTRIPES; i++)
			pthread_mutex_destroy(&h->stripes[i]);
		pthread_mutex_destroy(&h->glock);
		pthread_mutex_destroy(&h->plock);
	}
	free(h->level);
	free(h->uoff);
	free(h->l0);
	free(h->links);
	free(h);
}

int hnsw_build(const vl_index_build *b, vl_diag *d)
{
	hnsw_params p;
	int rc = hnsw_parse_params(&b->params, &p, d);
	if (rc)
		return rc;
	if (b->nrows >= UINT32_MAX)
		return vl_diag_set(d, VL_ELIMIT, VL_NO_OFFSET, "hnsw: at most 2^32-2 rows per segment");
	if (b->metric == VL_METRIC_COSINE && !b->q->norms)
		return vl_diag_set(d, VL_EINVAL, VL_NO_OFFSET, "hnsw: cosine build needs the norms section");
	hbuild *h = calloc(1, sizeof *h);
	if (!h)
		return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory");
	h->b = b;
	h->n = b->nrows;
	h->M = p.M;
	h->M0 = 2 * p.M;
	h->efc = p.efc < p.M ? p.M : p.efc;
	h->dim = b->dim;
	h->metric = b->metric;
	h->vec = b->vectors;
	h->norms = b->q->norms;
	h->k = vl_kern();
	int locks = 0;
	h->level = malloc(h->n ? h->n : 1);
	h->uoff = malloc((h->n ? h->n : 1) * sizeof *h->uoff);
	h->l0 = malloc((h->n ? h->n : 1) * (h->M0 + 1) * sizeof *h->l0);
	if (!h->level || !h->uoff || !h->l0)
		goto oom;
	uint64_t seed = b->seed;
	for (uint64_t v = 0; v < h->n; v++) {
		uint32_t l = hnsw_level(seed, v, h->M);
		h->level[v] = (uint8_t)l;
		h->uoff[v] = l ? h->upper_words : UINT64_MAX;
		h->upper_words += (uint64_t)l * (h->M + 1);
		h->n_upper += l > 0;
		uint32_t *row = h->l0 + v * (h->M0 + 1);
		row[0] = 0;
		for (uint32_t j = 1; j <= h->M0; j++)
			row[j] = HNSW_PAD;
	}
	h->links = malloc((h->upper_words ? h->upper_words : 1) * sizeof *h->links);
	if (!h->links)
		goto oom;
	for (uint64_t i = 0; i < h->upper_words; i++)
		h->links[i] = i % (h->M + 1) == 0 ? 0 : HNSW_PAD;
	for (unsigned i = 0; i < NSTRIPES; i++)
		pthread_mutex_init(&h->stripes[i], NULL);
	pthread_mutex_init(&h->glock, NULL);
	pthread_mutex_init(&h->plock, NULL);
	locks = 1;
	if (h->n) {
		/* node 0 is the first entry; the rest are inserted in parallel */
		h->entry = 0;
		h->max_level = h->level[0];
		atomic_store(&h->next, 1);
		atomic_store(&h->done, 1);
		unsigned nth = b->threads ? b->threads : 1;
		if (nth > 256)
			nth = 256;
		if ((uint64_t)nth > h->n)
			nth = (unsigned)h->n;
		pthread_t th[256];
		unsigned started = 0;
		for (unsigned i = 1; i < nth; i++, started++)
			if (vl_thread_start(&th[started], worker, h) != 0)
				break;
		worker(h);
		for (unsigned i = 0; i < started; i++)
			pthread_join(th[i], NULL);
		if (h->err) {
			rc = h->err == VL_ECANCELED
			         ? vl_diag_set(d, VL_ECANCELED, VL_NO_OFFSET, "canceled during hnsw build")
			         : vl_diag_set(d, h->err, VL_NO_OFFSET, "out of memory building hnsw layers");
			hbuild_free(h, locks);
			return rc;
		}
	}
	uint64_t orphans = 0;
	if (h->n && (rc = reconnect(h, &orphans))) {
		hbuild_free(h, locks);
		return vl_diag_set(d, rc, VL_NO_OFFSET, "out of memory building hnsw layers");
	}
	rc = write_sections(h, b, seed, p.ef);
	hbuild_free(h, locks);
	return rc;
oom:
	hbuild_free(h, locks);
	return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory building hnsw layers");
}
