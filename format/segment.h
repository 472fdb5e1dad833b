/*
 * segment.h - the veclite segment file: header, section table, section kinds.
 *
 * A segment is an immutable file holding a batch of rows of one collection:
 *
 *   offset 0      header (128 bytes) + section table (48 bytes each)
 *   offset 4096k  sections, each starting on a 4096-byte boundary so it can be
 *                 mmap'd, madvise'd and read with io_uring/O_DIRECT on its own
 *   file_bytes    end of file (the header records the exact size)
 *
 * All integers are little-endian. The header CRC-32C covers the header and
 * the section table (with the crc field itself zeroed); every section has its
 * own CRC-32C over its `length` bytes (padding excluded). Readers check the
 * header CRC at open and section CRCs on `verify` (or VL_OPEN_VERIFY), so
 * opening reads no vector data. SPEC.md describes every field.
 */
#ifndef VL_SEGMENT_H
#define VL_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "vl_diag.h"

#define VL_SEG_MAGIC "VLSEG\0\r\n"      /* 8 bytes; \0\r\n catch text-mode mangling */
#define VL_SEG_VERSION 1u
#define VL_SEG_ALIGN 4096u
#define VL_SEG_HEADER_BYTES 128u
#define VL_SEG_SECTION_BYTES 48u
#define VL_SEG_MAX_SECTIONS 64u         /* header + table fit in the first 4096 bytes */

/* Incompatible feature flags: a reader that does not know a set bit refuses
 * the file with VL_EVERSION. None are defined in version 1. */
#define VL_SEG_INCOMPAT_KNOWN 0ull

/* Storage types (format of the PRIMARY/SECONDARY sections). */
enum vl_storage_id {
	VL_STORAGE_FLOAT32 = 1,
	VL_STORAGE_FLOAT16 = 2,
	VL_STORAGE_LVQ8 = 3,
	VL_STORAGE_LVQ4 = 4,
	VL_STORAGE_LVQ4X4 = 5,
	VL_STORAGE_LVQ4X8 = 6,
	VL_STORAGE_LVQ8X8 = 7,
	VL_STORAGE_LEANVEC4X8 = 8,
	VL_STORAGE_LEANVEC8X8 = 9
};

/* Index kinds (format of the INDEX sections). */
enum vl_index_id {
	VL_INDEX_FLAT = 0,
	VL_INDEX_VAMANA = 1,
	VL_INDEX_HNSW = 2,
	VL_INDEX_IVF = 3
};

/* Section kinds. Each index kind owns a range of 256 kinds. */
enum vl_section_kind {
	VL_SEC_ROWIDS = 0x0001,       /* u64 row id per row, strictly ascending */
	VL_SEC_VECTORS = 0x0002,      /* float32 originals, dim per row: cold, re-rank/export only */
	VL_SEC_NORMS = 0x0003,        /* float32 L2 norm of each original vector */
	VL_SEC_QUANT = 0x0010,        /* quantizer parameters (storage-specific layout) */
	VL_SEC_PRIMARY = 0x0011,      /* primary codes, row_stride bytes per row */
	VL_SEC_SECONDARY = 0x0012,    /* residual / LeanVec secondary codes */
	VL_SEC_ATTR_NUM = 0x0020,     /* numeric column, param = field id: f64 per row, NaN = absent */
	VL_SEC_ATTR_TAG = 0x0021,     /* tag column, param = field id (layout in SPEC.md) */
	VL_SEC_INDEX_VAMANA = 0x0100, /* 0x0100..0x01ff */
	VL_SEC_INDEX_HNSW = 0x0200,   /* 0x0200..0x02ff */
	VL_SEC_INDEX_IVF = 0x0300     /* 0x0300..0x03ff */
};

typedef struct vl_seg_header {
	uint8_t magic[8];
	uint32_t version;
	uint32_t header_bytes;     /* 128 + 48 * nsections */
	uint64_t incompat_flags;
	uint64_t compat_flags;
	uint8_t store_uuid[16];    /* the store this segment belongs to */
	uint32_t coll_id;
	uint32_t seg_id;
	uint64_t nrows;
	uint64_t rid_min;          /* first and last row id (ROWIDS is ascending) */
	uint64_t rid_max;
	uint64_t file_bytes;       /* exact file size */
	uint64_t created_ms;       /* unix milliseconds */
	uint32_t dim;
	uint8_t metric;            /* vl_metric */
	uint8_t storage;           /* vl_storage_id */
	uint8_t index_kind;        /* vl_index_id */
	uint8_t reserved0;
	uint32_t nsections;
	uint32_t header_crc;       /* CRC-32C of header_bytes bytes with this field 0 */
	uint8_t reserved[16];      /* zero */
} vl_seg_header;

typedef struct vl_seg_section {
	uint32_t kind;             /* vl_section_kind */
	uint32_t param;            /* kind-specific (field id for attribute columns) */
	uint64_t offset;           /* multiple of VL_SEG_ALIGN */
	uint64_t length;           /* bytes of data (file padding after it excluded) */
	uint64_t row_stride;       /* bytes per row for row-major sections, else 0 */
	uint32_t crc;              /* CRC-32C of the length bytes */
	uint32_t flags;            /* zero in version 1 */
	uint64_t reserved;         /* zero */
} vl_seg_section;

_Static_assert(sizeof(vl_seg_header) == VL_SEG_HEADER_BYTES, "segment header is 128 bytes");
_Static_assert(sizeof(vl_seg_section) == VL_SEG_SECTION_BYTES, "section entry is 48 bytes");
_Static_assert(VL_SEG_HEADER_BYTES + VL_SEG_MAX_SECTIONS * VL_SEG_SECTION_BYTES <= VL_SEG_ALIGN,
               "header and table fit before the first section");

/* A parsed, validated header + table (host-order copies). */
typedef struct vl_seg_layout {
	vl_seg_header h;
	vl_seg_section sec[VL_SEG_MAX_SECTIONS];
} vl_seg_layout;

/* Serialize header + table into buf (VL_SEG_ALIGN bytes, zero-filled) and set
 * header_bytes, nsections and header_crc. */
void vl_seg_encode_header(const vl_seg_header *h, const vl_seg_section *sec, uint32_t nsec,
                          uint8_t buf[VL_SEG_ALIGN]);

/*
 * Parse and validate the first `len` bytes of a segment file of `file_bytes`
 * total. Checks magic, version, incompat flags, header CRC, that every
 * section is aligned, inside the file, non-overlapping, and that row-major
 * sections hold exactly nrows * row_stride bytes. Reads no section data.
 * Returns VL_OK, VL_ECORRUPT or VL_EVERSION (detail in d).
 */
int vl_seg_decode_header(const uint8_t *buf, size_t len, uint64_t file_bytes, vl_seg_layout *out,
                         vl_diag *d);

/* The section of `kind` and `param`, or NULL. */
const vl_seg_section *vl_seg_find(const vl_seg_layout *l, uint32_t kind, uint32_t param);

/* Human name of a section kind ("vectors", "primary", "vamana-graph", ...). */
const char *vl_seg_section_name(uint32_t kind);

/* Names of storage types and index kinds; NULL for unknown ids. */
const char *vl_storage_name(unsigned id);
int vl_storage_id(const char *name);   /* -1 if unknown */
const char *vl_index_name(unsigned id);
int vl_index_id(const char *name);     /* -1 if unknown */

static inline uint64_t vl_align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

#endif
