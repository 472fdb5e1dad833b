/*
 * fuzz_vecfile.c - the streaming vector-file reader (format/vecfile*.c).
 * Byte 0 picks the format (low 3 bits) and the read-chunk size; the rest
 * is the file. Every row is read (float batches, int rows for ivecs, or
 * rows with keys), going on after VL_ENAN; errors must name the file.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vecfile.h"

static void check_err(int rc, const vl_diag *d)
{
	if (rc >= 0 || rc < VL_ECODE_MIN || !strstr(d->msg, "fz"))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static const size_t chunks[8] = { 1, 2, 3, 7, 16, 64, 333, 4096 };
	vl_vecfile_opts o = VL_VECFILE_OPTS_INIT;
	o.fmt = (vl_vecfmt)(data[0] & 7);
	o.chunk = chunks[(data[0] >> 3) & 7];
	o.line_max = 1 << 16;
	int mode = data[0] >> 6; /* 0/1 batches, 2 rows, 3 batches allowing NaN */
	if (mode == 3)
		o.flags = VL_VECFILE_ALLOW_NONFINITE;
	vl_vecfile *vf;
	vl_diag d;
	int rc = vl_vecfile_open_mem(data + 1, size - 1, "fz", &o, &vf, &d);
	if (rc) {
		check_err(rc, &d);
		return 0;
	}
	const vl_vecfile_info *in = vl_vecfile_info_get(vf);
	if (in->dim == 0 || in->dim > VL_VECFILE_DIM_MAX)
		abort();
	size_t batch = 1 + (size % 5);
	void *buf = malloc((size_t)in->dim * batch * 4);
	uint64_t rows = 0;
	for (int guard = 0; guard < 1000000; guard++) {
		size_t got = 0;
		if (in->int_rows) {
			rc = vl_vecfile_next_i32(vf, buf, batch, &got, &d);
		} else if (mode == 2) {
			const vl_jsonl_row *r;
			rc = vl_vecfile_next_row(vf, &r, &d);
			got = r != NULL;
			if (r && (r->dim != in->dim || r->key_len == 0))
				abort();
		} else {
			rc = vl_vecfile_next(vf, buf, batch, &got, &d);
		}
		if (rc == VL_ENAN) {
			check_err(rc, &d);
			continue;
		}
		if (rc) {
			check_err(rc, &d);
			break;
		}
		if (!got)
			break;
		rows += got;
	}
	if (in->rows != UINT64_MAX && rows > in->rows)
		abort();
	free(buf);
	vl_vecfile_close(vf);
	return 0;
}
