/*
 * index.h - the interface every index kind implements (flat, vamana, hnsw, ivf).
 *
 * An index kind lives in one file (index/<kind>.c) and is listed once in
 * index/registry.c; adding a kind touches no other kind. It
 *   - validates its parameters (create-time and search-time),
 *   - builds its sections into a segment being written (after the engine has
 *     written ROWIDS, VECTORS, NORMS, QUANT, PRIMARY, SECONDARY and mapped them),
 *   - opens a view over those sections in a mapped segment, validating every
 *     byte it will trust (a corrupt file must give an error, never a crash),
 *   - searches: pushes accepted candidates with primary-level distances into
 *     a vl_topk whose capacity the engine chose (k x re-rank factor). The
 *     engine re-ranks, merges segments and the write buffer, and plans exact
 *     scans for very selective filters, so indexes do none of that.
 */
#ifndef VL_INDEX_H
#define VL_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "quant/quant.h"
#include "segment.h"
#include "topk.h"
#include "veclite.h"
#include "vl_diag.h"

struct vl_segw;

/* "NAME=VALUE" parameter lists, as given by the user (create, reindex, search). */
typedef struct vl_params {
	const char *const *kv;
	size_t n;
} vl_params;

/* Look up NAME in a parameter list; returns the VALUE text or NULL. The last
 * occurrence wins. */
const char *vl_param_get(const vl_params *p, const char *name);
/* Does the list kv[0..n) set the NAME of "NAME=VALUE" `kv`? */
int vl_params_has_name(const char *const *kv, size_t n, const char *name_value);
/* Typed lookups: VL_OK (default used when absent) or VL_EINVAL with detail. */
int vl_param_u64(const vl_params *p, const char *name, uint64_t def, uint64_t min, uint64_t max,
                 uint64_t *out, vl_diag *d);
int vl_param_f64(const vl_params *p, const char *name, double def, double min, double max,
                 double *out, vl_diag *d);

typedef struct vl_index_build {
	uint32_t dim;
	vl_metric metric;
	uint64_t nrows;
	const float *vectors;      /* originals of the segment being written (mapped) */
	const vl_qview *q;         /* storage view over the PRIMARY/SECONDARY just written */
	vl_params params;          /* the collection's index + storage parameters */
	unsigned threads;          /* >= 1 */
	uint64_t seed;             /* deterministic when threads == 1 */
	vl_progress_fn progress;   /* may be NULL; return non-zero to cancel */
	void *progress_ud;
	struct vl_segw *w;         /* append sections with vl_segw_begin/write/end */
} vl_index_build;

/* The parts of a mapped segment an index view may read. */
typedef struct vl_index_seg {
	const vl_seg_layout *layout;
	const uint8_t *base;       /* start of the mapping; sections at base + offset */
	uint64_t nrows;
	const vl_qview *q;
	const float *vectors;
	const char *path;          /* for error messages */
} vl_index_seg;

/* Row acceptance during search: tombstones and the filter. */
typedef struct vl_accept {
	/* Returns non-zero if `row` may enter the results. NULL fn = accept all. */
	int (*fn)(void *ud, uint32_t row);
	void *ud;
	double selectivity;        /* estimated fraction of rows accepted (1.0 if unknown) */
} vl_accept;

static inline int vl_accepts(const vl_accept *a, uint32_t row)
{
	return !a->fn || a->fn(a->ud, row);
}

typedef struct vl_index_query {
	const float *query;        /* original query vector (dim floats; normalized copy for cosine is the storage's business) */
	const void *qbuf;          /* prepared for this segment's vl_qview */
	uint32_t k;                /* hits the user asked for */
	vl_params params;          /* runtime parameters */
	vl_accept accept;
	uint32_t src;              /* pass to vl_topk_push */
	uint64_t *distance_evals;  /* add the number of distances computed */
} vl_index_query;

typedef struct vl_index_ops {
	const char *name;          /* "vamana" */
	int id;                    /* vl_index_id (segment.h) */
	/* Is NAME=VALUE a build/create parameter of this kind and valid? VL_OK,
	 * VL_EINVAL (bad value) or VL_ENOTFOUND (not this kind's parameter). */
	int (*check_param)(const char *name, const char *value, uint32_t dim, vl_metric metric,
	                   vl_diag *d);
	/* Same for search-time parameters. */
	int (*check_runtime_param)(const char *name, const char *value, vl_diag *d);
	/* Default parameters to record in a new collection's schema (NULL-terminated
	 * "NAME=VALUE" list), e.g. so `info` shows GRAPH_MAX_DEGREE=32. May be NULL. */
	const char *const *(*defaults)(uint32_t dim, vl_metric metric);

	/* Append this kind's sections to b->w. NULL for kinds with no sections. */
	int (*build)(const vl_index_build *b, vl_diag *d);
	/*
	 * Optional (NULL = the engine calls build): build the index of a segment
	 * being written by compaction from the indexes of its source segments of
	 * the same kind, instead of from scratch: drop deleted nodes with
	 * neighbour repair (FreshDiskANN consolidation) and merge smaller graphs
	 * into the largest. src[i] is the open state of source segment i;
	 * map[i][r] is the new row of its row r, or UINT32_MAX if r was dropped.
	 */
	int (*rebuild)(const vl_index_build *b, void *const *src, const uint32_t *const *map,
	               const uint64_t *src_rows, size_t nsrc, vl_diag *d);
	/* Open a view over a mapped segment; *state is passed to search/close. */
	int (*open)(const vl_index_seg *seg, void **state, vl_diag *d);
	void (*close)(void *state);
	/* Push accepted candidates (primary-level distances) into out. */
	int (*search)(void *state, const vl_index_query *q, vl_topk *out, vl_diag *d);
	/* Verify invariants of the sections beyond checksums (ids in range, ...). */
	int (*verify)(void *state, vl_diag *d);
	/* One-line description for `info` ("R=32 entry=1234 avg_degree=27.5"); may be NULL. */
	void (*describe)(void *state, char *buf, size_t len);

	/*
	 * Optional (NULL = not offered): write a ready-made index handed in by
	 * the user instead of building one (hnsw: `prebuilt` is a const
	 * vl_hnsw_graph *, veclite.h). Validates every part it writes and fails
	 * with VL_EINVAL naming what does not fit; b is as for build.
	 */
	int (*adopt)(const vl_index_build *b, const void *prebuilt, vl_diag *d);
	/* Optional graph read access (hnsw; all three or none), for export in
	 * row order: the graph's shape, the level of a row, and its neighbours
	 * on a level (up to cap into out; returns how many; 0 above its level).
	 * Damaged lists are clamped/skipped as in search, never read outside. */
	void (*graph_info)(void *state, vl_graph_info *out);
	uint32_t (*graph_level)(void *state, uint32_t row);
	uint32_t (*graph_neighbors)(void *state, uint32_t row, uint32_t level, uint32_t *out,
	                            uint32_t cap);
} vl_index_ops;

const vl_index_ops *vl_index_find(const char *name);
const vl_index_ops *vl_index_by_id(int id);
/* The index kind used when a collection names none: vamana. */
const char *vl_index_default(uint32_t dim);

extern const vl_index_ops vl_index_flat;
extern const vl_index_ops vl_index_vamana;
extern const vl_index_ops vl_index_hnsw;
extern const vl_index_ops vl_index_ivf;

#endif
