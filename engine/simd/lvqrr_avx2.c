/*
 * lvqrr_avx2.c - the re-ranking kernel (simd.h lvq_rerank) on AVX2+FMA:
 * lvqrr_avx512.c's scheme 8 components at a time. Blocks of 64 components
 * (one 32-byte load of 4-bit codes) feed four accumulators; the rest goes
 * 8 at a time, the last group masked.
 */
#include <immintrin.h>

#include "lvqf_kern.h"

#define INLINE static inline __attribute__((always_inline))

INLINE __m256i widen8(__m128i v)
{
	return _mm256_cvtepu8_epi32(v);
}

INLINE __m128i load8(const uint8_t *p)
{
	return _mm_loadl_epi64((const __m128i *)(const void *)p);
}

/* Codes of components j .. j + 7 (j a multiple of 8). */
INLINE __m256i codes8(const uint8_t *c, unsigned bits, size_t j)
{
	if (bits == 8)
		return widen8(load8(c + j));
	__m256i b = widen8(load8(c + (j / 64) * 32 + j % 32));
	if (j % 64 >= 32)
		b = _mm256_srli_epi32(b, 4);
	return _mm256_and_si256(b, _mm256_set1_epi32(15));
}

/* Codes of components j .. j + 63 (j a multiple of 64) as eight vectors. */
INLINE void codes64(const uint8_t *c, unsigned bits, size_t j, __m256i out[8])
{
	if (bits == 8) {
		for (int k = 0; k < 8; k++)
			out[k] = widen8(load8(c + j + 8 * k));
		return;
	}
	const __m256i m4 = _mm256_set1_epi8(15);
	__m256i raw = _mm256_loadu_si256((const __m256i *)(const void *)(c + j / 2));
	__m256i lo = _mm256_and_si256(raw, m4), hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
	__m128i h[4] = { _mm256_castsi256_si128(lo), _mm256_extracti128_si256(lo, 1),
		         _mm256_castsi256_si128(hi), _mm256_extracti128_si256(hi, 1) };
	for (int k = 0; k < 4; k++) {
		out[2 * k] = widen8(h[k]);
		out[2 * k + 1] = widen8(_mm_srli_si128(h[k], 8));
	}
}

INLINE __m256 combine(__m256i c1, __m256i c2, unsigned b2)
{
	if (b2)
		c1 = _mm256_add_epi32(_mm256_sub_epi32(_mm256_slli_epi32(c1, (int)b2), c1), c2);
	return _mm256_cvtepi32_ps(c1);
}

INLINE __m256 accumulate(__m256 acc, __m256 u, __m256 x, int l2)
{
	if (l2) {
		__m256 d = _mm256_sub_ps(u, x);
		return _mm256_fmadd_ps(d, d, acc);
	}
	return _mm256_fmadd_ps(u, x, acc);
}

INLINE float hsum(__m256 v)
{
	__m128 lo = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
	lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
	return _mm_cvtss_f32(lo);
}

INLINE __m256i tail_mask(size_t rem)
{
	static const int32_t m[16] = { -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0 };
	return _mm256_loadu_si256((const __m256i *)(const void *)(m + 8 - rem));
}

INLINE float row_dist(const vl_lvq_query *q, const float *u, const uint8_t *p, const uint8_t *s,
                      unsigned b1, unsigned b2, int l2)
{
	float S, B;
	vl_lvq_rerank_consts(q, p, b2, &S, &B);
	const __m256 vs = _mm256_set1_ps(S), vb = _mm256_set1_ps(B);
	__m256 acc[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
		          _mm256_setzero_ps() };
	size_t dim = q->dim, j = 0;
	for (; j + 64 <= dim; j += 64) {
		__m256i c1[8], c2[8];
		codes64(p, b1, j, c1);
		if (b2)
			codes64(s, b2, j, c2);
		else
			for (int k = 0; k < 8; k++)
				c2[k] = _mm256_setzero_si256();
		for (int k = 0; k < 8; k++) {
			__m256 x = _mm256_fmadd_ps(combine(c1[k], c2[k], b2), vs, vb);
			acc[k % 4] = accumulate(acc[k % 4], _mm256_loadu_ps(u + j + 8 * k), x, l2);
		}
	}
	for (; j < dim; j += 8) {
		__m256i c2 = b2 ? codes8(s, b2, j) : _mm256_setzero_si256();
		__m256 x = _mm256_fmadd_ps(combine(codes8(p, b1, j), c2, b2), vs, vb);
		__m256 uj;
		if (dim - j >= 8) {
			uj = _mm256_loadu_ps(u + j);
		} else { /* components past dim: u and x both 0, adding nothing */
			__m256i m = tail_mask(dim - j);
			uj = _mm256_maskload_ps(u + j, m);
			x = _mm256_and_ps(x, _mm256_castsi256_ps(m));
		}
		acc[0] = accumulate(acc[0], uj, x, l2);
	}
	float sum = hsum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
	return l2 ? q->a0 + sum : q->a - sum;
}

#define LVQRR_ENTRY vl_lvq_rerank_avx2
#include "lvqrr_rows.h"
