// SPDX-License-Identifier: MIT
/* A call's cancel notification (serve/cancel_note.h). */
#include <errno.h>

#include "serve/cancel_note.h"

void lrpc__cancel_note_init(struct lrpc__cancel_note *n, const _Atomic int *flag)
{
	*n = (struct lrpc__cancel_note){ .flag = flag };
	pthread_mutex_init(&n->lock, NULL);
	pthread_cond_init(&n->idle, NULL);
}

void lrpc__cancel_note_destroy(struct lrpc__cancel_note *n)
{
	pthread_cond_destroy(&n->idle);
	pthread_mutex_destroy(&n->lock);
}

/* Lock held: run the callback once, with the lock released meanwhile so
 * that it may ask about its call (lrpc_call_cancelled, a stream wake). */
static void run(struct lrpc__cancel_note *n)
{
	void (*fn)(void *arg) = n->fn;

	n->fn = NULL;
	n->running = true;
	pthread_mutex_unlock(&n->lock);
	fn(n->arg);
	pthread_mutex_lock(&n->lock);
	n->running = false;
	pthread_cond_broadcast(&n->idle);
}

void lrpc__cancel_note_fire(struct lrpc__cancel_note *n)
{
	pthread_mutex_lock(&n->lock);
	if (!n->fired) {
		n->fired = true;
		if (n->fn && !n->closed)
			run(n);
	}
	pthread_mutex_unlock(&n->lock);
}

/* Lock held: the flag is set, but the transport has not fired yet. */
static bool flagged(const struct lrpc__cancel_note *n)
{
	return !n->fired && atomic_load(n->flag);
}

void lrpc__cancel_note_close(struct lrpc__cancel_note *n)
{
	pthread_mutex_lock(&n->lock);
	/* The handler saw the flag and returns before the transport's thread
	 * got to fire: the callback is still owed, and runs here. */
	if (flagged(n)) {
		n->fired = true;
		if (n->fn)
			run(n);
	}
	n->closed = true;
	n->fn = NULL;
	while (n->running)
		pthread_cond_wait(&n->idle, &n->lock);
	pthread_mutex_unlock(&n->lock);
}

int lrpc__cancel_note_set(struct lrpc__cancel_note *n, void (*fn)(void *arg),
			  void *arg)
{
	int ret = 0;

	pthread_mutex_lock(&n->lock);
	if (n->closed) {
		ret = -EINVAL;
	} else if (n->registered) {
		ret = -EBUSY;
	} else {
		n->registered = true;
		n->fn = fn;
		n->arg = arg;
		/* Cancelled already: the handler's own thread runs it, now. */
		if (n->fired || flagged(n)) {
			n->fired = true;
			run(n);
		}
	}
	pthread_mutex_unlock(&n->lock);
	return ret;
}
