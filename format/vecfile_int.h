/*
 * vecfile_int.h - internals shared by the vecfile*.c files: the reader
 * object, its chunked input buffer and the per-format row readers.
 * Not for use outside format/vecfile*.c.
 */
#ifndef VL_VECFILE_INT_H
#define VL_VECFILE_INT_H

#include "json.h"
#include "jsonl.h"
#include "vecfile.h"

/* A format's row reader: decode the next row into out (float formats) or
 * out_i (ivecs). Returns 1 (a row), 0 (end of data) or a negative VL_E*
 * code with vf->diag filled (without the file-name prefix). */
typedef int (*vf_read_fn)(vl_vecfile *vf, float *out, int32_t *out_i);

/* JSON array file states */
enum { JS_FIRST, JS_NEXT, JS_END, JS_DONE };

struct vl_vecfile {
	char *name;
	unsigned flags;
	size_t chunk, line_max;
	vl_vecfile_info info;
	vf_read_fn read;

	/* source: fd >= 0, or memory */
	int fd;
	int own_fd;
	const uint8_t *mem;
	size_t mem_len, mem_pos;
	uint64_t file_size;      /* UINT64_MAX if unknown */
	int eof;                 /* the source has no more bytes */

	/* input buffer: bytes [pos, end) are unread; buf[0] is at file offset buf_off */
	uint8_t *buf;
	size_t cap, pos, end;
	uint64_t buf_off;

	uint64_t row;            /* 0-based index of the next row */
	uint64_t row_off;        /* offset of the row being read (for NaN messages) */
	uint64_t line;           /* text formats: line number at buf[pos] */

	/* binary formats */
	size_t row_bytes;        /* bytes per row (dim field included for xvecs) */
	uint64_t rows_total;     /* npy/IDX: rows the header promises */
	vl_npy_dtype npy_dtype;

	/* text formats */
	vl_jsonl_parser *jp;
	vl_json_doc *jdoc;       /* JSON array elements */
	vl_jsonl_row trow;       /* the row just read (text formats) */
	int pending;             /* the first row was read at open and not yet delivered */
	int js_state;
	int js_single;           /* the JSON file is one bare vector */
	size_t scan_at;          /* resumable scan of a line / element, relative to pos */
	int scan_depth, scan_in_str, scan_esc;

	/* next_row for binary formats */
	vl_jsonl_row brow;
	float *rowvec;
	char keybuf[24];

	/* the current error, and a deferred one waiting for the next call */
	vl_diag diag;
	int row_error;           /* set by a reader: the error concerns one row, now consumed */
	int err;
	int err_skippable;       /* the deferred error is a row error: reading may go on */
	int last_skippable;      /* what vl_vecfile_skippable reports */
	vl_diag err_diag;
};

/* Make at least `need` unread bytes available (fewer only at the end of the
 * input); returns VL_OK or VL_EIO/VL_ENOMEM/VL_ELIMIT with vf->diag set. */
int vf_fill(vl_vecfile *vf, size_t need);
static inline size_t vf_avail(const vl_vecfile *vf) { return vf->end - vf->pos; }
static inline uint64_t vf_off(const vl_vecfile *vf) { return vf->buf_off + vf->pos; }

/* Record an error in vf->diag, prefixed "row N: " for the current row. */
int vf_fail(vl_vecfile *vf, int code, uint64_t off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Record an error a pure decoder left in sub, prefixed "row N". */
int vf_fail_sub(vl_vecfile *vf, const vl_diag *sub);

/* Rows of a fixed size after a header (npy, IDX), vf->rows_total of them. */
int vf_read_fixed(vl_vecfile *vf, float *out, int32_t *out_i);

/* Per-format open (header or first row) and row readers. */
int vf_open_xvecs(vl_vecfile *vf);
int vf_open_idx(vl_vecfile *vf);
int vf_open_npy(vl_vecfile *vf);
int vf_open_jsonl(vl_vecfile *vf);
int vf_open_json(vl_vecfile *vf);

#endif
