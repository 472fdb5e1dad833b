/*
 * qsearch.h - exact-scan search on a storage view, with re-ranking.
 *
 * Scans every row's primary code, keeps the k * oversample best candidates,
 * then re-ranks them with the secondary level or with the full-precision
 * originals. This is the flat search of the storage layer on its own (no
 * segments, filters or tombstones): the advisor and the tests use it; the
 * engine's planner does the same per segment.
 */
#ifndef VL_QSEARCH_H
#define VL_QSEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "quant.h"

typedef enum vl_qrerank {
	VL_QRERANK_NONE = 0,      /* primary distances only */
	VL_QRERANK_SECONDARY = 1, /* dist_secondary (falls back to FULL when the type has none) */
	VL_QRERANK_FULL = 2       /* exact distances to the originals */
} vl_qrerank;

/* Exact distance of the metric (smaller is closer) in float32. */
float vl_quant_exact_dist(vl_metric m, const float *q, const float *x, uint32_t dim);

/*
 * The k best rows of v for query q (dim floats, borrowed): ids[0..k) and
 * dists[0..k) ascending (dists may be NULL). `originals` (nrows x dim) is
 * needed for VL_QRERANK_FULL. Fewer than k rows: the rest of ids is
 * UINT32_MAX. Returns VL_OK or VL_ENOMEM.
 */
int vl_quant_search(const vl_qview *v, const float *originals, const float *q, uint32_t k,
                    uint32_t oversample, vl_qrerank mode, uint32_t *ids, float *dists);

#endif
