/*
 * reindex_report.h - the migration report of `veclite reindex --report`:
 * query sets, exact ground truth, recall/latency measurement of one side
 * (old or new index), memory and disk accounting, the verdict, and its
 * text and JSON forms. Contract: .spec-parts/hnsw_ivf.md ("reindex report").
 */
#ifndef VL_REINDEX_REPORT_H
#define VL_REINDEX_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "veclite.h"

#define RX_K 10

/* Query vectors and their exact top-RX_K keys. */
typedef struct rx_queries {
	float *vec;                /* n x dim */
	size_t n;
	uint32_t dim;
	const char *source;        /* "sample" or the file name */
	/* exact answers: keys[q * RX_K + i] (malloc'd copies), lens, count per query */
	char **keys;
	size_t *key_lens;
	uint32_t *nexact;
} rx_queries;

/* Draw n rows of the collection as queries (reservoir sample, fixed seed). */
int rx_sample_queries(vl_collection *c, size_t n, uint64_t seed, rx_queries *q);
/* Read queries from a vector file (fvecs, npy, JSON Lines, ...); at most max rows (0 = all). */
int rx_file_queries(const char *path, size_t max, uint32_t dim, rx_queries *q);
/* Exact top-RX_K of every query (VL_SEARCH_EXACT) on `threads` threads. */
int rx_exact(vl_collection *c, rx_queries *q, unsigned threads, vl_store *st);
void rx_queries_free(rx_queries *q);

typedef struct rx_section {
	const char *name;          /* static string from vl_info */
	uint64_t bytes, resident;
} rx_section;

/* One side of the comparison. */
typedef struct rx_side {
	char index[32], storage[32];
	char **params;             /* resolved NAME=VALUE (copies) */
	size_t nparams;
	uint64_t rows;
	uint64_t disk_bytes;       /* segment files */
	uint64_t memory_bytes;     /* what every search reads: primary level + quant + index sections */
	uint64_t resident_bytes;   /* page-cache resident bytes of the mapped sections (mincore) */
	rx_section *sections;
	size_t nsections;
	double recall[3];          /* @1, @5, @10 against the exact answers */
	double p50_us, p95_us, p99_us, qps;
	double evals;              /* distance evaluations per query */
	int measured;
} rx_side;

/* Fill the static part of a side from vl_collection_info. */
int rx_side_info(vl_collection *c, rx_side *s, vl_store *st);
/* Run the queries one at a time on one thread (after a warm-up pass) and
 * fill recall, latency percentiles, QPS. */
int rx_side_measure(vl_collection *c, const rx_queries *q, rx_side *s, vl_store *st);
void rx_side_free(rx_side *s);

typedef enum rx_mode {
	RX_DIRECT = 0,             /* switched, then measured */
	RX_GATED = 1,              /* measured on a shadow copy, switched only on RECOMMENDED */
	RX_DRY_RUN = 2             /* measured on a shadow copy, never switched */
} rx_mode;

typedef struct rx_report {
	const char *collection;
	rx_mode mode;
	rx_side before, after;
	double build_s;            /* building the new index (shadow or in place) */
	double switch_s;           /* gated: the in-place reindex after a passing verdict */
	double min_recall;         /* recall@10 threshold */
	double min_savings;        /* memory savings threshold, percent */
	double savings_pct, disk_savings_pct;
	int recall_ok, savings_ok;
	const char *verdict;       /* RECOMMENDED, CONDITIONAL, LIMITED BENEFIT, NOT RECOMMENDED */
	const char *reason;
	int switched;
	const rx_queries *q;
} rx_report;

/* Savings and the verdict (the seed notebooks' decision framework). */
void rx_decide(rx_report *r);
void rx_print_text(const rx_report *r);
void rx_print_json(const rx_report *r);

/* Remove a directory tree (the shadow store). */
int rx_rmtree(const char *path);

#endif
