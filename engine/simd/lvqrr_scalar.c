/*
 * lvqrr_scalar.c - the reference re-ranking kernel (simd.h lvq_rerank):
 * float distances to the rows' (two-level) reconstructions, one component
 * at a time.
 */
#include "lvqf_kern.h"

static inline unsigned code_at(const uint8_t *codes, uint32_t bits, size_t i)
{
	if (bits == 8)
		return codes[i];
	uint8_t b = codes[(i / 64) * 32 + i % 32];
	return (i % 64) < 32 ? b & 15u : b >> 4;
}

static float row_dist(const vl_lvq_query *q, const float *u, const uint8_t *p, const uint8_t *s,
                      uint32_t b2)
{
	float S, B;
	vl_lvq_rerank_consts(q, p, b2, &S, &B);
	unsigned max2 = b2 ? (1u << b2) - 1 : 0;
	float acc = 0;
	for (size_t j = 0; j < q->dim; j++) {
		unsigned c = code_at(p, q->bits, j);
		if (b2)
			c = c * max2 + code_at(s, b2, j);
		float x = B + S * (float)c;
		if (q->l2) {
			float d = u[j] - x;
			acc += d * d;
		} else {
			acc += u[j] * x;
		}
	}
	return q->l2 ? q->a0 + acc : q->a - acc;
}

void vl_lvq_rerank_scalar(const vl_lvq_query *q, const uint8_t *pbase, size_t pstride,
                          const uint8_t *sbase, size_t sstride, const uint32_t *ids, size_t n,
                          float *out)
{
	const float *u = vl_lvq_ufloats(q);
	uint32_t b2 = sbase ? q->bits2 : 0;
	for (size_t r = 0; r < n; r++)
		out[r] = row_dist(q, u, pbase + (size_t)ids[r] * pstride,
		                  sbase ? sbase + (size_t)ids[r] * sstride : NULL, b2);
}
