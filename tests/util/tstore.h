/*
 * tstore.h - helpers for engine tests: temp stores, deterministic random
 * vectors, and an independent brute-force reference.
 */
#ifndef VL_TSTORE_H
#define VL_TSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "veclite.h"

/* A fresh empty directory under $TMPDIR (or /tmp); caller frees the string
 * and may remove the tree with ts_rmtree. */
char *ts_tmpdir(const char *tag);
void ts_rmtree(const char *path);

/* Open (creating) a store with VL_OPEN_NOSYNC (fast; not for crash tests);
 * aborts the test on failure. */
vl_store *ts_open(const char *dir);
/* Create a collection with the given dim/metric/index and fields
 * "name:type,..." (type tag|text|numeric); params NULL-terminated. */
vl_collection *ts_create(vl_store *st, const char *name, uint32_t dim, vl_metric metric,
                         const char *index, const char *storage, const char *fields,
                         const char *const *params);

/* Deterministic pseudo-random numbers (xorshift64*). */
typedef struct ts_rng { uint64_t s; } ts_rng;
static inline uint64_t ts_next(ts_rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 2685821657736338717ull;
}
static inline float ts_unit(ts_rng *r) { return (float)((ts_next(r) >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f; }
void ts_vectors(ts_rng *r, float *out, size_t n, uint32_t dim);

/* Reference distance, computed in double precision with plain loops. */
double ts_dist(vl_metric m, const float *q, const float *x, uint32_t dim);

/* Brute-force top-k over rows[i] (i < n, alive[i] != 0 when alive given):
 * writes indices sorted by (distance, index). Returns how many. */
size_t ts_topk(vl_metric m, const float *q, const float *rows, size_t n, uint32_t dim,
               const uint8_t *alive, size_t k, size_t *out);

/* Upsert rows with keys "<prefix><i>"; values built by the callback (may be NULL). */
typedef size_t (*ts_values_fn)(size_t i, vl_value *vals, char *buf, size_t buflen);
int ts_put_rows(vl_store *st, vl_collection *c, const char *prefix, const float *vecs, size_t first,
                size_t n, uint32_t dim, ts_values_fn fn);

/* Path of the veclite CLI under test ($VECLITE_CLI or build/veclite). */
const char *ts_cli(void);
/* Run a shell command; returns its exit status (or -1) and captures stdout
 * into *out (malloc'd, NUL-terminated) when out is not NULL. */
int ts_run(const char *cmd, char **out);

/* Fashion-MNIST from $VECLITE_DATA (build/data): n rows starting at `first`
 * of the train (test = 0) or test (test = 1) images, as floats. NULL when the
 * file is missing. */
float *ts_fmnist(int test, size_t first, size_t n, uint32_t *dim);

#endif
