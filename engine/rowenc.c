/*
 * rowenc.c - encoding a batch's row records in parallel. zstd of long text
 * attributes (LlamaIndex's _node_content, document text) is most of the
 * CPU time of a bulk import and is independent per row, while the LMDB
 * writes that follow are serial; the batch is split into contiguous slices,
 * one per thread, and the caller writes the records in row order.
 */
#include <pthread.h>
#include <stdlib.h>

#include "records.h"
#include "rowenc.h"
#include "values.h"
#include "vthread.h"

#define MAX_THREADS 8
#define PARALLEL_MIN_ROWS 32
#define PARALLEL_MIN_TEXT (256u << 10) /* bytes of long text in the batch */

typedef struct slice {
	const vl_store *st;
	const vl_schema_rec *s;
	const vl_row *rows;
	size_t from, to;
	vl_rowenc *out;
	int rc;
} slice;

static void *encode_slice(void *arg)
{
	slice *sl = arg;
	size_t maxv = 1;
	for (size_t i = sl->from; i < sl->to; i++)
		if (sl->rows[i].nvalues > maxv)
			maxv = sl->rows[i].nvalues;
	vl_rowval *vals = malloc(maxv * sizeof *vals);
	if (!vals) {
		sl->rc = VL_ENOMEM;
		return NULL;
	}
	for (size_t i = sl->from; i < sl->to && !sl->rc; i++) {
		const vl_row *r = &sl->rows[i];
		vl_diag d;
		vl_diag_clear(&d);
		/* validated before: only memory can fail here (a worker's vl_fail
		 * message would land in its own thread's slot, so the code alone
		 * is passed back) */
		if ((sl->rc = vl_values_to_row(sl->st, sl->s, r->values, r->nvalues, vals, "row")))
			break;
		sl->rc = vl_rowrec_encode(r->key, r->key_len, vals, (uint32_t)r->nvalues, &sl->out[i].rec,
		                          &sl->out[i].len, &d);
	}
	free(vals);
	return NULL;
}

static size_t long_text_bytes(const vl_row *rows, size_t n)
{
	size_t sum = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < rows[i].nvalues; j++)
			if (rows[i].values[j].data && rows[i].values[j].len >= VL_TEXT_COMPRESS_MIN)
				sum += rows[i].values[j].len;
	return sum;
}

int vl_rowenc_batch(const vl_store *st, const vl_schema_rec *s, const vl_row *rows, size_t n,
                    vl_rowenc *out)
{
	unsigned nth = 1;
	if (n >= PARALLEL_MIN_ROWS && long_text_bytes(rows, n) >= PARALLEL_MIN_TEXT) {
		nth = vl_ncpu();
		if (nth > MAX_THREADS)
			nth = MAX_THREADS;
		if (nth > n / (PARALLEL_MIN_ROWS / 2))
			nth = (unsigned)(n / (PARALLEL_MIN_ROWS / 2));
	}
	slice sl[MAX_THREADS];
	pthread_t th[MAX_THREADS];
	unsigned started = 0;
	for (unsigned k = 0; k < nth; k++)
		sl[k] = (slice){ st, s, rows, n * k / nth, n * (k + 1) / nth, out, VL_OK };
	/* slices 1.. on new threads (one that cannot start runs here), 0 here */
	for (unsigned k = 1; k < nth; k++)
		if (vl_thread_start(&th[k], encode_slice, &sl[k]) == 0)
			started |= 1u << k;
		else
			encode_slice(&sl[k]);
	encode_slice(&sl[0]);
	int rc = VL_OK;
	for (unsigned k = 0; k < nth; k++) {
		if (started & (1u << k))
			pthread_join(th[k], NULL);
		if (sl[k].rc && !rc)
			rc = sl[k].rc;
	}
	if (rc)
		return vl_fail(st, rc, "encoding row records: %s", vl_strerror(rc));
	return VL_OK;
}
