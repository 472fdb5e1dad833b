/* read.h - reading rows inside a snapshot (get, cursor, search results). */
#ifndef VL_READ_H
#define VL_READ_H

#include "internal.h"

/* Row id a key maps to in the snapshot, 0 when absent. */
int vl_snap_key_rid(vl_snap *s, const void *key, size_t klen, uint64_t *rid);
/* Row record of rid (points into the LMDB map; valid for the snapshot). */
int vl_snap_rowrec(vl_snap *s, uint64_t rid, const uint8_t **rec, size_t *len);
/* Copy the original vector of rid (dim floats) from the buffer or a segment. */
int vl_snap_vector(vl_snap *s, uint64_t rid, float *out);
/* Assemble a vl_record in one allocation (realloced into buf and cap so a
 * cursor can reuse it). */
int vl_record_build(const vl_store *st, const vl_schema_rec *schema, const uint8_t *rec,
                    size_t rec_len, const float *vec, vl_rowbuf *rb, void **buf, size_t *cap);

#endif
