/*
 * advise.h - which storage type (and index parameters) to use.
 *
 * Two modes, both library functions (the CLI is tools/cmd_advise.c):
 *   - rules: from the dimension and a priority alone, RedisVL's
 *     CompressionAdvisor rules (LVQ below 1024 dims, LeanVec from 1024),
 *     checked against veclite's real row sizes;
 *   - measure: on the user's own vectors, every candidate type is trained,
 *     encoded and scanned; the report has bytes per vector, recall@k against
 *     exact search on held-back sample queries (with and without re-ranking)
 *     and single-thread scan speed, and picks a type per priority.
 * The rules and the choice are written down in .spec-parts/quant.md.
 */
#ifndef VL_ADVISE_H
#define VL_ADVISE_H

#include <stddef.h>
#include <stdint.h>

#include "veclite.h"
#include "vl_diag.h"

typedef enum vl_advise_priority {
	VL_ADVISE_MEMORY = 0,
	VL_ADVISE_BALANCED = 1,
	VL_ADVISE_SPEED = 2
} vl_advise_priority;

/* "memory", "balanced", "speed" (RedisVL's "performance" too); -1 if unknown. */
int vl_advise_parse_priority(const char *s);
const char *vl_advise_priority_name(vl_advise_priority p);

typedef struct vl_advice {
	char storage[16];                   /* "lvq4x4" */
	uint32_t reduce;                    /* LeanVec REDUCE, 0 for other types */
	char index[16];                     /* "vamana" */
	uint32_t graph_max_degree;          /* GRAPH_MAX_DEGREE */
	uint32_t construction_window_size;  /* CONSTRUCTION_WINDOW_SIZE */
	uint32_t search_window_size;        /* SEARCH_WINDOW_SIZE */
	double bytes_per_vector;            /* PRIMARY + SECONDARY row bytes (searched in memory) */
	double float32_bytes;               /* 4 * dim, for comparison */
	char why[256];                      /* one sentence */
} vl_advice;

/* The rule-based advice for dim (1..65535). */
void vl_advise_rules(uint32_t dim, vl_advise_priority p, vl_advice *out);

/* Bytes per vector of a storage type's PRIMARY + SECONDARY rows at dim
 * (reduce: LeanVec REDUCE, 0 = default). 0 for an unknown type. */
double vl_advise_row_bytes(const char *storage, uint32_t dim, uint32_t reduce);

#define VL_ADVISE_MAX_TYPES 16

typedef struct vl_advise_opts {
	vl_metric metric;          /* 0 = l2 */
	uint32_t k;                /* recall@k; 0 = 10 */
	uint32_t nqueries;         /* held-back sample queries; 0 = 200 (at most n/10) */
	uint32_t oversample;       /* re-rank k * oversample candidates; 0 = 4 */
	double target_recall;      /* a type qualifies at this re-ranked recall; 0 = 0.95 */
	uint32_t repeats;          /* timed rounds, interleaved over the types (median); 0 = 5 */
	const char *const *types;  /* candidates; NULL = every type */
	size_t ntypes;
	const char *const *params; /* storage parameters (TRAINING_THRESHOLD, REDUCE) */
	size_t nparams;
	uint64_t seed;             /* query sample; 0 = a fixed default */
	vl_progress_fn progress;   /* may be NULL */
	void *progress_ud;
} vl_advise_opts;

typedef struct vl_advise_row {
	char storage[16];
	uint32_t reduce;           /* LeanVec reduced dim, else 0 */
	double primary_bytes;      /* per vector */
	double secondary_bytes;
	double bytes_per_vector;   /* primary + secondary */
	double recall;             /* recall@k from primary distances only */
	double recall_rerank;      /* after re-ranking k * oversample candidates */
	char rerank_with[12];      /* "secondary", "full" or "none" (float32) */
	double scan_vps;           /* vectors/s of a primary scan, one thread */
	double speedup;            /* scan_vps / float32's */
	double train_seconds;
	double encode_seconds;
	int qualifies;             /* recall_rerank >= target_recall */
	int failed;                /* training failed (message in note) */
	char note[96];
} vl_advise_row;

typedef struct vl_advise_report {
	uint32_t dim;
	vl_metric metric;
	size_t nbase, nqueries;
	uint32_t k, oversample;
	double target_recall;
	const char *simd;          /* kernel level used */
	vl_advise_row rows[VL_ADVISE_MAX_TYPES];
	size_t nrows;
	int choice[3];             /* index into rows per vl_advise_priority */
	vl_advice rules[3];        /* the rule-based advice per priority, for comparison */
} vl_advise_report;

/*
 * Measure every candidate on rows vecs[0..n) (dim floats each, finite;
 * borrowed). nqueries random rows are held back as queries and removed
 * from the base. Needs n >= 2. Returns VL_OK, VL_EINVAL (bad options,
 * too few rows), VL_ENOMEM, or VL_ECANCELED from the progress callback.
 */
int vl_advise_measure(const float *vecs, size_t n, uint32_t dim, const vl_advise_opts *o,
                      vl_advise_report *out, vl_diag *d);

#endif
