/* txn.h - write transaction internals shared by txn.c and bulk.c. */
#ifndef VL_TXN_H
#define VL_TXN_H

#include "internal.h"

struct vl_bulk;

/* A collection touched by a write transaction: its schema, counters and the
 * segment set current for the writer (stable: manifest changes need the
 * writer lock we hold). */
typedef struct vl_tcoll {
	uint32_t id;
	vl_collection *c;
	vl_schema_rec schema;
	vl_cstate cs;
	vl_segset *set;
	int dirty;
} vl_tcoll;

struct vl_txn {
	vl_store *st;
	MDB_txn *txn;
	int lockfd;
	int broken;               /* an LMDB failure left the txn unusable */
	vl_tcoll *colls;
	size_t ncolls;
	uint8_t *keybuf;          /* 4 + VL_KEY_MAX */
	struct vl_bulk *bulk;     /* bulk load: vectors go to its spill file */
	int no_jobs;              /* skip automatic flush/compaction after commit */
};

int vl_txn_coll(vl_txn *t, vl_collection *c, vl_tcoll **out);
/* Delete a row version: buffer entry or tombstone, row record, live count. */
int vl_txn_remove_rid(vl_txn *t, vl_tcoll *tc, uint64_t rid);
/* Write dirty collections' counters into the txn. */
int vl_txn_flush_counters(vl_txn *t);

/* bulk.c */
int vl_bulk_spill(struct vl_bulk *b, uint64_t rid, const float *vec);

/* flush.c: count a failed automatic flush (best effort). */
void vl_note_flush_failure(vl_collection *c);

#endif
