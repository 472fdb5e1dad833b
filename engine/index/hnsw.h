/*
 * hnsw.h - internals shared by the HNSW index files (not installed).
 *
 *   hnsw.c          ops table, parameters, on-disk sections, open/verify
 *   hnsw_build.c    multi-threaded construction (hnswlib semantics)
 *   hnsw_search.c   greedy descent + ef search over the mapped layers
 *   hnsw_adopt.c    writing a ready-made graph (vl_bulk_adopt_graph)
 *
 * Sections (SPEC: .spec-parts/hnsw_ivf.md):
 *   VL_SEC_HNSW_META  (0x0200) 128-byte little-endian record
 *   VL_SEC_HNSW_L0    (0x0201) nrows rows of (M0 + 1) u32: degree, then ids,
 *                              unused slots UINT32_MAX
 *   VL_SEC_HNSW_UPPER (0x0202) one 16-byte entry per node of level >= 1, by
 *                              ascending node: u32 node, u32 level, u64 word
 *                              offset of its level-1 list in LINKS
 *   VL_SEC_HNSW_LINKS (0x0203) u32 words: for each such node, `level` lists of
 *                              (M + 1) u32 (degree, ids, UINT32_MAX padding),
 *                              level 1 first
 */
#ifndef VL_HNSW_H
#define VL_HNSW_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "index.h"
#include "scratchpool.h"

#define VL_SEC_HNSW_META (VL_SEC_INDEX_HNSW + 0)
#define VL_SEC_HNSW_L0 (VL_SEC_INDEX_HNSW + 1)
#define VL_SEC_HNSW_UPPER (VL_SEC_INDEX_HNSW + 2)
#define VL_SEC_HNSW_LINKS (VL_SEC_INDEX_HNSW + 3)

#define HNSW_MAGIC "VLHNSW\0\0"
#define HNSW_VERSION 1u
#define HNSW_META_BYTES 128u
#define HNSW_UPPER_ENTRY 16u
#define HNSW_PAD UINT32_MAX
#define HNSW_MAX_LEVEL 48u          /* levels above this are clamped at build */

/* Parameter names (Redis / hnswlib) and defaults. */
#define HNSW_P_M "M"
#define HNSW_P_EFC "EF_CONSTRUCTION"
#define HNSW_P_EF "EF_RUNTIME"

#define HNSW_DEF_M 16u
#define HNSW_DEF_EFC 200u
#define HNSW_DEF_EF 10u
#define HNSW_MIN_M 2u
#define HNSW_MAX_M 512u
#define HNSW_MAX_EF 65536u

typedef struct hnsw_params {
	uint32_t M, efc, ef;
} hnsw_params;

int hnsw_parse_params(const vl_params *p, hnsw_params *out, vl_diag *d);

/* Open state of a segment's index: pointers into the mapping. */
typedef struct hnsw_scratch hnsw_scratch;
typedef struct hnsw_state {
	uint64_t n;
	uint32_t M, M0;             /* upper-layer and layer-0 degree bounds */
	uint32_t efc, ef;           /* build ef, default runtime ef */
	uint32_t entry, max_level;
	uint64_t n_upper, upper_words;
	uint64_t edges0, edges_upper;
	uint64_t seed;
	uint8_t metric;
	const uint32_t *l0;         /* n * (M0 + 1) words */
	const uint8_t *upper;       /* n_upper * 16 bytes */
	const uint32_t *links;      /* upper_words words */
	const vl_qview *q;
	vl_scratch_pool scratch;    /* hnsw_scratch items */
} hnsw_state;

/* Word offset in links of node's list at `level` (>= 1), or UINT64_MAX when
 * node has no such level (binary search of the upper table). */
uint64_t hnsw_upper_list(const hnsw_state *s, uint32_t node, uint32_t level);

int hnsw_build(const vl_index_build *b, vl_diag *d);
/* Write a ready-made graph (const vl_hnsw_graph *) instead of building:
 * hnsw_adopt.c. */
int hnsw_adopt(const vl_index_build *b, const void *prebuilt, vl_diag *d);
int hnsw_search(void *state, const vl_index_query *q, vl_topk *out, vl_diag *d);
void hnsw_scratch_free(hnsw_scratch *sc);

/* Level of a node: floor(-ln(u) * mL), mL = 1 / ln(M), u uniform in (0, 1]
 * drawn from (seed, node): independent of insertion order and threads. */
uint32_t hnsw_level(uint64_t seed, uint64_t node, uint32_t M);

extern const vl_index_ops vl_index_hnsw;

#endif
