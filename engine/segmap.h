/*
 * segmap.h - a segment file mapped read-only and validated for use.
 *
 * Opening reads the 4 KiB header block and nothing else (unless asked to
 * verify checksums): sections are pointers into the mapping, and pages come
 * in as queries touch them. Everything an index or scan will index into is
 * validated here or bounds-checked at use, so a damaged file yields errors.
 */
#ifndef VL_SEGMAP_H
#define VL_SEGMAP_H

#include <stdatomic.h>
#include <stdint.h>

#include "index/index.h"
#include "internal.h"
#include "quant/quant.h"
#include "segment.h"

typedef struct vl_tagcol {
	uint32_t ntags;
	uint64_t nids;
	const uint8_t *tag_off;   /* u32[ntags + 1], LE */
	const uint8_t *dict;
	const uint8_t *row_off;   /* u32[nrows + 1], LE */
	const uint8_t *ids;       /* u32[nids], LE */
} vl_tagcol;

typedef struct vl_attrcol {
	uint16_t field_id;
	uint8_t type;             /* VL_FIELD_TAG or VL_FIELD_NUMERIC */
	const double *num;        /* numeric: nrows values, NaN = absent */
	vl_tagcol tag;
} vl_attrcol;

struct vl_segmap {
	atomic_int refs;
	uint32_t coll_id, seg_id;
	char relpath[64];
	int fd;                   /* kept open for re-rank reads (io_uring / pread) */
	const uint8_t *base;
	size_t size;
	vl_seg_layout lay;
	uint64_t nrows;
	const uint64_t *rowids;
	const float *vectors;
	const vl_seg_section *vec_sec;
	const float *norms;
	vl_qview q;
	int q_open;
	vl_qview fq;              /* float32 view over VECTORS: exact scans whatever the storage */
	const vl_index_ops *iops;
	void *istate;
	uint32_t ncols;
	vl_attrcol *cols;
};

/* Map and validate seg/c<coll>-s<seg>.vseg against its manifest entry.
 * VL_ENOTFOUND if the file does not exist. verify != 0 checks every CRC. */
int vl_segmap_open(const vl_store *st, uint32_t coll, uint32_t seg, const vl_manifest *m,
                   int verify, vl_segmap **out, vl_diag *d);
void vl_segmap_ref(vl_segmap *s);
void vl_segmap_unref(vl_segmap *s);
/* Row holding rid (binary search in ROWIDS) or -1. */
int64_t vl_segmap_row_of(const vl_segmap *s, uint64_t rid);
const vl_attrcol *vl_segmap_col(const vl_segmap *s, uint16_t field_id);
/* Recompute the CRC of every section; VL_ECORRUPT with detail on mismatch. */
int vl_segmap_check_crcs(const vl_segmap *s, vl_diag *d);
/* Validate and open the views (storage, index, columns) of a mapped file:
 * shared by vl_segmap_open and the segment builder's verification. */
const uint8_t *vl_segmap_section(const vl_segmap *s, uint32_t kind, uint32_t param, uint64_t *len);

/* Tag column helpers: id of a tag string (binary search) or -1; whether a row holds an id. */
int64_t vl_tagcol_find(const vl_tagcol *t, const void *tag, size_t len);
int vl_tagcol_row_has(const vl_tagcol *t, uint64_t nrows, uint32_t row, uint32_t id);

#endif
