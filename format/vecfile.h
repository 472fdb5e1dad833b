/*
 * vecfile.h - readers of vector files (.fvecs .bvecs .ivecs .npy IDX
 * JSON Lines, JSON) and writers of .fvecs/.ivecs.
 *
 * Two levels:
 *  - pure buffer decoders (npy header, IDX header, one xvecs row, float16),
 *    which fuzzers and tests drive directly;
 *  - a streaming reader (vl_vecfile) over a file, a file descriptor or a
 *    memory buffer that reads in chunks: memory stays bounded by one chunk
 *    plus the largest row (or line), never the file size.
 *
 * Every error fills a vl_diag whose text names the file, the 0-based row
 * number (and the 1-based line for text formats) and the byte offset, e.g.
 *   "base.fvecs: row 17: row has dim 96 but the first row has dim 128 (at byte offset 8772)"
 * Codes: VL_EFORMAT malformed data, VL_EDIM dim above 65535 or differing from
 * the first row, VL_EUNSUPPORTED valid but unsupported input (dtype,
 * fortran_order, array rank, IDX element type), VL_ENAN non-finite values,
 * VL_ELIMIT a line/element above the size limit or JSON nested too deep,
 * VL_EKEY bad key (text formats), VL_EIO read failure, VL_EINVAL misuse.
 * The exact rules are in .spec-parts/vecfile.md.
 */
#ifndef VL_VECFILE_H
#define VL_VECFILE_H

#include <stddef.h>
#include <stdint.h>

#include "jsonl.h"
#include "textenc.h"
#include "vl_diag.h"

#define VL_VECFILE_DIM_MAX 65535u

typedef enum vl_vecfmt {
	VL_VECFMT_AUTO = 0,    /* from the name's extension, else from the magic bytes */
	VL_VECFMT_FVECS = 1,
	VL_VECFMT_BVECS = 2,
	VL_VECFMT_IVECS = 3,
	VL_VECFMT_NPY = 4,
	VL_VECFMT_IDX = 5,
	VL_VECFMT_JSONL = 6,
	VL_VECFMT_JSON = 7
} vl_vecfmt;

/* "fvecs", "bvecs", "ivecs", "npy", "idx", "jsonl", "json" ("auto" for 0). */
const char *vl_vecfmt_name(vl_vecfmt f);
/* Parse a format name (also accepts "ndjson" and "idx3-ubyte"); VL_EINVAL if unknown. */
int vl_vecfmt_from_name(const char *name, vl_vecfmt *out);
/* Format implied by a path's extension (.fvecs .bvecs .ivecs .npy .jsonl
 * .ndjson .json, or a name ending in "idx3-ubyte"/"idx2-ubyte"), else AUTO. */
vl_vecfmt vl_vecfmt_from_path(const char *path);

/* ---- pure buffer decoders --------------------------------------------------- */

/*
 * The int32 little-endian dim that starts an .fvecs/.bvecs/.ivecs row, at
 * p[0..4). off is its absolute offset (for the message). VL_EFORMAT for a
 * negative or zero dim, VL_EDIM above VL_VECFILE_DIM_MAX.
 */
int vl_xvecs_dim(const void *p, uint64_t off, uint32_t *dim, vl_diag *d);
/* Bytes of one whole row (dim field included) of an xvecs format. */
size_t vl_xvecs_row_bytes(vl_vecfmt fmt, uint32_t dim);
/* Decode the dim values after the dim field (little-endian). */
void vl_fvecs_decode(const void *src, uint32_t dim, float *out);
void vl_bvecs_decode(const void *src, uint32_t dim, float *out);
void vl_ivecs_decode(const void *src, uint32_t dim, int32_t *out);

/* Index of the first NaN/Inf in v[0..dim), or dim if all are finite. */
uint32_t vl_first_nonfinite(const float *v, uint32_t dim);

/* IEEE binary16 -> binary32 (exact, subnormals, Inf and NaN kept). */
float vl_half_to_float(uint16_t h);

typedef enum vl_npy_dtype {
	VL_NPY_F4 = 1,   /* '<f4' */
	VL_NPY_F8 = 2,   /* '<f8', converted to float32 (rounded to nearest) */
	VL_NPY_F2 = 3    /* '<f2', converted to float32 (exact) */
} vl_npy_dtype;

typedef struct vl_npy_header {
	uint8_t major, minor;    /* format version 1.0, 2.0 or 3.0 */
	size_t header_bytes;     /* magic + version + length + dict: data starts here */
	vl_npy_dtype dtype;
	const char *descr;       /* "<f4", "<f8" or "<f2" (static string) */
	uint32_t itemsize;       /* 4, 8 or 2 */
	uint64_t rows;           /* shape[0] */
	uint32_t dim;            /* shape[1] */
	uint64_t data_bytes;     /* rows * dim * itemsize */
} vl_npy_header;

#define VL_NPY_PREFIX 12u            /* bytes that always determine the header size */
#define VL_NPY_HEADER_MAX (1u << 20) /* larger headers are refused (VL_ELIMIT) */

/*
 * Total header size from the first bytes of a .npy file (at least 10 for
 * version 1, 12 for versions 2 and 3; fewer -> VL_EFORMAT "truncated").
 * Checks the magic and version.
 */
int vl_npy_header_size(const void *buf, size_t len, size_t *total, vl_diag *d);

/*
 * Parse a whole .npy header (buf holds at least vl_npy_header_size bytes):
 * the Python dict literal {'descr': ..., 'fortran_order': ..., 'shape': ...}
 * with exactly those keys. VL_EFORMAT when malformed; VL_EUNSUPPORTED for a
 * dtype other than '<f4'/'<f8'/'<f2', fortran_order True, or a shape that is
 * not 2-D; VL_EFORMAT for dim 0, VL_EDIM for dim > 65535.
 */
int vl_npy_parse_header(const void *buf, size_t len, vl_npy_header *h, vl_diag *d);
/* Decode one row of dim items of the given dtype. */
void vl_npy_decode(vl_npy_dtype dt, const void *src, uint32_t dim, float *out);

typedef struct vl_idx_header {
	uint8_t type;            /* 0x08 (unsigned byte) is the only one supported */
	uint8_t ndim;            /* 2 or 3 */
	size_t header_bytes;     /* 4 + 4 * ndim */
	uint64_t rows;           /* dims[0] */
	uint32_t dim;            /* product of the other dims */
} vl_idx_header;

/* Bytes needed to parse an IDX header, from its first 4 bytes (0 if < 4). */
size_t vl_idx_header_size(const void *buf, size_t len);
/*
 * Parse an IDX header (big-endian: 0x00 0x00 type ndim, then ndim uint32
 * sizes). VL_EFORMAT for a bad magic or truncation, VL_EUNSUPPORTED for an
 * element type other than unsigned byte or ndim other than 2/3, VL_EFORMAT
 * for dim 0, VL_EDIM for dim > 65535.
 */
int vl_idx_parse_header(const void *buf, size_t len, vl_idx_header *h, vl_diag *d);

/* ---- streaming reader -------------------------------------------------------- */

typedef struct vl_vecfile vl_vecfile;

enum {
	/* Deliver rows holding NaN/Inf instead of failing them with VL_ENAN. */
	VL_VECFILE_ALLOW_NONFINITE = 1u << 0
};

typedef struct vl_vecfile_opts {
	vl_vecfmt fmt;           /* AUTO: from the name, else the magic bytes */
	unsigned flags;          /* VL_VECFILE_* */
	size_t chunk;            /* bytes per read; 0 = 1 MiB */
	size_t line_max;         /* longest JSONL line / JSON element; 0 = 64 MiB */
} vl_vecfile_opts;
#define VL_VECFILE_OPTS_INIT { VL_VECFMT_AUTO, 0, 0, 0 }

typedef struct vl_vecfile_info {
	vl_vecfmt fmt;
	uint32_t dim;
	uint64_t rows;           /* rows announced by the header (npy, IDX) or implied by
	                            the file size (xvecs); UINT64_MAX if unknown */
	const char *source_type; /* "float32", "float64", "float16", "uint8", "int32", "json" */
	int converted;           /* values are converted to float32 (float64, float16, uint8) */
	int int_rows;            /* ivecs: read with vl_vecfile_next_i32 */
} vl_vecfile_info;

/*
 * Open a file (path borrowed; "-" is not special). Reads the header, or the
 * first row, to learn the dim: errors in them are reported here.
 * *out: close with vl_vecfile_close(). opts may be NULL.
 */
int vl_vecfile_open(const char *path, const vl_vecfile_opts *opts, vl_vecfile **out,
                    vl_diag *d);
/* Read from fd (borrowed, not closed; may be a pipe). name is used in
 * messages and for the extension. */
int vl_vecfile_open_fd(int fd, const char *name, const vl_vecfile_opts *opts,
                       vl_vecfile **out, vl_diag *d);
/* Read from memory (borrowed; must outlive the reader). */
int vl_vecfile_open_mem(const void *buf, size_t len, const char *name,
                        const vl_vecfile_opts *opts, vl_vecfile **out, vl_diag *d);
void vl_vecfile_close(vl_vecfile *vf);

const vl_vecfile_info *vl_vecfile_info_get(const vl_vecfile *vf);
/* 0-based number of the next row to be read. */
uint64_t vl_vecfile_row_index(const vl_vecfile *vf);

/*
 * Read up to max_rows rows into out (room for max_rows * dim floats);
 * *nrows receives the count, 0 at the end of the file.
 * Errors are reported after the good rows before them: a call that meets a
 * bad row returns VL_OK with the rows read so far, and the next call
 * returns the error with *nrows = 0. VL_ENAN (a row with NaN/Inf, unless
 * VL_VECFILE_ALLOW_NONFINITE) and the other row errors that
 * vl_vecfile_skippable() reports consume that row: calling again continues
 * with the following row. Every other error is final (repeated by later
 * calls). VL_EINVAL for ivecs (use vl_vecfile_next_i32). A reader is used
 * by one thread at a time.
 */
int vl_vecfile_next(vl_vecfile *vf, float *out, size_t max_rows, size_t *nrows, vl_diag *d);
/* The same for .ivecs rows (VL_EINVAL for other formats). */
int vl_vecfile_next_i32(vl_vecfile *vf, int32_t *out, size_t max_rows, size_t *nrows,
                        vl_diag *d);
/*
 * After an error from vl_vecfile_next/_next_i32/_next_row: 1 when it
 * concerned one row only and that row is consumed, so the next call reads
 * on (VL_ENAN; for JSON Lines any error confined to one line; for JSON a
 * well-formed element that is not a valid row or has another dim), 0 when
 * the error is final. Row numbers count skipped rows too.
 */
int vl_vecfile_skippable(const vl_vecfile *vf);

/*
 * One row with its key and fields (JSON Lines / JSON) or with the decimal
 * row number as key (binary formats). *row is owned by the reader, valid
 * until its next call; NULL at the end. Same error rules as vl_vecfile_next.
 */
int vl_vecfile_next_row(vl_vecfile *vf, const vl_jsonl_row **row, vl_diag *d);

/* ---- writers -------------------------------------------------------------------- */

/* One .fvecs row: int32 dim then dim float32, little-endian. VL_EINVAL
 * for dim 0 or > 65535; sink errors. Non-finite values are written as is. */
int vl_fvecs_write_row(vl_sink *s, const float *v, uint32_t dim);
/* One .ivecs row: int32 dim then dim int32. */
int vl_ivecs_write_row(vl_sink *s, const int32_t *v, uint32_t dim);

#endif
