/*
 * concsoak.h - concurrency soak: one writer (a process, or a thread so
 * ThreadSanitizer sees it) upserts, replaces, deletes, flushes and compacts
 * while reader threads and reader processes search, get, count and scan,
 * checking that every read sees one consistent snapshot.
 *
 * Data: rows come in batches of `batch` rows, keys "b<id>-<i>"; every
 * transaction adds, replaces (new version) or deletes whole batches, so:
 *   - a count is a whole number of batches;
 *   - a cursor sees every batch whole, all its rows at one version;
 *   - a row read by get has the vector and the attributes of one version
 *     (the vector holds id, version and row; attributes id and ver agree);
 *   - a search hit's distance is the distance to exactly that vector;
 *   - batch 0 ("grp" = 'S') always exists and is rewritten as a whole by
 *     its own transactions: a filtered search for it returns exactly
 *     `batch` rows, all of one version (never a mix of two generations).
 * Reader processes may also be SIGKILLed and restarted mid-read (stale LMDB
 * reader slots must not stop the writer or the other readers).
 */
#ifndef VL_CONCSOAK_H
#define VL_CONCSOAK_H

#include <stdint.h>

typedef struct cc_opts {
	const char *dir;        /* store directory (created) */
	double seconds;         /* how long the writer runs ... */
	uint64_t min_writes;    /* ... and at least this many operations (slow sanitizer builds) */
	int reader_threads;     /* in this process, sharing one store handle */
	int reader_procs;       /* each with its own open of the store */
	int writer_thread;      /* 1: the writer is a thread of this process (for TSan) */
	int kill_readers;       /* SIGKILL and restart reader processes now and then */
	uint64_t seed;
} cc_opts;

enum { CC_COUNT, CC_SEARCH, CC_SEARCH_S, CC_GET, CC_CURSOR, CC_NREAD };
enum { CC_ADD, CC_REPLACE, CC_REPLACE_S, CC_DELETE, CC_MULTI, CC_FLUSH, CC_COMPACT, CC_NWRITE };

typedef struct cc_stats {
	uint64_t reads[CC_NREAD];     /* reader operations completed, by kind */
	uint64_t writes[CC_NWRITE];   /* writer operations committed, by kind */
	uint64_t inconsistencies;     /* must be 0 */
	uint64_t read_errors;         /* reads that failed (must be 0) */
	uint64_t reader_kills;        /* reader processes killed mid-read */
	uint64_t max_rows;            /* largest count seen */
	uint64_t lmdb_bytes;          /* data.mdb size at the end */
	double seconds;
} cc_stats;

/* Returns 0 when nothing inconsistent was seen; else -1 and the first
 * problem in why. */
int cc_run(const cc_opts *o, cc_stats *s, char *why, size_t why_len);

const char *cc_read_name(int kind);
const char *cc_write_name(int kind);

#endif
