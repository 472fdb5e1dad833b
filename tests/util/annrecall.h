/*
 * annrecall.h - recall harness shared by the HNSW and IVF index tests:
 * Fashion-MNIST subsets, exact distances, recall@k of an index opened with
 * idxseg.h (optionally under a row filter), and a deterministic filter.
 */
#ifndef ANNRECALL_H
#define ANNRECALL_H

#include <stddef.h>
#include <stdint.h>

#include "idxseg.h"

typedef struct ar_data {
	float *base, *queries;
	size_t n, nq;
	uint32_t dim;
	vl_metric metric;
	double *dist;              /* nq x n exact distances, computed on first use */
} ar_data;

/* n train rows and nq test rows of Fashion-MNIST; fails the test when the
 * data is missing (run `make data`). */
void ar_load(ar_data *ds, size_t n, size_t nq);
void ar_free(ar_data *ds);

/* Mean recall@k over the queries: a hit counts when its exact distance is
 * within the k-th smallest accepted exact distance (ties count). cap is the
 * top-k capacity the engine would give (k, or its re-rank window); when
 * cap > k the window is re-ranked by exact distance (the engine's
 * RERANK_WITH=full) and the best k are scored. *short_answers (may be NULL) counts queries
 * that got fewer than min(k, matching rows) results. Asserts every returned
 * row passes the filter. */
double ar_recall(const ix_seg *s, ar_data *ds, uint32_t k, size_t cap, const vl_accept *acc,
                 const char *const *params, size_t np, size_t *short_answers);

/* Deterministic pseudo-random filter accepting about per_million rows in a
 * million (hash of the row). ud points at a uint32_t per_million. */
int ar_pct_accept(void *ud, uint32_t row);

#endif
