// SPDX-License-Identifier: MIT
/*
 * What asynchronous calls cannot do without blocking a thread, done on a
 * few threads the channel owns: calls over a hand-off that cannot send
 * without waiting for the reply (rpal-kernel's call is one blocking
 * ioctl; lrpc:// on a kernel without futex_waitv), with their call
 * options if they have any (async_md.c), and stream operations
 * (stream_async.c: no transport has a stream operation that does not
 * block). Each thread runs one at a time on the synchronous path and
 * reports it. A unary call, with call options or without, comes here
 * only from a channel without a start op or from a start that cannot
 * take it (lrpc_async.c, say, without futex_waitv). What finds every
 * thread busy waits in the pool's queue (the channel's async_queue_max
 * bounds it), so at most POOL_MAX of
 * a channel's such operations run at once; the others are in flight only
 * from the caller's point of view. A cancel or deadline finishes a call
 * at once (cq.c), but one already running goes on until its own deadline:
 * the thread cannot be interrupted in the hand-off (a stream operation
 * is: its abandon cancels the stream).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client/async_md.h"
#include "client/call.h"
#include "client/pending.h"
#include "transport/transport.h"

#define POOL_MAX 8

struct lrpc__async_pool {
	lrpc_channel *ch;
	pthread_mutex_t lock;
	pthread_cond_t work;
	struct lrpc__aqueue q;
	unsigned int idle, nthreads;
	unsigned int running; /* calls a thread has taken */
	bool stop;
	pthread_t threads[POOL_MAX];
};

struct pool_io {
	struct lrpc__call_io io;
	struct lrpc_async *p;
	bool taken;
};

static void pool_put(struct lrpc__call_io *io, unsigned char *buf)
{
	struct pool_io *c = (struct pool_io *)io;

	if (io->req_len)
		memcpy(buf, c->p->req, io->req_len);
}

static lrpc_code pool_take(struct lrpc__call_io *io, const unsigned char *rep,
			   size_t len, lrpc_status *st)
{
	struct pool_io *c = (struct pool_io *)io;

	(void)st;
	c->taken = true;
	lrpc__pending_done(c->p, LRPC_OK, rep, len, NULL);
	return LRPC_OK;
}

static void run_one(struct lrpc__async_pool *pl, struct lrpc_async *p)
{
	struct pool_io c = {
		.io = { .req_len = p->req_len, .put = pool_put, .take = pool_take,
			.opts = p->md ? &p->md->opts : NULL },
		.p = p,
	};
	lrpc_status st;
	lrpc_code code;

	code = lrpc__call(pl->ch, p->method_id, p->full_name, p->deadline,
			  &c.io, &st);
	if (!c.taken)
		lrpc__pending_done(p, code, NULL, 0, &st);
}

static void *pool_thread(void *arg)
{
	struct lrpc__async_pool *pl = arg;

	pthread_mutex_lock(&pl->lock);
	for (;;) {
		struct lrpc_async *p = lrpc__aqueue_pop(&pl->q);

		if (!p) {
			if (pl->stop)
				break;
			pl->idle++;
			pthread_cond_wait(&pl->work, &pl->lock);
			pl->idle--;
			continue;
		}
		pl->running++;
		pthread_mutex_unlock(&pl->lock);
		/* A call cancelled or expired while queued is only dropped. */
		if (!lrpc__pending_finished(p)) {
			if (p->run)
				p->run(p);
			else
				run_one(pl, p);
		}
		lrpc__pending_put(p);
		pthread_mutex_lock(&pl->lock);
		pl->running--;
	}
	pthread_mutex_unlock(&pl->lock);
	return NULL;
}

static struct lrpc__async_pool *pool_get(lrpc_channel *ch)
{
	struct lrpc__async_pool *pl = atomic_load(&ch->pool), *none = NULL;

	if (pl)
		return pl;
	pl = calloc(1, sizeof(*pl));
	if (!pl)
		return NULL;
	pl->ch = ch;
	pthread_mutex_init(&pl->lock, NULL);
	pthread_cond_init(&pl->work, NULL);
	if (atomic_compare_exchange_strong(&ch->pool, &none, pl))
		return pl;
	pthread_cond_destroy(&pl->work);
	pthread_mutex_destroy(&pl->lock);
	free(pl);
	return none;
}

void lrpc__async_pool_start(lrpc_channel *ch, struct lrpc_async *p)
{
	struct lrpc__async_pool *pl = pool_get(ch);

	/* Atomic: the cq's thread may be abandoning it meanwhile. */
	p->pooled = true;
	if (!pl) {
		lrpc__pending_fail(p, LRPC_RESOURCE_EXHAUSTED, "out of memory");
		lrpc__pending_put(p);
		return;
	}
	pthread_mutex_lock(&pl->lock);
	/* The bound is on calls that wait for a thread: as many as there are
	 * threads not in a call (idle, or yet to start) will not. */
	if (!lrpc__aqueue_push(&pl->q, p, lrpc__async_queue_max(ch) + POOL_MAX -
						 pl->running)) {
		pthread_mutex_unlock(&pl->lock);
		return;
	}
	if (pl->idle)
		pthread_cond_signal(&pl->work);
	else if (pl->nthreads < POOL_MAX &&
		 lrpc__thread_start(&pl->threads[pl->nthreads], pool_thread, pl,
				    false) == 0)
		pl->nthreads++;
	if (!pl->nthreads) {
		/* Not one thread: nobody would ever run it. */
		lrpc__aqueue_pop(&pl->q);
		pthread_mutex_unlock(&pl->lock);
		lrpc__pending_fail(p, LRPC_RESOURCE_EXHAUSTED,
				   "no thread for asynchronous calls");
		lrpc__pending_put(p);
		return;
	}
	pthread_mutex_unlock(&pl->lock);
}

void lrpc__async_pool_close(lrpc_channel *ch)
{
	struct lrpc__async_pool *pl = atomic_load(&ch->pool);

	if (!pl)
		return;
	pthread_mutex_lock(&pl->lock);
	pl->stop = true;
	pthread_cond_broadcast(&pl->work);
	pthread_mutex_unlock(&pl->lock);
	for (unsigned int i = 0; i < pl->nthreads; i++)
		pthread_join(pl->threads[i], NULL);
	pthread_cond_destroy(&pl->work);
	pthread_mutex_destroy(&pl->lock);
	free(pl);
	ch->pool = NULL;
}
