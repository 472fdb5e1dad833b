/*
 * test_vthread.c - engine/vthread.c: a thread the library starts has every
 * signal blocked, and the starting thread's mask is left as it was.
 */
#include <criterion/criterion.h>
#include <signal.h>

#include "vthread.h"

static void *report_mask(void *arg)
{
	pthread_sigmask(SIG_BLOCK, NULL, (sigset_t *)arg);
	return NULL;
}

Test(vthread, new_thread_blocks_every_signal)
{
	sigset_t before, after, in_thread;
	sigemptyset(&before);
	sigaddset(&before, SIGUSR1); /* the caller blocks one signal only */
	pthread_sigmask(SIG_SETMASK, &before, NULL);
	pthread_t th;
	sigemptyset(&in_thread);
	cr_assert_eq(vl_thread_start(&th, report_mask, &in_thread), 0);
	pthread_join(th, NULL);
	const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGPIPE, SIGALRM, SIGCHLD };
	for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
		cr_expect(sigismember(&in_thread, sigs[i]), "signal %d not blocked in the new thread", sigs[i]);
	pthread_sigmask(SIG_BLOCK, NULL, &after);
	cr_expect(sigismember(&after, SIGUSR1) && !sigismember(&after, SIGINT) &&
	              !sigismember(&after, SIGTERM),
	          "the caller's mask changed");
	sigemptyset(&before);
	pthread_sigmask(SIG_SETMASK, &before, NULL);
}
