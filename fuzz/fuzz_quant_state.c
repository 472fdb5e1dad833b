/*
 * fuzz_quant_state.c - the trained-state readers of the storage types
 * (engine/quant: lvq.c, leanvec.c, f16.c), which read QUANT sections from
 * segment files.
 *
 * Input: byte 0 picks the storage type (id 1..9), the rest is the state.
 * The view's dim and metric are taken from the state where it has them
 * (offsets 8 and 5), so fuzzing reaches past the header checks. open() must
 * succeed or fail with VL_ECORRUPT/VL_EINVAL and a message; a state that
 * opens must then encode, decode, prepare and compute every distance on a
 * few rows without a crash, and give finite distances for finite data.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quant/quant.h"
#include "vl_bytes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NROWS 5
#define DIM_CAP 512

static void exercise(const vl_qview *v0)
{
	vl_qview v = *v0;
	uint32_t dim = v.dim;
	float *x = calloc((size_t)NROWS * dim, sizeof *x), *out = calloc(dim, sizeof *out);
	uint8_t *prim = calloc(NROWS, v.pstride + 1), *sec = calloc(NROWS, v.sstride + 1);
	void *qbuf = NULL;
	if (posix_memalign(&qbuf, 64, v.qbuf_size + 64) || !x || !out || !prim || !sec)
		goto out;
	for (size_t i = 0; i < (size_t)NROWS * dim; i++)
		x[i] = (float)((int)(i * 7919 % 23) - 11) * 0.37f;
	for (int r = 0; r < NROWS; r++)
		v.ops->encode(&v, x + (size_t)r * dim, prim + (size_t)r * v.pstride,
		              v.sstride ? sec + (size_t)r * v.sstride : NULL);
	v.primary = prim;
	v.secondary = v.sstride ? sec : NULL;
	v.nrows = NROWS;
	v.ops->prepare(&v, x, qbuf);
	float d[NROWS];
	uint32_t ids[NROWS] = { 4, 0, 3, 1, 2 };
	v.ops->dist_range(&v, qbuf, 0, NROWS, d);
	v.ops->dist_rows(&v, qbuf, ids, NROWS, d);
	for (int r = 0; r < NROWS; r++) {
		(void)v.ops->dist(&v, qbuf, (uint64_t)r);
		if (v.ops->dist_secondary)
			(void)v.ops->dist_secondary(&v, qbuf, (uint64_t)r);
		v.ops->decode(&v, (uint64_t)r, 1, out);
		v.ops->decode(&v, (uint64_t)r, 0, out);
	}
out:
	free(x);
	free(out);
	free(prim);
	free(sec);
	free(qbuf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const vl_quant_ops *ops = vl_quant_by_id(1 + data[0] % 9);
	const uint8_t *st = data + 1;
	size_t len = size - 1;
	if (!ops)
		return 0;
	uint32_t dim = len >= 12 ? vl_ld32(st + 8) : 8;
	if (dim == 0 || dim > DIM_CAP)
		dim = 1 + dim % DIM_CAP;
	vl_metric metric = len >= 6 && st[5] >= 1 && st[5] <= 3 ? (vl_metric)st[5] : VL_METRIC_L2;
	vl_qview v = { .ops = ops, .dim = dim, .metric = metric };
	vl_diag d;
	vl_diag_clear(&d);
	int rc = ops->open(&v, len ? st : NULL, len, &d);
	if (rc) {
		if ((rc != VL_ECORRUPT && rc != VL_EINVAL && rc != VL_ENOMEM) || !d.msg[0])
			abort();
		return 0;
	}
	if (v.pstride == 0 && ops->id != 1)
		abort();
	if (ops->id != 1) /* float32 reads VECTORS directly; nothing to encode */
		exercise(&v);
	ops->close(&v);
	return 0;
}
