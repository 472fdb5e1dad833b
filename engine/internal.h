/*
 * internal.h - engine state shared by the engine's files (not installed).
 *
 * Object graph:
 *   vl_store (per vl_open call) -> vl_env (per store directory per process,
 *   shared: LMDB forbids opening one environment twice in a process)
 *   vl_env -> vl_cshared (per collection id: the mapped segment set)
 *   vl_collection (per handle) -> vl_cshared
 */
#ifndef VL_INTERNAL_H
#define VL_INTERNAL_H

#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "records.h"
#include "veclite.h"
#include "vl_diag.h"

#define VL_STORE_FORMAT 1u          /* version of the store layout + LMDB records */
#define VL_TOMB_CHUNK_ROWS 65536u   /* rows per tombstone bitmap record */
#define VL_TOMB_CHUNK_BYTES (VL_TOMB_CHUNK_ROWS / 8u)
#define VL_DEFAULT_MAP_SIZE (1ull << 40)
#define VL_DEFAULT_MAX_READERS 1024u
#define VL_RETRIES 8                /* snapshot retries when a segment file vanished */

typedef struct vl_segmap vl_segmap;

/* The segments of one collection at one manifest generation (immutable). */
typedef struct vl_segset {
	atomic_int refs;
	uint64_t gen;
	uint32_t n;
	vl_segmap **segs;           /* ascending rid_min; ranges may interleave, id sets never overlap */
} vl_segset;

typedef struct vl_cshared {
	uint32_t id;
	int refs;                   /* under env->mu */
	pthread_mutex_t mu;         /* protects cur */
	vl_segset *cur;             /* newest set built, or NULL */
	struct vl_cshared *next;
} vl_cshared;

typedef struct vl_dbis {
	MDB_dbi meta, colls, schema, cstate, keys, rows, buf, tomb, segs, train;
} vl_dbis;

typedef struct vl_env {
	dev_t dev;
	ino_t ino;
	int refs;                   /* under the global registry lock */
	char *path;                 /* directory, as first opened */
	int dirfd;
	uint32_t flags;             /* VL_OPEN_* the env was opened with */
	MDB_env *env;
	vl_dbis db;
	uint8_t uuid[16];
	pthread_mutex_t mu;         /* protects shared and the map fields */
	vl_cshared *shared;
	struct vl_env *next;
	int map_probed;             /* LMDB's mapping looked up (lmdbmap.c) */
	void *map_addr;
	size_t map_len;
} vl_env;

/* Unmap the pages of LMDB's map from this process (lmdbmap.c): bulk loads
 * read or fault in every page once, and would otherwise keep them all. */
void vl_lmdb_release_map(vl_env *e);

struct vl_store {
	vl_env *e;
	uint32_t flags;
};

struct vl_collection {
	vl_store *st;
	uint32_t id;
	char *name;
	vl_cshared *sh;
};

/* ---- errors (err.c) ------------------------------------------------------ */
/* Record a failure for vl_errmsg(st) on this thread and return code. */
int vl_fail(const vl_store *st, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Same, taking the code and text from a vl_diag. */
int vl_fail_diag(const vl_store *st, const vl_diag *d);
/* Map an LMDB return code (what: the operation, for the message). */
int vl_fail_mdb(const vl_store *st, int mdb_rc, const char *what);
/* Map errno after a failed syscall on `path`. */
int vl_fail_errno(const vl_store *st, int err, const char *what, const char *path);
/* Clear this thread's message for st (called at the start of API calls). */
void vl_clear_err(const vl_store *st);
int vl_code_from_errno(int err);

/* ---- LMDB keys (kv.c) ------------------------------------------------------ */
/* All integers in keys are big-endian so LMDB's byte order sorts them. */
MDB_val vl_key_coll(uint8_t buf[4], uint32_t coll);
MDB_val vl_key_rid(uint8_t buf[12], uint32_t coll, uint64_t rid);
MDB_val vl_key_seg(uint8_t buf[8], uint32_t coll, uint32_t seg);
MDB_val vl_key_tomb(uint8_t buf[12], uint32_t coll, uint32_t seg, uint32_t chunk);
/* coll + user key; buf must hold 4 + VL_KEY_MAX bytes */
MDB_val vl_key_user(uint8_t *buf, uint32_t coll, const void *key, size_t len);
/* Does k start with the 4-byte collection prefix? */
int vl_key_in_coll(const MDB_val *k, uint32_t coll);

/* Read/write the per-collection records inside a transaction. */
int vl_read_schema(const vl_store *st, MDB_txn *txn, uint32_t coll, vl_schema_rec *s);
int vl_write_schema(const vl_store *st, MDB_txn *txn, uint32_t coll, const vl_schema_rec *s);
int vl_read_cstate(const vl_store *st, MDB_txn *txn, uint32_t coll, vl_cstate *c);
int vl_write_cstate(const vl_store *st, MDB_txn *txn, uint32_t coll, const vl_cstate *c);
/* Trained storage state (NULL/0 when none). *state points into the txn's map. */
int vl_read_train(const vl_store *st, MDB_txn *txn, uint32_t coll, const uint8_t **state, size_t *len);
/* Delete every record of a collection in db (keys prefixed by the collection id). */
int vl_del_coll_range(const vl_store *st, MDB_txn *txn, MDB_dbi db, uint32_t coll);

/* ---- locks (lock.c) ---------------------------------------------------- */
/* flock-based exclusive locks on files in the store directory. Each call opens
 * its own descriptor, so threads of one process exclude each other too.
 * Returns fd >= 0 or a negative VL code (VL_EBUSY with nowait). */
int vl_lock_file(const vl_store *st, const char *name, int nowait);
void vl_unlock_file(int fd);

/* ---- raw write transactions (wtxn.c) --------------------------------- */
/* Take the store's writer lock (write.lock, honouring VL_OPEN_NOWAIT) and
 * begin an LMDB write transaction. */
int vl_wbegin(const vl_store *st, MDB_txn **txn, int *lockfd);
int vl_wcommit(const vl_store *st, MDB_txn *txn, int lockfd);
void vl_wabort(MDB_txn *txn, int lockfd);
/* The maintenance lock (maint.lock): one flush/compact/reindex/bulk at a time. */
int vl_maint_lock(const vl_store *st);
void vl_maint_unlock(int fd);

/* ---- collections (coll.c) ------------------------------------------------ */
int vl_coll_lookup(const vl_store *st, MDB_txn *txn, const char *name, uint32_t *id);
/* Schema of the handle's collection in txn; VL_ENOTFOUND if it was dropped. */
int vl_coll_schema(vl_collection *c, MDB_txn *txn, vl_schema_rec *s);
/* Create a collection in one commit (name checked, schema built) without
 * its catalog entry (hidden = 1: a staged bulk load, recorded under
 * "stage"+id in meta) or with it (hidden = 0). *id receives its id. */
int vl_coll_make(vl_store *st, const char *name, const vl_schema *schema, int hidden,
                 uint32_t *id);
/* Delete every per-collection record of id (catalog entry excluded). */
int vl_coll_del_records(const vl_store *st, MDB_txn *txn, uint32_t id);
/* A handle on collection id (name borrowed, copied). */
int vl_coll_handle(vl_store *st, const char *name, uint32_t id, vl_collection **out);

/* ---- staged bulk loads (stage.c) ----------------------------------------- */
/* The meta key of a staged collection's record: "stage" + u32 BE id. */
MDB_val vl_stage_key(uint8_t buf[9], uint32_t id);
/* In txn: give hidden collection id its catalog entry `name` (VL_EEXIST if
 * the name was taken meanwhile) and remove its stage record. */
int vl_stage_publish(const vl_store *st, MDB_txn *txn, const char *name, uint32_t id);
/* Delete a hidden collection's records and stage record (own write commit;
 * the caller holds maint.lock). Its segment files are the seg/ orphans. */
int vl_stage_drop(const vl_store *st, uint32_t id);
/* Drop every staged collection (at a writable open, maint.lock held: no
 * bulk load is running, so every stage record is a crashed one's). */
void vl_stage_drop_all(const vl_store *st);
/* A verify note per stage record (running or crashed staged loads). */
void vl_stage_report(const vl_store *st, MDB_txn *txn, vl_report_fn report, void *ud);
/* Parameters of a schema as a vl_params-compatible array view. */

/* ---- segment sets (segset.c) -------------------------------------------- */
/* The set of segments named by the manifest in txn (generation gen). Returns
 * VL_ENOTFOUND if a listed file is gone (the caller renews its snapshot). */
int vl_segset_get(vl_collection *c, MDB_txn *txn, uint64_t gen, vl_segset **out, vl_diag *d);
void vl_segset_unref(vl_segset *s);
/* The segment holding rid and its row, or -1 if none. */
int vl_segset_find_rid(const vl_segset *s, uint64_t rid, uint32_t *row);
void vl_cshared_release(vl_env *e, vl_cshared *sh);
vl_cshared *vl_cshared_get(vl_env *e, uint32_t coll);

/* ---- read snapshots (snap.c) --------------------------------------------- */
typedef struct vl_snap {
	vl_collection *c;
	MDB_txn *txn;
	vl_schema_rec schema;
	vl_cstate cs;
	vl_segset *set;
} vl_snap;
/* Begin a consistent read: LMDB read txn + schema + counters + mapped segments. */
int vl_snap_begin(vl_collection *c, vl_snap *s);
void vl_snap_end(vl_snap *s);
/* Tombstone bitmap chunk of (seg, chunk) in the snapshot, or NULL. */
const uint8_t *vl_tomb_chunk(const vl_store *st, MDB_txn *txn, uint32_t coll, uint32_t seg,
                             uint32_t chunk);
static inline int vl_bit(const uint8_t *bm, uint32_t i) { return (bm[i >> 3] >> (i & 7)) & 1; }

/* ---- misc ------------------------------------------------------------------ */
uint64_t vl_now_ms(void);
unsigned vl_ncpu(void);
int vl_check_vector(const vl_store *st, const float *v, uint32_t dim, const char *what);
/* Path of a segment file relative to the store ("seg/c1-s000004.vseg"). */
void vl_seg_relpath(char *buf, size_t len, uint32_t coll, uint32_t seg);
/* fsync a directory (after renames/unlinks inside it). */
int vl_fsync_dir(const vl_store *st, const char *rel);
/* A mapping read once, front to back, up to byte `upto` of base: once
 * `step` bytes or more lie behind *dropped, unmap them (MADV_DONTNEED; the
 * pages stay in the page cache) and move *dropped to upto. Keeps the RSS of
 * a sequential pass from growing with the file. */
void vl_drop_behind(const void *base, size_t upto, size_t step, size_t *dropped);

#endif
