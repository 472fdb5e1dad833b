/*
 * topk.h - bounded max-heap of (distance, row) candidates.
 *
 * Used by every scan and index search: push() keeps the `cap` smallest
 * distances; worst() is the admission threshold. Ties break on the smaller
 * row so results are deterministic.
 */
#ifndef VL_TOPK_H
#define VL_TOPK_H

#include <stddef.h>
#include <stdint.h>

typedef struct vl_cand {
	float dist;
	uint32_t row;       /* row within a segment (or a buffer slot) */
	uint32_t src;       /* which segment/source the row belongs to (set by the caller) */
} vl_cand;

typedef struct vl_topk {
	vl_cand *a;
	size_t n, cap;
} vl_topk;

int vl_topk_init(vl_topk *t, size_t cap);      /* VL_ENOMEM on failure */
void vl_topk_free(vl_topk *t);
static inline void vl_topk_clear(vl_topk *t) { t->n = 0; }

static inline int vl_cand_worse(const vl_cand *a, const vl_cand *b)
{
	/* a ranks after b */
	if (a->dist != b->dist)
		return a->dist > b->dist;
	if (a->src != b->src)
		return a->src > b->src;
	return a->row > b->row;
}

/* Worst distance kept, or +inf while not full. */
float vl_topk_worst(const vl_topk *t);
/* Offer a candidate; returns 1 if kept. */
int vl_topk_push(vl_topk *t, float dist, uint32_t row, uint32_t src);
/* Sort ascending (best first) in place; the heap is then no longer a heap
 * (call vl_topk_clear before pushing again). */
void vl_topk_sort(vl_topk *t);

#endif
