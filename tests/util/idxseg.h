/*
 * idxseg.h - index-level test harness: a segment file written the way
 * engine/segbuild.c writes one (VECTORS, NORMS, QUANT/PRIMARY/SECONDARY for
 * compressed storage), an index built (or rebuilt) into it through the
 * index kind's ops, the file finished, mapped again, and the index opened.
 * Lets index tests run build/open/search/verify without the store API.
 */
#ifndef IDXSEG_H
#define IDXSEG_H

#include <stddef.h>
#include <stdint.h>

#include "index/index.h"

/* The index state keeps a pointer to q: an ix_seg must not be copied or
 * moved while open. */
typedef struct ix_seg {
	char path[256];
	uint8_t *base;             /* the finished file, mapped read-only */
	size_t len;
	vl_seg_layout lay;
	vl_qview q;
	int q_open;
	const vl_index_ops *io;
	void *state;               /* the index's open state */
	uint32_t dim;
	vl_metric metric;
	uint64_t n;
	uint8_t *qstate;           /* trained storage state (malloc'd) */
	size_t qstate_len;
} ix_seg;

typedef struct ix_opts {
	const char *storage;       /* NULL = "float32" */
	vl_metric metric;          /* 0 = l2 */
	const char *const *params;
	size_t nparams;
	unsigned threads;          /* 0 = 1 */
	uint64_t seed;
	const uint8_t *qstate;     /* trained state to reuse; NULL = train here */
	size_t qstate_len;
	vl_progress_fn progress;
	void *progress_ud;
	/* rebuild instead of build when nsrc > 0 */
	void *const *src;
	const uint32_t *const *map;
	const uint64_t *src_rows;
	size_t nsrc;
	int keep_file;             /* leave the file on disk after ix_seg_free */
	const char *path;          /* where to write (NULL: a fresh name under /tmp) */
} ix_opts;

/* Write, build, finish, map and open. VL_OK or an error with detail in d
 * (the file is removed on failure). */
int ix_seg_make(ix_seg *s, const vl_index_ops *io, const float *vecs, uint64_t n, uint32_t dim,
                const ix_opts *o, vl_diag *d);
/* Map and open an existing finished file (e.g. after the test damaged it). */
int ix_seg_open_file(ix_seg *s, const vl_index_ops *io, const char *path, vl_diag *d);
void ix_seg_free(ix_seg *s);

/* The bytes of section (kind, param) or NULL. */
const uint8_t *ix_seg_section(const ix_seg *s, uint32_t kind, uint64_t *len);

/* One search: prepare the query, run io->search into a fresh top-k of
 * capacity cap, sort it. out is initialised here (caller frees). */
int ix_seg_search(const ix_seg *s, const float *query, uint32_t k, size_t cap,
                  const vl_accept *accept, const char *const *params, size_t nparams,
                  vl_topk *out, uint64_t *evals, vl_diag *d);

#endif
