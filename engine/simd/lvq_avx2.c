/*
 * lvq_avx2.c - LVQ kernels for AVX2 (compiled with -mavx2 -mfma -mf16c).
 *
 * Scans process four rows per step: the query chunk is loaded once for the
 * four, and the four int32 accumulators are reduced together. 4-bit codes:
 * nibbles are split with and/shift and multiplied with vpmaddubsw (u8 x s8,
 * pair sums at most 2 * 15 * 127, two of them still fit int16). 8-bit
 * codes: vpmaddubsw against the two halves of the split query (pair sums
 * at most 2 * 255 * 64 < 32767), no zero-extension needed.
 */
#include <immintrin.h>

#include "lvq_kern.h"

#define LD(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))

static inline int32_t hsum8(__m256i v)
{
	__m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
	return _mm_cvtsi128_si32(s);
}

/* Sums of four accumulators: [sum a, sum b, sum c, sum d]. */
static inline __m128i hsum8x4(__m256i a, __m256i b, __m256i c, __m256i d)
{
	__m256i ab = _mm256_hadd_epi32(a, b), cd = _mm256_hadd_epi32(c, d);
	__m256i abcd = _mm256_hadd_epi32(ab, cd);
	return _mm_add_epi32(_mm256_castsi256_si128(abcd), _mm256_extracti128_si256(abcd, 1));
}

/* 32-byte block k = 2j + h: low nibbles with q[128j + 32h ..], high with
 * q[128j + 64 + 32h ..]; the int16 sum goes out widened to int32. */
static inline __m256i u4_block(const uint8_t *codes, const int8_t *q, size_t k)
{
	const __m256i m4 = _mm256_set1_epi8(15), ones = _mm256_set1_epi16(1);
	const int8_t *qk = q + 128 * (k / 2) + 32 * (k % 2);
	__m256i c = LD(codes + 32 * k);
	__m256i lo = _mm256_and_si256(c, m4), hi = _mm256_and_si256(_mm256_srli_epi16(c, 4), m4);
	__m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(lo, LD(qk)), _mm256_maddubs_epi16(hi, LD(qk + 64)));
	return _mm256_madd_epi16(p, ones);
}

int32_t vl_dot_u4s8_avx2(const uint8_t *codes, const int8_t *q, size_t nbytes)
{
	__m256i acc = _mm256_setzero_si256();
	for (size_t k = 0; k < nbytes / 32; k++)
		acc = _mm256_add_epi32(acc, u4_block(codes, q, k));
	return hsum8(acc);
}

/* 32 codes at offset i: 128 * <c, qh> + <c, ql> as eight int32 lanes. */
static inline __m256i u8_block(const uint8_t *codes, const int8_t *qh, const int8_t *ql, size_t i)
{
	const __m256i ones = _mm256_set1_epi16(1);
	__m256i c = LD(codes + i);
	__m256i h = _mm256_madd_epi16(_mm256_maddubs_epi16(c, LD(qh + i)), ones);
	__m256i l = _mm256_madd_epi16(_mm256_maddubs_epi16(c, LD(ql + i)), ones);
	return _mm256_add_epi32(_mm256_slli_epi32(h, 7), l);
}

int32_t vl_dot_u8s8x2_avx2(const uint8_t *codes, const int8_t *q, size_t n)
{
	__m256i acc = _mm256_setzero_si256();
	for (size_t i = 0; i < n; i += 32)
		acc = _mm256_add_epi32(acc, u8_block(codes, q, q + n, i));
	return hsum8(acc);
}

static inline float finish(const vl_lvq_query *q, const uint8_t *row, int32_t dot)
{
	float scale = _cvtsh_ss(vl_ld16(row + q->code_bytes));
	float bias = _cvtsh_ss(vl_ld16(row + q->code_bytes + 2));
	return vl_lvq_finish(q, row, dot, scale, bias);
}

/* Dot products of four rows. */
static inline __m128i dot4(const vl_lvq_query *q, const uint8_t *r0, const uint8_t *r1,
                           const uint8_t *r2, const uint8_t *r3)
{
	const int8_t *qc = vl_lvq_qcodes(q);
	size_t nb = q->code_bytes;
	__m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
	if (q->bits == 4) {
		for (size_t k = 0; k < nb / 32; k++) {
			a0 = _mm256_add_epi32(a0, u4_block(r0, qc, k));
			a1 = _mm256_add_epi32(a1, u4_block(r1, qc, k));
			a2 = _mm256_add_epi32(a2, u4_block(r2, qc, k));
			a3 = _mm256_add_epi32(a3, u4_block(r3, qc, k));
		}
	} else {
		for (size_t i = 0; i < nb; i += 32) {
			a0 = _mm256_add_epi32(a0, u8_block(r0, qc, qc + nb, i));
			a1 = _mm256_add_epi32(a1, u8_block(r1, qc, qc + nb, i));
			a2 = _mm256_add_epi32(a2, u8_block(r2, qc, qc + nb, i));
			a3 = _mm256_add_epi32(a3, u8_block(r3, qc, qc + nb, i));
		}
	}
	return hsum8x4(a0, a1, a2, a3);
}

static inline int32_t dot1(const vl_lvq_query *q, const uint8_t *row)
{
	return q->bits == 4 ? vl_dot_u4s8_avx2(row, vl_lvq_qcodes(q), q->code_bytes)
	                    : vl_dot_u8s8x2_avx2(row, vl_lvq_qcodes(q), q->code_bytes);
}

static inline void prefetch_row(const uint8_t *row, size_t bytes)
{
	for (size_t o = 0; o < bytes; o += 64)
		_mm_prefetch((const char *)(row + o), _MM_HINT_T0);
}

/* Scans go row after row: the hardware prefetcher streams them at full
 * bandwidth. (Four rows interleaved, as gather does, measured 4x slower
 * out of cache: the streams defeat the prefetcher.) */
void vl_lvq_scan_avx2(const vl_lvq_query *q, const uint8_t *rows, size_t stride, size_t n,
                      float *out)
{
	if (q->bits == 4)
		for (size_t r = 0; r < n; r++)
			out[r] = finish(q, rows + r * stride,
			                vl_dot_u4s8_avx2(rows + r * stride, vl_lvq_qcodes(q), q->code_bytes));
	else
		for (size_t r = 0; r < n; r++)
			out[r] = finish(q, rows + r * stride,
			                vl_dot_u8s8x2_avx2(rows + r * stride, vl_lvq_qcodes(q), q->code_bytes));
}

/* Random rows: four at a time, so their cache misses overlap, with the
 * next four prefetched. */
void vl_lvq_gather_avx2(const vl_lvq_query *q, const uint8_t *base, size_t stride,
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
