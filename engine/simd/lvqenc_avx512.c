/*
 * lvqenc_avx512.c - LVQ encoding on AVX-512 (simd.h lvq_minmax, lvq_codes):
 * the scalar reference's bytes (lvqenc_scalar.c) 16 components at a time,
 * in blocks of 64 (one 32-byte run of 4-bit codes: components j and j + 32
 * share a byte). The same float operations in the same order (no FMA), the
 * squared norm in the 16 double lanes.
 */
#include <immintrin.h>

#include "lvqf_kern.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF /* gcc: already off in ISO C mode */
#endif

static inline __mmask16 group_mask(size_t j, size_t n)
{
	return j >= n ? 0 : n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
}

void vl_lvq_minmax_avx512(const float *x, const float *mean, size_t n, float inv_unit, float *lo,
                          float *hi)
{
	__m512 l = _mm512_set1_ps(*lo), h = _mm512_set1_ps(*hi), vi = _mm512_set1_ps(inv_unit);
	const __m512 zero = _mm512_setzero_ps();
	for (size_t j = 0; j < n; j += 16) {
		__mmask16 m = group_mask(j, n);
		__m512 y = _mm512_mul_ps(
		    _mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + j), _mm512_maskz_loadu_ps(m, mean + j)), vi);
		y = _mm512_add_ps(y, zero);
		l = _mm512_mask_min_ps(l, m, y, l);
		h = _mm512_mask_max_ps(h, m, y, h);
	}
	*lo = _mm512_reduce_min_ps(l);
	*hi = _mm512_reduce_max_ps(h);
}

/* q(t, M): 0 unless t > 0, M unless t < M, else (int)(t + 0.5f). */
static inline __m512i quant16(__m512 t, __m512 maxf, __m512i maxi)
{
	__mmask16 pos = _mm512_cmp_ps_mask(t, _mm512_setzero_ps(), _CMP_GT_OQ);
	__mmask16 lt = _mm512_cmp_ps_mask(t, maxf, _CMP_LT_OQ);
	__m512i r = _mm512_cvttps_epi32(_mm512_add_ps(t, _mm512_set1_ps(0.5f)));
	return _mm512_maskz_mov_epi32(pos, _mm512_mask_blend_epi32(lt, maxi, r));
}

typedef struct enc {
	__m512 inv, hs, hb, half, step2, max1f, max2f;
	__m512i max1i, max2i;
	int two;
} enc;

/* Codes of components j .. j + 15 (zero past n); adds v^2 to the lanes. */
static inline void group(const enc *e, const float *x, const float *mean, size_t j, size_t n,
                         __m512i *q1, __m512i *q2, __m512d *s0, __m512d *s1)
{
	__mmask16 m = group_mask(j, n);
	if (!m) {
		*q1 = *q2 = _mm512_setzero_si512();
		return;
	}
	__m512 y = _mm512_mul_ps(
	    _mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + j), _mm512_maskz_loadu_ps(m, mean + j)), e->inv);
	*q1 = _mm512_maskz_mov_epi32(m, quant16(_mm512_div_ps(_mm512_sub_ps(y, e->hb), e->hs), e->max1f,
	                                        e->max1i));
	__m512 v1 = _mm512_add_ps(e->hb, _mm512_mul_ps(e->hs, _mm512_cvtepi32_ps(*q1)));
	__m512 vz = _mm512_maskz_mov_ps(m, v1);
	__m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(vz));
	__m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(vz), 1)));
	*s0 = _mm512_add_pd(*s0, _mm512_mul_pd(lo, lo));
	*s1 = _mm512_add_pd(*s1, _mm512_mul_pd(hi, hi));
	if (e->two) {
		__m512 t = _mm512_div_ps(_mm512_add_ps(_mm512_sub_ps(y, v1), e->half), e->step2);
		*q2 = _mm512_maskz_mov_epi32(m, quant16(t, e->max2f, e->max2i));
	} else {
		*q2 = _mm512_setzero_si512();
	}
}

/* Store the 64 codes of block j0 (four groups) in the layout of `bits`. */
static inline void store64(uint8_t *c, uint32_t bits, size_t j0, size_t n, const __m512i q[4])
{
	if (bits == 8) {
		for (int g = 0; g < 4; g++) /* up to align16(n) <= code bytes (align32) */
			if (j0 + 16 * g < n)
				_mm_storeu_si128((__m128i *)(void *)(c + j0 + 16 * g), _mm512_cvtepi32_epi8(q[g]));
		return;
	}
	__m128i b0 = _mm_or_si128(_mm512_cvtepi32_epi8(q[0]), _mm_slli_epi16(_mm512_cvtepi32_epi8(q[2]), 4));
	__m128i b1 = _mm_or_si128(_mm512_cvtepi32_epi8(q[1]), _mm_slli_epi16(_mm512_cvtepi32_epi8(q[3]), 4));
	_mm_storeu_si128((__m128i *)(void *)(c + j0 / 2), b0);
	_mm_storeu_si128((__m128i *)(void *)(c + j0 / 2 + 16), b1);
}

double vl_lvq_codes_avx512(const float *x, const float *mean, size_t n, float inv_unit, float hs,
                           float hb, uint32_t bits1, uint8_t *c1, uint32_t bits2, float step2,
                           float half, uint8_t *c2)
{
	unsigned max1 = (1u << bits1) - 1, max2 = bits2 ? (1u << bits2) - 1 : 0;
	enc e = {
		.inv = _mm512_set1_ps(inv_unit), .hs = _mm512_set1_ps(hs), .hb = _mm512_set1_ps(hb),
		.half = _mm512_set1_ps(half), .step2 = _mm512_set1_ps(step2),
		.max1f = _mm512_set1_ps((float)max1), .max2f = _mm512_set1_ps((float)max2),
		.max1i = _mm512_set1_epi32((int)max1), .max2i = _mm512_set1_epi32((int)max2),
		.two = c2 && bits2,
	};
	__m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
	for (size_t j0 = 0; j0 < n; j0 += 64) {
		__m512i q1[4], q2[4];
		for (int g = 0; g < 4; g++)
			group(&e, x, mean, j0 + 16 * (size_t)g, n, &q1[g], &q2[g], &s0, &s1);
		store64(c1, bits1, j0, n, q1);
		if (e.two)
			store64(c2, bits2, j0, n, q2);
	}
	__m512d t = _mm512_add_pd(s0, s1);
	__m256d t4 = _mm256_add_pd(_mm512_castpd512_pd256(t), _mm512_extractf64x4_pd(t, 1));
	__m128d t2 = _mm_add_pd(_mm256_castpd256_pd128(t4), _mm256_extractf128_pd(t4, 1));
	return _mm_cvtsd_f64(_mm_add_sd(t2, _mm_unpackhi_pd(t2, t2)));
}
