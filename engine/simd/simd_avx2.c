/* simd_avx2.c - AVX2+FMA kernels (compiled with -mavx2 -mfma; called only
 * when cpuid reports AVX2). */
#include <immintrin.h>
#include <string.h>

#include "lvq_kern.h"
#include "lvqf_kern.h"
#include "simd.h"

static inline float hsum256(__m256 v)
{
	__m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
	lo = _mm_add_ps(lo, hi);
	lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
	lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
	return _mm_cvtss_f32(lo);
}

/* Tail of n % 8 elements via a masked load, so no scalar loop changes the
 * summation order between dims that are and are not multiples of 8. */
static inline __m256 tail_mask(size_t rem)
{
	static const int32_t m[16] = { -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0 };
	return _mm256_castsi256_ps(_mm256_loadu_si256((const __m256i *)(m + 8 - rem)));
}

static float l2_f32(const float *a, const float *b, size_t n)
{
	__m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
	size_t i = 0;
	for (; i + 16 <= n; i += 16) {
		__m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
		__m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
		s0 = _mm256_fmadd_ps(d0, d0, s0);
		s1 = _mm256_fmadd_ps(d1, d1, s1);
	}
	for (; i + 8 <= n; i += 8) {
		__m256 d = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
		s0 = _mm256_fmadd_ps(d, d, s0);
	}
	if (i < n) {
		__m256i m = _mm256_castps_si256(tail_mask(n - i));
		__m256 d = _mm256_sub_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m));
		s0 = _mm256_fmadd_ps(d, d, s0);
	}
	return hsum256(_mm256_add_ps(s0, s1));
}

static float dot_f32(const float *a, const float *b, size_t n)
{
	__m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
	size_t i = 0;
	for (; i + 16 <= n; i += 16) {
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
		s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
	}
	for (; i + 8 <= n; i += 8)
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
	if (i < n) {
		__m256i m = _mm256_castps_si256(tail_mask(n - i));
		s0 = _mm256_fmadd_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m), s0);
	}
	return hsum256(_mm256_add_ps(s0, s1));
}

static void l2_f32_batch(const float *q, const float *rows, size_t dim, size_t n, float *out)
{
	for (size_t r = 0; r < n; r++) {
		if (r + 2 < n)
			_mm_prefetch((const char *)(rows + (r + 2) * dim), _MM_HINT_T0);
		out[r] = l2_f32(q, rows + r * dim, dim);
	}
}

static void dot_f32_batch(const float *q, const float *rows, size_t dim, size_t n, float *out)
{
	for (size_t r = 0; r < n; r++) {
		if (r + 2 < n)
			_mm_prefetch((const char *)(rows + (r + 2) * dim), _MM_HINT_T0);
		out[r] = dot_f32(q, rows + r * dim, dim);
	}
}

/* ---- float16 rows ------------------------------------------------------ */

static inline __m256 ld_f16x8(const uint16_t *x)
{
	return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)x));
}

/* The last n % 8 halves, zero-padded (no load past the row). */
static inline __m256 ld_f16_tail(const uint16_t *x, size_t rem)
{
	uint16_t t[8] = { 0 };
	memcpy(t, x, rem * 2);
	return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)t));
}

static float l2_f16(const float *q, const uint16_t *x, size_t n)
{
	__m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
	size_t i = 0;
	for (; i + 16 <= n; i += 16) {
		__m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(q + i), ld_f16x8(x + i));
		__m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(q + i + 8), ld_f16x8(x + i + 8));
		s0 = _mm256_fmadd_ps(d0, d0, s0);
		s1 = _mm256_fmadd_ps(d1, d1, s1);
	}
	for (; i + 8 <= n; i += 8) {
		__m256 d = _mm256_sub_ps(_mm256_loadu_ps(q + i), ld_f16x8(x + i));
		s0 = _mm256_fmadd_ps(d, d, s0);
	}
	if (i < n) {
		__m256i m = _mm256_castps_si256(tail_mask(n - i));
		__m256 d = _mm256_sub_ps(_mm256_maskload_ps(q + i, m), ld_f16_tail(x + i, n - i));
		s0 = _mm256_fmadd_ps(d, d, s0);
	}
	return hsum256(_mm256_add_ps(s0, s1));
}

static float dot_f16(const float *q, const uint16_t *x, size_t n)
{
	__m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
	size_t i = 0;
	for (; i + 16 <= n; i += 16) {
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), ld_f16x8(x + i), s0);
		s1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), ld_f16x8(x + i + 8), s1);
	}
	for (; i + 8 <= n; i += 8)
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), ld_f16x8(x + i), s0);
	if (i < n) {
		__m256i m = _mm256_castps_si256(tail_mask(n - i));
		s0 = _mm256_fmadd_ps(_mm256_maskload_ps(q + i, m), ld_f16_tail(x + i, n - i), s0);
	}
	return hsum256(_mm256_add_ps(s0, s1));
}

static void l2_f16_batch(const float *q, const uint8_t *rows, size_t stride, size_t dim, size_t n,
                         float *out)
{
	for (size_t r = 0; r < n; r++)
		out[r] = l2_f16(q, (const uint16_t *)(const void *)(rows + r * stride), dim);
}

static void dot_f16_batch(const float *q, const uint8_t *rows, size_t stride, size_t dim,
                          size_t n, float *out)
{
	for (size_t r = 0; r < n; r++)
		out[r] = dot_f16(q, (const uint16_t *)(const void *)(rows + r * stride), dim);
}

/* ---- many dot products (projections): dot_f32's operations, blocked ---- */

/*
 * dot_f32 of 2 rows of a with 2 rows of b: per pair exactly the loads,
 * FMAs, masked tail and reduction of dot_f32 above (so the values are
 * dot_f32's bit for bit), each b load shared by the two a rows and each a
 * load by the two b rows. Named accumulators (arrays would live on the
 * stack): sAB for the first 8 lanes of pair (a_A, b_B), tAB for the next.
 */
#define NT_PAIR(s, x0, x1, c, y)                                                                  \
	do {                                                                                      \
		__m256 y_ = (y);                                                                  \
		s##0##c = _mm256_fmadd_ps(x0, y_, s##0##c);                                       \
		s##1##c = _mm256_fmadd_ps(x1, y_, s##1##c);                                       \
	} while (0)

static void nt_2x2(const float *a0, const float *a1, const float *b0, const float *b1, size_t n,
                   float *o0, float *o1)
{
	__m256 s00 = _mm256_setzero_ps(), s01 = s00, s10 = s00, s11 = s00;
	__m256 t00 = s00, t01 = s00, t10 = s00, t11 = s00;
	size_t i = 0;
	for (; i + 16 <= n; i += 16) {
		__m256 x0 = _mm256_loadu_ps(a0 + i), x1 = _mm256_loadu_ps(a1 + i);
		NT_PAIR(s, x0, x1, 0, _mm256_loadu_ps(b0 + i));
		NT_PAIR(s, x0, x1, 1, _mm256_loadu_ps(b1 + i));
		x0 = _mm256_loadu_ps(a0 + i + 8);
		x1 = _mm256_loadu_ps(a1 + i + 8);
		NT_PAIR(t, x0, x1, 0, _mm256_loadu_ps(b0 + i + 8));
		NT_PAIR(t, x0, x1, 1, _mm256_loadu_ps(b1 + i + 8));
	}
	for (; i + 8 <= n; i += 8) {
		__m256 x0 = _mm256_loadu_ps(a0 + i), x1 = _mm256_loadu_ps(a1 + i);
		NT_PAIR(s, x0, x1, 0, _mm256_loadu_ps(b0 + i));
		NT_PAIR(s, x0, x1, 1, _mm256_loadu_ps(b1 + i));
	}
	if (i < n) {
		__m256i m = _mm256_castps_si256(tail_mask(n - i));
		__m256 x0 = _mm256_maskload_ps(a0 + i, m), x1 = _mm256_maskload_ps(a1 + i, m);
		NT_PAIR(s, x0, x1, 0, _mm256_maskload_ps(b0 + i, m));
		NT_PAIR(s, x0, x1, 1, _mm256_maskload_ps(b1 + i, m));
	}
	o0[0] = hsum256(_mm256_add_ps(s00, t00));
	o0[1] = hsum256(_mm256_add_ps(s01, t01));
	o1[0] = hsum256(_mm256_add_ps(s10, t10));
	o1[1] = hsum256(_mm256_add_ps(s11, t11));
}

/* Columns (rows of b) outermost: a pair of b rows stays in L1 while the
 * rows of a stream past it. An odd row or column: dot_f32 itself. */
static void dot_f32_nt(const float *a, size_t lda, size_t m, const float *b, size_t ldb, size_t nb,
                       size_t k, float *c, size_t ldc)
{
	size_t j = 0;
	for (; j + 2 <= nb; j += 2) {
		const float *b0 = b + j * ldb, *b1 = b0 + ldb;
		size_t i = 0;
		for (; i + 2 <= m; i += 2)
			nt_2x2(a + i * lda, a + (i + 1) * lda, b0, b1, k, c + i * ldc + j,
			       c + (i + 1) * ldc + j);
		if (i < m) {
			c[i * ldc + j] = dot_f32(a + i * lda, b0, k);
			c[i * ldc + j + 1] = dot_f32(a + i * lda, b1, k);
		}
	}
	for (; j < nb; j++)
		for (size_t i = 0; i < m; i++)
			c[i * ldc + j] = dot_f32(a + i * lda, b + j * ldb, k);
}

/* ---- double precision (PCA) -------------------------------------------- */

static inline double hsum256d(__m256d v)
{
	__m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
	return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

static double dot_f64(const double *a, const double *b, size_t n)
{
	__m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		s0 = _mm256_fmadd_pd(_mm256_loadu_pd(a + i), _mm256_loadu_pd(b + i), s0);
		s1 = _mm256_fmadd_pd(_mm256_loadu_pd(a + i + 4), _mm256_loadu_pd(b + i + 4), s1);
	}
	double s = hsum256d(_mm256_add_pd(s0, s1));
	for (; i < n; i++)
		s += a[i] * b[i];
	return s;
}

static void axpy_f64(double a, const double *x, double *y, size_t n)
{
	__m256d va = _mm256_set1_pd(a);
	size_t i = 0;
	for (; i + 4 <= n; i += 4)
		_mm256_storeu_pd(y + i, _mm256_fmadd_pd(va, _mm256_loadu_pd(x + i), _mm256_loadu_pd(y + i)));
	for (; i < n; i++)
		y[i] += a * x[i];
}

static void rot_f64(double *x, double *y, size_t n, double c, double s)
{
	__m256d vc = _mm256_set1_pd(c), vs = _mm256_set1_pd(s);
	size_t i = 0;
	for (; i + 4 <= n; i += 4) {
		__m256d xi = _mm256_loadu_pd(x + i), yi = _mm256_loadu_pd(y + i);
		_mm256_storeu_pd(x + i, _mm256_fmadd_pd(vc, xi, _mm256_mul_pd(vs, yi)));
		_mm256_storeu_pd(y + i, _mm256_fmsub_pd(vc, yi, _mm256_mul_pd(vs, xi)));
	}
	for (; i < n; i++) {
		double xi = x[i], yi = y[i];
		x[i] = c * xi + s * yi;
		y[i] = c * yi - s * xi;
	}
}

const vl_kernels vl_kernels_avx2 = {
	.level = VL_SIMD_AVX2,
	.name = "avx2",
	.l2_f32 = l2_f32,
	.dot_f32 = dot_f32,
	.l2_f32_batch = l2_f32_batch,
	.dot_f32_batch = dot_f32_batch,
	.l2_f16 = l2_f16,
	.dot_f16 = dot_f16,
	.l2_f16_batch = l2_f16_batch,
	.dot_f16_batch = dot_f16_batch,
	.dot_u4s8 = vl_dot_u4s8_avx2,
	.dot_u8s8x2 = vl_dot_u8s8x2_avx2,
	.lvq_scan = vl_lvq_scan_avx2,
	.lvq_gather = vl_lvq_gather_avx2,
	.clean_f32 = vl_clean_f32_avx2,
	.scale_f32 = vl_scale_f32_avx2,
	.lvq_center = vl_lvq_center_avx2,
	.lvq_quantize = vl_lvq_quantize_avx2,
	.lvq_rerank = vl_lvq_rerank_avx2,
	.lvq_minmax = vl_lvq_minmax_avx2,
	.lvq_codes = vl_lvq_codes_avx2,
	.dot_f32_nt = dot_f32_nt,
	.dot_f64 = dot_f64,
	.axpy_f64 = axpy_f64,
	.rot_f64 = rot_f64,
};
