/*
 * lvqprep_avx512.c - LVQ query preparation on AVX-512 F/DQ/BW/VL: the
 * scalar reference's values bit for bit (lvqprep_scalar.c). A zmm of 16
 * floats is one set of the 16 sum lanes: its low 8 widen into the double
 * lanes 0..7, its high 8 into lanes 8..15. The final partial group is
 * loaded under a mask (zeros add nothing: no lane is ever -0.0).
 */
#include <immintrin.h>

#include "lvqf_kern.h"

static inline __mmask16 group_mask(size_t i, size_t n)
{
	return n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
}

static inline __m512d lo8_pd(__m512 v)
{
	return _mm512_cvtps_pd(_mm512_castps512_ps256(v));
}

static inline __m512d hi8_pd(__m512 v)
{
	return _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}

/* vl_sum16_f64 on lanes lo = 0..7, hi = 8..15. */
static inline double sum16(__m512d lo, __m512d hi)
{
	__m512d t = _mm512_add_pd(lo, hi);
	__m256d t4 = _mm256_add_pd(_mm512_castpd512_pd256(t), _mm512_extractf64x4_pd(t, 1));
	__m128d t2 = _mm_add_pd(_mm256_castpd256_pd128(t4), _mm256_extractf128_pd(t4, 1));
	return _mm_cvtsd_f64(_mm_add_sd(t2, _mm_unpackhi_pd(t2, t2)));
}

double vl_clean_f32_avx512(const float *x, size_t n, float *out)
{
	__m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
	for (size_t i = 0; i < n; i += 16) {
		__mmask16 m = group_mask(i, n);
		__m512 v = _mm512_maskz_loadu_ps(m, x + i);
		__mmask16 bad = _mm512_fpclass_ps_mask(v, 0x99); /* QNaN, SNaN, +inf, -inf */
		v = _mm512_maskz_mov_ps((__mmask16)~bad, v);
		_mm512_mask_storeu_ps(out + i, m, v);
		__m512d lo = lo8_pd(v), hi = hi8_pd(v);
		s0 = _mm512_add_pd(s0, _mm512_mul_pd(lo, lo));
		s1 = _mm512_add_pd(s1, _mm512_mul_pd(hi, hi));
	}
	return sum16(s0, s1);
}

void vl_scale_f32_avx512(float *x, size_t n, double s)
{
	__m512d vs = _mm512_set1_pd(s);
	for (size_t i = 0; i < n; i += 16) {
		__mmask16 m = group_mask(i, n);
		__m512 v = _mm512_maskz_loadu_ps(m, x + i);
		__m256 lo = _mm512_cvtpd_ps(_mm512_mul_pd(lo8_pd(v), vs));
		__m256 hi = _mm512_cvtpd_ps(_mm512_mul_pd(hi8_pd(v), vs));
		__m512 r = _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(lo)),
		                                               _mm256_castps_pd(hi), 1));
		_mm512_mask_storeu_ps(x + i, m, r);
	}
}

void vl_lvq_center_avx512(const float *w, const float *mean, int sub, size_t n, float *u,
                          double s[4])
{
	__m512d su0 = _mm512_setzero_pd(), su1 = su0, uu0 = su0, uu1 = su0, wm0 = su0, wm1 = su0;
	__m512 amax = _mm512_setzero_ps();
	const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
	for (size_t i = 0; i < n; i += 16) {
		__mmask16 m = group_mask(i, n);
		__m512 wv = _mm512_maskz_loadu_ps(m, w + i);
		__m512 mv = mean ? _mm512_maskz_loadu_ps(m, mean + i) : _mm512_setzero_ps();
		__m512 uv = sub ? _mm512_sub_ps(wv, mv) : wv;
		_mm512_mask_storeu_ps(u + i, m, uv);
		__m512d ul = lo8_pd(uv), uh = hi8_pd(uv);
		su0 = _mm512_add_pd(su0, ul);
		su1 = _mm512_add_pd(su1, uh);
		uu0 = _mm512_add_pd(uu0, _mm512_mul_pd(ul, ul));
		uu1 = _mm512_add_pd(uu1, _mm512_mul_pd(uh, uh));
		if (mean) {
			wm0 = _mm512_add_pd(wm0, _mm512_mul_pd(lo8_pd(wv), lo8_pd(mv)));
			wm1 = _mm512_add_pd(wm1, _mm512_mul_pd(hi8_pd(wv), hi8_pd(mv)));
		}
		amax = _mm512_max_ps(_mm512_and_ps(uv, absmask), amax);
	}
	s[0] = sum16(su0, su1);
	s[1] = sum16(uu0, uu1);
	s[2] = sum16(wm0, wm1);
	s[3] = _mm512_reduce_max_ps(amax);
}

/* r = round-to-nearest-even(min(max(u * inv, -qmax), qmax)) of 8 floats. */
static inline __m256i quant8(__m512d x, __m512d inv, __m512d lo, __m512d hi)
{
	return _mm512_cvtpd_epi32(_mm512_min_pd(_mm512_max_pd(_mm512_mul_pd(x, inv), lo), hi));
}

int64_t vl_lvq_quantize_avx512(const float *u, size_t n, double inv, double qmax, uint32_t bits,
                               size_t code_bytes, int8_t *q)
{
	const __m512d vinv = _mm512_set1_pd(inv), hi = _mm512_set1_pd(qmax), lo = _mm512_set1_pd(-qmax);
	const __m512i c64 = _mm512_set1_epi32(64);
	__m512i acc = _mm512_setzero_si512();
	for (size_t i = 0; i < n; i += 16) {
		__mmask16 m = group_mask(i, n);
		__m512 v = _mm512_maskz_loadu_ps(m, u + i);
		__m256i r0 = quant8(lo8_pd(v), vinv, lo, hi), r1 = quant8(hi8_pd(v), vinv, lo, hi);
		acc = _mm512_add_epi64(acc, _mm512_cvtepi32_epi64(r0));
		acc = _mm512_add_epi64(acc, _mm512_cvtepi32_epi64(r1));
		__m512i r = _mm512_inserti64x4(_mm512_castsi256_si512(r0), r1, 1);
		if (bits == 4) {
			/* 16 components from a multiple of 16 are 16 adjacent query bytes */
			_mm_mask_storeu_epi8(q + vl_lvq4_qpos(i), m, _mm512_cvtepi32_epi8(r));
		} else {
			__m512i qh = _mm512_srai_epi32(_mm512_add_epi32(r, c64), 7);
			__m512i ql = _mm512_sub_epi32(r, _mm512_slli_epi32(qh, 7));
			_mm_mask_storeu_epi8(q + i, m, _mm512_cvtepi32_epi8(qh));
			_mm_mask_storeu_epi8(q + code_bytes + i, m, _mm512_cvtepi32_epi8(ql));
		}
	}
	return _mm512_reduce_add_epi64(acc);
}
