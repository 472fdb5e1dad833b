/*
 * qtest.h - helpers for the storage-type and kernel tests (test_simd,
 * test_f16, test_lvq, test_leanvec, test_pca, test_advise): a seeded RNG,
 * aligned buffers, the Fashion-MNIST loader and an exact brute-force oracle.
 */
#ifndef QTEST_H
#define QTEST_H

#include <stddef.h>
#include <stdint.h>

#include "veclite.h"

typedef struct qt_rng {
	uint64_t s;
} qt_rng;

uint64_t qt_next(qt_rng *r);
double qt_uniform(qt_rng *r);               /* [0, 1) */
double qt_gauss(qt_rng *r);                 /* N(0, 1) */
uint32_t qt_below(qt_rng *r, uint32_t n);   /* [0, n) */

/* 64-byte aligned, zeroed; abort()s on failure (tests only). */
void *qt_alloc(size_t bytes);

/*
 * Rows of $VECLITE_DATA/<name> (default build/data), an IDX uint8 image file
 * (16-byte big-endian header: magic 0x00000803, count, rows, cols), as
 * floats. Reads at most max_rows rows starting at row `first`. Returns NULL
 * when the file is absent or malformed (the message goes to stderr).
 */
float *qt_load_idx(const char *name, size_t first, size_t max_rows, size_t *n, uint32_t *dim);

/* Exact distance in double, in the metric's convention (smaller is closer). */
double qt_exact_dist(vl_metric m, const float *q, const float *x, uint32_t dim);

/* Exact top-k ids of q among n rows (ascending distance, ties by id) and
 * the k-th distance. */
void qt_exact_topk(vl_metric m, const float *q, const float *rows, size_t n, uint32_t dim,
                   uint32_t k, uint32_t *ids, double *kth);

/* Recall of `got` (k ids) against the exact answer: a returned id counts as
 * correct if its exact distance is within the exact k-th distance (so ties
 * at the boundary do not count against an index). */
double qt_recall(vl_metric m, const float *q, const float *rows, uint32_t dim, const uint32_t *got,
                 uint32_t k, double kth);

#endif
