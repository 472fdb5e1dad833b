/*
 * vamana_pool.c - a minimal parallel-for for graph construction.
 *
 * threads-1 workers sleep on a condition variable; vam_pool_run() publishes
 * a job (fn, ctx, count), works on it from the calling thread too, and
 * returns when every index has been processed. Indexes are claimed one at a
 * time from an atomic counter: items (one graph insertion) are heavy enough
 * that finer scheduling buys nothing. Results must not depend on which thread
 * ran an item (the builder writes per-item outputs), so builds stay
 * deterministic for any thread count.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "vamana.h"
#include "vthread.h"

struct vam_pool {
	pthread_t *th;
	unsigned nth;              /* worker threads (caller excluded) */
	pthread_mutex_t mu;
	pthread_cond_t go, done;
	uint64_t gen;              /* bumped per job */
	unsigned busy;             /* workers still on the current job */
	int quit;
	vam_task_fn fn;
	void *ctx;
	size_t count;
	atomic_size_t next;
};

typedef struct worker_arg {
	struct vam_pool *p;
	unsigned tid;
} worker_arg;

static void drain(struct vam_pool *p, unsigned tid)
{
	for (;;) {
		size_t i = atomic_fetch_add(&p->next, 1);
		if (i >= p->count)
			return;
		p->fn(p->ctx, i, tid);
	}
}

static void *worker(void *arg)
{
	worker_arg wa = *(worker_arg *)arg;
	free(arg);
	struct vam_pool *p = wa.p;
	uint64_t seen = 0;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->quit && p->gen == seen)
			pthread_cond_wait(&p->go, &p->mu);
		if (p->quit)
			break;
		seen = p->gen;
		pthread_mutex_unlock(&p->mu);
		drain(p, wa.tid);
		pthread_mutex_lock(&p->mu);
		if (--p->busy == 0)
			pthread_cond_signal(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct vam_pool *vam_pool_new(unsigned threads)
{
	struct vam_pool *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	if (pthread_mutex_init(&p->mu, NULL) || pthread_cond_init(&p->go, NULL) ||
	    pthread_cond_init(&p->done, NULL)) {
		free(p);
		return NULL;
	}
	unsigned want = threads > 1 ? threads - 1 : 0;
	p->th = calloc(want ? want : 1, sizeof *p->th);
	if (!p->th) {
		vam_pool_free(p);
		return NULL;
	}
	for (unsigned i = 0; i < want; i++) {
		worker_arg *wa = malloc(sizeof *wa);
		if (!wa)
			break;
		wa->p = p;
		wa->tid = i + 1;
		if (vl_thread_start(&p->th[i], worker, wa) != 0) {
			free(wa);
			break; /* run with fewer threads */
		}
		p->nth++;
	}
	return p;
}

void vam_pool_run(struct vam_pool *p, size_t count, vam_task_fn fn, void *ctx)
{
	if (count == 0)
		return;
	if (p->nth == 0 || count == 1) {
		for (size_t i = 0; i < count; i++)
			fn(ctx, i, 0);
		return;
	}
	pthread_mutex_lock(&p->mu);
	p->fn = fn;
	p->ctx = ctx;
	p->count = count;
	atomic_store(&p->next, 0);
	p->busy = p->nth;
	p->gen++;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	drain(p, 0);
	pthread_mutex_lock(&p->mu);
	while (p->busy)
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

void vam_pool_free(struct vam_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->quit = 1;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->nth; i++)
		pthread_join(p->th[i], NULL);
	free(p->th);
	pthread_cond_destroy(&p->go);
	pthread_cond_destroy(&p->done);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
