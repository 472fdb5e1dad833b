/*
 * fuzz_npy.c - the pure .npy and IDX header parsers (format/vecfile_npy.c,
 * format/vecfile_bin.c) on arbitrary bytes, plus the xvecs dim check.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vecfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vl_npy_header h;
	vl_diag d;
	size_t total;
	int rc = vl_npy_header_size(data, size, &total, &d);
	int rc2 = vl_npy_parse_header(data, size, &h, &d);
	if (rc2 == VL_OK) {
		if (rc || h.header_bytes != total || total > size || h.dim == 0 ||
		    h.dim > VL_VECFILE_DIM_MAX || h.data_bytes != h.rows * h.dim * h.itemsize)
			abort();
		float row[64];
		size_t left = size - total;
		if (h.dim <= 64 && left >= (size_t)h.dim * h.itemsize)
			vl_npy_decode(h.dtype, data + total, h.dim, row);
	} else if (d.offset != VL_NO_OFFSET && d.offset > size + VL_NPY_HEADER_MAX) {
		abort();
	}
	vl_idx_header ih;
	if (vl_idx_parse_header(data, size, &ih, &d) == VL_OK) {
		if (ih.header_bytes > size || ih.dim == 0 || ih.dim > VL_VECFILE_DIM_MAX ||
		    ih.header_bytes != vl_idx_header_size(data, size))
			abort();
	}
	uint32_t dim;
	if (size >= 4 && vl_xvecs_dim(data, 0, &dim, &d) == VL_OK && (dim == 0 || dim > 65535))
		abort();
	return 0;
}
