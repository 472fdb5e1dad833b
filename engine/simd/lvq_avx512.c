/*
 * lvq_avx512.c - LVQ kernels for AVX-512 F/BW/VL/DQ.
 *
 * Same scheme as lvq_avx2.c at twice the width: a 64-byte load holds two
 * 4-bit blocks (128 components) or 64 8-bit codes; four rows share each
 * query load and are reduced together. An odd final 4-bit block and a
 * final 32 8-bit codes use 256-bit operations.
 */
#include <immintrin.h>

#include "lvq_kern.h"

#define LD(p) _mm512_loadu_si512((const void *)(p))
#define LDY(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))

/* 64-byte chunk j of 4-bit codes: low nibbles with q[128j ..], high with
 * q[128j + 64 ..], widened to int32 lanes. */
static inline __m512i u4_chunk(const uint8_t *codes, __m512i qlo, __m512i qhi, size_t j)
{
	const __m512i m4 = _mm512_set1_epi8(15), ones = _mm512_set1_epi16(1);
	__m512i c = LD(codes + 64 * j);
	__m512i lo = _mm512_and_si512(c, m4), hi = _mm512_and_si512(_mm512_srli_epi16(c, 4), m4);
	__m512i p = _mm512_add_epi16(_mm512_maddubs_epi16(lo, qlo), _mm512_maddubs_epi16(hi, qhi));
	return _mm512_madd_epi16(p, ones);
}

/* The odd final 32-byte block: first halves of a chunk. */
static inline __m512i u4_half(const uint8_t *codes, const int8_t *q, size_t j)
{
	const __m256i m4 = _mm256_set1_epi8(15), ones = _mm256_set1_epi16(1);
	__m256i c = LDY(codes + 64 * j);
	__m256i lo = _mm256_and_si256(c, m4), hi = _mm256_and_si256(_mm256_srli_epi16(c, 4), m4);
	__m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(lo, LDY(q + 128 * j)),
	                             _mm256_maddubs_epi16(hi, LDY(q + 128 * j + 64)));
	return _mm512_zextsi256_si512(_mm256_madd_epi16(p, ones));
}

int32_t vl_dot_u4s8_avx512(const uint8_t *codes, const int8_t *q, size_t nbytes)
{
	__m512i acc = _mm512_setzero_si512();
	size_t j = 0;
	for (; 64 * (j + 1) <= nbytes; j++)
		acc = _mm512_add_epi32(acc, u4_chunk(codes, LD(q + 128 * j), LD(q + 128 * j + 64), j));
	if (64 * j < nbytes)
		acc = _mm512_add_epi32(acc, u4_half(codes, q, j));
	return _mm512_reduce_add_epi32(acc);
}

/* 64 codes at offset i: 128 * <c, qh> + <c, ql> in int32 lanes. */
static inline __m512i u8_chunk(const uint8_t *codes, __m512i qh, __m512i ql, size_t i)
{
	const __m512i ones = _mm512_set1_epi16(1);
	__m512i c = LD(codes + i);
	__m512i h = _mm512_madd_epi16(_mm512_maddubs_epi16(c, qh), ones);
	__m512i l = _mm512_madd_epi16(_mm512_maddubs_epi16(c, ql), ones);
	return _mm512_add_epi32(_mm512_slli_epi32(h, 7), l);
}

static inline __m512i u8_half(const uint8_t *codes, const int8_t *qh, const int8_t *ql, size_t i)
{
	const __m256i ones = _mm256_set1_epi16(1);
	__m256i c = LDY(codes + i);
	__m256i h = _mm256_madd_epi16(_mm256_maddubs_epi16(c, LDY(qh + i)), ones);
	__m256i l = _mm256_madd_epi16(_mm256_maddubs_epi16(c, LDY(ql + i)), ones);
	return _mm512_zextsi256_si512(_mm256_add_epi32(_mm256_slli_epi32(h, 7), l));
}

int32_t vl_dot_u8s8x2_avx512(const uint8_t *codes, const int8_t *q, size_t n)
{
	__m512i acc = _mm512_setzero_si512();
	size_t i = 0;
	for (; i + 64 <= n; i += 64)
		acc = _mm512_add_epi32(acc, u8_chunk(codes, LD(q + i), LD(q + n + i), i));
	if (i < n)
		acc = _mm512_add_epi32(acc, u8_half(codes, q, q + n, i));
	return _mm512_reduce_add_epi32(acc);
}

/* Sums of four accumulators: [sum a, sum b, sum c, sum d]. */
static inline __m128i hsum16x4(__m512i a, __m512i b, __m512i c, __m512i d)
{
	/* fold 512 -> 256 bits, then the AVX2 pattern */
	__m256i a8 = _mm256_add_epi32(_mm512_castsi512_si256(a), _mm512_extracti64x4_epi64(a, 1));
	__m256i b8 = _mm256_add_epi32(_mm512_castsi512_si256(b), _mm512_extracti64x4_epi64(b, 1));
	__m256i c8 = _mm256_add_epi32(_mm512_castsi512_si256(c), _mm512_extracti64x4_epi64(c, 1));
	__m256i d8 = _mm256_add_epi32(_mm512_castsi512_si256(d), _mm512_extracti64x4_epi64(d, 1));
	__m256i abcd = _mm256_hadd_epi32(_mm256_hadd_epi32(a8, b8), _mm256_hadd_epi32(c8, d8));
	return _mm_add_epi32(_mm256_castsi256_si128(abcd), _mm256_extracti128_si256(abcd, 1));
}

static inline __m128i dot4(const vl_lvq_query *q, const uint8_t *r0, const uint8_t *r1,
                           const uint8_t *r2, const uint8_t *r3)
{
	const int8_t *qc = vl_lvq_qcodes(q);
	size_t nb = q->code_bytes;
	__m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
	if (q->bits == 4) {
		size_t j = 0;
		for (; 64 * (j + 1) <= nb; j++) {
			__m512i qlo = LD(qc + 128 * j), qhi = LD(qc + 128 * j + 64);
			a0 = _mm512_add_epi32(a0, u4_chunk(r0, qlo, qhi, j));
			a1 = _mm512_add_epi32(a1, u4_chunk(r1, qlo, qhi, j));
			a2 = _mm512_add_epi32(a2, u4_chunk(r2, qlo, qhi, j));
			a3 = _mm512_add_epi32(a3, u4_chunk(r3, qlo, qhi, j));
		}
		if (64 * j < nb) {
			a0 = _mm512_add_epi32(a0, u4_half(r0, qc, j));
			a1 = _mm512_add_epi32(a1, u4_half(r1, qc, j));
			a2 = _mm512_add_epi32(a2, u4_half(r2, qc, j));
			a3 = _mm512_add_epi32(a3, u4_half(r3, qc, j));
		}
	} else {
		size_t i = 0;
		for (; i + 64 <= nb; i += 64) {
			__m512i qh = LD(qc + i), ql = LD(qc + nb + i);
			a0 = _mm512_add_epi32(a0, u8_chunk(r0, qh, ql, i));
			a1 = _mm512_add_epi32(a1, u8_chunk(r1, qh, ql, i));
			a2 = _mm512_add_epi32(a2, u8_chunk(r2, qh, ql, i));
			a3 = _mm512_add_epi32(a3, u8_chunk(r3, qh, ql, i));
		}
		if (i < nb) {
			a0 = _mm512_add_epi32(a0, u8_half(r0, qc, qc + nb, i));
			a1 = _mm512_add_epi32(a1, u8_half(r1, qc, qc + nb, i));
			a2 = _mm512_add_epi32(a2, u8_half(r2, qc, qc + nb, i));
			a3 = _mm512_add_epi32(a3, u8_half(r3, qc, qc + nb, i));
		}
	}
	return hsum16x4(a0, a1, a2, a3);
}

static inline int32_t dot1(const vl_lvq_query *q, const uint8_t *row)
{
	return q->bits == 4 ? vl_dot_u4s8_avx512(row, vl_lvq_qcodes(q), q->code_bytes)
	                    : vl_dot_u8s8x2_avx512(row, vl_lvq_qcodes(q), q->code_bytes);
}

static inline float finish(const vl_lvq_query *q, const uint8_t *row, int32_t dot)
{
	float scale = _cvtsh_ss(vl_ld16(row + q->code_bytes));
	float bias = _cvtsh_ss(vl_ld16(row + q->code_bytes + 2));
	return vl_lvq_finish(q, row, dot, scale, bias);
}

static inline void prefetch_row(const uint8_t *row, size_t bytes)
{
	for (size_t o = 0; o < bytes; o += 64)
		_mm_prefetch((const char *)(row + o), _MM_HINT_T0);
}

/* Scans go row after row: the hardware prefetcher streams them at full
 * bandwidth. (Four rows interleaved, as gather does, measured 4x slower
 * out of cache: the streams defeat the prefetcher.) */
void vl_lvq_scan_avx512(const vl_lvq_query *q, const uint8_t *rows, size_t stride, size_t n,
                        float *out)
{
	if (q->bits == 4)
		for (size_t r = 0; r < n; r++)
			out[r] = finish(q, rows + r * stride,
			                vl_dot_u4s8_avx512(rows + r * stride, vl_lvq_qcodes(q), q->code_bytes));
	else
		for (size_t r = 0; r < n; r++)
			out[r] = finish(q, rows + r * stride,
			                vl_dot_u8s8x2_avx512(rows + r * stride, vl_lvq_qcodes(q), q->code_bytes));
}

/* Random rows: four at a time, so their cache misses overlap, with the
 * next four prefetched. */
void vl_lvq_gather_avx512(const vl_lvq_query *q, const uint8_t *base, size_t stride,
                          const uint32_t *ids, size_t n, float *out)
{
	size_t r = 0;
	for (; r + 4 <= n; r += 4) {
		for (size_t i = r + 4; i < r + 8 && i < n; i++)
			prefetch_row(base + (size_t)ids[i] * stride, stride);
		const uint8_t *p[4];
		for (int i = 0; i < 4; i++)
			p[i] = base + (size_t)ids[r + i] * stride;
		int32_t d[4];
		_mm_storeu_si128((__m128i *)(void *)d, dot4(q, p[0], p[1], p[2], p[3]));
		for (int i = 0; i < 4; i++)
			out[r + i] = finish(q, p[i], d[i]);
	}
	for (; r < n; r++)
		out[r] = finish(q, base + (size_t)ids[r] * stride, dot1(q, base + (size_t)ids[r] * stride));
}
