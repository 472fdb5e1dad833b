/* simd_avx512.c - AVX-512F kernels (compiled with -mavx512f...; called only
 * when cpuid reports AVX-512F/BW/VL/DQ). */
#include <immintrin.h>

#include "lvq_kern.h"
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
	.dot_f64 = dot_f64,
	.axpy_f64 = axpy_f64,
	.rot_f64 = rot_f64,
};
