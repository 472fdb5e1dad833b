/*
 * vecfile_npy.c - NumPy .npy files (format versions 1.0, 2.0, 3.0).
 *
 * Layout: "\x93NUMPY", major, minor, header length (uint16 LE for 1.0,
 * uint32 LE for 2.0/3.0), then the header: a Python dict literal
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (1000, 128), }
 * padded with spaces and a final '\n' (ASCII; UTF-8 in 3.0). The array data
 * follow the header. Only the three keys above are allowed, each once.
 */
#include <string.h>

#include "vecfile_int.h"
#include "vl_bytes.h"

#define NPY_MAX_NDIM 32

int vl_npy_header_size(const void *buf, size_t len, size_t *total, vl_diag *d)
{
	const uint8_t *b = buf;
	size_t m = len < 6 ? len : 6;
	if (memcmp(b, "\x93NUMPY", m) != 0)
		return vl_diag_set(d, VL_EFORMAT, 0, "not an npy file (no \\x93NUMPY magic)");
	if (len < 8)
		return vl_diag_set(d, VL_EFORMAT, len, "truncated npy header (%zu bytes)", len);
	uint8_t major = b[6], minor = b[7];
	if (major < 1 || major > 3 || minor != 0)
		return vl_diag_set(d, VL_EUNSUPPORTED, 6,
		                   "npy format version %u.%u is not supported (1.0, 2.0, 3.0 are)",
		                   major, minor);
	size_t pre = major == 1 ? 10 : 12;
	if (len < pre)
		return vl_diag_set(d, VL_EFORMAT, len, "truncated npy header (%zu bytes)", len);
	uint64_t hl = major == 1 ? vl_ld16(b + 8) : vl_ld32(b + 8);
	if (hl > VL_NPY_HEADER_MAX)
		return vl_diag_set(d, VL_ELIMIT, 8, "npy header of %llu bytes is larger than %u",
		                   (unsigned long long)hl, VL_NPY_HEADER_MAX);
	*total = pre + (size_t)hl;
	return VL_OK;
}

/* ---- the header dict ---------------------------------------------------------- */

typedef struct pyp {
	const uint8_t *t;
	size_t p, end;
	vl_diag *d;
} pyp;

static void py_ws(pyp *x)
{
	while (x->p < x->end && (x->t[x->p] == ' ' || x->t[x->p] == '\t' || x->t[x->p] == '\n' ||
	                         x->t[x->p] == '\r'))
		x->p++;
}

static int py_peek(const pyp *x)
{
	return x->p < x->end ? x->t[x->p] : -1;
}

static int py_fail(pyp *x, const char *what)
{
	char got[24];
	int c = py_peek(x);
	if (c < 0)
		snprintf(got, sizeof got, "the end of the header");
	else if (c >= 0x20 && c < 0x7f)
		snprintf(got, sizeof got, "'%c'", c);
	else
		snprintf(got, sizeof got, "byte 0x%02x", c);
	return vl_diag_set(x->d, VL_EFORMAT, x->p, "malformed npy header: expected %s, found %s",
	                   what, got);
}

static int py_expect(pyp *x, char c, const char *what)
{
	py_ws(x);
	if (py_peek(x) != c)
		return py_fail(x, what);
	x->p++;
	return VL_OK;
}

/* A quoted string without escapes; s and n point into the header. */
static int py_string(pyp *x, const char **s, size_t *n)
{
	py_ws(x);
	int q = py_peek(x);
	if (q != '\'' && q != '"')
		return py_fail(x, "a quoted string");
	size_t start = ++x->p;
	while (x->p < x->end && x->t[x->p] != q) {
		if (x->t[x->p] == '\\' || x->t[x->p] == '\n')
			return py_fail(x, "a plain string (no escapes or newlines)");
		x->p++;
	}
	if (x->p >= x->end)
		return py_fail(x, "the end of a string");
	*s = (const char *)x->t + start;
	*n = x->p - start;
	x->p++;
	return VL_OK;
}

static int py_bool(pyp *x, int *v)
{
	py_ws(x);
	if (x->end - x->p >= 4 && memcmp(x->t + x->p, "True", 4) == 0) {
		x->p += 4;
		*v = 1;
		return VL_OK;
	}
	if (x->end - x->p >= 5 && memcmp(x->t + x->p, "False", 5) == 0) {
		x->p += 5;
		*v = 0;
		return VL_OK;
	}
	return py_fail(x, "True or False");
}

static int py_uint(pyp *x, uint64_t *v)
{
	py_ws(x);
	size_t start = x->p;
	uint64_t r = 0;
	while (x->p < x->end && x->t[x->p] >= '0' && x->t[x->p] <= '9') {
		unsigned dgt = (unsigned)(x->t[x->p] - '0');
		if (r > (UINT64_MAX - dgt) / 10)
			return vl_diag_set(x->d, VL_EFORMAT, start, "npy header: shape value overflows");
		r = r * 10 + dgt;
		x->p++;
	}
	if (x->p == start)
		return py_fail(x, "a non-negative integer");
	if (x->p < x->end && x->t[x->p] == 'L') /* Python 2 long suffix */
		x->p++;
	*v = r;
	return VL_OK;
}

/* (a, b, ...) with an optional trailing comma; "()" is a 0-d shape. */
static int py_shape(pyp *x, uint64_t *shape, unsigned *ndim)
{
	int rc = py_expect(x, '(', "'(' starting the shape tuple");
	if (rc)
		return rc;
	*ndim = 0;
	for (;;) {
		py_ws(x);
		if (py_peek(x) == ')') {
			x->p++;
			return VL_OK;
		}
		if (*ndim == NPY_MAX_NDIM)
			return vl_diag_set(x->d, VL_EFORMAT, x->p, "npy header: more than %d dimensions",
			                   NPY_MAX_NDIM);
		if ((rc = py_uint(x, &shape[(*ndim)++])))
			return rc;
		py_ws(x);
		if (py_peek(x) == ',')
			x->p++;
		else if (py_peek(x) != ')')
			return py_fail(x, "',' or ')' in the shape tuple");
	}
}

typedef struct npy_dict {
	const char *descr;
	size_t descr_len;
	int fortran;
	uint64_t shape[NPY_MAX_NDIM];
	unsigned ndim;
	int seen[3];
	uint64_t descr_off;
} npy_dict;

static int dict_value(pyp *x, npy_dict *h, int which)
{
	switch (which) {
	case 0:
		py_ws(x);
		h->descr_off = x->p;
		if (py_peek(x) == '[')
			return vl_diag_set(x->d, VL_EUNSUPPORTED, x->p,
			                   "npy dtype is structured (descr is a list); only '<f4', '<f8' "
			                   "and '<f2' arrays are supported");
		return py_string(x, &h->descr, &h->descr_len);
	case 1:
		return py_bool(x, &h->fortran);
	default:
		return py_shape(x, h->shape, &h->ndim);
	}
}

static int parse_dict(pyp *x, npy_dict *h)
{
	static const char *const keys[3] = { "descr", "fortran_order", "shape" };
	int rc = py_expect(x, '{', "'{' starting the header dict");
	if (rc)
		return rc;
	for (;;) {
		py_ws(x);
		if (py_peek(x) == '}') {
			x->p++;
			break;
		}
		size_t kpos = x->p, kn;
		const char *k;
		if ((rc = py_string(x, &k, &kn)))
			return rc;
		int which = 0;
		while (which < 3 && !(strlen(keys[which]) == kn && memcmp(keys[which], k, kn) == 0))
			which++;
		if (which == 3)
			return vl_diag_set(x->d, VL_EFORMAT, kpos, "npy header has an unknown key '%.*s'",
			                   (int)(kn > 40 ? 40 : kn), k);
		if (h->seen[which]++)
			return vl_diag_set(x->d, VL_EFORMAT, kpos, "npy header repeats key '%s'",
			                   keys[which]);
		if ((rc = py_expect(x, ':', "':' after a key")) || (rc = dict_value(x, h, which)))
			return rc;
		py_ws(x);
		if (py_peek(x) == ',')
			x->p++;
		else if (py_peek(x) != '}')
			return py_fail(x, "',' or '}' in the header dict");
	}
	py_ws(x);
	if (x->p != x->end)
		return py_fail(x, "only padding after the header dict");
	for (int i = 0; i < 3; i++)
		if (!h->seen[i])
			return vl_diag_set(x->d, VL_EFORMAT, x->end, "npy header lacks the key '%s'",
			                   keys[i]);
	return VL_OK;
}

/* ---- semantics ------------------------------------------------------------------- */

static int set_dtype(const npy_dict *dict, vl_npy_header *h, vl_diag *d)
{
	static const struct { const char *descr; vl_npy_dtype dt; uint32_t size; } ok[] = {
		{ "<f4", VL_NPY_F4, 4 }, { "<f8", VL_NPY_F8, 8 }, { "<f2", VL_NPY_F2, 2 }
	};
	for (size_t i = 0; i < 3; i++)
		if (dict->descr_len == 3 && memcmp(dict->descr, ok[i].descr, 3) == 0) {
			h->dtype = ok[i].dt;
			h->descr = ok[i].descr;
			h->itemsize = ok[i].size;
			return VL_OK;
		}
	int n = (int)(dict->descr_len > 40 ? 40 : dict->descr_len);
	return vl_diag_set(d, VL_EUNSUPPORTED, dict->descr_off,
	                   "npy dtype '%.*s' is not supported: vectors need '<f4' (float32, "
	                   "little-endian); '<f8' and '<f2' are converted%s", n, dict->descr,
	                   n > 0 && dict->descr[0] == '>' ? " (this array is big-endian)" : "");
}

static int set_shape(const npy_dict *dict, vl_npy_header *h, vl_diag *d)
{
	char shp[64] = "(";
	for (unsigned i = 0; i < dict->ndim && i < 4; i++) {
		size_t l = strlen(shp);
		snprintf(shp + l, sizeof shp - l, "%s%llu", i ? ", " : "",
		         (unsigned long long)dict->shape[i]);
	}
	strncat(shp, dict->ndim == 1 ? ",)" : dict->ndim > 4 ? ", ...)" : ")",
	        sizeof shp - strlen(shp) - 1);
	if (dict->ndim != 2)
		return vl_diag_set(d, VL_EUNSUPPORTED, h->header_bytes,
		                   "npy array has shape %s; vectors need a 2-D array (rows, dim)", shp);
	if (dict->shape[1] == 0)
		return vl_diag_set(d, VL_EFORMAT, h->header_bytes, "npy array has dim 0 (shape %s)", shp);
	if (dict->shape[1] > VL_VECFILE_DIM_MAX)
		return vl_diag_set(d, VL_EDIM, h->header_bytes,
		                   "npy array has dim %llu, more than the maximum %u (shape %s)",
		                   (unsigned long long)dict->shape[1], VL_VECFILE_DIM_MAX, shp);
	h->rows = dict->shape[0];
	h->dim = (uint32_t)dict->shape[1];
	uint64_t row_bytes = (uint64_t)h->dim * h->itemsize;
	if (h->rows > UINT64_MAX / row_bytes)
		return vl_diag_set(d, VL_EFORMAT, h->header_bytes, "npy shape %s overflows", shp);
	h->data_bytes = h->rows * row_bytes;
	return VL_OK;
}

int vl_npy_parse_header(const void *buf, size_t len, vl_npy_header *h, vl_diag *d)
{
	memset(h, 0, sizeof *h);
	size_t total;
	int rc = vl_npy_header_size(buf, len, &total, d);
	if (rc)
		return rc;
	if (len < total)
		return vl_diag_set(d, VL_EFORMAT, len, "truncated npy header (%zu of %zu bytes)", len,
		                   total);
	const uint8_t *b = buf;
	h->major = b[6];
	h->minor = b[7];
	h->header_bytes = total;
	npy_dict dict;
	memset(&dict, 0, sizeof dict);
	pyp x = { b, h->major == 1 ? 10 : 12, total, d };
	if ((rc = parse_dict(&x, &dict)) || (rc = set_dtype(&dict, h, d)))
		return rc;
	if (dict.fortran)
		return vl_diag_set(d, VL_EUNSUPPORTED, 0,
		                   "npy array has fortran_order True (column-major); save it in C "
		                   "order (numpy.ascontiguousarray)");
	return set_shape(&dict, h, d);
}

/* ---- data ---------------------------------------------------------------------------- */

float vl_half_to_float(uint16_t h)
{
	uint32_t sign = (uint32_t)(h >> 15) << 31;
	uint32_t e = (h >> 10) & 31, m = h & 1023;
	uint32_t bits;
	if (e == 31) {
		bits = sign | 0x7f800000u | m << 13;
	} else if (e == 0) {
		float f = (float)m * 0x1p-24f; /* subnormal: exact */
		memcpy(&bits, &f, 4);
		bits |= sign;
	} else {
		bits = sign | (e + 112) << 23 | m << 13;
	}
	float f;
	memcpy(&f, &bits, 4);
	return f;
}

void vl_npy_decode(vl_npy_dtype dt, const void *src, uint32_t dim, float *out)
{
	const uint8_t *b = src;
	switch (dt) {
	case VL_NPY_F4:
		memcpy(out, b, (size_t)dim * 4);
		break;
	case VL_NPY_F8:
		for (uint32_t i = 0; i < dim; i++)
			out[i] = (float)vl_ldf64(b + 8 * (size_t)i);
		break;
	case VL_NPY_F2:
		for (uint32_t i = 0; i < dim; i++)
			out[i] = vl_half_to_float(vl_ld16(b + 2 * (size_t)i));
		break;
	}
}

int vf_open_npy(vl_vecfile *vf)
{
	int rc = vf_fill(vf, VL_NPY_PREFIX);
	if (rc)
		return rc;
	size_t total;
	if ((rc = vl_npy_header_size(vf->buf + vf->pos, vf_avail(vf), &total, &vf->diag)))
		return rc;
	if ((rc = vf_fill(vf, total)))
		return rc;
	vl_npy_header h;
	if ((rc = vl_npy_parse_header(vf->buf + vf->pos, vf_avail(vf), &h, &vf->diag)))
		return rc;
	if (h.rows == 0)
		return vl_diag_set(&vf->diag, VL_EFORMAT, h.header_bytes, "npy array has no rows");
	vf->pos += h.header_bytes;
	vf->npy_dtype = h.dtype;
	vf->info.dim = h.dim;
	vf->info.rows = h.rows;
	vf->info.source_type = h.dtype == VL_NPY_F4 ? "float32"
	                     : h.dtype == VL_NPY_F8 ? "float64" : "float16";
	vf->info.converted = h.dtype != VL_NPY_F4;
	vf->rows_total = h.rows;
	vf->row_bytes = (size_t)h.dim * h.itemsize;
	vf->read = vf_read_fixed;
	return VL_OK;
}
