/*
 * vthread.h - threads the library starts (build pools, encoders, the bulk
 * spill writer, batch search). Each starts with every signal blocked, so an
 * application's signals reach only its own threads: a program that counts
 * on SIGINT interrupting a blocked read in one of its threads (the CLI's
 * import does) keeps that whatever veclite runs meanwhile.
 */
#ifndef VL_VTHREAD_H
#define VL_VTHREAD_H

#include <pthread.h>

/* pthread_create(th, NULL, fn, arg) with all signals blocked in the new
 * thread; the caller's mask is unchanged. Returns pthread_create's result. */
int vl_thread_start(pthread_t *th, void *(*fn)(void *), void *arg);

#endif
