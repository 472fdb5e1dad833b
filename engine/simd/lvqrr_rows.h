/*
 * lvqrr_rows.h - the row loop of the batched LVQ re-rank and its
 * (bits1, bits2, metric) specializations, shared by the ISA files. The
 * includer defines INLINE, row_dist() (its kernel for one row) and
 * LVQRR_ENTRY (the exported name), then includes this once.
 */
#ifndef LVQRR_ENTRY
#error "define LVQRR_ENTRY and row_dist() before including lvqrr_rows.h"
#endif

INLINE void prefetch(const uint8_t *p, size_t bytes)
{
	for (size_t o = 0; o < bytes; o += 64)
		_mm_prefetch((const char *)(p + o), _MM_HINT_T0);
}

INLINE void rows(const vl_lvq_query *q, const uint8_t *pbase, size_t pstride, const uint8_t *sbase,
                 size_t sstride, const uint32_t *ids, size_t n, float *out, unsigned b1,
                 unsigned b2, int l2)
{
	const float *u = vl_lvq_ufloats(q);
	size_t pbytes = q->code_bytes + 16;
	for (size_t r = 0; r < n; r++) {
		if (r + 2 < n) { /* candidates are random rows: start the misses early */
			prefetch(pbase + (size_t)ids[r + 2] * pstride, pbytes);
			if (b2)
				prefetch(sbase + (size_t)ids[r + 2] * sstride, sstride);
		}
		out[r] = row_dist(q, u, pbase + (size_t)ids[r] * pstride,
		                  b2 ? sbase + (size_t)ids[r] * sstride : NULL, b1, b2, l2);
	}
}

/* One function per (bits1, bits2, metric): the constants fold into row_dist. */
#define RR_CASE(B1, B2)                                                                            \
	static void rr_##B1##_##B2##_l2(const vl_lvq_query *q, const uint8_t *pb, size_t ps,      \
	                                const uint8_t *sb, size_t ss, const uint32_t *ids,         \
	                                size_t n, float *out)                                      \
	{                                                                                         \
		rows(q, pb, ps, sb, ss, ids, n, out, B1, B2, 1);                                  \
	}                                                                                         \
	static void rr_##B1##_##B2##_ip(const vl_lvq_query *q, const uint8_t *pb, size_t ps,      \
	                                const uint8_t *sb, size_t ss, const uint32_t *ids,         \
	                                size_t n, float *out)                                      \
	{                                                                                         \
		rows(q, pb, ps, sb, ss, ids, n, out, B1, B2, 0);                                  \
	}

RR_CASE(4, 0)
RR_CASE(8, 0)
RR_CASE(4, 4)
RR_CASE(4, 8)
RR_CASE(8, 4)
RR_CASE(8, 8)
#undef RR_CASE

void LVQRR_ENTRY(const vl_lvq_query *q, const uint8_t *pbase, size_t pstride, const uint8_t *sbase,
                 size_t sstride, const uint32_t *ids, size_t n, float *out)
{
	unsigned b1 = q->bits == 8 ? 8 : 4, b2 = sbase ? q->bits2 : 0;
	int l2 = q->l2 != 0;
#define RR_PICK(B1, B2)                                                                           \
	if (b1 == B1 && b2 == B2) {                                                               \
		(l2 ? rr_##B1##_##B2##_l2 : rr_##B1##_##B2##_ip)(q, pbase, pstride, sbase, sstride, ids, \
		                                                 n, out);                         \
		return;                                                                           \
	}
	RR_PICK(4, 0)
	RR_PICK(8, 0)
	RR_PICK(4, 4)
	RR_PICK(4, 8)
	RR_PICK(8, 4)
	RR_PICK(8, 8)
#undef RR_PICK
	vl_lvq_rerank_scalar(q, pbase, pstride, sbase, sstride, ids, n, out); /* other widths */
}
