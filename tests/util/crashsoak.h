/*
 * crashsoak.h - crash-consistency harness: a worker process runs a random
 * mix of writes and maintenance jobs on a store and is SIGKILLed at a random
 * moment; the store must then open, pass vl_verify, hold no leftover files,
 * and hold exactly the committed data. Used by tests/test_crashsoak.c (quick
 * mode, CI) and tests/crashsoak.c (soak mode, hundreds of iterations).
 *
 * The workload (collection "c", dim 16, a tag and a numeric field):
 *   add       one transaction upserting a new batch of rows
 *   replace   one transaction rewriting every row of a batch (new version)
 *   delete    one transaction deleting every row of a batch
 *   mixed     one transaction: a new batch plus the deletion of another
 *   bulk      one vl_bulk load: a new large batch plus a replaced batch
 *   flush, compact, reindex (storage type / index kind switched at random)
 *   import    `veclite import-rdb` of a real Redis dump into collection "r"
 *             (dumps A and B alternate: same keys, other vectors)
 * Every row's key and vector say which batch and version it belongs to, so
 * the store can be compared row by row with a model. The worker announces
 * each operation before starting it and after it has committed; the parent
 * applies the announced commits to its model. After the kill the store must
 * equal the model, or the model plus the one operation in flight (it may
 * have committed just before the kill), nothing else.
 */
#ifndef VL_CRASHSOAK_H
#define VL_CRASHSOAK_H

#include <stddef.h>
#include <stdint.h>

enum {
	CS_ADD, CS_REPLACE, CS_DELETE, CS_MIXED, CS_BULK, CS_FLUSH, CS_COMPACT, CS_REINDEX, CS_IMPORT,
	CS_NOPS
};

enum {
	CS_KILL_AFTER_START,    /* the kill may come before the worker's first commit */
	CS_KILL_AFTER_COMMIT,   /* every round commits something (slow machines, sanitizers) */
	CS_KILL_ALTERNATE       /* even rounds after the first commit, odd ones after the start */
};

typedef struct cs_opts {
	const char *dir;        /* store directory (created; must not exist or be empty) */
	int iterations;         /* kill/check rounds */
	uint64_t seed;          /* operation mix and kill times */
	int max_kill_ms;        /* kill between 0 and this many ms after ... */
	int kill_after;         /* ... the worker's first operation starts, or its first commit */
	const char *cli;        /* veclite CLI for import (NULL: no import) */
	int verbose;            /* one line per round on stderr */
} cs_opts;

typedef struct cs_stats {
	int rounds;             /* kill/check rounds completed */
	uint64_t committed[CS_NOPS];  /* operations reported committed, by kind */
	uint64_t killed_in[CS_NOPS];  /* rounds whose kill landed inside that kind of operation */
	uint64_t killed_between;      /* kills between operations (or at startup) */
	uint64_t in_flight_applied;   /* rounds where the operation in flight had committed */
	uint64_t rows_checked;        /* rows compared with the model, summed over rounds */
	uint64_t lost;                /* committed operations missing from the store (must be 0) */
	uint64_t bad_opens;           /* stores that failed to open or verify (must be 0) */
	double seconds;
} cs_stats;

/* Run the harness. Returns 0 when every round passed; otherwise -1 with the
 * first problem in why. */
int cs_run(const cs_opts *o, cs_stats *s, char *why, size_t why_len);

/* Human name of an operation kind. */
const char *cs_op_name(int kind);

#endif
