/*
 * scratchpool.h - per-index pools of query scratch (graph indexes keep
 * visited tags and candidate buffers sized for the segment; a query takes
 * one, gives it back, and a later query on any thread reuses it).
 */
#ifndef VL_SCRATCHPOOL_H
#define VL_SCRATCHPOOL_H

#include <pthread.h>
#include <stddef.h>

typedef struct vl_scratch_pool {
	pthread_mutex_t mu;
	void **items;
	size_t n, cap;
	void (*free_item)(void *);
} vl_scratch_pool;

/* 0, or VL_ENOMEM when the mutex cannot be made. */
int vl_spool_init(vl_scratch_pool *p, void (*free_item)(void *));
/* A pooled item, or NULL when the pool is empty (the caller makes one). */
void *vl_spool_take(vl_scratch_pool *p);
/* Give item back; freed instead when the pool cannot grow. */
void vl_spool_give(vl_scratch_pool *p, void *item);
/* Free every pooled item and the pool. */
void vl_spool_destroy(vl_scratch_pool *p);

#endif
