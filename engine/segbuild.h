/*
 * segbuild.h - write one segment from a stream of rows.
 *
 * Used by flush (rows from the write buffer), compaction and reindex (live
 * rows of old segments), and bulk import (rows spilled to a temp file).
 * The file is written under tmp/, fsync'd, then installed into seg/ with a
 * rename and a directory fsync; the caller records it in LMDB afterwards, so
 * a crash at any point leaves either no trace (tmp/ is cleared at open) or an
 * orphan seg/ file that open removes.
 *
 * Order of work: VECTORS streamed as rows arrive (ids, norms and attribute
 * values collected in memory, a few bytes per row), then ROWIDS, NORMS,
 * columns; the file is mapped to train the storage type (if the collection
 * has no trained state yet), encode PRIMARY/SECONDARY and build the index.
 */
#ifndef VL_SEGBUILD_H
#define VL_SEGBUILD_H

#include "internal.h"

typedef struct vl_segsrc {
	/* 1 = a row was produced, 0 = end, < 0 = error (detail set in d).
	 * Rows must come in strictly ascending rid order. rec may be NULL (no
	 * attributes). Pointers stay valid until the next call. */
	int (*next)(void *ud, uint64_t *rid, const float **vec, const uint8_t **rec, size_t *rec_len,
	            vl_diag *d);
	void *ud;
	uint64_t total;            /* expected rows, for progress (0 if unknown) */
} vl_segsrc;

typedef struct vl_segbuild {
	/* inputs */
	const vl_store *st;
	uint32_t coll_id, seg_id;
	const vl_schema_rec *schema;
	const uint8_t *qstate;     /* trained storage state; NULL = train if the type needs it */
	size_t qstate_len;
	unsigned threads;
	uint64_t seed;
	vl_progress_fn progress;
	void *progress_ud;
	/* compaction: the source segments' index states and row maps, handed to
	 * the index kind's rebuild hook when it has one (else it builds anew) */
	void *const *rb_src;
	const uint32_t *const *rb_map;
	const uint64_t *rb_rows;
	size_t rb_n;
	/* bulk load with a ready-made index (vl_bulk_adopt_graph): handed to the
	 * index kind's adopt hook instead of building; NULL = build */
	const void *prebuilt;
	/* bulk load whose vectors were spilled in place (vec_adopt): the open
	 * file vec_fd, tmp/ path vec_rel, already holds the VECTORS section of
	 * every row the source yields, in order, at VL_SEG_ALIGN (vec_bytes
	 * long, CRC-32C vec_crc); the build writes the rest of the segment into
	 * it. Once vec_adopted is set the build owns the file: it closes it, and
	 * removes it on failure */
	int vec_adopt;
	int vec_fd;
	const char *vec_rel;
	uint64_t vec_bytes;
	uint32_t vec_crc;
	/* outputs */
	int vec_adopted;
	uint8_t *new_qstate;       /* malloc'd when trained here: the caller stores it */
	size_t new_qstate_len;
	vl_manifest man;
	char tmp_rel[64];          /* tmp/c<coll>-s<seg>.<pid>.vseg, or vec_rel */
	char rel[64];              /* seg/c<coll>-s<seg>.vseg */
	int written, installed;
} vl_segbuild;

/* Write the segment into tmp/. Zero rows is an error (callers skip). */
int vl_segbuild_run(vl_segbuild *b, vl_segsrc *src, vl_diag *d);
/* Rename into seg/ and fsync the directory. */
int vl_segbuild_install(vl_segbuild *b, vl_diag *d);
/* Remove whatever was written (temp or installed file) and free outputs. */
void vl_segbuild_discard(vl_segbuild *b);
void vl_segbuild_free(vl_segbuild *b);

/* Parameters of a schema as a vl_params view. */
#include "index/index.h"
static inline vl_params vl_schema_params(const vl_schema_rec *s)
{
	vl_params p = { (const char *const *)s->params, s->nparams };
	return p;
}

#endif
