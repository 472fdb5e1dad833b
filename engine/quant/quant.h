/*
 * quant.h - storage types: how a segment stores vectors for search.
 *
 * A storage type (float32, float16, lvq8, lvq4x8, leanvec4x8, ...) defines
 *   - its trained state (e.g. the LVQ mean), learned once per collection and
 *     copied into each segment's QUANT section so segments stand alone;
 *   - how a float32 vector is encoded into a PRIMARY row (what traversal and
 *     scans read) and optionally a SECONDARY row (what re-ranking reads);
 *   - distances from a prepared float32 query to encoded rows.
 *
 * The full-precision originals are always kept by the engine in the VECTORS
 * section, whatever the storage type; float32 storage reads them directly as
 * its primary level (no PRIMARY section is written).
 *
 * Distances follow the collection metric, smaller is closer:
 *   l2: squared Euclidean; ip: -<q,x>; cosine: 1 - cos(q,x).
 */
#ifndef VL_QUANT_H
#define VL_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "veclite.h"
#include "vl_diag.h"

/* A storage type bound to one segment (or to in-memory rows at build time). */
typedef struct vl_qview {
	const struct vl_quant_ops *ops;
	uint32_t dim;
	vl_metric metric;
	const uint8_t *primary;     /* nrows * pstride bytes (VECTORS for float32) */
	size_t pstride;
	const uint8_t *secondary;   /* nrows * sstride bytes, or NULL */
	size_t sstride;
	const float *norms;         /* |x| of each original, or NULL */
	uint64_t nrows;
	void *state;                /* type-specific, owned by the view (freed by ops->close) */
	size_t qbuf_size;           /* bytes prepare() writes; 64-byte aligned buffer expected */
	size_t qbuf_scan;           /* leading bytes of a prepared query that dist, dist_range and
	                             * dist_rows read (the rest serves the secondary/re-ranking
	                             * distances); 0 = not declared (the Vamana build then
	                             * keeps no query cache) */
} vl_qview;

typedef struct vl_quant_ops {
	const char *name;           /* "lvq4x8" */
	int id;                     /* vl_storage_id (segment.h) */

	/* Is NAME=VALUE a parameter of this type and valid? VL_OK, VL_EINVAL (bad
	 * value, detail in d) or VL_ENOTFOUND (not this type's parameter). */
	int (*check_param)(const char *name, const char *value, uint32_t dim, vl_diag *d);

	/* Learn the trained state from n sample rows (row-major float32 originals).
	 * params: the collection's "NAME=VALUE" list. *state is malloc'd (may be
	 * NULL with *state_len 0 for types that need no training). */
	int (*train)(uint32_t dim, vl_metric metric, const char *const *params, size_t nparams,
	             const float *rows, size_t n, uint8_t **state, size_t *state_len, vl_diag *d);
	/* Minimum rows train() wants before it is called (0: none needed). The
	 * engine trains at the first flush/import with min(this, available) rows. */
	size_t (*train_rows)(uint32_t dim, const char *const *params, size_t nparams);

	/* Bind: parse `state` (validated: it comes from a file) and fill in
	 * v->state, pstride, sstride, qbuf_size. v->dim, metric, nrows are set by
	 * the caller; primary/secondary/norms pointers are set after open. */
	int (*open)(vl_qview *v, const uint8_t *state, size_t state_len, vl_diag *d);
	void (*close)(vl_qview *v);

	/* Encode one original vector into a PRIMARY row (pstride bytes) and a
	 * SECONDARY row (sstride bytes). Either may be NULL when that level is
	 * not wanted (secondary is NULL when sstride == 0): a writer producing
	 * the sections in two passes then does each level's work once (LeanVec's
	 * projection is the costly part of its primary level). */
	void (*encode)(const vl_qview *v, const float *x, uint8_t *primary, uint8_t *secondary);
	/* Reconstruct the vector the primary (+secondary if not NULL) level holds. */
	void (*decode)(const vl_qview *v, uint64_t row, int with_secondary, float *out);

	/* Prepare a query once (centring, projection, sums) into qbuf. */
	void (*prepare)(const vl_qview *v, const float *q, void *qbuf);
	/* Primary-level distance to one row / a run of rows / a list of rows. */
	float (*dist)(const vl_qview *v, const void *qbuf, uint64_t row);
	void (*dist_range)(const vl_qview *v, const void *qbuf, uint64_t row0, size_t n, float *out);
	void (*dist_rows)(const vl_qview *v, const void *qbuf, const uint32_t *rows, size_t n,
	                  float *out);
	/* Re-rank distance with the secondary level; NULL when the type has none. */
	float (*dist_secondary)(const vl_qview *v, const void *qbuf, uint64_t row);

	/* Optional (NULL: every dim works). Can this type serve a collection of
	 * this dim with these "NAME=VALUE" parameters? Call at create, after
	 * check_param: VL_OK or VL_EINVAL with detail (e.g. LeanVec needs
	 * 2 <= dim <= 4096 and REDUCE < dim). */
	int (*check_schema)(uint32_t dim, vl_metric metric, const char *const *params, size_t nparams,
	                    vl_diag *d);

	/* Optional (NULL: call dist_secondary per row). dist_secondary of
	 * rows[0..n) into out[0..n), the same values; re-ranking a candidate
	 * list in one call lets the kernel overlap the rows' cache misses. */
	void (*dist_secondary_rows)(const vl_qview *v, const void *qbuf, const uint32_t *rows,
	                            size_t n, float *out);
	/* Optional (NULL: call encode per row). encode of n consecutive
	 * originals x[0..n*dim) into n PRIMARY rows (pstride apart) and n
	 * SECONDARY rows (sstride apart); either may be NULL. The same bytes as
	 * encode row by row (LeanVec projects a block of rows as one matrix
	 * product instead of one matrix-vector product per row). */
	void (*encode_rows)(const vl_qview *v, const float *x, size_t n, uint8_t *primary,
	                    uint8_t *secondary);
} vl_quant_ops;

/* Registry: by name or id; NULL if unknown. */
const vl_quant_ops *vl_quant_find(const char *name);
const vl_quant_ops *vl_quant_by_id(int id);
/* The storage type recommended for dim when a collection names none. */
const char *vl_quant_default(uint32_t dim);

extern const vl_quant_ops vl_quant_float32;
extern const vl_quant_ops vl_quant_float16;
extern const vl_quant_ops vl_quant_lvq8;
extern const vl_quant_ops vl_quant_lvq4;
extern const vl_quant_ops vl_quant_lvq4x4;
extern const vl_quant_ops vl_quant_lvq4x8;
extern const vl_quant_ops vl_quant_lvq8x8;
extern const vl_quant_ops vl_quant_leanvec4x8;
extern const vl_quant_ops vl_quant_leanvec8x8;

#endif
