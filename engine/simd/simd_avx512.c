/* simd_avx512.c - AVX-512F kernels (compiled with -mavx512f...; called only
 * when cpuid reports AVX-512F/BW/VL/DQ). */
#include <immintrin.h>

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

const vl_kernels vl_kernels_avx512 = {
	.level = VL_SIMD_AVX512,
	.name = "avx512",
	.l2_f32 = l2_f32,
	.dot_f32 = dot_f32,
	.l2_f32_batch = l2_f32_batch,
	.dot_f32_batch = dot_f32_batch,
};
