// SPDX-License-Identifier: MIT
/*
 * Asynchronous calls over lrpc:// with a hand-off that can send without
 * waiting (futex): no thread per call. A call that finds a free lane is
 * published from the starting thread, exactly as a synchronous call is
 * (the hand-off's send); watcher threads of the channel then wait on the
 * tx words of every lane in flight at once with futex_waitv (Linux 5.16),
 * and finish each call as its receiver hands the lane back. No protocol
 * change: the receiver's reply already wakes a futex waiter counted in
 * tx.sleepers, and a watcher is one.
 *
 * futex_waitv takes 128 words: one watcher serves 127 lanes and its own
 * kick word, and a channel starts another watcher for each 127 more lanes
 * in flight (1024 lanes at most: 9). A call that finds no free lane waits
 * in the channel's queue (async_queue_max); watcher 0 dispatches it when a
 * lane is released (the connection's freed_hook), or asks the server for
 * one more receiver (lrpc__shm_grow), and redials a server that went
 * away. A lane held by a synchronous call that timed out is not
 * signalled when it comes back; while calls wait for one, watcher 0 looks
 * again every 10 ms, as it does for a server that went away while calls of
 * a wait_for_ready channel wait.
 *
 * Deadlines and cancels finish a call in its cq (cq.c); abandon then sets
 * the lane's cancel word, which the handler reads as lrpc_call_cancelled(),
 * and the watcher keeps the lane until the receiver hands it back, so a
 * late reply never reaches a later call.
 *
 * A call with options (client/async_md.h) is laid out on its lane as a
 * synchronous call's: its request metadata after the request; the
 * watcher that finishes it parses the response headers and trailers into
 * the call's private lists, which lrpc__pending_done() hands over.
 *
 * Without futex_waitv, or over a hand-off without send (rpal-kernel),
 * calls take the generic pool (client/async_pool.c), options and all.
 *
 * Lock order: a->lock, then a connection's lock, then a cq's lock.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "client/async_md.h"
#include "client/pending.h"
#include "transport/lrpc_client.h"

#define SLOTS 127 /* FUTEX_WAITV_MAX, less the kick word */
#define MAX_WATCHERS ((LRPC__MAX_LANES + SLOTS - 1) / SLOTS)
#define RETRY_NS 10000000

#ifndef FUTEX2_SIZE_U32
#define FUTEX2_SIZE_U32 0x02
#endif
#ifndef FUTEX2_PRIVATE
#define FUTEX2_PRIVATE FUTEX_PRIVATE_FLAG
#endif

struct watcher {
	struct lrpc__lasync *a;
	unsigned int idx;
	pthread_t thread;
	_Atomic uint32_t kick; /* bumped to make it look again */
	bool sleeping;         /* in futex_waitv; a->lock */
	unsigned int n;        /* slots in use; a->lock */
	struct chan_lane *cl[SLOTS];
	struct lrpc_async *p[SLOTS];
};

struct lrpc__lasync {
	lrpc_channel *c;
	pthread_mutex_t lock;
	struct lrpc__aqueue q;
	struct watcher *w[MAX_WATCHERS];
	unsigned int nw;
	bool stop;
	/* The connection whose waiters count us (a reference), or NULL. */
	struct shm_chan *waiting_on;
};

static long waitv(struct futex_waitv *v, unsigned int n, lrpc_deadline until)
{
	struct timespec ts = { .tv_sec = until / 1000000000,
			       .tv_nsec = until % 1000000000 };

	return syscall(SYS_futex_waitv, v, n, 0, until ? &ts : NULL,
		       CLOCK_MONOTONIC);
}

/* Has this kernel futex_waitv? Asked once (0 words: EINVAL if it has).
 * LAZYRPC_FUTEX_WAITV=0 answers no, as a kernel before 5.16 would (the
 * tests run the pool that way; like libuv's UV_USE_IO_URING). */
static bool have_waitv(void)
{
	static _Atomic int known; /* 0 unknown, 1 yes, 2 no */
	int k = atomic_load_explicit(&known, memory_order_relaxed);

	if (!k) {
		const char *env = getenv("LAZYRPC_FUTEX_WAITV");

		k = (env && !strcmp(env, "0")) ||
		    (waitv(NULL, 0, 0) < 0 && errno == ENOSYS) ? 2 : 1;
		atomic_store_explicit(&known, k, memory_order_relaxed);
	}
	return k == 1;
}

static void kick(struct watcher *w)
{
	atomic_fetch_add_explicit(&w->kick, 1, memory_order_seq_cst);
	syscall(SYS_futex, &w->kick, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* A connection freed a lane or grew one, or died (its lock held, maybe
 * ours too): make the dispatcher look. Takes no lock. */
static void on_freed(void *arg)
{
	struct lrpc__lasync *a = arg;

	kick(a->w[0]);
}

/* Stop counting as a waiter of a connection. */
static void unwait(struct lrpc__lasync *a)
{
	struct shm_chan *ch = a->waiting_on;

	if (!ch)
		return;
	pthread_mutex_lock(&ch->lock);
	ch->freed_hook = NULL;
	ch->freed_arg = NULL;
	atomic_fetch_sub(&ch->waiters, 1);
	pthread_mutex_unlock(&ch->lock);
	a->waiting_on = NULL;
	lrpc__chan_unref(ch);
}

static void *watch(void *arg);

/* A watcher with a free slot, started if need be. */
static struct watcher *room(struct lrpc__lasync *a)
{
	struct watcher *w;

	for (unsigned int i = 0; i < a->nw; i++)
		if (a->w[i]->n < SLOTS)
			return a->w[i];
	if (a->nw == MAX_WATCHERS)
		return NULL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->a = a;
	w->idx = a->nw;
	if (lrpc__thread_start(&w->thread, watch, w, false) < 0) {
		free(w);
		return NULL;
	}
	a->w[a->nw++] = w;
	return w;
}

/* Give the lane back without the call's metadata pointers (they point
 * into the call, which may be freed once put). */
static void lane_give(struct shm_chan *ch, struct chan_lane *cl)
{
	cl->rb.md = NULL;
	cl->rb.n_md = 0;
	cl->rb.headers = cl->rb.trailers = NULL;
	lrpc__chan_release(ch, &cl->rb);
}

/* Point the lane at \p p's call options (async_md.h), as the synchronous
 * path does: its copy of the request metadata, written after the request,
 * and its private lists, which finish fills on the watcher's thread and
 * lrpc__pending_done() hands over. \return LRPC_OK or why not (\p st). */
static lrpc_code lane_md(struct chan_lane *cl, struct lrpc_async *p, lrpc_status *st)
{
	if (!p->md)
		return LRPC_OK;
	cl->rb.md = p->md->opts.metadata;
	cl->rb.n_md = p->md->opts.n_metadata;
	cl->rb.headers = p->md->opts.headers;
	cl->rb.trailers = p->md->opts.trailers;
	return cl->rb.n_md ? lrpc__chan_put_md(cl, p->req_len, st) : LRPC_OK;
}

/* Publish \p p on the lane \p cl of \p ch and give it to a watcher. */
static void send_on(struct lrpc__lasync *a, struct shm_chan *ch,
		    struct chan_lane *cl, struct lrpc_async *p)
{
	struct watcher *w = room(a);
	const unsigned char *rep;
	size_t len;
	lrpc_status st;
	lrpc_code code;
	int ret;

	if (!w) {
		lrpc__chan_release(ch, &cl->rb);
		lrpc__pending_fail(p, LRPC_RESOURCE_EXHAUSTED,
				   "no thread to watch asynchronous calls");
		lrpc__pending_put(p);
		return;
	}
	if (p->req_len)
		memcpy(cl->rb.buf, p->req, p->req_len);
	lrpc__chan_prepare(cl, p->method_id, p->req_len, p->deadline);
	code = lane_md(cl, p, &st);
	if (code != LRPC_OK) {
		/* Nothing was published: the lane is as it was. */
		lrpc__pending_done(p, code, NULL, 0, &st);
		lane_give(ch, cl);
		lrpc__pending_put(p);
		return;
	}
	ret = ch->hand.ops->send(&ch->hand, cl->lane, cl->call_word);
	if (ret < 0) {
		code = lrpc__chan_finish(ch, cl, ret, p->deadline, &rep, &len, &st);
		lrpc__pending_done(p, code, NULL, 0, &st);
		lane_give(ch, cl);
		lrpc__pending_put(p);
		return;
	}
	/* Counted before the watcher compares the word: either the receiver
	 * sees us and wakes us, or we see its reply (futex.c's Dekker pair). */
	atomic_fetch_add_explicit(&cl->lane->tx.sleepers, 1, memory_order_seq_cst);
	w->cl[w->n] = cl;
	w->p[w->n] = p;
	w->n++;
	p->tctx = cl;
	if (w->sleeping)
		kick(w);
}

/* Slot \p i of \p w is answered (or its server gone): finish its call and
 * give the lane back. */
static void complete(struct watcher *w, unsigned int i)
{
	struct chan_lane *cl = w->cl[i];
	struct lrpc_async *p = w->p[i];
	struct shm_chan *ch = cl->ch;
	bool replied = atomic_load_explicit(&cl->lane->tx.state,
					    memory_order_acquire) != LRPC__TX_CALL;
	const unsigned char *rep = NULL;
	size_t len = 0;
	lrpc_status st;
	lrpc_code code;

	atomic_fetch_sub_explicit(&cl->lane->tx.sleepers, 1, memory_order_relaxed);
	code = lrpc__chan_finish(ch, cl, replied ? 0 : -ECONNRESET, p->deadline,
				 &rep, &len, &st);
	lrpc__pending_done(p, code, rep, len, &st);
	/* A cancel we set is read by nobody once the lane is handed back. */
	if (atomic_load_explicit(&cl->lane->call.cancel, memory_order_relaxed))
		atomic_store_explicit(&cl->lane->call.cancel, 0,
				      memory_order_relaxed);
	p->tctx = NULL;
	w->n--;
	w->cl[i] = w->cl[w->n];
	w->p[i] = w->p[w->n];
	lane_give(ch, cl);
	lrpc__pending_put(p);
}

/* Announce ourselves a waiter of \p ch, then look for a lane once more (a
 * release before the announcement did not see us) and else ask for one
 * more receiver. *poll: nothing will tell us when one is free. */
static struct chan_lane *want_lane(struct lrpc__lasync *a, struct shm_chan *ch,
				   bool *poll)
{
	struct chan_lane *cl;
	bool coming = false;

	if (a->waiting_on != ch)
		unwait(a);
	pthread_mutex_lock(&ch->lock);
	if (!a->waiting_on) {
		lrpc__chan_ref(ch);
		a->waiting_on = ch;
		ch->freed_hook = on_freed;
		ch->freed_arg = a;
		atomic_fetch_add(&ch->waiters, 1);
	}
	cl = lrpc__chan_try_acquire(ch);
	if (!cl)
		coming = lrpc__shm_grow(ch);
	pthread_mutex_unlock(&ch->lock);
	*poll = !cl && !coming;
	return cl;
}

/* Watcher 0: send what waits, while there are lanes. \return true if
 * some still wait with nothing to wake us for them (then look again
 * soon). */
static bool dispatch(struct lrpc__lasync *a)
{
	bool poll = false;

	while (a->q.head && !a->stop) {
		struct lrpc_async *p = a->q.head;
		struct chan_lane *cl = NULL;
		struct shm_chan *ch;

		if (p->tctx != &a->q) { /* finished while queued (abandon) */
			lrpc__pending_put(lrpc__aqueue_pop(&a->q));
			continue;
		}
		ch = lrpc__chan_current(a->c);
		if (!ch) {
			lrpc_status st;
			lrpc_code code = LRPC_UNAVAILABLE;

			unwait(a);
			/* Only appends and abandons can happen meanwhile. */
			pthread_mutex_unlock(&a->lock);
			ch = lrpc__chan_use(a->c, p->deadline, &code, &st);
			pthread_mutex_lock(&a->lock);
			/* wait_for_ready: try again soon; the redial backs
			 * off by itself, the cq ends the call at its deadline. */
			if (!ch && code == LRPC_UNAVAILABLE &&
			    a->c->opts.wait_for_ready && p->tctx == &a->q)
				return true;
			if (!ch) {
				lrpc__pending_done(lrpc__aqueue_pop(&a->q), code,
						   NULL, 0, &st);
				lrpc__pending_put(p);
				continue;
			}
		}
		if (!ch->hand.ops->send) {
			/* Reconnected over a hand-off that cannot send. */
			lrpc__chan_unref(ch);
			lrpc__async_pool_start(a->c, lrpc__aqueue_pop(&a->q));
			continue;
		}
		cl = lrpc__chan_try_acquire(ch);
		if (!cl)
			cl = want_lane(a, ch, &poll);
		if (cl && p->tctx == &a->q) {
			lrpc__aqueue_pop(&a->q);
			send_on(a, ch, cl, p);
		} else if (cl) {
			lrpc__chan_release(ch, &cl->rb);
		}
		lrpc__chan_unref(ch);
		if (!cl)
			return poll;
	}
	unwait(a);
	return false;
}

/* Close: let go of every lane; their calls end CANCELLED unless they
 * finished; lanes still in flight stay abandoned until handed back. */
static void drop_all(struct watcher *w)
{
	struct lrpc__lasync *a = w->a;

	while (w->n) {
		struct chan_lane *cl = w->cl[--w->n];
		struct lrpc_async *p = w->p[w->n];

		atomic_fetch_sub(&cl->lane->tx.sleepers, 1);
		atomic_store_explicit(&cl->lane->call.cancel, 1,
				      memory_order_relaxed);
		cl->timed_out = true;
		lrpc__pending_fail(p, LRPC_CANCELLED, "channel closed");
		p->tctx = NULL;
		lane_give(cl->ch, cl);
		lrpc__pending_put(p);
	}
	if (w->idx == 0) {
		lrpc__aqueue_cancel_all(&a->q);
		unwait(a);
	}
}

static void *watch(void *arg)
{
	struct watcher *w = arg;
	struct lrpc__lasync *a = w->a;
	struct futex_waitv v[SLOTS + 1];

	memset(v, 0, sizeof(v));
	pthread_mutex_lock(&a->lock);
	for (;;) {
		/* Read first: a kick after this makes the wait return. */
		uint32_t k = atomic_load_explicit(&w->kick, memory_order_seq_cst);
		lrpc_deadline until = 0;
		unsigned int nv;

		for (unsigned int i = 0; i < w->n;) {
			struct chan_lane *cl = w->cl[i];

			if (atomic_load_explicit(&cl->lane->tx.state,
						 memory_order_seq_cst) != LRPC__TX_CALL ||
			    atomic_load(&cl->ch->dead))
				complete(w, i);
			else
				i++;
		}
		if (w->idx == 0 && a->q.head && dispatch(a))
			until = lrpc_now() + RETRY_NS;
		if (a->stop)
			break;
		v[0] = (struct futex_waitv){ .val = k,
					     .uaddr = (uintptr_t)&w->kick,
					     .flags = FUTEX2_SIZE_U32 | FUTEX2_PRIVATE };
		/* Not private: the words are in the region the server maps. */
		for (unsigned int i = 0; i < w->n; i++)
			v[i + 1] = (struct futex_waitv){
				.val = LRPC__TX_CALL,
				.uaddr = (uintptr_t)&w->cl[i]->lane->tx.state,
				.flags = FUTEX2_SIZE_U32,
			};
		nv = w->n + 1; /* w->n may grow once we let go of the lock */
		w->sleeping = true;
		pthread_mutex_unlock(&a->lock);
		waitv(v, nv, until);
		pthread_mutex_lock(&a->lock);
		w->sleeping = false;
	}
	drop_all(w);
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

static struct lrpc__lasync *lasync_get(lrpc_channel *c)
{
	_Atomic(struct lrpc__lasync *) *slot = lrpc__chan_async_slot(c);
	struct lrpc__lasync *a = atomic_load(slot), *none = NULL;

	if (a)
		return a;
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->c = c;
	pthread_mutex_init(&a->lock, NULL);
	pthread_mutex_lock(&a->lock);
	if (!room(a)) { /* watcher 0, the dispatcher */
		pthread_mutex_unlock(&a->lock);
		pthread_mutex_destroy(&a->lock);
		free(a);
		return NULL;
	}
	pthread_mutex_unlock(&a->lock);
	if (atomic_compare_exchange_strong(slot, &none, a))
		return a;
	/* Lost the race: stop ours. */
	pthread_mutex_lock(&a->lock);
	a->stop = true;
	pthread_mutex_unlock(&a->lock);
	kick(a->w[0]);
	pthread_join(a->w[0]->thread, NULL);
	free(a->w[0]);
	pthread_mutex_destroy(&a->lock);
	free(a);
	return none;
}

void lrpc__lrpc_async_start(lrpc_channel *c, struct lrpc_async *p)
{
	struct shm_chan *ch = lrpc__chan_current(c);
	struct lrpc__lasync *a;
	bool native = !ch || ch->hand.ops->send;

	if (!native || !have_waitv() || !(a = lasync_get(c))) {
		if (ch)
			lrpc__chan_unref(ch);
		lrpc__async_pool_start(c, p);
		return;
	}
	pthread_mutex_lock(&a->lock);
	if (!a->q.head && ch) {
		struct chan_lane *cl = lrpc__chan_try_acquire(ch);

		if (cl) {
			send_on(a, ch, cl, p);
			pthread_mutex_unlock(&a->lock);
			lrpc__chan_unref(ch);
			return;
		}
	}
	if (ch)
		lrpc__chan_unref(ch);
	if (lrpc__aqueue_push(&a->q, p, lrpc__async_queue_max(c)))
		kick(a->w[0]);
	pthread_mutex_unlock(&a->lock);
}

void lrpc__lrpc_async_abandon(lrpc_channel *c, struct lrpc_async *p)
{
	struct lrpc__lasync *a = atomic_load(lrpc__chan_async_slot(c));

	if (!a)
		return; /* it ran on the pool */
	pthread_mutex_lock(&a->lock);
	if (lrpc__aqueue_abandon(&a->q, p)) {
		/* Queued: dispatch drops it. */
	} else if (p->tctx) {
		struct chan_lane *cl = p->tctx;

		/* Read by the handler's lrpc_call_cancelled(). */
		atomic_store_explicit(&cl->lane->call.cancel, 1,
				      memory_order_relaxed);
	}
	pthread_mutex_unlock(&a->lock);
}

void lrpc__lrpc_async_close(lrpc_channel *c)
{
	_Atomic(struct lrpc__lasync *) *slot = lrpc__chan_async_slot(c);
	struct lrpc__lasync *a = atomic_load(slot);

	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->stop = true;
	for (unsigned int i = 0; i < a->nw; i++)
		kick(a->w[i]);
	pthread_mutex_unlock(&a->lock);
	for (unsigned int i = 0; i < a->nw; i++) {
		pthread_join(a->w[i]->thread, NULL);
		free(a->w[i]);
	}
	pthread_mutex_destroy(&a->lock);
	free(a);
	atomic_store(slot, NULL);
}
