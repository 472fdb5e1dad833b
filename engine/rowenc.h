/* rowenc.h - the LMDB row records of a batch of upserts, encoded on several
 * threads when the batch carries enough text to pay for them. */
#ifndef VL_ROWENC_H
#define VL_ROWENC_H

#include "internal.h"

typedef struct vl_rowenc {
	uint8_t *rec; /* malloc'ed row record (vl_rowrec_encode) */
	size_t len;
} vl_rowenc;

/* Encode rows[0..n) into out[0..n) (caller frees each out[i].rec, also on
 * failure). The rows must already have passed validation (vl_values_to_row
 * with the same schema); what can still fail is memory: VL_ENOMEM, with
 * the message set on st for the calling thread. */
int vl_rowenc_batch(const vl_store *st, const vl_schema_rec *s, const vl_row *rows, size_t n,
                    vl_rowenc *out);

#endif
