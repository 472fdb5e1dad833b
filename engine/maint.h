/* maint.h - helpers shared by flush, compaction, reindex and bulk import. */
#ifndef VL_MAINT_H
#define VL_MAINT_H

#include "internal.h"

/* Tombstone bits for one segment, gathered in memory and written at commit. */
typedef struct vl_tombs {
	uint32_t coll, seg;
	uint8_t **chunks;          /* per 65536 rows, NULL = none */
	uint32_t nchunks;
	uint64_t count;
} vl_tombs;

void vl_tombs_init(vl_tombs *t, uint32_t coll, uint32_t seg);
int vl_tombs_set(vl_tombs *t, uint32_t row);
int vl_tombs_write(const vl_tombs *t, const vl_store *st, MDB_txn *txn);
void vl_tombs_free(vl_tombs *t);

int vl_put_manifest(const vl_store *st, MDB_txn *txn, uint32_t coll, uint32_t seg, const vl_manifest *m);
/* Store a newly trained storage state (no-op when state is NULL). */
int vl_put_train(const vl_store *st, MDB_txn *txn, uint32_t coll, const uint8_t *state, size_t len);
/* Remove a segment's manifest entry and tombstone records. */
int vl_del_segment_records(const vl_store *st, MDB_txn *txn, uint32_t coll, uint32_t seg);
/* Unlink segment files after the commit that dropped them (best effort). */
void vl_unlink_segments(const vl_store *st, uint32_t coll, const uint32_t *segs, size_t n);

#endif
