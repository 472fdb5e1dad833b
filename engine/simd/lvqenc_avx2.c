/*
 * lvqenc_avx2.c - LVQ encoding on AVX2 (simd.h lvq_minmax, lvq_codes): the
 * scalar reference's bytes (lvqenc_scalar.c) 8 components at a time, in
 * blocks of 64 (4-bit codes j and j + 32 share a byte). The same float
 * operations in the same order (no FMA); the squared norm in the 16 double
 * lanes as four ymm (lanes 0-3, 4-7, 8-11, 12-15).
 */
#include <immintrin.h>

#include "lvqf_kern.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF /* gcc: already off in ISO C mode */
#endif

/* All ones in the first min(rem, 8) lanes. */
static inline __m256i lane_mask(size_t j, size_t n)
{
	static const int32_t m[16] = { -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0 };
	size_t rem = j >= n ? 0 : n - j >= 8 ? 8 : n - j;
	return _mm256_loadu_si256((const __m256i *)(const void *)(m + 8 - rem));
}

static inline __m256 load_y(const float *x, const float *mean, size_t j, size_t n, __m256 inv,
                            __m256i m)
{
	if (n - j >= 8)
		return _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + j), _mm256_loadu_ps(mean + j)), inv);
	return _mm256_mul_ps(_mm256_sub_ps(_mm256_maskload_ps(x + j, m), _mm256_maskload_ps(mean + j, m)),
	                     inv);
}

void vl_lvq_minmax_avx2(const float *x, const float *mean, size_t n, float inv_unit, float *lo,
                        float *hi)
{
	__m256 l = _mm256_set1_ps(*lo), h = _mm256_set1_ps(*hi), vi = _mm256_set1_ps(inv_unit);
	const __m256 zero = _mm256_setzero_ps();
	size_t j = 0;
	for (; j + 8 <= n; j += 8) {
		__m256 y = _mm256_add_ps(load_y(x, mean, j, n, vi, lane_mask(j, n)), zero);
		l = _mm256_min_ps(y, l);
		h = _mm256_max_ps(y, h);
	}
	float L[8], H[8];
	_mm256_storeu_ps(L, l);
	_mm256_storeu_ps(H, h);
	float lf = L[0], hf = H[0];
	for (int i = 1; i < 8; i++) { /* no NaN and no -0 in the lanes: any order */
		lf = L[i] < lf ? L[i] : lf;
		hf = H[i] > hf ? H[i] : hf;
	}
	for (; j < n; j++) { /* the scalar reference's expression */
		float v = (x[j] - mean[j]) * inv_unit + 0.0f;
		lf = v < lf ? v : lf;
		hf = v > hf ? v : hf;
	}
	*lo = lf;
	*hi = hf;
}

/* q(t, M): 0 unless t > 0, M unless t < M, else (int)(t + 0.5f). */
static inline __m256i quant8(__m256 t, __m256 maxf, __m256i maxi)
{
	__m256 pos = _mm256_cmp_ps(t, _mm256_setzero_ps(), _CMP_GT_OQ);
	__m256 lt = _mm256_cmp_ps(t, maxf, _CMP_LT_OQ);
	__m256i r = _mm256_cvttps_epi32(_mm256_add_ps(t, _mm256_set1_ps(0.5f)));
	r = _mm256_blendv_epi8(maxi, r, _mm256_castps_si256(lt));
	return _mm256_and_si256(r, _mm256_castps_si256(pos));
}

typedef struct enc {
	__m256 inv, hs, hb, half, step2, max1f, max2f;
	__m256i max1i, max2i;
	int two;
} enc;

/* Codes of components j .. j + 7 (zero past n); v^2 of them into the double
 * lanes d[2k], d[2k + 1] (the caller passes the right quarter pair). */
static inline void half_group(const enc *e, const float *x, const float *mean, size_t j, size_t n,
                              __m256i *q1, __m256i *q2, __m256d *d0, __m256d *d1)
{
	__m256i m = lane_mask(j, n);
	if (j >= n) {
		*q1 = *q2 = _mm256_setzero_si256();
		return;
	}
	__m256 y = load_y(x, mean, j, n, e->inv, m);
	*q1 = _mm256_and_si256(m, quant8(_mm256_div_ps(_mm256_sub_ps(y, e->hb), e->hs), e->max1f, e->max1i));
	__m256 v1 = _mm256_add_ps(e->hb, _mm256_mul_ps(e->hs, _mm256_cvtepi32_ps(*q1)));
	__m256 vz = _mm256_and_ps(v1, _mm256_castsi256_ps(m));
	__m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(vz)), hi = _mm256_cvtps_pd(_mm256_extractf128_ps(vz, 1));
	*d0 = _mm256_add_pd(*d0, _mm256_mul_pd(lo, lo));
	*d1 = _mm256_add_pd(*d1, _mm256_mul_pd(hi, hi));
	if (e->two) {
		__m256 t = _mm256_div_ps(_mm256_add_ps(_mm256_sub_ps(y, v1), e->half), e->step2);
		*q2 = _mm256_and_si256(m, quant8(t, e->max2f, e->max2i));
	} else {
		*q2 = _mm256_setzero_si256();
	}
}

/* 16 int32 codes (two ymm, each <= 255) as 16 bytes in order. */
static inline __m128i bytes16(__m256i a, __m256i b)
{
	__m256i w = _mm256_permute4x64_epi64(_mm256_packus_epi32(a, b), 0xd8);
	return _mm_packus_epi16(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));
}

/* Store the 64 codes of block j0 (eight groups of 8) in the layout of `bits`. */
static inline void store64(uint8_t *c, uint32_t bits, size_t j0, size_t n, const __m256i q[8])
{
	if (bits == 8) {
		for (int g = 0; g < 4; g++) /* up to align16(n) <= code bytes (align32) */
			if (j0 + 16 * g < n)
				_mm_storeu_si128((__m128i *)(void *)(c + j0 + 16 * g), bytes16(q[2 * g], q[2 * g + 1]));
		return;
	}
	__m128i b0 = _mm_or_si128(bytes16(q[0], q[1]), _mm_slli_epi16(bytes16(q[4], q[5]), 4));
	__m128i b1 = _mm_or_si128(bytes16(q[2], q[3]), _mm_slli_epi16(bytes16(q[6], q[7]), 4));
	_mm_storeu_si128((__m128i *)(void *)(c + j0 / 2), b0);
	_mm_storeu_si128((__m128i *)(void *)(c + j0 / 2 + 16), b1);
}

double vl_lvq_codes_avx2(const float *x, const float *mean, size_t n, float inv_unit, float hs,
                         float hb, uint32_t bits1, uint8_t *c1, uint32_t bits2, float step2,
                         float half, uint8_t *c2)
{
	unsigned max1 = (1u << bits1) - 1, max2 = bits2 ? (1u << bits2) - 1 : 0;
	enc e = {
		.inv = _mm256_set1_ps(inv_unit), .hs = _mm256_set1_ps(hs), .hb = _mm256_set1_ps(hb),
		.half = _mm256_set1_ps(half), .step2 = _mm256_set1_ps(step2),
		.max1f = _mm256_set1_ps((float)max1), .max2f = _mm256_set1_ps((float)max2),
		.max1i = _mm256_set1_epi32((int)max1), .max2i = _mm256_set1_epi32((int)max2),
		.two = c2 && bits2,
	};
	__m256d d[4] = { _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(),
		         _mm256_setzero_pd() };
	for (size_t j0 = 0; j0 < n; j0 += 64) {
		__m256i q1[8], q2[8];
		for (int g = 0; g < 8; g++) /* lanes: component j goes to lane j % 16 */
			half_group(&e, x, mean, j0 + 8 * (size_t)g, n, &q1[g], &q2[g], &d[2 * (g % 2)],
			           &d[2 * (g % 2) + 1]);
		store64(c1, bits1, j0, n, q1);
		if (e.two)
			store64(c2, bits2, j0, n, q2);
	}
	__m256d t = _mm256_add_pd(_mm256_add_pd(d[0], d[2]), _mm256_add_pd(d[1], d[3]));
	__m128d t2 = _mm_add_pd(_mm256_castpd256_pd128(t), _mm256_extractf128_pd(t, 1));
	return _mm_cvtsd_f64(_mm_add_sd(t2, _mm_unpackhi_pd(t2, t2)));
}
