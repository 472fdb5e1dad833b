/* pca.c - symmetric eigen-decomposition and PCA (see pca.h). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pca.h"
#include "qcommon.h"
#include "simd/simd.h"

#define MAX_SWEEPS 60   /* QR steps allowed per eigenvalue on average */
#define COV_CHUNK 256   /* rows per transposed block of the covariance */

/*
 * Reduce a to tridiagonal form T = Q^T a Q with Householder reflections
 * H_k = I - 2 v_k v_k^T (|v_k| = 1) acting on rows/columns k+1.., so
 * Q = H_0 H_1 ... H_{n-3}. Only the lower triangle of a is read and
 * updated (half the memory traffic); the v_k are packed into hv (row k
 * starts at hoff(k)) for apply_q. diag/off receive T.
 */
static size_t hoff(uint32_t n, uint32_t k)
{
	/* sum of (n - 1 - i) for i < k */
	return (size_t)k * (n - 1) - (size_t)k * (k - 1) / 2;
}

static int tridiagonalize(const vl_kernels *kn, double *a, uint32_t n, double *diag, double *off,
                          double *hv)
{
	double *p = malloc((size_t)n * sizeof *p);
	if (!p)
		return -1;
	for (uint32_t k = 0; k + 2 < n; k++) {
		uint32_t m = n - k - 1; /* the reflection works on rows/cols k+1 .. n-1 */
		double *v = hv + hoff(n, k);
		double xx = 0;
		for (uint32_t i = 0; i < m; i++) {
			v[i] = a[(size_t)(k + 1 + i) * n + k];
			xx += v[i] * v[i];
		}
		double xn = sqrt(xx);
		if (xn == 0 || xx == v[0] * v[0]) { /* already zero below the subdiagonal */
			memset(v, 0, (size_t)m * sizeof *v);
			continue;
		}
		double alpha = v[0] > 0 ? -xn : xn;
		v[0] -= alpha;
		double vn = sqrt(xx - (v[0] + alpha) * (v[0] + alpha) + v[0] * v[0]);
		for (uint32_t i = 0; i < m; i++)
			v[i] /= vn;
		/* p = A v on the trailing block from its lower triangle:
		 * row i gives p_i its part j <= i and p_j (j < i) the a_ij v_i */
		memset(p, 0, (size_t)m * sizeof *p);
		for (uint32_t i = 0; i < m; i++) {
			const double *row = a + (size_t)(k + 1 + i) * n + k + 1;
			p[i] += kn->dot_f64(row, v, i + 1);
			kn->axpy_f64(v[i], row, p, i);
		}
		double K = kn->dot_f64(v, p, m);
		kn->axpy_f64(-K, v, p, m);
		/* A -= 2 v p^T + 2 p v^T (lower triangle) */
		for (uint32_t i = 0; i < m; i++) {
			double *row = a + (size_t)(k + 1 + i) * n + k + 1;
			kn->axpy_f64(-2 * v[i], p, row, i + 1);
			kn->axpy_f64(-2 * p[i], v, row, i + 1);
		}
		a[(size_t)(k + 1) * n + k] = alpha;
	}
	for (uint32_t i = 0; i < n; i++) {
		diag[i] = a[(size_t)i * n + i];
		if (i + 1 < n)
			off[i] = a[(size_t)(i + 1) * n + i];
	}
	free(p);
	return 0;
}

/* x <- Q x = H_0 (H_1 (... H_{n-3} x)) */
static void apply_q(const vl_kernels *kn, const double *hv, uint32_t n, double *x)
{
	for (uint32_t k = n >= 2 ? n - 2 : 0; k-- > 0;) {
		uint32_t m = n - k - 1;
		const double *v = hv + hoff(n, k);
		double dot = kn->dot_f64(v, x + k + 1, m);
		if (dot != 0)
			kn->axpy_f64(-2 * dot, v, x + k + 1, m);
	}
}

/*
 * The QR rotations are recorded and applied to vt in batches, a block of
 * columns at a time: applied one by one, each rotation would stream two
 * full rows of vt from memory (most of the solver's time at dim 1536).
 */
#define ROT_BATCH (1u << 18)
#define ROT_COLS 64

typedef struct rotbuf {
	uint32_t *k;
	double *cs;     /* c, s pairs */
	size_t n;
} rotbuf;

static void rot_flush(const vl_kernels *kn, rotbuf *rb, double *z, uint32_t n, size_t ld)
{
	for (uint32_t c0 = 0; c0 < n; c0 += ROT_COLS) {
		uint32_t w = n - c0 < ROT_COLS ? n - c0 : ROT_COLS;
		for (size_t i = 0; i < rb->n; i++) {
			double *r0 = z + (size_t)rb->k[i] * ld + c0;
			kn->rot_f64(r0, r0 + ld, w, rb->cs[2 * i], rb->cs[2 * i + 1]);
		}
	}
	rb->n = 0;
}

/* One implicit QR step with Wilkinson shift on the unreduced block [l, m]:
 * chase the bulge down with rotations R = [c s; -s c], T <- R T R^T. */
static void qr_step(double *a, double *e, uint32_t l, uint32_t m, rotbuf *rb)
{
	double dd = (a[m - 1] - a[m]) / 2, em = e[m - 1];
	double den = dd + (dd >= 0 ? 1 : -1) * hypot(dd, em);
	double mu = a[m] - em * em / den;
	double x = a[l] - mu, z = e[l];
	for (uint32_t k = l; k < m; k++) {
		double r = hypot(x, z), c = 1, s = 0;
		if (r > 0)
			c = x / r, s = z / r;
		if (k > l)
			e[k - 1] = r;
		double p = a[k], q = a[k + 1], f = e[k];
		a[k] = c * c * p + 2 * c * s * f + s * s * q;
		a[k + 1] = s * s * p - 2 * c * s * f + c * c * q;
		e[k] = c * s * (q - p) + (c * c - s * s) * f;
		if (k + 1 < m) {
			double g = e[k + 1];
			z = s * g;        /* the bulge at (k+2, k) */
			e[k + 1] = c * g;
			x = e[k];
		}
		rb->k[rb->n] = k;
		rb->cs[2 * rb->n] = c;
		rb->cs[2 * rb->n + 1] = s;
		rb->n++;
	}
}

/* z: n rows of ld doubles (ld > n: rows a multiple of 4 KiB apart would
 * alias in the load/store unit and stall every rotation). */
static int tridiag_qr(const vl_kernels *kn, double *a, double *e, uint32_t n, double *z, size_t ld)
{
	size_t cap = ROT_BATCH > n ? ROT_BATCH : n;
	rotbuf rb = { malloc(cap * sizeof *rb.k), malloc(2 * cap * sizeof *rb.cs), 0 };
	uint64_t budget = (uint64_t)MAX_SWEEPS * n + 100;
	int rc = -1;
	if (!rb.k || !rb.cs)
		goto out;
	uint32_t m = n - 1;
	while (m > 0) {
		if (fabs(e[m - 1]) <= DBL_EPSILON * (fabs(a[m - 1]) + fabs(a[m]))) {
			e[m - 1] = 0;
			m--;
			continue;
		}
		uint32_t l = m - 1;
		while (l > 0 && fabs(e[l - 1]) > DBL_EPSILON * (fabs(a[l - 1]) + fabs(a[l])))
			l--;
		if (l > 0)
			e[l - 1] = 0;
		if (budget-- == 0)
			goto out;
		if (rb.n + (m - l) > cap)
			rot_flush(kn, &rb, z, n, ld);
		qr_step(a, e, l, m, &rb);
	}
	rot_flush(kn, &rb, z, n, ld);
	rc = 0;
out:
	free(rb.k);
	free(rb.cs);
	return rc;
}

/* Selection sort by decreasing eigenvalue, moving rows of z along. */
static void sort_desc(double *w, double *z, uint32_t n, size_t ld, double *tmp)
{
	for (uint32_t i = 0; i + 1 < n; i++) {
		uint32_t best = i;
		for (uint32_t j = i + 1; j < n; j++)
			if (w[j] > w[best])
				best = j;
		if (best == i)
			continue;
		double t = w[i];
		w[i] = w[best];
		w[best] = t;
		memcpy(tmp, z + (size_t)i * ld, (size_t)n * sizeof *tmp);
		memcpy(z + (size_t)i * ld, z + (size_t)best * ld, (size_t)n * sizeof *tmp);
		memcpy(z + (size_t)best * ld, tmp, (size_t)n * sizeof *tmp);
	}
}

int vl_sym_eigen(double *a, uint32_t n, double *w, double *vt, uint32_t nvec)
{
	if (n == 0)
		return 0;
	double *e = calloc(n, sizeof *e), *tmp = malloc((size_t)n * sizeof *tmp);
	double *hv = malloc((hoff(n, n > 1 ? n - 1 : 0) + 1) * sizeof *hv);
	size_t ld = (size_t)n + 8;
	double *z = malloc((size_t)n * ld * sizeof *z);
	int rc = -1;
	if (!e || !tmp || !hv || !z)
		goto out;
	const vl_kernels *kn = vl_kern();
	if (tridiagonalize(kn, a, n, w, e, hv))
		goto out;
	/* eigenvectors of T, as rows, by accumulating the QR rotations */
	memset(z, 0, (size_t)n * ld * sizeof *z);
	for (uint32_t i = 0; i < n; i++)
		z[(size_t)i * ld + i] = 1;
	if (tridiag_qr(kn, w, e, n, z, ld))
		goto out;
	sort_desc(w, z, n, ld, tmp);
	for (uint32_t i = 0; i < nvec && i < n; i++) {
		apply_q(kn, hv, n, z + (size_t)i * ld);
		memcpy(vt + (size_t)i * n, z + (size_t)i * ld, (size_t)n * sizeof *vt);
	}
	rc = 0;
out:
	free(e);
	free(tmp);
	free(hv);
	free(z);
	return rc;
}

/* cov += X^T X over a block of rows given transposed (dim x m floats). */
static void cov_block(const vl_kernels *k, const float *xt, uint32_t dim, size_t m, double *cov)
{
	for (uint32_t i = 0; i < dim; i++) {
		const float *ri = xt + (size_t)i * m;
		double *ci = cov + (size_t)i * dim;
		for (uint32_t j = i; j < dim; j++)
			ci[j] += k->dot_f32(ri, xt + (size_t)j * m, m);
	}
}

static int covariance(const float *rows, size_t n, uint32_t dim, const float *mean, int normalize,
                      double *cov)
{
	const vl_kernels *k = vl_kern();
	float *xt = malloc((size_t)dim * COV_CHUNK * sizeof *xt);
	float *x = malloc((size_t)dim * sizeof *x);
	if (!xt || !x) {
		free(xt);
		free(x);
		return -1;
	}
	memset(cov, 0, (size_t)dim * dim * sizeof *cov);
	for (size_t r0 = 0; r0 < n; r0 += COV_CHUNK) {
		size_t m = n - r0 < COV_CHUNK ? n - r0 : COV_CHUNK;
		for (size_t i = 0; i < m; i++) {
			vl_qclean(rows + (r0 + i) * dim, dim, normalize, x);
			for (uint32_t j = 0; j < dim; j++)
				xt[(size_t)j * m + i] = x[j] - mean[j];
		}
		cov_block(k, xt, dim, m, cov);
	}
	double inv = n ? 1.0 / (double)n : 0;
	for (uint32_t i = 0; i < dim; i++)
		for (uint32_t j = i; j < dim; j++)
			cov[(size_t)j * dim + i] = cov[(size_t)i * dim + j] *= inv;
	free(xt);
	free(x);
	return 0;
}

int vl_pca(const float *rows, size_t n, uint32_t dim, const float *mean, int normalize, uint32_t d,
           float *proj, double *var)
{
	double *cov = malloc((size_t)dim * dim * sizeof *cov);
	double *vt = malloc((size_t)dim * dim * sizeof *vt);
	double *w = malloc((size_t)dim * sizeof *w);
	int rc = -1;
	if (!cov || !vt || !w || d > dim)
		goto out;
	if (covariance(rows, n, dim, mean, normalize, cov) || vl_sym_eigen(cov, dim, w, vt, d))
		goto out;
	for (uint32_t i = 0; i < d; i++) {
		for (uint32_t j = 0; j < dim; j++)
			proj[(size_t)i * dim + j] = (float)vt[(size_t)i * dim + j];
		if (var)
			var[i] = w[i];
	}
	rc = 0;
out:
	free(cov);
	free(vt);
	free(w);
	return rc;
}

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double gauss(uint64_t *s)
{
	double u = ((double)(splitmix(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
	double v = (double)(splitmix(s) >> 11) * (1.0 / 9007199254740992.0);
	return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

int vl_rotate_rows(float *proj, uint32_t d, uint32_t dim, uint64_t seed)
{
	const vl_kernels *kn = vl_kern();
	double *r = malloc((size_t)d * d * sizeof *r), *pd = malloc((size_t)d * dim * sizeof *pd);
	double *out = malloc((size_t)dim * sizeof *out);
	int rc = -1;
	if (!r || !pd || !out)
		goto out;
	/* modified Gram-Schmidt twice over each row: orthonormal to rounding */
	for (uint32_t i = 0; i < d; i++) {
		double *ri = r + (size_t)i * d;
		for (uint32_t j = 0; j < d; j++)
			ri[j] = gauss(&seed);
		for (int pass = 0; pass < 2; pass++)
			for (uint32_t k = 0; k < i; k++)
				kn->axpy_f64(-kn->dot_f64(ri, r + (size_t)k * d, d), r + (size_t)k * d, ri, d);
		double nn = sqrt(kn->dot_f64(ri, ri, d));
		for (uint32_t j = 0; j < d; j++)
			ri[j] /= nn;
	}
	for (size_t i = 0; i < (size_t)d * dim; i++)
		pd[i] = proj[i];
	for (uint32_t i = 0; i < d; i++) {
		memset(out, 0, (size_t)dim * sizeof *out);
		for (uint32_t k = 0; k < d; k++)
			kn->axpy_f64(r[(size_t)i * d + k], pd + (size_t)k * dim, out, dim);
		for (uint32_t j = 0; j < dim; j++)
			proj[(size_t)i * dim + j] = (float)out[j];
	}
	rc = 0;
out:
	free(r);
	free(pd);
	free(out);
	return rc;
}
