/*
 * faiss_pq.c - FAISS ProductQuantizer: the serialized quantizer and the
 * decoding of one code, as ProductQuantizer::decode does.
 *
 * Serialized: u64 d, u64 M, u64 nbits, vector<float> centroids laid out
 * (M, ksub, dsub). A code is a little-endian bit stream of M indexes of
 * nbits each, least significant bit first; sub-vector m of the decoded
 * vector is centroid row code[m] of sub-quantizer m (copied, so decoding
 * is bit-exact).
 */
#include <string.h>

#include "faiss_internal.h"

/* FAISS trains at most 16 bits per sub-quantizer in practice; 24 keeps
 * ksub * d floats within what a file can hold and the bit reader simple. */
#define PQ_NBITS_MAX 24

int vl_fx_read_pq(vl_fx_ctx *c, vl_faiss_pq *pq, int32_t d)
{
	uint64_t off = vl_fx_off(c);
	int rc;
	if ((rc = vl_fx_u64(c, &pq->d, "ProductQuantizer d")) ||
	    (rc = vl_fx_u64(c, &pq->M, "ProductQuantizer M")) ||
	    (rc = vl_fx_u64(c, &pq->nbits, "ProductQuantizer nbits")))
		return rc;
	if (pq->d != (uint64_t)d)
		return vl_fx_err(c, off, "ProductQuantizer: d = %llu but the index has d = %d",
		                 (unsigned long long)pq->d, d);
	if (pq->M == 0 || pq->M > pq->d || pq->d % pq->M)
		return vl_fx_err(c, off + 8, "ProductQuantizer: M = %llu does not divide d = %llu",
		                 (unsigned long long)pq->M, (unsigned long long)pq->d);
	if (pq->nbits == 0 || pq->nbits > PQ_NBITS_MAX)
		return vl_fx_err(c, off + 16, "ProductQuantizer: nbits = %llu is out of range 1..%d",
		                 (unsigned long long)pq->nbits, PQ_NBITS_MAX);
	pq->dsub = pq->d / pq->M;
	pq->ksub = (uint64_t)1 << pq->nbits;
	pq->code_size = (pq->M * pq->nbits + 7) / 8;
	/* M * ksub * dsub = ksub * d <= 2^24 * 2^20: no overflow */
	return vl_fx_vector_n(c, 4, pq->ksub * pq->d, &pq->centroids,
	                      "ProductQuantizer centroids");
}

void vl_fx_pq_decode(const vl_faiss_pq *pq, const uint8_t *code, float *out)
{
	const uint64_t mask = pq->ksub - 1;
	uint64_t acc = 0;
	unsigned have = 0;
	for (uint64_t m = 0; m < pq->M; m++) {
		while (have < pq->nbits) {
			acc |= (uint64_t)*code++ << have;
			have += 8;
		}
		uint64_t k = acc & mask;
		acc >>= pq->nbits;
		have -= (unsigned)pq->nbits;
		memcpy(out + m * pq->dsub, pq->centroids + 4 * (m * pq->ksub + k) * pq->dsub,
		       pq->dsub * sizeof(float));
	}
}
