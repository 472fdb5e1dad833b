/*
 * lvq_vnni_avx512.c - LVQ kernels on AVX-512 VNNI: VPDPBUSD multiplies
 * unsigned code bytes by signed query bytes and adds groups of four into
 * int32 lanes in one instruction, without the int16 intermediate (and its
 * saturation) of VPMADDUBSW. Used only when cpuid reports AVX512_VNNI (the
 * avx512vnni level); the file is compiled with the AVX-512 flags and the
 * functions add the VNNI target.
 */
#include <immintrin.h>

#include "lvq_kern.h"

#define VNNI __attribute__((target("avx512vnni,avx512vl,avx512bw,avx512f")))
#define LD(p) _mm512_loadu_si512((const void *)(p))
#define LDY(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))

/* 64-byte chunk j of 4-bit codes: low nibbles with q[128j ..], high with
 * q[128j + 64 ..] (vl_lvq4_qpos). */
static inline VNNI __m512i u4_chunk(__m512i acc, const uint8_t *codes, const int8_t *q, size_t j)
{
	const __m512i m4 = _mm512_set1_epi8(15);
	__m512i c = LD(codes + 64 * j);
	acc = _mm512_dpbusd_epi32(acc, _mm512_and_si512(c, m4), LD(q + 128 * j));
	return _mm512_dpbusd_epi32(acc, _mm512_and_si512(_mm512_srli_epi16(c, 4), m4),
	                           LD(q + 128 * j + 64));
}

static inline VNNI __m256i u4_half(__m256i acc, const uint8_t *codes, const int8_t *q, size_t j)
{
	const __m256i m4 = _mm256_set1_epi8(15);
	__m256i c = LDY(codes + 64 * j);
	acc = _mm256_dpbusd_epi32(acc, _mm256_and_si256(c, m4), LDY(q + 128 * j));
	return _mm256_dpbusd_epi32(acc, _mm256_and_si256(_mm256_srli_epi16(c, 4), m4),
	                           LDY(q + 128 * j + 64));
}

VNNI int32_t vl_dot_u4s8_vnni(const uint8_t *codes, const int8_t *q, size_t nbytes)
{
	__m512i a0 = _mm512_setzero_si512(), a1 = _mm512_setzero_si512();
	size_t j = 0;
	/* two accumulators: consecutive VPDPBUSDs do not wait on each other */
	for (; 64 * (j + 2) <= nbytes; j += 2) {
		a0 = u4_chunk(a0, codes, q, j);
		a1 = u4_chunk(a1, codes, q, j + 1);
	}
	if (64 * (j + 1) <= nbytes)
		a0 = u4_chunk(a0, codes, q, j++);
	if (64 * j < nbytes)
		a1 = _mm512_add_epi32(a1, _mm512_zextsi256_si512(u4_half(_mm256_setzero_si256(), codes, q, j)));
	return _mm512_reduce_add_epi32(_mm512_add_epi32(a0, a1));
}

/* q_i = 128 qh_i + ql_i: two accumulators, combined once. */
VNNI int32_t vl_dot_u8s8x2_vnni(const uint8_t *codes, const int8_t *q, size_t n)
{
	const int8_t *qh = q, *ql = q + n;
	__m512i h = _mm512_setzero_si512(), l = _mm512_setzero_si512();
	size_t i = 0;
	for (; i + 64 <= n; i += 64) {
		__m512i c = LD(codes + i);
		h = _mm512_dpbusd_epi32(h, c, LD(qh + i));
		l = _mm512_dpbusd_epi32(l, c, LD(ql + i));
	}
	if (i < n) {
		__m256i c = LDY(codes + i);
		__m256i hy = _mm256_dpbusd_epi32(_mm256_setzero_si256(), c, LDY(qh + i));
		__m256i ly = _mm256_dpbusd_epi32(_mm256_setzero_si256(), c, LDY(ql + i));
		h = _mm512_add_epi32(h, _mm512_zextsi256_si512(hy));
		l = _mm512_add_epi32(l, _mm512_zextsi256_si512(ly));
	}
	return _mm512_reduce_add_epi32(_mm512_add_epi32(_mm512_slli_epi32(h, 7), l));
}

static inline VNNI float finish(const vl_lvq_query *q, const uint8_t *row, int32_t dot)
{
	float scale = _cvtsh_ss(vl_ld16(row + q->code_bytes));
	float bias = _cvtsh_ss(vl_ld16(row + q->code_bytes + 2));
	return vl_lvq_finish(q, row, dot, scale, bias);
}

static inline VNNI int32_t dot1(const vl_lvq_query *q, const uint8_t *row)
{
	return q->bits == 4 ? vl_dot_u4s8_vnni(row, vl_lvq_qcodes(q), q->code_bytes)
	                    : vl_dot_u8s8x2_vnni(row, vl_lvq_qcodes(q), q->code_bytes);
}

/* Row after row, like lvq_avx512.c (the prefetcher streams them). */
VNNI void vl_lvq_scan_vnni(const vl_lvq_query *q, const uint8_t *rows, size_t stride, size_t n,
                           float *out)
{
	if (q->bits == 4)
		for (size_t r = 0; r < n; r++)
			out[r] = finish(q, rows + r * stride,
			                vl_dot_u4s8_vnni(rows + r * stride, vl_lvq_qcodes(q), q->code_bytes));
	else
		for (size_t r = 0; r < n; r++)
			out[r] = finish(q, rows + r * stride,
			                vl_dot_u8s8x2_vnni(rows + r * stride, vl_lvq_qcodes(q), q->code_bytes));
}

/* Prefetch rows ids[from..to) (every line of each). */
static inline VNNI void prefetch_rows(const uint8_t *base, size_t stride, const uint32_t *ids,
                                      size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		for (size_t o = 0; o < stride; o += 64)
			_mm_prefetch((const char *)(base + (size_t)ids[i] * stride + o), _MM_HINT_T0);
}

/*
 * 4-bit rows of nc whole 64-byte chunks (plus a 32-byte half when half):
 * the query's 2 * nc vectors are loaded once and stay in registers for all
 * the rows (at 768-d, 12 of the 32; a half chunk reads its query part), and two rows are computed side by
 * side so that four accumulator chains are in flight. Only called with
 * constant nc and half, so each call site is unrolled on its own.
 */
static inline __attribute__((always_inline)) VNNI void
gather_u4_fixed(const vl_lvq_query *q, const uint8_t *base, size_t stride, const uint32_t *ids,
                size_t n, float *out, const size_t nc, const int half)
{
	const __m512i m4 = _mm512_set1_epi8(15);
	const int8_t *qc = vl_lvq_qcodes(q);
	__m512i ql[8], qh[8];
#pragma GCC unroll 8
	for (size_t j = 0; j < nc; j++) {
		ql[j] = LD(qc + 128 * j);
		qh[j] = LD(qc + 128 * j + 64);
	}
	size_t r = 0;
	for (; r + 2 <= n; r += 2) {
		if (r % 4 == 0)
			prefetch_rows(base, stride, ids, r + 4, r + 8 < n ? r + 8 : n);
		const uint8_t *p0 = base + (size_t)ids[r] * stride, *p1 = base + (size_t)ids[r + 1] * stride;
		__m512i a0 = _mm512_setzero_si512(), b0 = a0, a1 = a0, b1 = a0;
#pragma GCC unroll 8
		for (size_t j = 0; j < nc; j++) {
			__m512i c0 = LD(p0 + 64 * j), c1 = LD(p1 + 64 * j);
			a0 = _mm512_dpbusd_epi32(a0, _mm512_and_si512(c0, m4), ql[j]);
			a1 = _mm512_dpbusd_epi32(a1, _mm512_and_si512(c1, m4), ql[j]);
			b0 = _mm512_dpbusd_epi32(b0, _mm512_and_si512(_mm512_srli_epi16(c0, 4), m4), qh[j]);
			b1 = _mm512_dpbusd_epi32(b1, _mm512_and_si512(_mm512_srli_epi16(c1, 4), m4), qh[j]);
		}
		if (half) { /* the last 32 bytes: as vl_dot_u4s8_vnni ends */
			a0 = _mm512_add_epi32(a0, _mm512_zextsi256_si512(u4_half(_mm256_setzero_si256(), p0, qc, nc)));
			a1 = _mm512_add_epi32(a1, _mm512_zextsi256_si512(u4_half(_mm256_setzero_si256(), p1, qc, nc)));
		}
		out[r] = finish(q, p0, _mm512_reduce_add_epi32(_mm512_add_epi32(a0, b0)));
		out[r + 1] = finish(q, p1, _mm512_reduce_add_epi32(_mm512_add_epi32(a1, b1)));
	}
	if (r < n) {
		const uint8_t *p = base + (size_t)ids[r] * stride;
		out[r] = finish(q, p, vl_dot_u4s8_vnni(p, qc, q->code_bytes));
	}
}

/* Random rows: the next four prefetched while one is computed. */
VNNI void vl_lvq_gather_vnni(const vl_lvq_query *q, const uint8_t *base, size_t stride,
                             const uint32_t *ids, size_t n, float *out)
{
	if (q->bits == 4)
		switch (q->code_bytes) { /* 4-bit codes are whole 32-byte halves */
#define U4_CASE(nc)                                                                                 \
	case 64 * (nc):                                                                             \
		gather_u4_fixed(q, base, stride, ids, n, out, nc, 0);                               \
		return;                                                                             \
	case 64 * (nc) + 32:                                                                        \
		gather_u4_fixed(q, base, stride, ids, n, out, nc, 1);                               \
		return;
			U4_CASE(1)
			U4_CASE(2)
			U4_CASE(3)
			U4_CASE(4)
			U4_CASE(5)
			U4_CASE(6)
			U4_CASE(7)
			U4_CASE(8)
#undef U4_CASE
		default:
			break;
		}
	for (size_t r = 0; r < n; r++) {
		if (r % 4 == 0)
			prefetch_rows(base, stride, ids, r + 4, r + 8 < n ? r + 8 : n);
		const uint8_t *p = base + (size_t)ids[r] * stride;
		out[r] = finish(q, p, dot1(q, p));
	}
}
