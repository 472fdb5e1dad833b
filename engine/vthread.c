/* vthread.c - threads the library starts (see vthread.h). */
#include <signal.h>

#include "vthread.h"

int vl_thread_start(pthread_t *th, void *(*fn)(void *), void *arg)
{
	/* a new thread inherits the creating thread's mask */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(th, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}
