/*
 * veclite.h - the public C API of veclite, an embeddable on-disk vector store.
 *
 * This is the only installed header. Everything not declared here is internal.
 *
 * Conventions
 * -----------
 * - Every fallible call returns int: VL_OK (0) or a negative VL_E* code.
 *   Codes have fixed values and are never renumbered. vl_strerror() names any
 *   code; vl_errmsg() gives the detail of the last failure (file, offset, key).
 * - Handles are opaque. Functions that free a handle accept NULL.
 * - Option structs start with a `size` field set to sizeof(struct) by their
 *   *_INIT macro, so new fields can be appended without breaking callers.
 *   Passing NULL for an options pointer means "all defaults".
 * - Ownership is stated on every pointer that crosses the API:
 *     "borrowed"  the caller keeps ownership; veclite copies what it needs
 *                 before the call returns.
 *     "owned by X" valid until X is freed/closed; never free it yourself.
 *     "caller frees with F" the caller must release it with F.
 *
 * Threading and processes
 * -----------------------
 * - A vl_store and its vl_collection handles are thread-safe: any number of
 *   threads may search, get, count and read through them at once.
 * - Reads run in LMDB read transactions: they never block on a writer and see
 *   one consistent snapshot (a search, get, count or cursor sees the state as
 *   of a single commit, across LMDB and segment files).
 * - One writer at a time per store, across threads and processes: a vl_txn
 *   holds LMDB's writer lock from vl_txn_begin() to commit/abort. A second
 *   vl_txn_begin() waits for the lock (or fails with VL_EBUSY when the store
 *   was opened with VL_OPEN_NOWAIT). A vl_txn must be used by one thread only.
 * - Maintenance (flush, compact, reindex, bulk import) builds new segment
 *   files without holding the writer lock, so writers and readers continue
 *   meanwhile; only one maintenance job runs per store at a time (a second
 *   waits, or fails with VL_EBUSY under VL_OPEN_NOWAIT).
 * - Do not use a store handle in a child after fork(); open it again there.
 */
#ifndef VECLITE_H
#define VECLITE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VL_VERSION_MAJOR 0
#define VL_VERSION_MINOR 1
#define VL_VERSION_PATCH 0
#define VL_VERSION_STRING "0.1.0"

/* ------------------------------------------------------------------ */
/* Error codes (stable numbers)                                         */
/* ------------------------------------------------------------------ */
enum {
	VL_OK = 0,
	VL_EINVAL = -1,       /* invalid argument or option value */
	VL_ENOMEM = -2,       /* out of memory */
	VL_EIO = -3,          /* an I/O system call failed (see vl_errmsg) */
	VL_ENOTFOUND = -4,    /* no such key, collection or field */
	VL_EEXIST = -5,       /* already exists */
	VL_ECORRUPT = -6,     /* a store file is damaged (checksum, bounds) */
	VL_EDIM = -7,         /* vector has the wrong dimension */
	VL_ENAN = -8,         /* vector holds NaN or infinity */
	VL_EBUSY = -9,        /* lock held by another writer or job */
	VL_EVERSION = -10,    /* file written by a newer/unknown format version */
	VL_EMAPFULL = -11,    /* LMDB map size reached; reopen with a larger one */
	VL_ENOSPC = -12,      /* no space left on device */
	VL_EFORMAT = -13,     /* malformed input file or record (import, load) */
	VL_EUNSUPPORTED = -14,/* valid input using a feature veclite lacks */
	VL_ESCHEMA = -15,     /* unknown field, wrong field type, bad schema */
	VL_EFILTER = -16,     /* filter expression does not parse */
	VL_EREADONLY = -17,   /* write on a store opened read-only */
	VL_ECHECKSUM = -18,   /* checksum mismatch in an input file */
	VL_ECANCELED = -19,   /* a progress callback asked to stop */
	VL_ETXN = -20,        /* transaction misuse (e.g. after an error) */
	VL_EKEY = -21,        /* empty or oversized key */
	VL_ELIMIT = -22,      /* a hard limit was exceeded (readers, sizes) */
	VL_ECODE_MIN = -22
};

/* Static English description of any code (never NULL). */
const char *vl_strerror(int code);

/* ------------------------------------------------------------------ */
/* Handles                                                              */
/* ------------------------------------------------------------------ */
typedef struct vl_store vl_store;
typedef struct vl_collection vl_collection;
typedef struct vl_txn vl_txn;
typedef struct vl_cursor vl_cursor;

/*
 * Detail of the last failed call made by the calling thread on this store
 * (or on any collection, txn or cursor of it), e.g.
 *   "seg/1-000004.vseg: section 3 (vectors) checksum mismatch at offset 8192".
 * Returns "" when there is none. Owned by the thread's veclite state: valid
 * until the thread's next veclite call. vl_errmsg(NULL) gives the detail of
 * a failed vl_open() on this thread.
 */
const char *vl_errmsg(const vl_store *st);

/* ------------------------------------------------------------------ */
/* Store                                                                */
/* ------------------------------------------------------------------ */
enum {
	VL_OPEN_CREATE = 1u << 0,   /* create the directory/store if absent */
	VL_OPEN_RDONLY = 1u << 1,   /* no writes; works on read-only media */
	VL_OPEN_NOWAIT = 1u << 2,   /* fail with VL_EBUSY instead of waiting for locks */
	VL_OPEN_VERIFY = 1u << 3,   /* verify every segment checksum at open (reads all data) */
	VL_OPEN_NOSYNC = 1u << 4    /* no fsync on commit: fast, loses recent commits on crash */
};

typedef struct vl_open_opts {
	uint32_t size;          /* sizeof(vl_open_opts) */
	uint32_t flags;         /* VL_OPEN_* */
	uint64_t map_size;      /* LMDB map size in bytes; 0 = default (1 TiB, sparse) */
	uint32_t max_readers;   /* concurrent read transactions; 0 = default (1024) */
	uint32_t reserved;
} vl_open_opts;
#define VL_OPEN_OPTS_INIT { sizeof(vl_open_opts), 0, 0, 0, 0 }

/*
 * Open the store in directory `path` (borrowed). opts may be NULL.
 * On success *out is a new handle; the caller frees it with vl_close().
 * Opening maps segment files and reads only their headers: no vector data
 * is read unless VL_OPEN_VERIFY is given.
 */
int vl_open(const char *path, const vl_open_opts *opts, vl_store **out);
void vl_close(vl_store *st);

/* ------------------------------------------------------------------ */
/* Collections                                                          */
/* ------------------------------------------------------------------ */
typedef enum vl_metric {
	VL_METRIC_L2 = 1,      /* squared Euclidean distance */
	VL_METRIC_IP = 2,      /* distance = -<q, x> (smaller is closer) */
	VL_METRIC_COSINE = 3   /* distance = 1 - cos(q, x) */
} vl_metric;

typedef enum vl_field_type {
	VL_FIELD_TAG = 1,      /* string; matched exactly, split on ',' into tags */
	VL_FIELD_TEXT = 2,     /* string; stored (zstd-compressed when large), not filterable */
	VL_FIELD_NUMERIC = 3   /* double; range filters */
} vl_field_type;

typedef struct vl_field {
	const char *name;      /* borrowed; 1..255 bytes, no NUL */
	vl_field_type type;
} vl_field;

#define VL_DIM_MAX 65535u

typedef struct vl_schema {
	uint32_t size;          /* sizeof(vl_schema) */
	uint32_t dim;           /* 1..VL_DIM_MAX */
	vl_metric metric;       /* 0 = VL_METRIC_L2 */
	const char *storage;    /* "float32", "float16", "lvq8", ... NULL = default for dim */
	const char *index;      /* "flat", "vamana", "hnsw", "ivf"; NULL = default */
	const char *const *params; /* "NAME=VALUE" index/storage/collection parameters */
	size_t nparams;
	const vl_field *fields; /* attribute fields */
	size_t nfields;
} vl_schema;
#define VL_SCHEMA_INIT { sizeof(vl_schema), 0, VL_METRIC_L2, NULL, NULL, NULL, 0, NULL, 0 }

/*
 * Create collection `name` (1..255 bytes) with `schema` (both borrowed).
 * Fails with VL_EEXIST if it exists. If out is not NULL, *out receives an
 * open handle (caller frees with vl_collection_close()).
 * Unknown storage/index names or parameters fail with VL_EINVAL and a
 * message naming the parameter.
 */
int vl_collection_create(vl_store *st, const char *name, const vl_schema *schema,
                         vl_collection **out);
int vl_collection_open(vl_store *st, const char *name, vl_collection **out);
void vl_collection_close(vl_collection *c);
/* Add an attribute field to an existing collection (rows lack it until set). */
int vl_collection_add_field(vl_store *st, const char *name, const vl_field *field);
/* Drop a collection and delete its files. Open handles to it start failing
 * with VL_ENOTFOUND; in-flight searches finish on their snapshot. */
int vl_collection_drop(vl_store *st, const char *name);
/* Names of all collections, sorted. *names is one allocation (array + strings):
 * caller frees with vl_free(). */
int vl_collection_list(vl_store *st, char ***names, size_t *count);

/* Release memory that veclite allocated for the caller (NULL is fine). */
void vl_free(void *p);

typedef struct vl_section_stats {
	const char *name;       /* "vectors", "primary", "graph", "lmdb", ... */
	uint64_t bytes;         /* bytes on disk */
	uint64_t mapped;        /* bytes currently mapped */
	uint64_t resident;      /* bytes of the mapping resident in the page cache of this process (mincore) */
} vl_section_stats;

typedef struct vl_info {
	char *name;
	uint32_t dim;
	vl_metric metric;
	char *storage;          /* resolved storage type */
	char *index;            /* resolved index kind */
	char **params;          /* resolved "NAME=VALUE" list, nparams entries */
	size_t nparams;
	vl_field *fields;       /* fields[i].name owned by this struct */
	size_t nfields;
	uint64_t rows;          /* live rows */
	uint64_t buffer_rows;   /* live rows not yet flushed into a segment */
	uint64_t segment_rows;  /* rows held in segments, dead ones included */
	uint64_t dead_rows;     /* rows in segments deleted/superseded (tombstones) */
	uint32_t segments;
	uint32_t flush_failures;/* automatic flushes that failed since the last good one */
	vl_section_stats *sections; /* per section kind ("header", "rowids", "vectors",
	                           "norms", "quant", "primary", "secondary", "attr-numeric",
	                           "attr-tag", index kinds' names, "write-buffer"), summed
	                           over segments; sections[i].name is a static string */
	size_t nsections;
	uint64_t disk_bytes;    /* bytes of this collection's segment files (LMDB not included) */
} vl_info;

/* Describe a collection. *out: caller frees with vl_info_free(). Computing
 * resident bytes calls mincore() on each mapping; it reads no data. */
int vl_collection_info(vl_collection *c, vl_info **out);
void vl_info_free(vl_info *info);

/* ------------------------------------------------------------------ */
/* Rows and attribute values                                           */
/* ------------------------------------------------------------------ */
typedef struct vl_value {
	const char *field;      /* field name */
	const void *data;       /* tag/text bytes; for numeric: decimal text or NULL */
	size_t len;             /* bytes at data */
	double num;             /* numeric value when data == NULL */
} vl_value;

typedef struct vl_row {
	const void *key;        /* 1..VL_KEY_MAX bytes, any bytes */
	size_t key_len;
	const float *vector;    /* `dim` floats; all finite */
	uint32_t dim;           /* floats at vector: must equal the collection's dim */
	const vl_value *values; /* attributes; fields not listed are absent */
	size_t nvalues;
} vl_row;

#define VL_KEY_MAX 500u     /* bytes; LMDB's key size limit minus veclite's prefix */

/* A row as read back: one allocation, caller frees with vl_free(). */
typedef struct vl_record {
	const void *key;
	size_t key_len;
	const float *vector;    /* the original full-precision vector, dim floats */
	uint32_t dim;
	uint32_t nvalues;
	const vl_value *values; /* numeric values carry both num and, when they were
	                           given as text, their original text in data/len */
} vl_record;

/* ------------------------------------------------------------------ */
/* Write transactions                                                   */
/* ------------------------------------------------------------------ */
/* Begin a write transaction (takes the store's writer lock).
 * *out: commit with vl_txn_commit() or release with vl_txn_abort(). */
int vl_txn_begin(vl_store *st, vl_txn **out);

/*
 * Insert or replace rows by key (all borrowed). Every row is validated before
 * any is written: an invalid one (VL_EDIM, VL_ENAN, VL_EKEY, VL_ESCHEMA for an
 * unknown field or a value not of the field's type; vl_errmsg names the row
 * index and key) fails the call with none of its rows applied, and the txn
 * stays usable. A failure while writing (VL_EMAPFULL, VL_EIO, VL_ENOMEM)
 * leaves the txn broken: abort it (commit fails with VL_ETXN).
 */
int vl_upsert(vl_txn *txn, vl_collection *c, const vl_row *rows, size_t n);

/* Delete rows by key. *deleted (may be NULL) receives how many existed. */
int vl_delete(vl_txn *txn, vl_collection *c, const void *const *keys,
              const size_t *key_lens, size_t n, size_t *deleted);

/*
 * Commit: durable (fsync) when this returns VL_OK, unless VL_OPEN_NOSYNC.
 * The txn handle is freed whether or not it succeeds. After a successful
 * commit, a collection whose write buffer passed its threshold
 * (FLUSH_ROWS / FLUSH_BYTES) is flushed to a segment before returning; a
 * failed automatic flush does not undo the commit: it is retried at the next
 * commit and reported by vl_errmsg and vl_collection_info.
 */
int vl_txn_commit(vl_txn *txn);
void vl_txn_abort(vl_txn *txn);

/* One-row convenience: begin, upsert, commit. */
int vl_put(vl_collection *c, const vl_row *row);

/* ------------------------------------------------------------------ */
/* Reads                                                                */
/* ------------------------------------------------------------------ */
/* Get a row by key. *out: caller frees with vl_free(). VL_ENOTFOUND if absent. */
int vl_get(vl_collection *c, const void *key, size_t key_len, vl_record **out);

/* Rows matching `filter` (NULL = all) in one snapshot. */
int vl_count(vl_collection *c, const char *filter, uint64_t *out);

typedef struct vl_hit {
	const void *key;        /* owned by the vl_results */
	size_t key_len;
	float distance;
	uint32_t nvalues;
	const vl_value *values; /* requested return fields, owned by the vl_results */
} vl_hit;

typedef struct vl_results {
	size_t n;               /* hits returned, <= k */
	vl_hit *hits;           /* ascending distance */
	uint64_t matched;       /* live rows matching the filter, when it was counted
	                           exactly (UINT64_MAX when unknown). n < k implies
	                           fewer than k rows match. */
	uint32_t flags;         /* VL_RESULT_* */
	uint32_t reserved;
	uint64_t distance_evals;/* distances computed, for tuning */
} vl_results;

enum {
	VL_RESULT_EXACT = 1u << 0,   /* every candidate was scanned exactly */
	VL_RESULT_FEWER = 1u << 1    /* fewer than k rows match the filter */
};

typedef int (*vl_progress_fn)(void *ud, const char *phase, uint64_t done, uint64_t total);
/* Return non-zero to cancel the job (it then fails with VL_ECANCELED). */

typedef struct vl_search_opts {
	uint32_t size;          /* sizeof(vl_search_opts) */
	uint32_t k;             /* results wanted; 0 = 10 */
	const char *filter;     /* filter expression (see SPEC.md "Filters"), NULL = none */
	const char *const *params;  /* runtime "NAME=VALUE" (e.g. "SEARCH_WINDOW_SIZE=64", "EF_RUNTIME=100") */
	size_t nparams;
	const char *const *return_fields; /* attribute names to return with each hit */
	size_t nreturn;
	uint32_t flags;         /* VL_SEARCH_* */
	uint32_t threads;       /* for vl_search_batch: 0 = all cores */
} vl_search_opts;
#define VL_SEARCH_OPTS_INIT { sizeof(vl_search_opts), 10, NULL, NULL, 0, NULL, 0, 0, 0 }

enum {
	VL_SEARCH_EXACT = 1u << 0,   /* ground truth: scan every row's full-precision
	                                original, whatever the index and storage */
	VL_SEARCH_NO_KEYS = 1u << 1  /* skip key lookups (hits carry no key): benchmarks */
};

/* Search with one query of `dim` floats (borrowed; dim must equal the
 * collection's). *out: caller frees with vl_results_free(). */
int vl_search(vl_collection *c, const float *query, uint32_t dim, const vl_search_opts *opts,
              vl_results **out);
/* nq queries of `dim` floats stored row after row; out[i] receives query i's
 * results (the array is the caller's; each element is freed with
 * vl_results_free()). Runs on opts->threads threads. On error every out[i]
 * is NULL. */
int vl_search_batch(vl_collection *c, const float *queries, size_t nq, uint32_t dim,
                    const vl_search_opts *opts, vl_results **out);
void vl_results_free(vl_results *r);

/* Iterate all live rows of a snapshot in key order (export). */
int vl_cursor_open(vl_collection *c, vl_cursor **out);
/* *rec points at the next row (owned by the cursor, valid until the next call)
 * or is NULL at the end. */
int vl_cursor_next(vl_cursor *cur, const vl_record **rec);
void vl_cursor_close(vl_cursor *cur);

/* ------------------------------------------------------------------ */
/* Maintenance                                                          */
/* ------------------------------------------------------------------ */
typedef struct vl_job_opts {
	uint32_t size;          /* sizeof(vl_job_opts) */
	uint32_t threads;       /* 0 = all cores */
	vl_progress_fn progress;/* may be NULL */
	void *progress_ud;
	uint64_t seed;          /* 0 = default fixed seed; builds are deterministic with threads == 1 */
} vl_job_opts;
#define VL_JOB_OPTS_INIT { sizeof(vl_job_opts), 0, NULL, NULL, 0 }

/* Turn the write buffer into a segment (no-op when empty). */
int vl_flush(vl_collection *c, const vl_job_opts *opts);
/* Rewrite all segments into one without dead rows; frees their disk space. */
int vl_compact(vl_collection *c, const vl_job_opts *opts);

/*
 * Rebuild a collection with another storage type, index kind or parameters
 * (`changes` borrowed: only storage, index and params are read; NULL fields
 * keep the current value; params replace the index/storage parameters).
 * Atomic: readers use the old segments until one LMDB commit switches them;
 * a failure or crash changes nothing. Rows, keys and attributes are kept.
 */
int vl_reindex(vl_collection *c, const vl_schema *changes, const vl_job_opts *opts);

/*
 * Bulk load: rows go straight into new segment files instead of the write
 * buffer. The load is one write transaction: it holds the writer lock from
 * vl_bulk_begin() to commit/abort, and a crash or vl_bulk_abort() leaves the
 * store exactly as it was. Vectors are spilled to a temporary file, so memory
 * does not grow with the number of rows (apart from the index build).
 * Existing keys are replaced; a key repeated in the load keeps its last row.
 */
typedef struct vl_bulk vl_bulk;
int vl_bulk_begin(vl_collection *c, const vl_job_opts *opts, vl_bulk **out);
/*
 * Bulk load into a new collection `name` (created with `schema`, both
 * borrowed). The collection exists but has no name until vl_bulk_commit()
 * publishes it, in the same commit as its rows: until then no reader or
 * writer can see or open it, and vl_bulk_commit() fails with VL_EEXIST if
 * the name was taken meanwhile. Its rows are committed in steps of about 16
 * MiB of keys and values (VECLITE_BULK_CHUNK=BYTES in the environment
 * changes the step), so the writer's memory does not grow with the load;
 * the writer lock is released at each step's commit, so writers of other
 * collections get their turn in between. vl_bulk_abort(), a failed commit
 * or a crash leaves the store as it was: the hidden collection is removed
 * (after a crash, by the next writable vl_open). VL_EEXIST if `name`
 * exists; the other errors as vl_collection_create() and vl_bulk_begin().
 */
int vl_bulk_begin_new(vl_store *st, const char *name, const vl_schema *schema,
                      const vl_job_opts *opts, vl_bulk **out);
int vl_bulk_add(vl_bulk *b, const vl_row *rows, size_t n);
/* Builds the segment(s) and commits; frees b whether or not it succeeds. */
int vl_bulk_commit(vl_bulk *b);
void vl_bulk_abort(vl_bulk *b);

/* ------------------------------------------------------------------ */
/* HNSW graphs: adopt one in a bulk load, read one back                 */
/* ------------------------------------------------------------------ */
/*
 * A ready-made HNSW graph (e.g. a FAISS IndexHNSWFlat's) over the rows of a
 * bulk load. Node i is the i-th row added with vl_bulk_add() (rows of
 * successful calls, in order). Level 0 holds up to 2*M neighbours per node,
 * levels 1..max_level up to M. Neighbour ids are node numbers.
 */
typedef struct vl_hnsw_graph {
	uint32_t size;            /* sizeof(vl_hnsw_graph) */
	uint32_t M;               /* must equal the collection's M */
	uint64_t nodes;           /* must equal the rows the load commits */
	uint32_t entry;           /* entry node; its level must be max_level */
	uint32_t max_level;       /* top level, 0..48 */
	uint32_t ef_construction; /* recorded in the segment (informative); 0 = the collection's */
	uint32_t reserved;        /* 0 */
	/* Level of node (0 = level 0 only, at most max_level), or a negative
	 * VL_E* code to fail the commit. May be called several times per node. */
	int (*level)(void *ud, uint64_t node);
	/* Neighbours of node on level (<= its level): writes min(count, cap) ids
	 * into out and returns count (a count above cap fails the commit), or a
	 * negative VL_E* code. Called once per (node, level): level 0 of every
	 * node in node order, then the upper levels node by node. */
	int (*neighbors)(void *ud, uint64_t node, uint32_t level, uint32_t *out, uint32_t cap);
	void *ud;                 /* passed to the callbacks */
} vl_hnsw_graph;
#define VL_HNSW_GRAPH_INIT { sizeof(vl_hnsw_graph), 0, 0, 0, 0, 0, 0, NULL, NULL, NULL }

/*
 * Make the load's segment use graph g (the struct is copied; g->ud and the
 * callbacks are borrowed until vl_bulk_commit() or vl_bulk_abort() returns)
 * instead of building its index: nothing is rebuilt. The collection must use
 * the hnsw index kind with M = g->M (else VL_EINVAL, the load stays usable).
 * At most one graph per load; call any time before vl_bulk_commit().
 *
 * vl_bulk_commit() then fails with VL_EINVAL (and commits nothing) when the
 * graph does not fit the load: its node count differs from the rows the load
 * commits (a key repeated in the load keeps only its last row, so node i
 * would no longer be row i), a neighbour id is out of range, a node links
 * to itself or twice to one node, a degree exceeds its cap, an upper-level
 * neighbour is not on that level, a level exceeds max_level, or the entry
 * node is not on the top level. vl_errmsg() names the node and level.
 */
int vl_bulk_adopt_graph(vl_bulk *b, const vl_hnsw_graph *g);

/* A read snapshot of a graph index, walked in segment row order. */
typedef struct vl_graph vl_graph;

typedef struct vl_graph_info {
	uint32_t size;            /* sizeof(vl_graph_info), set by the caller */
	uint32_t M;               /* neighbour cap on levels >= 1 */
	uint32_t M0;              /* neighbour cap on level 0 */
	uint32_t entry;           /* entry node (when nodes > 0) */
	uint32_t max_level;       /* level of the entry node */
	uint32_t ef_construction; /* as built */
	uint32_t ef_runtime;      /* default EF_RUNTIME of searches */
	uint32_t reserved;
	uint64_t nodes;           /* rows; node i is the collection's i-th row in
	                             segment order. 0 for an empty collection (then
	                             every other field is 0 too) */
} vl_graph_info;
#define VL_GRAPH_INFO_INIT { sizeof(vl_graph_info), 0, 0, 0, 0, 0, 0, 0, 0 }

/*
 * Open the graph of an hnsw collection, for export. The collection must be
 * exactly one segment with an empty write buffer and no deleted rows (else
 * VL_EINVAL: run vl_flush() and vl_compact() first), or empty (0 nodes).
 * Other index kinds: VL_EUNSUPPORTED. *out holds a read snapshot until
 * vl_graph_close(); info (may be NULL; caller-owned, info->size set) gets
 * the graph's shape.
 */
int vl_graph_open(vl_collection *c, vl_graph **out, vl_graph_info *info);
/* Level of node (0 = level 0 only). VL_EINVAL when node >= nodes. */
int vl_graph_level(vl_graph *g, uint64_t node, uint32_t *level);
/* Neighbours of node on level, in stored order: up to cap ids into out
 * (caller's array; cap >= info.M0 gets every list whole), how many into
 * *count (0 above the node's level). */
int vl_graph_neighbors(vl_graph *g, uint64_t node, uint32_t level, uint32_t *out, uint32_t cap, uint32_t *count);
/* The row of node: *rec is owned by g, valid until the next vl_graph_row()
 * or vl_graph_close(). */
int vl_graph_row(vl_graph *g, uint64_t node, const vl_record **rec);
void vl_graph_close(vl_graph *g);

/* Recompute every checksum and cross-check LMDB against the segments.
 * report (may be NULL) is called once per problem found; returns VL_OK when
 * the store is sound, VL_ECORRUPT otherwise. */
typedef void (*vl_report_fn)(void *ud, const char *problem);
int vl_verify(vl_store *st, vl_report_fn report, void *ud);

#ifdef __cplusplus
}
#endif
#endif /* VECLITE_H */
