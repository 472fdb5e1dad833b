/* scratchpool.c - see scratchpool.h. */
#include <stdlib.h>

#include "scratchpool.h"
#include "veclite.h"

int vl_spool_init(vl_scratch_pool *p, void (*free_item)(void *))
{
	*p = (vl_scratch_pool){ .free_item = free_item };
	return pthread_mutex_init(&p->mu, NULL) == 0 ? VL_OK : VL_ENOMEM;
}

void *vl_spool_take(vl_scratch_pool *p)
{
	void *item = NULL;
	pthread_mutex_lock(&p->mu);
	if (p->n)
		item = p->items[--p->n];
	pthread_mutex_unlock(&p->mu);
	return item;
}

void vl_spool_give(vl_scratch_pool *p, void *item)
{
	pthread_mutex_lock(&p->mu);
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 4;
		void **items = realloc(p->items, cap * sizeof *items);
		if (!items) {
			pthread_mutex_unlock(&p->mu);
			p->free_item(item);
			return;
		}
		p->items = items;
		p->cap = cap;
	}
	p->items[p->n++] = item;
	pthread_mutex_unlock(&p->mu);
}

void vl_spool_destroy(vl_scratch_pool *p)
{
	for (size_t i = 0; i < p->n; i++)
		p->free_item(p->items[i]);
	free(p->items);
	pthread_mutex_destroy(&p->mu);
}
