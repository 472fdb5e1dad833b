/* spillw.c - a file written front to back by a background thread (see spillw.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "segwriter.h"
#include "spillw.h"
#include "vl_diag.h"
#include "vthread.h"

struct vl_spillw {
	int fd;
	size_t cap;
	uint8_t *buf[2];
	unsigned cur;              /* the buffer the caller fills */
	size_t fill;
	uint64_t off;              /* file offset of the next buffer handed over */
	/* under mu: the buffer being written, and the outcome */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int busy, stop, err;
	unsigned out;
	size_t out_len;
	uint64_t out_off;
	uint32_t crc;              /* of the buffers written, in order */
	pthread_t th;
	int threaded;
};

/* Write buffer `out` (hand_over gives none after a failure). */
static int write_out(vl_spillw *w, unsigned out, size_t len, uint64_t off)
{
	w->crc = vl_crc32c(w->crc, w->buf[out], len);
	return vl_pwrite_all(w->fd, w->buf[out], len, off);
}

static void *writer(void *arg)
{
	vl_spillw *w = arg;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->busy && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (!w->busy)
			break;
		unsigned out = w->out;
		size_t len = w->out_len;
		uint64_t off = w->out_off;
		pthread_mutex_unlock(&w->mu);
		int e = write_out(w, out, len, off);
		pthread_mutex_lock(&w->mu);
		if (e && !w->err)
			w->err = e;
		w->busy = 0;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Wait until no buffer is being written; the first failure's errno. */
static int wait_idle(vl_spillw *w)
{
	pthread_mutex_lock(&w->mu);
	while (w->busy)
		pthread_cond_wait(&w->cv, &w->mu);
	int e = w->err;
	pthread_mutex_unlock(&w->mu);
	return e;
}

/* Hand the filled buffer to the writer and go on with the other one. */
static int hand_over(vl_spillw *w)
{
	int e = wait_idle(w);
	if (e)
		return e;
	if (!w->threaded) {
		if ((e = write_out(w, w->cur, w->fill, w->off)))
			w->err = e;
	} else {
		pthread_mutex_lock(&w->mu);
		w->out = w->cur;
		w->out_len = w->fill;
		w->out_off = w->off;
		w->busy = 1;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
	}
	w->off += w->fill;
	w->cur ^= 1;
	w->fill = 0;
	return e;
}

int vl_spillw_new(int fd, uint64_t off, size_t buf_bytes, vl_spillw **out)
{
	vl_spillw *w = calloc(1, sizeof *w);
	if (!w)
		return VL_ENOMEM;
	w->fd = fd;
	w->cap = buf_bytes;
	w->off = off;
	w->buf[0] = malloc(buf_bytes);
	w->buf[1] = malloc(buf_bytes);
	if (!w->buf[0] || !w->buf[1]) {
		free(w->buf[0]);
		free(w->buf[1]);
		free(w);
		return VL_ENOMEM;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->threaded = vl_thread_start(&w->th, writer, w) == 0;
	*out = w;
	return VL_OK;
}

int vl_spillw_append(vl_spillw *w, const void *p, size_t n)
{
	if (w->fill + n > w->cap) {
		int e = hand_over(w);
		if (e)
			return e;
	}
	memcpy(w->buf[w->cur] + w->fill, p, n);
	w->fill += n;
	return 0;
}

int vl_spillw_finish(vl_spillw *w, uint32_t *crc)
{
	int e = w->fill ? hand_over(w) : 0;
	int e2 = wait_idle(w);
	*crc = w->crc;
	return e ? e : e2;
}

void vl_spillw_free(vl_spillw *w)
{
	if (!w)
		return;
	if (w->threaded) {
		pthread_mutex_lock(&w->mu);
		w->stop = 1;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->th, NULL);
	}
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w->buf[0]);
	free(w->buf[1]);
	free(w);
}
