/* simd_avx512.c - AVX-512F kernels (compiled with -mavx512f...; called only
 * when cpuid reports AVX-512F/BW/VL/DQ). */
#include <immintrin.h>

#include "lvq_kern.h"
#include "lvqf_kern.h"
#include "simd.h"

static float l2_f32(const float *a, const float *b, size_t n)
{
	__m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
	size_t i = 0;
	for (; i + 32 <= n; i += 32) {
		__m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
		__m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
		s0 = _mm512_fmadd_ps(d0, d0, s0);
		s1 = _mm512_fmadd_ps(d1, d1, s1);
	}
	for (; i + 16 <= n; i += 16) {
		__m512 d = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
		s0 = _mm512_fmadd_ps(d, d, s0);
	}
	if (i < n) {
		__mmask16 m = (__mmask16)((1u << (n - i)) - 1);
		__m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));
		s0 = _mm512_fmadd_ps(d, d, s0);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

static float dot_f32(const float *a, const float *b, size_t n)
{
	__m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
	size_t i = 0;
	for (; i + 32 <= n; i += 32) {
		s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
		s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
	}
	for (; i + 16 <= n; i += 16)
		s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
	if (i < n) {
		__mmask16 m = (__mmask16)((1u << (n - i)) - 1);
		s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s0);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
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

static inline __m512 ld_f16x16(const uint16_t *x)
{
	return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)x));
}

static inline __m512 ld_f16_mask(__mmask16 m, const uint16_t *x)
{
	return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, x));
}

static float l2_f16(const float *q, const uint16_t *x, size_t n)
{
	__m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
	size_t i = 0;
	for (; i + 32 <= n; i += 32) {
		__m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(q + i), ld_f16x16(x + i));
		__m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(q + i + 16), ld_f16x16(x + i + 16));
		s0 = _mm512_fmadd_ps(d0, d0, s0);
		s1 = _mm512_fmadd_ps(d1, d1, s1);
	}
	for (; i + 16 <= n; i += 16) {
		__m512 d = _mm512_sub_ps(_mm512_loadu_ps(q + i), ld_f16x16(x + i));
		s0 = _mm512_fmadd_ps(d, d, s0);
	}
	if (i < n) {
		__mmask16 m = (__mmask16)((1u << (n - i)) - 1);
		__m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, q + i), ld_f16_mask(m, x + i));
		s0 = _mm512_fmadd_ps(d, d, s0);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

static float dot_f16(const float *q, const uint16_t *x, size_t n)
{
	__m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
	size_t i = 0;
	for (; i + 32 <= n; i += 32) {
		s0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), ld_f16x16(x + i), s0);
		s1 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 16), ld_f16x16(x + i + 16), s1);
	}
	for (; i + 16 <= n; i += 16)
		s0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), ld_f16x16(x + i), s0);
	if (i < n) {
		__mmask16 m = (__mmask16)((1u << (n - i)) - 1);
		s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + i), ld_f16_mask(m, x + i), s0);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
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
 * dot_f32 of 2 rows of a with 4 rows of b: per pair exactly the loads,
 * FMAs, masked tail and reduction of dot_f32 above (so the values are
 * dot_f32's bit for bit), each b load shared by the two a rows and each a
 * load by the four b rows. 16 named accumulators (arrays would live on the
 * stack): sAB for the first 16 lanes of pair (a_A, b_B), tAB for the next.
 */
#define NT_LD(p, i) _mm512_loadu_ps((p) + (i))
#define NT_ZERO4(s, r) __m512 s##r##0 = _mm512_setzero_ps(), s##r##1 = s##r##0, s##r##2 = s##r##0, \
	                      s##r##3 = s##r##0
#define NT_COL(s, x0, x1, c, y)                                                                   \
	do {                                                                                      \
		__m512 y_ = (y);                                                                  \
		s##0##c = _mm512_fmadd_ps(x0, y_, s##0##c);                                       \
		s##1##c = _mm512_fmadd_ps(x1, y_, s##1##c);                                       \
	} while (0)
#define NT_COL1(s, x0, c, y) (s##0##c = _mm512_fmadd_ps(x0, (y), s##0##c))
#define NT_SUM(r, c) _mm512_reduce_add_ps(_mm512_add_ps(s##r##c, t##r##c))

static void nt_2x4(const float *a0, const float *a1, const float *const b[4], size_t n,
                   float o0[4], float o1[4])
{
	const float *b0 = b[0], *b1 = b[1], *b2 = b[2], *b3 = b[3];
	NT_ZERO4(s, 0);
	NT_ZERO4(s, 1);
	NT_ZERO4(t, 0);
	NT_ZERO4(t, 1);
	size_t i = 0;
	for (; i + 32 <= n; i += 32) {
		__m512 x0 = NT_LD(a0, i), x1 = NT_LD(a1, i);
		NT_COL(s, x0, x1, 0, NT_LD(b0, i));
		NT_COL(s, x0, x1, 1, NT_LD(b1, i));
		NT_COL(s, x0, x1, 2, NT_LD(b2, i));
		NT_COL(s, x0, x1, 3, NT_LD(b3, i));
		x0 = NT_LD(a0, i + 16);
		x1 = NT_LD(a1, i + 16);
		NT_COL(t, x0, x1, 0, NT_LD(b0, i + 16));
		NT_COL(t, x0, x1, 1, NT_LD(b1, i + 16));
		NT_COL(t, x0, x1, 2, NT_LD(b2, i + 16));
		NT_COL(t, x0, x1, 3, NT_LD(b3, i + 16));
	}
	for (; i + 16 <= n; i += 16) {
		__m512 x0 = NT_LD(a0, i), x1 = NT_LD(a1, i);
		NT_COL(s, x0, x1, 0, NT_LD(b0, i));
		NT_COL(s, x0, x1, 1, NT_LD(b1, i));
		NT_COL(s, x0, x1, 2, NT_LD(b2, i));
		NT_COL(s, x0, x1, 3, NT_LD(b3, i));
	}
	if (i < n) {
		__mmask16 m = (__mmask16)((1u << (n - i)) - 1);
		__m512 x0 = _mm512_maskz_loadu_ps(m, a0 + i), x1 = _mm512_maskz_loadu_ps(m, a1 + i);
		NT_COL(s, x0, x1, 0, _mm512_maskz_loadu_ps(m, b0 + i));
		NT_COL(s, x0, x1, 1, _mm512_maskz_loadu_ps(m, b1 + i));
		NT_COL(s, x0, x1, 2, _mm512_maskz_loadu_ps(m, b2 + i));
		NT_COL(s, x0, x1, 3, _mm512_maskz_loadu_ps(m, b3 + i));
	}
	o0[0] = NT_SUM(0, 0), o0[1] = NT_SUM(0, 1), o0[2] = NT_SUM(0, 2), o0[3] = NT_SUM(0, 3);
	o1[0] = NT_SUM(1, 0), o1[1] = NT_SUM(1, 1), o1[2] = NT_SUM(1, 2), o1[3] = NT_SUM(1, 3);
}

/* The same for one row of a (an odd last row). */
static void nt_1x4(const float *a0, const float *const b[4], size_t n, float o0[4])
{
	const float *b0 = b[0], *b1 = b[1], *b2 = b[2], *b3 = b[3];
	NT_ZERO4(s, 0);
	NT_ZERO4(t, 0);
	size_t i = 0;
	for (; i + 32 <= n; i += 32) {
		__m512 x0 = NT_LD(a0, i);
		NT_COL1(s, x0, 0, NT_LD(b0, i));
		NT_COL1(s, x0, 1, NT_LD(b1, i));
		NT_COL1(s, x0, 2, NT_LD(b2, i));
		NT_COL1(s, x0, 3, NT_LD(b3, i));
		x0 = NT_LD(a0, i + 16);
		NT_COL1(t, x0, 0, NT_LD(b0, i + 16));
		NT_COL1(t, x0, 1, NT_LD(b1, i + 16));
		NT_COL1(t, x0, 2, NT_LD(b2, i + 16));
		NT_COL1(t, x0, 3, NT_LD(b3, i + 16));
	}
	for (; i + 16 <= n; i += 16) {
		__m512 x0 = NT_LD(a0, i);
		NT_COL1(s, x0, 0, NT_LD(b0, i));
		NT_COL1(s, x0, 1, NT_LD(b1, i));
		NT_COL1(s, x0, 2, NT_LD(b2, i));
		NT_COL1(s, x0, 3, NT_LD(b3, i));
	}
	if (i < n) {
		__mmask16 m = (__mmask16)((1u << (n - i)) - 1);
		__m512 x0 = _mm512_maskz_loadu_ps(m, a0 + i);
		NT_COL1(s, x0, 0, _mm512_maskz_loadu_ps(m, b0 + i));
		NT_COL1(s, x0, 1, _mm512_maskz_loadu_ps(m, b1 + i));
		NT_COL1(s, x0, 2, _mm512_maskz_loadu_ps(m, b2 + i));
		NT_COL1(s, x0, 3, _mm512_maskz_loadu_ps(m, b3 + i));
	}
	o0[0] = NT_SUM(0, 0), o0[1] = NT_SUM(0, 1), o0[2] = NT_SUM(0, 2), o0[3] = NT_SUM(0, 3);
}

/* Columns (rows of b) outermost: four b rows stay in L1 while the rows of
 * a stream past them. */
static void dot_f32_nt(const float *a, size_t lda, size_t m, const float *b, size_t ldb, size_t nb,
                       size_t k, float *c, size_t ldc)
{
	size_t j = 0;
	for (; j + 4 <= nb; j += 4) {
		const float *bj[4] = { b + j * ldb, b + (j + 1) * ldb, b + (j + 2) * ldb, b + (j + 3) * ldb };
		size_t i = 0;
		for (; i + 2 <= m; i += 2)
			nt_2x4(a + i * lda, a + (i + 1) * lda, bj, k, c + i * ldc + j, c + (i + 1) * ldc + j);
		if (i < m)
			nt_1x4(a + i * lda, bj, k, c + i * ldc + j);
	}
	for (; j < nb; j++)
		for (size_t i = 0; i < m; i++)
			c[i * ldc + j] = dot_f32(a + i * lda, b + j * ldb, k);
}

/* ---- double precision (PCA) -------------------------------------------- */

static double dot_f64(const double *a, const double *b, size_t n)
{
	__m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
	size_t i = 0;
	for (; i + 16 <= n; i += 16) {
		s0 = _mm512_fmadd_pd(_mm512_loadu_pd(a + i), _mm512_loadu_pd(b + i), s0);
		s1 = _mm512_fmadd_pd(_mm512_loadu_pd(a + i + 8), _mm512_loadu_pd(b + i + 8), s1);
	}
	for (; i + 8 <= n; i += 8)
		s0 = _mm512_fmadd_pd(_mm512_loadu_pd(a + i), _mm512_loadu_pd(b + i), s0);
	if (i < n) {
		__mmask8 m = (__mmask8)((1u << (n - i)) - 1);
		s0 = _mm512_fmadd_pd(_mm512_maskz_loadu_pd(m, a + i), _mm512_maskz_loadu_pd(m, b + i), s0);
	}
	return _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
}

static void axpy_f64(double a, const double *x, double *y, size_t n)
{
	__m512d va = _mm512_set1_pd(a);
	size_t i = 0;
	for (; i + 8 <= n; i += 8)
		_mm512_storeu_pd(y + i, _mm512_fmadd_pd(va, _mm512_loadu_pd(x + i), _mm512_loadu_pd(y + i)));
	if (i < n) {
		__mmask8 m = (__mmask8)((1u << (n - i)) - 1);
		_mm512_mask_storeu_pd(y + i, m,
		                      _mm512_fmadd_pd(va, _mm512_maskz_loadu_pd(m, x + i),
		                                      _mm512_maskz_loadu_pd(m, y + i)));
	}
}

static void rot_f64(double *x, double *y, size_t n, double c, double s)
{
	__m512d vc = _mm512_set1_pd(c), vs = _mm512_set1_pd(s);
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		__m512d xi = _mm512_loadu_pd(x + i), yi = _mm512_loadu_pd(y + i);
		_mm512_storeu_pd(x + i, _mm512_fmadd_pd(vc, xi, _mm512_mul_pd(vs, yi)));
		_mm512_storeu_pd(y + i, _mm512_fmsub_pd(vc, yi, _mm512_mul_pd(vs, xi)));
	}
	if (i < n) {
		__mmask8 m = (__mmask8)((1u << (n - i)) - 1);
		__m512d xi = _mm512_maskz_loadu_pd(m, x + i), yi = _mm512_maskz_loadu_pd(m, y + i);
		_mm512_mask_storeu_pd(x + i, m, _mm512_fmadd_pd(vc, xi, _mm512_mul_pd(vs, yi)));
		_mm512_mask_storeu_pd(y + i, m, _mm512_fmsub_pd(vc, yi, _mm512_mul_pd(vs, xi)));
	}
}

const vl_kernels vl_kernels_avx512 = {
	.level = VL_SIMD_AVX512,
	.name = "avx512",
	.l2_f32 = l2_f32,
	.dot_f32 = dot_f32,
	.l2_f32_batch = l2_f32_batch,
	.dot_f32_batch = dot_f32_batch,
	.l2_f16 = l2_f16,
	.dot_f16 = dot_f16,
	.l2_f16_batch = l2_f16_batch,
	.dot_f16_batch = dot_f16_batch,
	.dot_u4s8 = vl_dot_u4s8_avx512,
	.dot_u8s8x2 = vl_dot_u8s8x2_avx512,
	.lvq_scan = vl_lvq_scan_avx512,
	.lvq_gather = vl_lvq_gather_avx512,
	.clean_f32 = vl_clean_f32_avx512,
	.scale_f32 = vl_scale_f32_avx512,
	.lvq_center = vl_lvq_center_avx512,
	.lvq_quantize = vl_lvq_quantize_avx512,
	.lvq_rerank = vl_lvq_rerank_avx512,
	.lvq_minmax = vl_lvq_minmax_avx512,
	.lvq_codes = vl_lvq_codes_avx512,
	.dot_f32_nt = dot_f32_nt,
	.dot_f64 = dot_f64,
	.axpy_f64 = axpy_f64,
	.rot_f64 = rot_f64,
};

/* The same table with the LVQ kernels on VPDPBUSD (lvq_vnni_avx512.c). */
const vl_kernels vl_kernels_avx512vnni = {
	.level = VL_SIMD_AVX512VNNI,
	.name = "avx512vnni",
	.l2_f32 = l2_f32,
	.dot_f32 = dot_f32,
	.l2_f32_batch = l2_f32_batch,
	.dot_f32_batch = dot_f32_batch,
	.l2_f16 = l2_f16,
	.dot_f16 = dot_f16,
	.l2_f16_batch = l2_f16_batch,
	.dot_f16_batch = dot_f16_batch,
	.dot_u4s8 = vl_dot_u4s8_vnni,
	.dot_u8s8x2 = vl_dot_u8s8x2_vnni,
	.lvq_scan = vl_lvq_scan_vnni,
	.lvq_gather = vl_lvq_gather_vnni,
	.clean_f32 = vl_clean_f32_avx512,
	.scale_f32 = vl_scale_f32_avx512,
	.lvq_center = vl_lvq_center_avx512,
	.lvq_quantize = vl_lvq_quantize_avx512,
	.lvq_rerank = vl_lvq_rerank_avx512,
	.lvq_minmax = vl_lvq_minmax_avx512,
	.lvq_codes = vl_lvq_codes_avx512,
	.dot_f32_nt = dot_f32_nt,
	.dot_f64 = dot_f64,
	.axpy_f64 = axpy_f64,
	.rot_f64 = rot_f64,
};
