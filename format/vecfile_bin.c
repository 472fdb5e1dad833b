/*
 * vecfile_bin.c - .fvecs/.bvecs/.ivecs rows, IDX headers, and the reader of
 * fixed-size rows after a header (IDX, npy).
 *
 * xvecs: each row is an int32 little-endian dim followed by dim values
 * (float32 for .fvecs, uint8 for .bvecs, int32 for .ivecs); every row must
 * have the first row's dim. IDX: big-endian header 0x00 0x00 <type> <ndim>
 * then ndim uint32 sizes; the data follow as rows of the product of the
 * sizes after the first.
 */
#include <math.h>
#include <string.h>

#include "vecfile_int.h"
#include "vl_bytes.h"

int vl_xvecs_dim(const void *p, uint64_t off, uint32_t *dim, vl_diag *d)
{
	int32_t v = (int32_t)vl_ld32(p);
	if (v == 0)
		return vl_diag_set(d, VL_EFORMAT, off, "dim 0");
	if (v < 0)
		return vl_diag_set(d, VL_EFORMAT, off, "negative dim %d", v);
	if ((uint32_t)v > VL_VECFILE_DIM_MAX)
		return vl_diag_set(d, VL_EDIM, off,
		                   "dim %d exceeds the maximum %u (is the file in this format?)", v,
		                   VL_VECFILE_DIM_MAX);
	*dim = (uint32_t)v;
	return VL_OK;
}

size_t vl_xvecs_row_bytes(vl_vecfmt fmt, uint32_t dim)
{
	return 4 + (size_t)dim * (fmt == VL_VECFMT_BVECS ? 1 : 4);
}

void vl_fvecs_decode(const void *src, uint32_t dim, float *out)
{
	memcpy(out, src, (size_t)dim * 4); /* little-endian host (vl_bytes.h) */
}

void vl_bvecs_decode(const void *src, uint32_t dim, float *out)
{
	const uint8_t *b = src;
	for (uint32_t i = 0; i < dim; i++)
		out[i] = (float)b[i];
}

void vl_ivecs_decode(const void *src, uint32_t dim, int32_t *out)
{
	memcpy(out, src, (size_t)dim * 4);
}

uint32_t vl_first_nonfinite(const float *v, uint32_t dim)
{
	for (uint32_t i = 0; i < dim; i++)
		if (!isfinite(v[i]))
			return i;
	return dim;
}

/* ---- xvecs reader ----------------------------------------------------------- */

static int xvecs_read(vl_vecfile *vf, float *out, int32_t *out_i)
{
	int rc = vf_fill(vf, 4);
	if (rc)
		return rc;
	size_t avail = vf_avail(vf);
	if (avail == 0)
		return 0;
	uint64_t off = vf_off(vf);
	vf->row_off = off;
	if (avail < 4)
		return vf_fail(vf, VL_EFORMAT, off,
		               "truncated row: %zu bytes left where a 4-byte dim was expected", avail);
	const uint8_t *p = vf->buf + vf->pos;
	uint32_t dim = 0;
	vl_diag sub;
	vl_diag_clear(&sub);
	if ((rc = vl_xvecs_dim(p, off, &dim, &sub)))
		return vf_fail_sub(vf, &sub);
	if (dim != vf->info.dim)
		return vf_fail(vf, VL_EDIM, off, "row has dim %u but the first row has dim %u", dim,
		               vf->info.dim);
	if ((rc = vf_fill(vf, vf->row_bytes)))
		return rc;
	avail = vf_avail(vf);
	if (avail < vf->row_bytes)
		return vf_fail(vf, VL_EFORMAT, off,
		               "truncated row: dim %u needs %zu bytes but only %zu remain", dim,
		               vf->row_bytes, avail);
	p = vf->buf + vf->pos + 4;
	if (vf->info.fmt == VL_VECFMT_FVECS)
		vl_fvecs_decode(p, dim, out);
	else if (vf->info.fmt == VL_VECFMT_BVECS)
		vl_bvecs_decode(p, dim, out);
	else
		vl_ivecs_decode(p, dim, out_i);
	vf->pos += vf->row_bytes;
	return 1;
}

int vf_open_xvecs(vl_vecfile *vf)
{
	int rc = vf_fill(vf, 4);
	if (rc)
		return rc;
	size_t avail = vf_avail(vf);
	if (avail < 4)
		return vl_diag_set(&vf->diag, VL_EFORMAT, 0,
		                   "row 0: truncated row: the file has %zu bytes, less than the 4-byte dim",
		                   avail);
	vl_diag sub;
	vl_diag_clear(&sub);
	if ((rc = vl_xvecs_dim(vf->buf + vf->pos, 0, &vf->info.dim, &sub)))
		return vf_fail_sub(vf, &sub);
	vf->row_bytes = vl_xvecs_row_bytes(vf->info.fmt, vf->info.dim);
	if (vf->file_size != UINT64_MAX && vf->file_size % vf->row_bytes == 0)
		vf->info.rows = vf->file_size / vf->row_bytes;
	switch (vf->info.fmt) {
	case VL_VECFMT_FVECS:
		vf->info.source_type = "float32";
		break;
	case VL_VECFMT_BVECS:
		vf->info.source_type = "uint8";
		vf->info.converted = 1;
		break;
	default:
		vf->info.source_type = "int32";
		vf->info.int_rows = 1;
		break;
	}
	vf->read = xvecs_read;
	return VL_OK;
}

/* ---- fixed-size rows after a header ------------------------------------------ */

static void decode_fixed(const vl_vecfile *vf, const uint8_t *p, float *out)
{
	if (vf->info.fmt == VL_VECFMT_IDX)
		vl_bvecs_decode(p, vf->info.dim, out);
	else
		vl_npy_decode(vf->npy_dtype, p, vf->info.dim, out);
}

int vf_read_fixed(vl_vecfile *vf, float *out, int32_t *out_i)
{
	(void)out_i;
	int rc;
	if (vf->row == vf->rows_total) {
		if ((rc = vf_fill(vf, 1)))
			return rc;
		if (vf_avail(vf) == 0)
			return 0;
		/* the exact count when the size is known (and the file did not shrink) */
		int exact = vf->file_size != UINT64_MAX && vf->file_size > vf_off(vf);
		uint64_t extra = exact ? vf->file_size - vf_off(vf) : (uint64_t)vf_avail(vf);
		return vl_diag_set(&vf->diag, VL_EFORMAT, vf_off(vf),
		                   "%s%llu unexpected bytes after the last row (the header declares "
		                   "%llu rows of dim %u)", exact ? "" : "at least ",
		                   (unsigned long long)extra, (unsigned long long)vf->rows_total,
		                   vf->info.dim);
	}
	if ((rc = vf_fill(vf, vf->row_bytes)))
		return rc;
	size_t avail = vf_avail(vf);
	vf->row_off = vf_off(vf);
	if (avail < vf->row_bytes)
		return vf_fail(vf, VL_EFORMAT, vf->row_off,
		               "truncated row: needs %zu bytes but only %zu remain (the header "
		               "declares %llu rows of dim %u)", vf->row_bytes, avail,
		               (unsigned long long)vf->rows_total, vf->info.dim);
	decode_fixed(vf, vf->buf + vf->pos, out);
	vf->pos += vf->row_bytes;
	return 1;
}

/* ---- IDX ------------------------------------------------------------------------ */

size_t vl_idx_header_size(const void *buf, size_t len)
{
	const uint8_t *b = buf;
	return len < 4 ? 0 : 4 + 4 * (size_t)b[3];
}

int vl_idx_parse_header(const void *buf, size_t len, vl_idx_header *h, vl_diag *d)
{
	const uint8_t *b = buf;
	memset(h, 0, sizeof *h);
	if (len < 4)
		return vl_diag_set(d, VL_EFORMAT, len, "truncated IDX header (%zu bytes)", len);
	if (b[0] != 0 || b[1] != 0)
		return vl_diag_set(d, VL_EFORMAT, 0, "not an IDX file: magic %08x does not start with "
		                   "two zero bytes", vl_ld32be(b));
	h->type = b[2];
	h->ndim = b[3];
	if (h->type != 0x08)
		return vl_diag_set(d, VL_EUNSUPPORTED, 2, "IDX element type 0x%02x is not supported "
		                   "(only 0x08, unsigned byte)", h->type);
	if (h->ndim != 2 && h->ndim != 3)
		return vl_diag_set(d, VL_EUNSUPPORTED, 3, "IDX file has %u dimensions; vectors need 2 "
		                   "(rows, dim) or 3 (rows, height, width)", h->ndim);
	h->header_bytes = 4 + 4 * (size_t)h->ndim;
	if (len < h->header_bytes)
		return vl_diag_set(d, VL_EFORMAT, len, "truncated IDX header (%zu of %zu bytes)", len,
		                   h->header_bytes);
	h->rows = vl_ld32be(b + 4);
	uint64_t dim = 1;
	for (unsigned i = 1; i < h->ndim; i++)
		dim *= vl_ld32be(b + 4 + 4 * i);
	if (dim == 0)
		return vl_diag_set(d, VL_EFORMAT, 8, "IDX rows have dim 0");
	if (dim > VL_VECFILE_DIM_MAX)
		return vl_diag_set(d, VL_EDIM, 8, "IDX rows have dim %llu, more than the maximum %u",
		                   (unsigned long long)dim, VL_VECFILE_DIM_MAX);
	h->dim = (uint32_t)dim;
	return VL_OK;
}

int vf_open_idx(vl_vecfile *vf)
{
	int rc = vf_fill(vf, 4);
	if (rc)
		return rc;
	size_t hs = vl_idx_header_size(vf->buf + vf->pos, vf_avail(vf));
	if (hs && (rc = vf_fill(vf, hs)))
		return rc;
	vl_idx_header h;
	if ((rc = vl_idx_parse_header(vf->buf + vf->pos, vf_avail(vf), &h, &vf->diag)))
		return rc;
	if (h.rows == 0)
		return vl_diag_set(&vf->diag, VL_EFORMAT, 4, "IDX file has no rows");
	vf->pos += h.header_bytes;
	vf->info.dim = h.dim;
	vf->info.rows = h.rows;
	vf->info.source_type = "uint8";
	vf->info.converted = 1;
	vf->rows_total = h.rows;
	vf->row_bytes = h.dim;
	vf->read = vf_read_fixed;
	return VL_OK;
}
