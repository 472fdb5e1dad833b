/*
 * vamana_build.c - Vamana graph construction (DiskANN, two passes).
 *
 *   entry = medoid (row nearest the centroid of the originals);
 *   pass 1: insert every row in a seeded random order with alpha = 1;
 *   pass 2: insert every row again (another order) with the configured alpha.
 * Inserting p: beam search for p from the entry with window L; the expanded
 * nodes plus p's current neighbours form the candidate pool (sorted, capped
 * at MAX_CANDIDATE_POOL_SIZE); RobustPrune picks N_out(p); p is then added to
 * each chosen neighbour's list, which is re-pruned when it overflows R.
 *
 * Parallelism without nondeterminism: rows are inserted in batches. Within a
 * batch, searches and prunes run in parallel against the graph as it was at
 * the start of the batch and write per-row outputs; the new lists are then
 * installed, and back-edges are grouped by target (sorted), each target
 * repaired by one task. Batch boundaries depend only on the row count, so
 * the graph is the same whatever the thread count (and byte-identical for a
 * fixed seed). Batches start at one row and grow with the graph.
 *
 * Distances: the storage's primary level (asymmetric: the row being placed
 * is a prepared float32 query against the others' codes), or the originals
 * when BUILD_PRECISION=full.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "io/segwriter.h"
#include "simd/simd.h"
#include "vamana.h"
#include "vl_bytes.h"

#define BATCH_MAX 1024u
#define BATCH_GROWTH 8u        /* batch = rows already placed / 8, at least 1 */

/* ---- small helpers -------------------------------------------------------- */

static uint64_t mix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

void vam_permute(uint32_t *perm, uint64_t n, uint64_t seed)
{
	uint64_t s = seed;
	for (uint64_t i = 0; i < n; i++)
		perm[i] = (uint32_t)i;
	for (uint64_t i = n; i > 1; i--) {
		uint64_t j = mix64(&s) % i;
		uint32_t t = perm[i - 1];
		perm[i - 1] = perm[j];
		perm[j] = t;
	}
}

int vam_cmp_cand(const void *a, const void *b)
{
	const vam_cand *x = a, *y = b;
	if (x->dist != y->dist)
		return x->dist < y->dist ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

int vam_tls_reserve(vam_tls *t, size_t n)
{
	if (n <= t->cap)
		return VL_OK;
	size_t cap = t->cap ? t->cap : 256;
	while (cap < n)
		cap *= 2;
	vam_cand *pool = realloc(t->pool, cap * sizeof *pool);
	if (pool)
		t->pool = pool;
	uint8_t *flags = realloc(t->flags, cap);
	if (flags)
		t->flags = flags;
	uint32_t *ids = realloc(t->ids, cap * sizeof *ids);
	if (ids)
		t->ids = ids;
	uint32_t *idx = realloc(t->idx, cap * sizeof *idx);
	if (idx)
		t->idx = idx;
	float *dists = realloc(t->dists, cap * sizeof *dists);
	if (dists)
		t->dists = dists;
	if (!pool || !flags || !ids || !idx || !dists)
		return VL_ENOMEM;
	t->cap = cap;
	return VL_OK;
}

const void *vam_query(const vam_work *w, vam_tls *t, uint32_t id)
{
	if (w->qcache)
		return w->qcache + (size_t)id * w->qstride;
	w->q->ops->prepare(w->q, vam_vec(w, id), t->s->qbuf);
	return t->s->qbuf;
}

void vam_set_row(vam_work *w, uint32_t p, const uint32_t *ids, uint32_t cnt)
{
	uint32_t *row = w->adj + (uint64_t)p * w->S;
	memmove(row, ids, cnt * sizeof *row);
	for (uint32_t j = cnt; j < w->S; j++)
		row[j] = VAM_PAD;
	w->deg[p] = cnt;
}

/* ---- one batch of insertions ---------------------------------------------- */

typedef struct batch {
	vam_work *w;
	const uint32_t *nodes;     /* the batch's rows */
	size_t count;
	double alpha;
	uint32_t window;           /* search window of this pass */
	uint32_t *res;             /* count * R new lists */
	uint32_t *cnt;
	uint32_t *extra;           /* count * nextra: near nodes offered a back-edge */
	uint32_t *nex;
	uint32_t nextra;
	uint64_t *pairs;           /* (target << 32 | slot), sorted */
	size_t npairs;
	size_t *runs;              /* start of each target's run in pairs */
	size_t nruns;
	atomic_int err;
} batch;

/* Phase A: search for the row and prune its candidates (graph read-only). */
static void search_task(void *ctx, size_t i, unsigned tid)
{
	batch *b = ctx;
	vam_work *w = b->w;
	vam_tls *t = &w->tls[tid];
	uint32_t p = b->nodes[i];
	vam_graph g = { w->adj, w->S, w->n, w->entry };
	vam_beam a = { .window = b->window, .buffer = b->window, .record_expanded = 1 };
	uint64_t evals;
	const void *qp = vam_query(w, t, p);
	if (vam_beam_search(&g, w->q, qp, t->s, &a, &evals)) {
		atomic_store(&b->err, VL_ENOMEM);
		return;
	}
	size_t ne = t->s->exp_n, deg = w->deg[p];
	if (vam_tls_reserve(t, ne + deg)) {
		atomic_store(&b->err, VL_ENOMEM);
		return;
	}
	memcpy(t->pool, t->s->expanded, ne * sizeof *t->pool);
	/* p's current neighbours stay candidates (pass 2, back-edges) */
	const uint32_t *row = w->adj + (uint64_t)p * w->S;
	if (deg) {
		w->q->ops->dist_rows(w->q, qp, row, deg, t->dists);
		for (size_t j = 0; j < deg; j++) {
			t->pool[ne + j].id = row[j];
			t->pool[ne + j].dist = t->dists[j];
		}
	}
	size_t np = vam_tidy_pool(w, t, ne + deg, p);
	uint32_t *res = b->res + i * w->R;
	b->cnt[i] = vam_robust_prune(w, t, p, np, b->alpha, res);
	/* merges: the nearest pool members not chosen as out-neighbours are
	 * offered p as an in-edge too (pruned on arrival), so a row inserted
	 * into a finished graph gathers in-edges as it would over two passes */
	uint32_t ne2 = 0;
	for (size_t k = 0; k < np && ne2 < b->nextra; k++) {
		uint32_t id = t->pool[k].id;
		int chosen = 0;
		for (uint32_t x = 0; x < b->cnt[i] && !chosen; x++)
			chosen = res[x] == id;
		if (!chosen)
			b->extra[i * b->nextra + ne2++] = id;
	}
	b->nex[i] = ne2;
}

/* Phase C: merge the new in-edges of one target; prune if it overflows. */
static void backedge_task(void *ctx, size_t r, unsigned tid)
{
	batch *b = ctx;
	vam_work *w = b->w;
	vam_tls *t = &w->tls[tid];
	size_t from = b->runs[r], to = r + 1 < b->nruns ? b->runs[r + 1] : b->npairs;
	uint32_t j = (uint32_t)(b->pairs[from] >> 32);
	uint32_t deg = w->deg[j];
	size_t need = deg + (to - from);
	if (need > t->list_cap) {
		uint32_t *l = realloc(t->list, need * sizeof *l);
		if (!l) {
			atomic_store(&b->err, VL_ENOMEM);
			return;
		}
		t->list = l;
		t->list_cap = need;
	}
	uint32_t *row = w->adj + (uint64_t)j * w->S;
	memcpy(t->list, row, deg * sizeof *row);
	size_t n = deg;
	for (size_t k = from; k < to; k++) {
		uint32_t src = b->nodes[(uint32_t)b->pairs[k]];
		int have = src == j;
		for (size_t x = 0; x < deg && !have; x++)
			have = row[x] == src;
		if (!have)
			t->list[n++] = src;
	}
	/* lists may run over R up to the slack before they are pruned */
	if (n <= w->S) {
		vam_set_row(w, j, t->list, (uint32_t)n);
		return;
	}
	if (vam_repair_node(w, tid, j, t->list, n, b->alpha))
		atomic_store(&b->err, VL_ENOMEM);
}

static int run_batch(batch *b)
{
	vam_work *w = b->w;
	atomic_store(&b->err, VL_OK);
	vam_pool_run(w->pool, b->count, search_task, b);
	if (atomic_load(&b->err))
		return atomic_load(&b->err);
	/* install the new lists, then collect back-edges by target */
	b->npairs = 0;
	for (size_t i = 0; i < b->count; i++) {
		vam_set_row(w, b->nodes[i], b->res + i * w->R, b->cnt[i]);
		for (uint32_t k = 0; k < b->cnt[i]; k++)
			b->pairs[b->npairs++] = (uint64_t)b->res[i * w->R + k] << 32 | i;
		for (uint32_t k = 0; k < b->nex[i]; k++)
			b->pairs[b->npairs++] = (uint64_t)b->extra[i * b->nextra + k] << 32 | i;
	}
	qsort(b->pairs, b->npairs, sizeof *b->pairs, cmp_u64);
	b->nruns = 0;
	for (size_t k = 0; k < b->npairs; k++)
		if (k == 0 || b->pairs[k] >> 32 != b->pairs[k - 1] >> 32)
			b->runs[b->nruns++] = k;
	vam_pool_run(w->pool, b->nruns, backedge_task, b);
	return atomic_load(&b->err);
}

typedef struct trim_ctx {
	vam_work *w;
	double alpha;
	atomic_int err;
} trim_ctx;

static void trim_task(void *ctx, size_t v, unsigned tid)
{
	trim_ctx *c = ctx;
	vam_work *w = c->w;
	if (w->deg[v] <= w->R)
		return;
	if (vam_repair_node(w, tid, (uint32_t)v, w->adj + (uint64_t)v * w->S, w->deg[v], c->alpha))
		atomic_store(&c->err, VL_ENOMEM);
}

/* Prune every list that used the slack back to R. */
static int trim_all(vam_work *w, double alpha, vl_diag *d)
{
	trim_ctx c = { .w = w, .alpha = alpha };
	atomic_store(&c.err, VL_OK);
	vam_pool_run(w->pool, w->n, trim_task, &c);
	if (atomic_load(&c.err))
		return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory pruning the vamana graph");
	return VL_OK;
}

int vam_insert_pass(vam_work *w, const uint32_t *nodes, size_t count, double alpha,
                    uint32_t extra_in, int first_pass, const char *phase, vl_diag *d)
{
	batch b = { .w = w, .alpha = alpha, .nextra = extra_in, .window = w->p.L };
	/* The first pass (alpha 1) only has to give the second a navigable
	 * graph: a quarter of the window costs 20% less build time for the same
	 * recall (Fashion-MNIST 20K: recall@10 0.9835 vs 0.9837 at window 10). */
	if (first_pass)
		b.window = w->p.L / 4 > w->R ? w->p.L / 4 : w->R;
	size_t per = (size_t)w->R + extra_in;
	b.res = malloc((size_t)BATCH_MAX * w->R * sizeof *b.res);
	b.cnt = malloc(BATCH_MAX * sizeof *b.cnt);
	b.extra = malloc((size_t)BATCH_MAX * (extra_in ? extra_in : 1) * sizeof *b.extra);
	b.nex = calloc(BATCH_MAX, sizeof *b.nex);
	b.pairs = malloc((size_t)BATCH_MAX * per * sizeof *b.pairs);
	b.runs = malloc((size_t)BATCH_MAX * per * sizeof *b.runs);
	int rc = VL_OK;
	if (!b.res || !b.cnt || !b.extra || !b.nex || !b.pairs || !b.runs) {
		rc = vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory building the vamana graph");
		goto out;
	}
	/* rows already in the graph make batches larger (a pass over a built
	 * graph starts at full size) */
	uint64_t placed = 0;
	for (uint64_t v = 0; v < w->n && placed < (uint64_t)BATCH_MAX * BATCH_GROWTH; v++)
		placed += w->deg[v] != 0;
	/* a small insertion set (a merge) still gets several batches, so its
	 * rows see each other */
	size_t cap = count / 16 > BATCH_MAX ? BATCH_MAX : count / 16 ? count / 16 : 1;
	for (size_t done = 0; done < count;) {
		size_t bs = (size_t)((placed + done) / BATCH_GROWTH);
		bs = bs < 1 ? 1 : bs > cap ? cap : bs;
		if (bs > count - done)
			bs = count - done;
		b.nodes = nodes + done;
		b.count = bs;
		if ((rc = run_batch(&b))) {
			vl_diag_set(d, rc, VL_NO_OFFSET, "out of memory building the vamana graph");
			goto out;
		}
		done += bs;
		if (w->progress && w->progress(w->progress_ud, phase, done, count)) {
			rc = vl_diag_set(d, VL_ECANCELED, VL_NO_OFFSET, "canceled during %s", phase);
			goto out;
		}
	}
	rc = trim_all(w, alpha, d);
out:
	free(b.res);
	free(b.cnt);
	free(b.extra);
	free(b.nex);
	free(b.pairs);
	free(b.runs);
	return rc;
}

/* ---- set-up and output ---------------------------------------------------- */

#define HUGE_PAGE ((size_t)2 << 20)

/*
 * Anonymous memory the kernel may back with 2 MiB pages (MADV_HUGEPAGE;
 * THP's "madvise" mode is Debian's default). The query cache and the
 * adjacency rows are read at random all through the build; with 4 KiB
 * pages most of those reads also miss the TLB (545K x 768-d, lvq4x4, 2
 * threads: graph 183 s with malloc, 155-161 s with these). Lengths are
 * rounded up to whole huge pages (big_free rounds the same way); NULL when
 * the mapping fails.
 */
static size_t big_len(size_t len) { return (len + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1); }

static void *big_alloc(size_t len)
{
	size_t want = big_len(len);
	uint8_t *p = mmap(NULL, want + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
	                  -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* keep a huge-page-aligned window of the mapping, give back the rest */
	size_t lead = (HUGE_PAGE - (uintptr_t)p % HUGE_PAGE) % HUGE_PAGE;
	if (lead)
		munmap(p, lead);
	munmap(p + lead + want, HUGE_PAGE - lead);
	p += lead;
	(void)madvise(p, want, MADV_HUGEPAGE); /* advice: 4 KiB pages work too */
	return p;
}

static void big_free(void *p, size_t len)
{
	if (p)
		munmap(p, big_len(len));
}

/* The query cache may take a fifth of physical memory; beyond that the
 * build prepares queries as it goes (slower, same graph). */
static size_t qcache_budget(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
	if (pages <= 0 || psz <= 0)
		return (size_t)1 << 30;
	return (size_t)pages / 5 * (size_t)psz;
}

#define QFILL_ROWS 1024u   /* rows per task of the cache fill */

static void qfill_task(void *ctx, size_t i, unsigned tid)
{
	vam_work *w = ctx;
	void *qbuf = w->tls[tid].s->qbuf;
	for (size_t r = i * QFILL_ROWS; r < (i + 1) * QFILL_ROWS && r < w->n; r++) {
		w->q->ops->prepare(w->q, vam_vec(w, (uint32_t)r), qbuf);
		memcpy(w->qcache + r * w->qstride, qbuf, w->q->qbuf_scan);
	}
}

/*
 * Every row is prepared as a query many times while building (the row
 * being inserted, each neighbour RobustPrune chooses, each list repaired):
 * each preparation reads the row's float32 original, a random 3 KiB miss
 * at 768-d. Preparing every row once, in row order, and keeping the part
 * the integer kernels read (about a quarter of the original) removes that
 * work, and the distances are bit-identical (545K x 768-d, lvq4x4, 2
 * threads: graph 202 -> 155-161 s, with the cache in huge pages). Skipped
 * when the quantizer does not say which part that is, or when memory is
 * short.
 */
static void cache_queries(vam_work *w)
{
	if (!w->q->qbuf_scan || !w->n) /* float32 and leanvec declare none */
		return;
	size_t stride = (w->q->qbuf_scan + 63) / 64 * 64;
	if ((size_t)w->n * stride > qcache_budget() || !(w->qcache = big_alloc((size_t)w->n * stride)))
		return;
	w->qstride = stride;
	vam_pool_run(w->pool, ((size_t)w->n + QFILL_ROWS - 1) / QFILL_ROWS, qfill_task, w);
}

int vam_work_init(vam_work *w, const vl_index_build *b, vl_diag *d)
{
	memset(w, 0, sizeof *w);
	int compressed = b->q->ops->id != VL_STORAGE_FLOAT32;
	int rc = vam_parse_params(&b->params, b->metric, compressed, &w->p, d);
	if (rc)
		return rc;
	if (b->nrows >= VAM_MAX_ROWS)
		return vl_diag_set(d, VL_ELIMIT, VL_NO_OFFSET, "vamana: a segment graph holds fewer than 2^31 rows");
	w->n = b->nrows;
	w->R = w->p.R;
	w->S = w->R + (w->R * 3 + 9) / 10; /* DiskANN's 1.3 x R slack while building */
	w->dim = b->dim;
	w->metric = b->metric;
	w->vectors = b->vectors;
	w->threads = b->threads ? b->threads : 1;
	w->seed = b->seed;
	w->progress = b->progress;
	w->progress_ud = b->progress_ud;
	w->q = b->q;
	if (w->p.full_precision && compressed) {
		w->fullq = (vl_qview){ .dim = b->dim, .metric = b->metric, .nrows = b->nrows,
		                       .ops = &vl_quant_float32 };
		if ((rc = vl_quant_float32.open(&w->fullq, NULL, 0, d)))
			return rc;
		w->fullq.primary = (const uint8_t *)b->vectors;
		w->fullq.norms = b->q->norms;
		w->fullq_open = 1;
		w->q = &w->fullq;
	}
	w->adj = big_alloc((size_t)(w->n ? w->n : 1) * w->S * sizeof *w->adj);
	w->deg = calloc(w->n ? w->n : 1, sizeof *w->deg);
	w->tls = calloc(w->threads, sizeof *w->tls);
	w->pool = vam_pool_new(w->threads);
	if (!w->adj || !w->deg || !w->tls || !w->pool)
		goto nomem;
	memset(w->adj, 0xff, (size_t)w->n * w->S * sizeof *w->adj);
	for (unsigned i = 0; i < w->threads; i++) {
		w->tls[i].s = vam_scratch_new(w->n, w->S, w->q->qbuf_size);
		if (!w->tls[i].s || vam_tls_reserve(&w->tls[i], (size_t)w->p.L * 2 + w->R))
			goto nomem;
	}
	cache_queries(w);
	return VL_OK;
nomem:
	vam_work_free(w);
	return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory for a vamana graph of %llu rows",
	                   (unsigned long long)b->nrows);
}

void vam_work_free(vam_work *w)
{
	if (w->pool)
		vam_pool_free(w->pool);
	for (unsigned i = 0; w->tls && i < w->threads; i++) {
		vam_tls *t = &w->tls[i];
		vam_scratch_free(t->s);
		free(t->pool);
		free(t->flags);
		free(t->ids);
		free(t->idx);
		free(t->dists);
		free(t->list);
	}
	free(w->tls);
	big_free(w->adj, (size_t)(w->n ? w->n : 1) * w->S * sizeof *w->adj);
	big_free(w->qcache, (size_t)w->n * w->qstride);
	free(w->deg);
	if (w->fullq_open && w->fullq.ops->close)
		w->fullq.ops->close(&w->fullq);
	memset(w, 0, sizeof *w);
}

int vam_write_sections(vam_work *w, const vl_index_build *b, vl_diag *d)
{
	uint64_t edges = 0;
	uint32_t maxdeg = 0;
	for (uint64_t v = 0; v < w->n; v++) {
		edges += w->deg[v];
		if (w->deg[v] > maxdeg)
			maxdeg = w->deg[v];
	}
	uint8_t m[VAM_META_BYTES] = { 0 };
	memcpy(m, VAM_MAGIC, 8);
	vl_st32(m + 8, VAM_VERSION);
	vl_st32(m + 12, VAM_META_BYTES);
	vl_st64(m + 16, w->n);
	vl_st32(m + 24, w->R);
	vl_st32(m + 28, w->entry);
	vl_st64(m + 32, edges);
	float a = (float)w->p.alpha;
	uint32_t ab;
	memcpy(&ab, &a, 4);
	vl_st32(m + 40, ab);
	vl_st32(m + 44, w->p.L);
	vl_st32(m + 48, w->p.maxc);
	vl_st32(m + 52, w->p.search_window);
	vl_st32(m + 56, w->p.search_buffer);
	m[60] = (uint8_t)w->metric;
	m[61] = (uint8_t)(w->p.full_precision != 0);
	m[62] = 2;
	m[63] = (uint8_t)w->origin;
	vl_st64(m + 64, w->seed);
	vl_st32(m + 72, maxdeg);
	int rc;
	if ((rc = vl_segw_begin(b->w, VL_SEC_VAMANA_META, 0, 0)) ||
	    (rc = vl_segw_write(b->w, m, sizeof m)) || (rc = vl_segw_end(b->w)) ||
	    (rc = vl_segw_begin(b->w, VL_SEC_VAMANA_ADJ, 0, (uint64_t)w->R * 4)))
		return rc;
	uint8_t chunk[16384];
	size_t fill = 0;
	uint64_t total = w->n * w->R;
	for (uint64_t i = 0; i < total && rc == VL_OK; i++) {
		/* rows are pruned to R by now: the slack slots are empty */
		vl_st32(chunk + fill, w->adj[i / w->R * w->S + i % w->R]);
		fill += 4;
		if (fill == sizeof chunk || i + 1 == total) {
			rc = vl_segw_write(b->w, chunk, fill);
			fill = 0;
		}
	}
	if (rc)
		return rc;
	return vl_segw_end(b->w);
}

/* ---- the build op ----------------------------------------------------------- */

int vam_build(const vl_index_build *b, vl_diag *d) { return vam_build_full(b, 0, d); }

int vam_build_full(const vl_index_build *b, int origin, vl_diag *d)
{
	vam_work w;
	int rc = vam_work_init(&w, b, d);
	if (rc)
		return rc;
	w.origin = origin;
	uint32_t *perm = malloc((size_t)(w.n ? w.n : 1) * sizeof *perm);
	if (!perm) {
		rc = vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory");
		goto out;
	}
	if (w.n && (rc = vam_medoid(&w, 0, &w.entry, d)))
		goto out;
	vam_permute(perm, w.n, w.seed);
	if ((rc = vam_insert_pass(&w, perm, w.n, 1.0, 0, 1, "vamana pass 1", d)))
		goto out;
	vam_permute(perm, w.n, w.seed ^ 0x5851F42D4C957F2Dull);
	if ((rc = vam_insert_pass(&w, perm, w.n, w.p.alpha, 0, 0, "vamana pass 2", d)) ||
	    (rc = vam_connect(&w, d)))
		goto out;
	rc = vam_write_sections(&w, b, d);
out:
	free(perm);
	vam_work_free(&w);
	return rc;
}
