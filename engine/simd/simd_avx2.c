/* simd_avx2.c - AVX2+FMA kernels (compiled with -mavx2 -mfma; called only
 * when cpuid reports AVX2). */
#include <immintrin.h>

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

const vl_kernels vl_kernels_avx2 = {
	.level = VL_SIMD_AVX2,
	.name = "avx2",
	.l2_f32 = l2_f32,
	.dot_f32 = dot_f32,
	.l2_f32_batch = l2_f32_batch,
	.dot_f32_batch = dot_f32_batch,
};
