/*
 * ivf.h - internals shared by the IVF index files (not installed).
 *
 *   ivf.c         ops table, parameters, sections, open/verify, search
 *   ivf_build.c   sample, k-means (k-means++ init, Lloyd), list assignment
 *
 * Sections (SPEC: .spec-parts/hnsw_ivf.md):
 *   VL_SEC_IVF_META      (0x0300) 128-byte little-endian record
 *   VL_SEC_IVF_CENTROIDS (0x0301) nlist rows of dim f32 (unit length for cosine)
 *   VL_SEC_IVF_OFFSETS   (0x0302) nlist + 1 u64: list i is ROWS[off[i] .. off[i+1])
 *   VL_SEC_IVF_ROWS      (0x0303) nrows u32: segment rows grouped by list,
 *                                 ascending within a list (a permutation of 0..nrows-1)
 *   VL_SEC_IVF_CENT16    (0x0304) the centroids rounded to float16 (present when
 *                                 they fit its range; ranks them when the
 *                                 in-memory 8-bit copy below is unavailable)
 *   VL_SEC_IVF_CODES     (0x0305) LIST_CODES=1 (default): the storage type's
 *                                 primary code row of every ROWS entry, in ROWS
 *                                 order, so a probe reads one contiguous run
 *   VL_SEC_IVF_NORMS     (0x0306) with CODES, when the storage keeps norms:
 *                                 the norm of every ROWS entry, in ROWS order
 *
 * With CODES a probe scans its list like FAISS's IVF lists (dist_range over
 * a view whose primary level is the CODES section), at the cost of one more
 * copy of the primary codes. Without it (LIST_CODES=0, and segments written
 * before CODES existed) a probe gathers the rows from the segment's own
 * primary level (dist_rows): 4 bytes per row, but a random read per row.
 *
 * Centroid ranking: at the first search an LVQ-8 copy of the centroids is
 * encoded in memory (nlist x dim bytes); a query ranks every centroid with
 * the integer kernels, then re-ranks the best 2 NPROBE + 8 with the float32
 * centroids, so the probed lists are the ones float32 ranking picks.
 */
#ifndef VL_IVF_H
#define VL_IVF_H

#include <stddef.h>
#include <stdint.h>

#include "index.h"

#define VL_SEC_IVF_META (VL_SEC_INDEX_IVF + 0)
#define VL_SEC_IVF_CENTROIDS (VL_SEC_INDEX_IVF + 1)
#define VL_SEC_IVF_OFFSETS (VL_SEC_INDEX_IVF + 2)
#define VL_SEC_IVF_ROWS (VL_SEC_INDEX_IVF + 3)
#define VL_SEC_IVF_CENT16 (VL_SEC_INDEX_IVF + 4)
#define VL_SEC_IVF_CODES (VL_SEC_INDEX_IVF + 5)
#define VL_SEC_IVF_NORMS (VL_SEC_INDEX_IVF + 6)

#define IVF_MAGIC "VLIVF\0\0\0"
#define IVF_VERSION 1u
#define IVF_META_BYTES 128u

/* Parameter names and defaults (0 = automatic). */
#define IVF_P_NLIST "NLIST"
#define IVF_P_NPROBE "NPROBE"
#define IVF_P_SAMPLE "TRAIN_SAMPLE"
#define IVF_P_ITER "TRAIN_ITER"
#define IVF_P_CODES "LIST_CODES"

#define IVF_MAX_NLIST (1u << 20)
#define IVF_DEF_NPROBE 16u
#define IVF_DEF_ITER 10u
#define IVF_MAX_ITER 1000u
#define IVF_SAMPLE_PER_LIST 64u     /* automatic TRAIN_SAMPLE = 64 x NLIST (capped at the rows) */
#define IVF_KMPP_PER_LIST 4u        /* k-means++ seeds from the first 4 x NLIST sample rows */

typedef struct ivf_params {
	uint32_t nlist;             /* 0 = round(4 sqrt(N)) */
	uint32_t nprobe;
	uint64_t sample;            /* 0 = automatic */
	uint32_t iters;
	uint32_t codes;             /* 1 = write the CODES section */
} ivf_params;

int ivf_parse_params(const vl_params *p, ivf_params *out, vl_diag *d);
/* NLIST used for a segment of n rows. */
uint32_t ivf_nlist_for(const ivf_params *p, uint64_t n);

/* Nearest centroid of each of n rows (row-major, dim floats): l2, or the
 * largest dot product when by_dot (cosine with unit centroids). Runs on
 * `threads` threads; labels[i] and (if dist != NULL) dist[i] are written. */
void ivf_assign(const float *rows, size_t n, const float *cent, uint32_t nlist, uint32_t dim,
                int by_dot, unsigned threads, uint32_t *labels, float *dist);

int ivf_build(const vl_index_build *b, vl_diag *d);

extern const vl_index_ops vl_index_ivf;

#endif
