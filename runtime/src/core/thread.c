// SPDX-License-Identifier: MIT
/* The library's own threads (a server's loop and receivers, a channel's
 * monitor). */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>

#include "core/internal.h"

/* Library threads leave signals to the application's own threads. */
int lrpc__thread_start(pthread_t *t, void *(*fn)(void *), void *arg,
		       bool detached)
{
	pthread_attr_t attr;
	sigset_t all;
	int ret;

	sigfillset(&all);
	pthread_attr_init(&attr);
	pthread_attr_setsigmask_np(&attr, &all);
	if (detached)
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	ret = pthread_create(t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return -ret;
}
