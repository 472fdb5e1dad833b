/*
 * params.h - "NAME=VALUE" parameters: who owns which name, and validation.
 *
 * Collection parameters belong to the engine (flush and compaction policy),
 * to the storage type or to the index kind; runtime (search) parameters to
 * the engine (re-ranking, planner) or to the index kind. A name nobody
 * claims is an error naming it: typos never pass silently.
 */
#ifndef VL_PARAMS_H
#define VL_PARAMS_H

#include "index/index.h"
#include "internal.h"

#define VL_FLUSH_BYTES_DEFAULT (64ull << 20)
#define VL_COMPACT_RATIO_DEFAULT 0.25
#define VL_EXACT_BELOW_DEFAULT 0.02

int vl_check_create_params(const vl_store *st, uint32_t dim, vl_metric metric,
                           const vl_quant_ops *qo, const vl_index_ops *io,
                           const char *const *kv, size_t n);
int vl_check_runtime_params(const vl_store *st, const vl_index_ops *io, const char *const *kv,
                            size_t n);

/* Engine policy values of a schema (defaults applied). */
typedef struct vl_policy {
	uint64_t flush_rows;       /* 0 = no row limit */
	uint64_t flush_bytes;      /* 0 = never flush automatically */
	double compact_ratio;      /* dead/segment rows that triggers compaction; 0 = never */
} vl_policy;
void vl_policy_of(const vl_schema_rec *s, vl_policy *p);

/* Runtime engine values of a search (defaults applied). */
typedef enum { VL_RERANK_AUTO, VL_RERANK_NONE, VL_RERANK_SECONDARY, VL_RERANK_FULL } vl_rerank_mode;
typedef struct vl_runtime {
	uint32_t rerank;           /* candidates kept per segment for re-ranking; 0 = automatic */
	vl_rerank_mode rerank_with;
	int rerank_io;             /* vl_rowio: how full-precision rows are read */
	double exact_below;        /* filter selectivity below which segments are scanned exactly */
} vl_runtime;
int vl_runtime_of(const vl_store *st, const char *const *kv, size_t n, vl_runtime *rt);

#endif
