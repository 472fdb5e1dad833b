/*
 * ivf_build.c - IVF construction:
 *
 *   1. a deterministic sample of TRAIN_SAMPLE rows (default 64 x NLIST,
 *      capped at the segment's rows), normalized for cosine;
 *   2. k-means++ seeding (D^2 sampling) on the first 4 x NLIST sample rows,
 *      then TRAIN_ITER Lloyd iterations on the whole sample (an emptied
 *      cluster takes half of the largest one: its centroid is copied and
 *      both copies are nudged apart); cosine keeps unit centroids
 *      (spherical k-means);
 *   3. every row of the segment goes to its nearest centroid (l2; largest
 *      dot product for cosine), rows grouped by list in ascending order.
 *
 * Distances during training are l2 on the originals for l2 and ip, dot on
 * unit vectors for cosine. Assignment runs on b->threads threads, blocked
 * so a tile of centroids stays in cache while a block of rows is scanned.
 * Deterministic for a seed whatever the thread count (the threads only
 * split independent rows).
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/segwriter.h"
#include "ivf.h"
#include "simd/fp16.h"
#include "simd/simd.h"
#include "vl_bytes.h"
#include "vthread.h"

#define ROW_BLOCK 16u
#define CENT_TILE 128u

/* ---- parallel assignment --------------------------------------------------- */

typedef struct assign_job {
	const float *rows;
	size_t n;
	const float *cent;
	uint32_t nlist, dim;
	int by_dot;
	uint32_t *labels;
	float *dist;
	atomic_size_t next;
} assign_job;

static void assign_block(const assign_job *j, size_t i0, size_t i1, float *tmp)
{
	const vl_kernels *k = vl_kern();
	float best[ROW_BLOCK];
	uint32_t arg[ROW_BLOCK];
	for (size_t i = i0; i < i1; i++) {
		best[i - i0] = INFINITY;
		arg[i - i0] = 0;
	}
	for (uint32_t c0 = 0; c0 < j->nlist; c0 += CENT_TILE) {
		uint32_t nc = j->nlist - c0 < CENT_TILE ? j->nlist - c0 : CENT_TILE;
		const float *tile = j->cent + (size_t)c0 * j->dim;
		for (size_t i = i0; i < i1; i++) {
			const float *x = j->rows + i * j->dim;
			if (j->by_dot) {
				k->dot_f32_batch(x, tile, j->dim, nc, tmp);
				for (uint32_t c = 0; c < nc; c++)
					tmp[c] = -tmp[c];
			} else {
				k->l2_f32_batch(x, tile, j->dim, nc, tmp);
			}
			float b = best[i - i0];
			uint32_t a = arg[i - i0];
			for (uint32_t c = 0; c < nc; c++)
				if (tmp[c] < b) {
					b = tmp[c];
					a = c0 + c;
				}
			best[i - i0] = b;
			arg[i - i0] = a;
		}
	}
	for (size_t i = i0; i < i1; i++) {
		j->labels[i] = arg[i - i0];
		if (j->dist)
			j->dist[i] = best[i - i0];
	}
}

static void *assign_worker(void *arg)
{
	assign_job *j = arg;
	float tmp[CENT_TILE];
	for (;;) {
		size_t i0 = atomic_fetch_add(&j->next, ROW_BLOCK);
		if (i0 >= j->n)
			break;
		size_t i1 = j->n - i0 < ROW_BLOCK ? j->n : i0 + ROW_BLOCK;
		assign_block(j, i0, i1, tmp);
	}
	return NULL;
}

void ivf_assign(const float *rows, size_t n, const float *cent, uint32_t nlist, uint32_t dim,
                int by_dot, unsigned threads, uint32_t *labels, float *dist)
{
	assign_job j = { .rows = rows, .n = n, .cent = cent, .nlist = nlist, .dim = dim,
		             .by_dot = by_dot, .labels = labels, .dist = dist };
	atomic_init(&j.next, 0);
	if (threads > 64)
		threads = 64;
	if (threads > 1 && n < 4 * ROW_BLOCK)
		threads = 1;
	pthread_t th[64];
	unsigned started = 0;
	for (unsigned i = 1; i < threads; i++)
		if (vl_thread_start(&th[started], assign_worker, &j) == 0)
			started++;
	assign_worker(&j);
	for (unsigned i = 0; i < started; i++)
		pthread_join(th[i], NULL);
}

/* ---- k-means ------------------------------------------------------------------ */

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double rng_unit(uint64_t *s) { return (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0); }

static void normalize(float *x, uint32_t dim)
{
	double s = 0;
	for (uint32_t i = 0; i < dim; i++)
		s += (double)x[i] * x[i];
	if (s > 0) {
		float inv = (float)(1.0 / sqrt(s));
		for (uint32_t i = 0; i < dim; i++)
			x[i] *= inv;
	}
}

typedef struct kmpp_job {
	const float *x;
	size_t n;
	uint32_t dim;
	const float *c;            /* the centroid just chosen */
	int by_dot;
	float *mind;
	atomic_size_t next;
} kmpp_job;

static void *kmpp_worker(void *arg)
{
	kmpp_job *j = arg;
	const vl_kernels *k = vl_kern();
	for (;;) {
		size_t i0 = atomic_fetch_add(&j->next, 256);
		if (i0 >= j->n)
			break;
		size_t i1 = j->n - i0 < 256 ? j->n : i0 + 256;
		for (size_t i = i0; i < i1; i++) {
			const float *x = j->x + i * j->dim;
			float d = j->by_dot ? 2.0f - 2.0f * k->dot_f32(x, j->c, j->dim)
			                    : k->l2_f32(x, j->c, j->dim);
			if (d < 0)
				d = 0;
			if (d < j->mind[i])
				j->mind[i] = d;
		}
	}
	return NULL;
}

static void kmpp_update(kmpp_job *j, unsigned threads)
{
	atomic_init(&j->next, 0);
	if (threads > 64)
		threads = 64;
	if (j->n < 4096)
		threads = 1;
	pthread_t th[64];
	unsigned started = 0;
	for (unsigned i = 1; i < threads; i++)
		if (vl_thread_start(&th[started], kmpp_worker, j) == 0)
			started++;
	kmpp_worker(j);
	for (unsigned i = 0; i < started; i++)
		pthread_join(th[i], NULL);
}

/* k-means++: the first seed uniformly, each next one with probability
 * proportional to its squared distance to the nearest seed so far. */
static int kmeanspp(const float *x, size_t n, uint32_t dim, uint32_t k, int by_dot,
                    unsigned threads, uint64_t *rng, float *cent)
{
	float *mind = malloc(n * sizeof *mind);
	if (!mind)
		return VL_ENOMEM;
	for (size_t i = 0; i < n; i++)
		mind[i] = INFINITY;
	size_t first = (size_t)(rng_unit(rng) * (double)n);
	if (first >= n)
		first = n - 1;
	memcpy(cent, x + first * dim, (size_t)dim * 4);
	kmpp_job j = { .x = x, .n = n, .dim = dim, .by_dot = by_dot, .mind = mind };
	for (uint32_t c = 1; c < k; c++) {
		j.c = cent + (size_t)(c - 1) * dim;
		kmpp_update(&j, threads);
		double total = 0;
		for (size_t i = 0; i < n; i++)
			total += mind[i];
		size_t pick = n - 1;
		if (total > 0) {
			double r = rng_unit(rng) * total, acc = 0;
			for (size_t i = 0; i < n; i++) {
				acc += mind[i];
				if (acc > r && mind[i] > 0) {
					pick = i;
					break;
				}
			}
		} else {
			pick = (size_t)(rng_unit(rng) * (double)n) % n;
		}
		memcpy(cent + (size_t)c * dim, x + pick * dim, (size_t)dim * 4);
	}
	free(mind);
	return VL_OK;
}

/* Lloyd iterations; returns the final mean squared distance in *obj. */
static int lloyd(const float *x, size_t n, uint32_t dim, uint32_t k, int by_dot, uint32_t iters,
                 unsigned threads, uint64_t *rng, float *cent, const vl_index_build *b, double *obj,
                 vl_diag *d)
{
	uint32_t *lab = malloc(n * sizeof *lab);
	float *dist = malloc(n * sizeof *dist);
	double *sum = malloc((size_t)k * dim * sizeof *sum);
	uint64_t *cnt = malloc((size_t)k * sizeof *cnt);
	int rc = VL_OK;
	if (!lab || !dist || !sum || !cnt) {
		rc = vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory training ivf centroids");
		goto out;
	}
	for (uint32_t it = 0; it < iters; it++) {
		ivf_assign(x, n, cent, k, dim, by_dot, threads, lab, dist);
		double o = 0;
		for (size_t i = 0; i < n; i++)
			o += by_dot ? 2.0 + 2.0 * dist[i] : dist[i];
		*obj = o / (double)n;
		memset(sum, 0, (size_t)k * dim * sizeof *sum);
		memset(cnt, 0, (size_t)k * sizeof *cnt);
		for (size_t i = 0; i < n; i++) {
			double *s = sum + (size_t)lab[i] * dim;
			const float *xi = x + i * dim;
			for (uint32_t t = 0; t < dim; t++)
				s[t] += xi[t];
			cnt[lab[i]]++;
		}
		for (uint32_t c = 0; c < k; c++) {
			if (!cnt[c])
				continue;
			float *ce = cent + (size_t)c * dim;
			for (uint32_t t = 0; t < dim; t++)
				ce[t] = (float)(sum[(size_t)c * dim + t] / (double)cnt[c]);
			if (by_dot)
				normalize(ce, dim);
		}
		/* empty clusters: split the largest (copy its centroid, nudge apart) */
		for (uint32_t c = 0; c < k; c++) {
			if (cnt[c])
				continue;
			uint32_t big = 0;
			for (uint32_t e = 1; e < k; e++)
				if (cnt[e] > cnt[big])
					big = e;
			if (cnt[big] < 2)
				break;
			float *ce = cent + (size_t)c * dim, *cb = cent + (size_t)big * dim;
			for (uint32_t t = 0; t < dim; t++) {
				float eps = (float)((rng_unit(rng) - 0.5) * 1e-4) * (fabsf(cb[t]) + 1e-6f);
				ce[t] = cb[t] + eps;
				cb[t] = cb[t] - eps;
			}
			if (by_dot) {
				normalize(ce, dim);
				normalize(cb, dim);
			}
			cnt[c] = cnt[big] / 2;
			cnt[big] -= cnt[c];
		}
		if (b->progress && b->progress(b->progress_ud, "ivf-train", it + 1, iters)) {
			rc = vl_diag_set(d, VL_ECANCELED, VL_NO_OFFSET, "canceled during ivf training");
			goto out;
		}
	}
out:
	free(lab);
	free(dist);
	free(sum);
	free(cnt);
	return rc;
}

/* Deterministic sample of m of n rows (partial Fisher-Yates), ascending. */
static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static uint32_t *sample_rows(uint64_t n, uint64_t m, uint64_t *rng)
{
	uint32_t *perm = malloc(n * sizeof *perm);
	if (!perm)
		return NULL;
	for (uint64_t i = 0; i < n; i++)
		perm[i] = (uint32_t)i;
	for (uint64_t i = 0; i < m && i + 1 < n; i++) {
		uint64_t j = i + rng_next(rng) % (n - i);
		uint32_t t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	qsort(perm, m, sizeof *perm, cmp_u32);
	return perm;
}

/* ---- sections ------------------------------------------------------------------ */

static int write_sections(const vl_index_build *b, const ivf_params *p, uint32_t nlist,
                          uint64_t sample, const float *cent, const uint32_t *labels, double obj,
                          vl_diag *d)
{
	vl_segw *w = b->w;
	uint64_t n = b->nrows;
	uint64_t *off = calloc((size_t)nlist + 1, sizeof *off);
	uint32_t *rows = malloc((n ? n : 1) * sizeof *rows);
	int rc = VL_OK;
	if (!off || !rows) {
		rc = vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory writing ivf lists");
		goto out;
	}
	for (uint64_t i = 0; i < n; i++)
		off[labels[i] + 1]++;
	uint64_t maxlist = 0;
	for (uint32_t c = 0; c < nlist; c++) {
		if (off[c + 1] > maxlist)
			maxlist = off[c + 1];
		off[c + 1] += off[c];
	}
	{
		uint64_t *pos = malloc(((size_t)nlist + 1) * sizeof *pos);
		if (!pos) {
			rc = vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory writing ivf lists");
			goto out;
		}
		memcpy(pos, off, ((size_t)nlist + 1) * sizeof *pos);
		for (uint64_t i = 0; i < n; i++)
			rows[pos[labels[i]]++] = (uint32_t)i;
		free(pos);
	}
	uint8_t m[IVF_META_BYTES] = { 0 };
	memcpy(m, IVF_MAGIC, 8);
	vl_st32(m + 8, IVF_VERSION);
	vl_st32(m + 12, IVF_META_BYTES);
	vl_st64(m + 16, n);
	vl_st32(m + 24, nlist);
	vl_st32(m + 28, b->dim);
	vl_st32(m + 32, p->nprobe);
	vl_st32(m + 36, p->iters);
	vl_st64(m + 40, sample);
	/* float16 copy for ranking, when every component fits its range */
	int f16 = 1;
	for (size_t i = 0; i < (size_t)nlist * b->dim && f16; i++)
		f16 = fabsf(cent[i]) <= 65504.0f;
	m[48] = (uint8_t)b->metric;
	m[49] = b->metric == VL_METRIC_COSINE;
	m[50] = (uint8_t)f16;
	/* the list-ordered copy of the primary codes needs a storage view */
	const vl_qview *q = b->q;
	int codes = p->codes && q && q->primary && q->pstride;
	m[51] = (uint8_t)codes;
	vl_st64(m + 56, b->seed);
	vl_st64(m + 64, maxlist);
	vl_stf64(m + 72, obj);
	if ((rc = vl_segw_begin(w, VL_SEC_IVF_META, 0, 0)) || (rc = vl_segw_write(w, m, sizeof m)) ||
	    (rc = vl_segw_end(w)))
		goto out;
	if ((rc = vl_segw_begin(w, VL_SEC_IVF_CENTROIDS, 0, 0)))
		goto out;
	for (size_t i = 0; i < (size_t)nlist * b->dim && rc == VL_OK; i++) {
		uint8_t f[4];
		vl_stf32(f, cent[i]);
		rc = vl_segw_write(w, f, 4);
	}
	if (rc || (rc = vl_segw_end(w)))
		goto out;
	if (f16) {
		if ((rc = vl_segw_begin(w, VL_SEC_IVF_CENT16, 0, 0)))
			goto out;
		for (size_t i = 0; i < (size_t)nlist * b->dim && rc == VL_OK; i++) {
			uint8_t h[2];
			vl_st16(h, vl_f16_from_f32(cent[i]));
			rc = vl_segw_write(w, h, 2);
		}
		if (rc || (rc = vl_segw_end(w)))
			goto out;
	}
	if ((rc = vl_segw_begin(w, VL_SEC_IVF_OFFSETS, 0, 0)))
		goto out;
	for (uint32_t c = 0; c <= nlist && rc == VL_OK; c++) {
		uint8_t o[8];
		vl_st64(o, off[c]);
		rc = vl_segw_write(w, o, 8);
	}
	if (rc || (rc = vl_segw_end(w)) || (rc = vl_segw_begin(w, VL_SEC_IVF_ROWS, 0, 4)))
		goto out;
	for (uint64_t i = 0; i < n && rc == VL_OK; i++) {
		uint8_t r[4];
		vl_st32(r, rows[i]);
		rc = vl_segw_write(w, r, 4);
	}
	if (rc || (rc = vl_segw_end(w)) || !codes)
		goto out;
	if ((rc = vl_segw_begin(w, VL_SEC_IVF_CODES, 0, q->pstride)))
		goto out;
	for (uint64_t i = 0; i < n && rc == VL_OK; i++)
		rc = vl_segw_write(w, q->primary + (size_t)rows[i] * q->pstride, q->pstride);
	if (rc || (rc = vl_segw_end(w)) || !q->norms)
		goto out;
	if ((rc = vl_segw_begin(w, VL_SEC_IVF_NORMS, 0, 4)))
		goto out;
	for (uint64_t i = 0; i < n && rc == VL_OK; i++) {
		uint8_t f[4];
		vl_stf32(f, q->norms[rows[i]]);
		rc = vl_segw_write(w, f, 4);
	}
	if (rc == VL_OK)
		rc = vl_segw_end(w);
out:
	free(off);
	free(rows);
	return rc;
}

/* ---- entry point ---------------------------------------------------------------- */

int ivf_build(const vl_index_build *b, vl_diag *d)
{
	ivf_params p;
	int rc = ivf_parse_params(&b->params, &p, d);
	if (rc)
		return rc;
	uint64_t n = b->nrows;
	if (n == 0 || n >= UINT32_MAX)
		return vl_diag_set(d, VL_ELIMIT, VL_NO_OFFSET, "ivf: a segment needs 1..2^32-2 rows");
	uint32_t nlist = ivf_nlist_for(&p, n);
	uint64_t m = p.sample ? p.sample : (uint64_t)nlist * IVF_SAMPLE_PER_LIST;
	if (m < nlist)
		m = nlist;
	if (m > n)
		m = n;
	int by_dot = b->metric == VL_METRIC_COSINE;
	unsigned threads = b->threads ? b->threads : 1;
	uint32_t dim = b->dim;
	uint64_t rng = b->seed ^ 0x49564621ull;
	uint32_t *pick = sample_rows(n, m, &rng);
	/* the whole segment as the sample (l2/ip): train on the mapped rows */
	int borrowed = m == n && !by_dot;
	float *x = borrowed ? (float *)(uintptr_t)b->vectors : malloc((size_t)m * dim * sizeof *x);
	float *cent = malloc((size_t)nlist * dim * sizeof *cent);
	uint32_t *labels = malloc((size_t)n * sizeof *labels);
	double obj = 0;
	if (!pick || !x || !cent || !labels) {
		rc = vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory training ivf centroids");
		goto out;
	}
	for (uint64_t i = 0; i < m && !borrowed; i++) {
		memcpy(x + i * dim, b->vectors + (size_t)pick[i] * dim, (size_t)dim * 4);
		if (by_dot)
			normalize(x + i * dim, dim);
	}
	/* k-means++ seeds from a prefix of the (shuffled-order) sample: its
	 * cost is one pass over the seeding rows per centroid */
	uint64_t seed_rows = (uint64_t)nlist * IVF_KMPP_PER_LIST;
	if (seed_rows > m)
		seed_rows = m;
	float *sx = x;
	if (seed_rows < m) {
		/* an even spread of the sample, not its first (lowest-row) part */
		sx = malloc((size_t)seed_rows * dim * sizeof *sx);
		if (!sx) {
			rc = vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory training ivf centroids");
			goto out;
		}
		for (uint64_t i = 0; i < seed_rows; i++)
			memcpy(sx + i * dim, x + (i * m / seed_rows) * dim, (size_t)dim * 4);
	}
	rc = kmeanspp(sx, seed_rows, dim, nlist, by_dot, threads, &rng, cent);
	if (sx != x)
		free(sx);
	if (rc) {
		rc = vl_diag_set(d, rc, VL_NO_OFFSET, "out of memory seeding ivf centroids");
		goto out;
	}
	if ((rc = lloyd(x, m, dim, nlist, by_dot, p.iters, threads, &rng, cent, b, &obj, d)))
		goto out;
	if (!borrowed)
		free(x);
	x = NULL;
	if (b->progress && b->progress(b->progress_ud, "ivf-assign", 0, n)) {
		rc = vl_diag_set(d, VL_ECANCELED, VL_NO_OFFSET, "canceled during ivf assignment");
		goto out;
	}
	ivf_assign(b->vectors, n, cent, nlist, dim, by_dot, threads, labels, NULL);
	rc = write_sections(b, &p, nlist, m, cent, labels, obj, d);
out:
	free(pick);
	if (!borrowed)
		free(x);
	free(cent);
	free(labels);
	return rc;
}
