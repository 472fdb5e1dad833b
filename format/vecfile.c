/*
 * vecfile.c - the streaming vector-file reader: format detection, chunked
 * input, batching and error delivery; plus the .fvecs/.ivecs writers.
 * Format specifics are in vecfile_bin.c, vecfile_npy.c and vecfile_text.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vecfile_int.h"
#include "vl_bytes.h"

#define CHUNK_DEFAULT (1u << 20)
#define LINE_MAX_DEFAULT (64u << 20)

/* ---- format names ---------------------------------------------------------- */

static const char *const fmt_names[] = { "auto", "fvecs", "bvecs", "ivecs", "npy",
                                         "idx", "jsonl", "json" };

const char *vl_vecfmt_name(vl_vecfmt f)
{
	return (unsigned)f < sizeof fmt_names / sizeof *fmt_names ? fmt_names[f] : "?";
}

int vl_vecfmt_from_name(const char *name, vl_vecfmt *out)
{
	for (unsigned i = 1; i < sizeof fmt_names / sizeof *fmt_names; i++)
		if (strcasecmp(name, fmt_names[i]) == 0) {
			*out = (vl_vecfmt)i;
			return VL_OK;
		}
	if (strcasecmp(name, "ndjson") == 0) {
		*out = VL_VECFMT_JSONL;
		return VL_OK;
	}
	if (strcasecmp(name, "idx3-ubyte") == 0 || strcasecmp(name, "idx2-ubyte") == 0) {
		*out = VL_VECFMT_IDX;
		return VL_OK;
	}
	return VL_EINVAL;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

vl_vecfmt vl_vecfmt_from_path(const char *path)
{
	static const struct { const char *ext; vl_vecfmt fmt; } exts[] = {
		{ ".fvecs", VL_VECFMT_FVECS }, { ".bvecs", VL_VECFMT_BVECS },
		{ ".ivecs", VL_VECFMT_IVECS }, { ".npy", VL_VECFMT_NPY },
		{ ".jsonl", VL_VECFMT_JSONL }, { ".ndjson", VL_VECFMT_JSONL },
		{ ".json", VL_VECFMT_JSON }, { "idx3-ubyte", VL_VECFMT_IDX },
		{ "idx2-ubyte", VL_VECFMT_IDX },
	};
	if (!path)
		return VL_VECFMT_AUTO;
	for (size_t i = 0; i < sizeof exts / sizeof *exts; i++)
		if (ends_with(path, exts[i].ext))
			return exts[i].fmt;
	return VL_VECFMT_AUTO;
}

/* Recognise the formats that carry a magic number. */
static vl_vecfmt sniff(const uint8_t *b, size_t n)
{
	if (n >= 6 && memcmp(b, "\x93NUMPY", 6) == 0)
		return VL_VECFMT_NPY;
	if (n >= 4 && b[0] == 0 && b[1] == 0 && b[2] == 0x08 && (b[3] == 2 || b[3] == 3))
		return VL_VECFMT_IDX;
	return VL_VECFMT_AUTO;
}

/* ---- errors ------------------------------------------------------------------ */

int vf_fail(vl_vecfile *vf, int code, uint64_t off, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return vl_diag_set(&vf->diag, code, off, "row %llu: %s", (unsigned long long)vf->row, msg);
}

int vf_fail_sub(vl_vecfile *vf, const vl_diag *sub)
{
	vf->diag = *sub;
	vl_diag_prefix(&vf->diag, "row %llu", (unsigned long long)vf->row);
	return sub->code;
}

/* Hand vf->diag, prefixed with the file name, to the caller. */
static int report(const vl_vecfile *vf, int code, vl_diag *d)
{
	if (d) {
		*d = vf->diag;
		d->code = code;
		vl_diag_prefix(d, "%s", vf->name);
	}
	return code;
}

/* ---- input ------------------------------------------------------------------- */

static ssize_t src_read(vl_vecfile *vf, uint8_t *dst, size_t n)
{
	if (vf->fd < 0) {
		size_t left = vf->mem_len - vf->mem_pos;
		if (n > vf->chunk)
			n = vf->chunk; /* memory input mimics chunked reads (tests, fuzzing) */
		if (n > left)
			n = left;
		memcpy(dst, vf->mem + vf->mem_pos, n);
		vf->mem_pos += n;
		return (ssize_t)n;
	}
	for (;;) {
		ssize_t r = read(vf->fd, dst, n);
		if (r >= 0 || errno != EINTR)
			return r;
	}
}

int vf_fill(vl_vecfile *vf, size_t need)
{
	while (vf->end - vf->pos < need && !vf->eof) {
		size_t avail = vf->end - vf->pos;
		size_t want = need - avail > vf->chunk ? need - avail : vf->chunk;
		if (vf->pos && vf->cap - vf->end < want) {
			memmove(vf->buf, vf->buf + vf->pos, avail);
			vf->buf_off += vf->pos;
			vf->end = avail;
			vf->pos = 0;
		}
		if (vf->cap - vf->end < want) {
			if (want > SIZE_MAX - vf->end)
				return vl_diag_set(&vf->diag, VL_ENOMEM, VL_NO_OFFSET, "out of memory");
			/* geometric growth: a long line costs O(length), not O(length^2) */
			size_t cap = vf->end + want;
			if (vf->cap && cap < vf->cap * 2 && vf->cap <= SIZE_MAX / 2)
				cap = vf->cap * 2;
			uint8_t *nb = realloc(vf->buf, cap);
			if (!nb)
				return vl_diag_set(&vf->diag, VL_ENOMEM, VL_NO_OFFSET,
				                   "out of memory (buffer of %zu bytes)", cap);
			vf->buf = nb;
			vf->cap = cap;
		}
		ssize_t r = src_read(vf, vf->buf + vf->end, vf->cap - vf->end);
		if (r < 0)
			return vl_diag_set(&vf->diag, VL_EIO, vf->buf_off + vf->end, "read failed: %s",
			                   strerror(errno));
		if (r == 0)
			vf->eof = 1;
		vf->end += (size_t)r;
	}
	return VL_OK;
}

/* ---- open / close ---------------------------------------------------------- */

static vl_vecfile *vf_new(const char *name, const vl_vecfile_opts *opts)
{
	vl_vecfile *vf = calloc(1, sizeof *vf);
	if (!vf)
		return NULL;
	vf->name = strdup(name ? name : "<input>");
	if (!vf->name) {
		free(vf);
		return NULL;
	}
	vf->fd = -1;
	vf->file_size = UINT64_MAX;
	vf->flags = opts ? opts->flags : 0;
	vf->chunk = opts && opts->chunk ? opts->chunk : CHUNK_DEFAULT;
	vf->line_max = opts && opts->line_max ? opts->line_max : LINE_MAX_DEFAULT;
	vf->info.fmt = opts ? opts->fmt : VL_VECFMT_AUTO;
	vf->info.rows = UINT64_MAX;
	vf->line = 1;
	vl_diag_clear(&vf->diag);
	vl_diag_clear(&vf->err_diag);
	return vf;
}

void vl_vecfile_close(vl_vecfile *vf)
{
	if (!vf)
		return;
	if (vf->own_fd && vf->fd >= 0)
		close(vf->fd);
	vl_jsonl_parser_free(vf->jp);
	vl_json_doc_free(vf->jdoc);
	free(vf->buf);
	free(vf->rowvec);
	free(vf->name);
	free(vf);
}

static int open_format(vl_vecfile *vf)
{
	int rc = vf_fill(vf, 16);
	if (rc)
		return rc;
	if (vf_avail(vf) == 0)
		return vl_diag_set(&vf->diag, VL_EFORMAT, 0, "empty file");
	if (vf->info.fmt == VL_VECFMT_AUTO)
		vf->info.fmt = vl_vecfmt_from_path(vf->name);
	if (vf->info.fmt == VL_VECFMT_AUTO)
		vf->info.fmt = sniff(vf->buf + vf->pos, vf_avail(vf));
	switch (vf->info.fmt) {
	case VL_VECFMT_FVECS:
	case VL_VECFMT_BVECS:
	case VL_VECFMT_IVECS:
		return vf_open_xvecs(vf);
	case VL_VECFMT_NPY:
		return vf_open_npy(vf);
	case VL_VECFMT_IDX:
		return vf_open_idx(vf);
	case VL_VECFMT_JSONL:
		return vf_open_jsonl(vf);
	case VL_VECFMT_JSON:
		return vf_open_json(vf);
	default:
		return vl_diag_set(&vf->diag, VL_EINVAL, VL_NO_OFFSET,
		                   "cannot tell the vector format from the name or the first bytes; "
		                   "name it (fvecs, bvecs, ivecs, npy, idx, jsonl, json)");
	}
}

static int finish_open(vl_vecfile *vf, vl_vecfile **out, vl_diag *d)
{
	int rc = open_format(vf);
	if (!rc && !vf->info.int_rows) {
		vf->rowvec = malloc((size_t)vf->info.dim * sizeof(float));
		if (!vf->rowvec)
			rc = vl_diag_set(&vf->diag, VL_ENOMEM, VL_NO_OFFSET, "out of memory");
	}
	if (rc) {
		report(vf, rc, d);
		vl_vecfile_close(vf);
		return rc;
	}
	*out = vf;
	return VL_OK;
}

int vl_vecfile_open_fd(int fd, const char *name, const vl_vecfile_opts *opts,
                       vl_vecfile **out, vl_diag *d)
{
	*out = NULL;
	vl_vecfile *vf = vf_new(name, opts);
	if (!vf)
		return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory");
	vf->fd = fd;
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		vf->file_size = (uint64_t)st.st_size;
	return finish_open(vf, out, d);
}

int vl_vecfile_open(const char *path, const vl_vecfile_opts *opts, vl_vecfile **out,
                    vl_diag *d)
{
	*out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vl_diag_set(d, VL_EIO, VL_NO_OFFSET, "%s: cannot open: %s", path,
		                   strerror(errno));
	int rc = vl_vecfile_open_fd(fd, path, opts, out, d);
	if (rc) {
		close(fd);
		return rc;
	}
	(*out)->own_fd = 1;
	return VL_OK;
}

int vl_vecfile_open_mem(const void *buf, size_t len, const char *name,
                        const vl_vecfile_opts *opts, vl_vecfile **out, vl_diag *d)
{
	*out = NULL;
	vl_vecfile *vf = vf_new(name, opts);
	if (!vf)
		return vl_diag_set(d, VL_ENOMEM, VL_NO_OFFSET, "out of memory");
	vf->mem = buf;
	vf->mem_len = len;
	vf->file_size = len;
	return finish_open(vf, out, d);
}

const vl_vecfile_info *vl_vecfile_info_get(const vl_vecfile *vf)
{
	return &vf->info;
}

uint64_t vl_vecfile_row_index(const vl_vecfile *vf)
{
	return vf->row;
}

/* ---- reading rows ------------------------------------------------------------ */

/* Keep the error for the next call (after the good rows are delivered). */
static void defer(vl_vecfile *vf, int code, int skippable)
{
	vf->err = code;
	vf->err_skippable = skippable;
	vf->err_diag = vf->diag;
	vf->err_diag.code = code;
	vl_diag_prefix(&vf->err_diag, "%s", vf->name);
}

static int take_deferred(vl_vecfile *vf, vl_diag *d)
{
	int rc = vf->err;
	if (d)
		*d = vf->err_diag;
	vf->last_skippable = vf->err_skippable;
	if (vf->err_skippable) /* the bad row is consumed; reading may go on */
		vf->err = 0;
	return rc;
}

int vl_vecfile_skippable(const vl_vecfile *vf)
{
	return vf->last_skippable;
}

static void nonfinite_error(vl_vecfile *vf, const float *v, uint32_t j)
{
	int text = vf->info.fmt == VL_VECFMT_JSONL || vf->info.fmt == VL_VECFMT_JSON;
	char where[48] = "";
	if (text)
		snprintf(where, sizeof where, " (line %llu)", (unsigned long long)vf->trow.line);
	vl_diag_set(&vf->diag, VL_ENAN, vf->row_off, "row %llu%s: component %u is %s",
	            (unsigned long long)vf->row, where, j,
	            isnan(v[j]) ? "NaN" : text ? "infinite (a literal beyond the float32 range)"
	                                       : "infinite");
}

static int batch(vl_vecfile *vf, float *out, int32_t *out_i, size_t max, size_t *got,
                 vl_diag *d)
{
	*got = 0;
	vf->last_skippable = 0;
	if (vf->err)
		return take_deferred(vf, d);
	uint32_t dim = vf->info.dim;
	size_t i = 0;
	while (i < max) {
		float *o = out ? out + i * dim : NULL;
		vf->row_error = 0;
		int r = vf->read(vf, o, out_i ? out_i + i * dim : NULL);
		if (r == 0)
			break;
		if (r < 0) {
			int skippable = vf->row_error && r != VL_ENOMEM && r != VL_EIO;
			vf->row += (uint64_t)skippable; /* a skipped row keeps its number */
			defer(vf, r, skippable);
			break;
		}
		if (o && !(vf->flags & VL_VECFILE_ALLOW_NONFINITE)) {
			uint32_t j = vl_first_nonfinite(o, dim);
			if (j < dim) {
				nonfinite_error(vf, o, j);
				vf->row++;
				defer(vf, VL_ENAN, 1);
				break;
			}
		}
		vf->row++;
		i++;
	}
	*got = i;
	if (i == 0 && vf->err)
		return take_deferred(vf, d);
	return VL_OK;
}

int vl_vecfile_next(vl_vecfile *vf, float *out, size_t max_rows, size_t *nrows, vl_diag *d)
{
	*nrows = 0;
	if (vf->info.int_rows) {
		vl_diag_set(&vf->diag, VL_EINVAL, VL_NO_OFFSET,
		            "ivecs rows are int32: read them with vl_vecfile_next_i32");
		return report(vf, VL_EINVAL, d);
	}
	return batch(vf, out, NULL, max_rows, nrows, d);
}

int vl_vecfile_next_i32(vl_vecfile *vf, int32_t *out, size_t max_rows, size_t *nrows,
                        vl_diag *d)
{
	*nrows = 0;
	if (!vf->info.int_rows) {
		vl_diag_set(&vf->diag, VL_EINVAL, VL_NO_OFFSET,
		            "only ivecs rows are int32; read %s with vl_vecfile_next",
		            vl_vecfmt_name(vf->info.fmt));
		return report(vf, VL_EINVAL, d);
	}
	return batch(vf, NULL, out, max_rows, nrows, d);
}

int vl_vecfile_next_row(vl_vecfile *vf, const vl_jsonl_row **row, vl_diag *d)
{
	*row = NULL;
	size_t got;
	int rc = vl_vecfile_next(vf, vf->rowvec, 1, &got, d);
	if (rc || !got)
		return rc;
	if (vf->info.fmt == VL_VECFMT_JSONL || vf->info.fmt == VL_VECFMT_JSON) {
		*row = &vf->trow;
		return VL_OK;
	}
	vl_jsonl_row *r = &vf->brow;
	memset(r, 0, sizeof *r);
	int n = snprintf(vf->keybuf, sizeof vf->keybuf, "%llu", (unsigned long long)(vf->row - 1));
	r->key = vf->keybuf;
	r->key_len = (size_t)n;
	r->vector = vf->rowvec;
	r->dim = vf->info.dim;
	r->offset = vf->row_off;
	r->row = vf->row - 1;
	*row = r;
	return VL_OK;
}

/* ---- writers ------------------------------------------------------------------- */

static int write_xvecs_row(vl_sink *s, const void *v, uint32_t dim)
{
	if (dim == 0 || dim > VL_VECFILE_DIM_MAX || !v)
		return VL_EINVAL;
	uint8_t hdr[4];
	vl_st32(hdr, dim);
	vl_sink_write(s, hdr, 4);
	/* float32 and int32 are stored little-endian like the host (vl_bytes.h) */
	return vl_sink_write(s, v, (size_t)dim * 4);
}

int vl_fvecs_write_row(vl_sink *s, const float *v, uint32_t dim)
{
	return write_xvecs_row(s, v, dim);
}

int vl_ivecs_write_row(vl_sink *s, const int32_t *v, uint32_t dim)
{
	return write_xvecs_row(s, v, dim);
}
