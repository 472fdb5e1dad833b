/*
 * lvqrr_avx512.c - the re-ranking kernel (simd.h lvq_rerank) on AVX-512:
 * 16 components at a time, codes widened to int32, combined into
 * C = (2^B2 - 1) c1 + c2 with a shift and a subtraction, converted to
 * float and reconstructed with one FMA (B + S * C). The main loop takes
 * blocks of 64 components (one 32-byte load of 4-bit codes) into four
 * accumulators; the rest goes 16 at a time, the last group under a mask.
 * Each (bits1, bits2, metric) is compiled separately (constants inline).
 */
#include <immintrin.h>

#include "lvqf_kern.h"

#define INLINE static inline __attribute__((always_inline))

INLINE __m512i widen16(const uint8_t *p)
{
	return _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(const void *)p));
}

/* Codes of components j .. j + 15 (j a multiple of 16). */
INLINE __m512i codes16(const uint8_t *c, unsigned bits, size_t j)
{
	if (bits == 8)
		return widen16(c + j);
	__m512i b = widen16(c + (j / 64) * 32 + j % 32);
	if (j % 64 >= 32)
		b = _mm512_srli_epi32(b, 4);
	return _mm512_and_si512(b, _mm512_set1_epi32(15));
}

/* Codes of components j .. j + 63 (j a multiple of 64) as four vectors. */
INLINE void codes64(const uint8_t *c, unsigned bits, size_t j, __m512i out[4])
{
	if (bits == 8) {
		for (int k = 0; k < 4; k++)
			out[k] = widen16(c + j + 16 * k);
		return;
	}
	const __m256i m4 = _mm256_set1_epi8(15);
	__m256i raw = _mm256_loadu_si256((const __m256i *)(const void *)(c + j / 2));
	__m256i lo = _mm256_and_si256(raw, m4), hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
	out[0] = _mm512_cvtepu8_epi32(_mm256_castsi256_si128(lo));
	out[1] = _mm512_cvtepu8_epi32(_mm256_extracti128_si256(lo, 1));
	out[2] = _mm512_cvtepu8_epi32(_mm256_castsi256_si128(hi));
	out[3] = _mm512_cvtepu8_epi32(_mm256_extracti128_si256(hi, 1));
}

INLINE __m512 combine(__m512i c1, __m512i c2, unsigned b2)
{
	if (b2)
		c1 = _mm512_add_epi32(_mm512_sub_epi32(_mm512_slli_epi32(c1, b2), c1), c2);
	return _mm512_cvtepi32_ps(c1);
}

INLINE __m512 accumulate(__m512 acc, __m512 u, __m512 x, int l2)
{
	if (l2) {
		__m512 d = _mm512_sub_ps(u, x);
		return _mm512_fmadd_ps(d, d, acc);
	}
	return _mm512_fmadd_ps(u, x, acc);
}

INLINE float row_dist(const vl_lvq_query *q, const float *u, const uint8_t *p, const uint8_t *s,
                      unsigned b1, unsigned b2, int l2)
{
	float S, B;
	vl_lvq_rerank_consts(q, p, b2, &S, &B);
	const __m512 vs = _mm512_set1_ps(S), vb = _mm512_set1_ps(B);
	__m512 acc[4] = { _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
		          _mm512_setzero_ps() };
	size_t dim = q->dim, j = 0;
	for (; j + 64 <= dim; j += 64) {
		__m512i c1[4], c2[4] = { _mm512_setzero_si512(), _mm512_setzero_si512(),
			                 _mm512_setzero_si512(), _mm512_setzero_si512() };
		codes64(p, b1, j, c1);
		if (b2)
			codes64(s, b2, j, c2);
		for (int k = 0; k < 4; k++) {
			__m512 x = _mm512_fmadd_ps(combine(c1[k], c2[k], b2), vs, vb);
			acc[k] = accumulate(acc[k], _mm512_loadu_ps(u + j + 16 * k), x, l2);
		}
	}
	for (; j < dim; j += 16) {
		__mmask16 m = dim - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (dim - j)) - 1);
		__m512i c2 = b2 ? codes16(s, b2, j) : _mm512_setzero_si512();
		__m512 x = _mm512_fmadd_ps(combine(codes16(p, b1, j), c2, b2), vs, vb);
		/* components past dim: u and x both 0, adding nothing */
		x = _mm512_maskz_mov_ps(m, x);
		acc[0] = accumulate(acc[0], _mm512_maskz_loadu_ps(m, u + j), x, l2);
	}
	float sum = _mm512_reduce_add_ps(
	    _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
	return l2 ? q->a0 + sum : q->a - sum;
}

#define LVQRR_ENTRY vl_lvq_rerank_avx512
#include "lvqrr_rows.h"
