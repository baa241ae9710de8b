// SPDX-License-Identifier: MIT
/*
 * Completion queues: the list of finished calls whose callbacks wait for
 * lrpc_cq_run(), and the deadlines of the calls not finished yet.
 *
 * Deadlines live here, not in each transport: one min-heap per cq, whose
 * earliest entry arms a timerfd, so that a call queued for a call context
 * and a call in flight end the same way at their deadline, on every
 * transport, even for a program that only polls lrpc_cq_fd(). The fd is an
 * epoll set of an eventfd (written when the finished list stops being
 * empty) and that timerfd.
 *
 * Every call finishes exactly once under the cq's lock (pending.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "client/async_md.h"
#include "client/pending.h"
#include "transport/transport.h"

struct lrpc_cq {
	pthread_mutex_t lock;
	int efd, tfd, epfd;
	bool signalled;                  /* efd holds a count */
	lrpc_deadline armed;             /* tfd's expiry, 0: disarmed */
	struct lrpc_async *head, *tail;  /* finished, callbacks to run */
	struct lrpc_async **heap;        /* unfinished, by deadline */
	size_t nheap, heap_cap;
	unsigned long outstanding;       /* started, callback not run */
	bool running;                    /* in lrpc_cq_run (its thread only) */
	/* The owner's, until lrpc_cq_free(), and one per call whose memory
	 * lives: a transport may look at a finished call (and so at this
	 * lock) after its callback ran and the cq was freed. */
	_Atomic unsigned long refs;
};

static void cq_unref(lrpc_cq *cq)
{
	if (atomic_fetch_sub_explicit(&cq->refs, 1, memory_order_acq_rel) != 1)
		return;
	free(cq->heap);
	pthread_mutex_destroy(&cq->lock);
	free(cq);
}

int lrpc_cq_new(lrpc_cq **out)
{
	struct epoll_event ev = { .events = EPOLLIN };
	lrpc_cq *cq;
	int ret = -ENOMEM;

	if (!out)
		return -EINVAL;
	*out = NULL;
	cq = calloc(1, sizeof(*cq));
	if (!cq)
		return -ENOMEM;
	cq->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	cq->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	cq->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (cq->efd < 0 || cq->tfd < 0 || cq->epfd < 0 ||
	    epoll_ctl(cq->epfd, EPOLL_CTL_ADD, cq->efd, &ev) < 0 ||
	    epoll_ctl(cq->epfd, EPOLL_CTL_ADD, cq->tfd, &ev) < 0) {
		ret = -errno;
		if (cq->efd >= 0)
			close(cq->efd);
		if (cq->tfd >= 0)
			close(cq->tfd);
		if (cq->epfd >= 0)
			close(cq->epfd);
		free(cq);
		return ret;
	}
	pthread_mutex_init(&cq->lock, NULL);
	atomic_store(&cq->refs, 1);
	*out = cq;
	return 0;
}

int lrpc_cq_free(lrpc_cq *cq)
{
	if (!cq)
		return 0;
	pthread_mutex_lock(&cq->lock);
	if (cq->outstanding || cq->running) {
		pthread_mutex_unlock(&cq->lock);
		return -EBUSY;
	}
	/* No call can finish any more, so nothing writes the fds. */
	close(cq->efd);
	close(cq->tfd);
	close(cq->epfd);
	pthread_mutex_unlock(&cq->lock);
	cq_unref(cq);
	return 0;
}

int lrpc_cq_fd(const lrpc_cq *cq)
{
	return cq ? cq->epfd : -EINVAL;
}

/* --- The deadline heap (lock held) ------------------------------------- */

static void heap_set(lrpc_cq *cq, size_t i, struct lrpc_async *p)
{
	cq->heap[i] = p;
	p->heap_idx = i;
}

static void heap_up(lrpc_cq *cq, size_t i)
{
	struct lrpc_async *p = cq->heap[i];

	while (i > 0) {
		size_t up = (i - 1) / 2;

		if (cq->heap[up]->deadline <= p->deadline)
			break;
		heap_set(cq, i, cq->heap[up]);
		i = up;
	}
	heap_set(cq, i, p);
}

static void heap_down(lrpc_cq *cq, size_t i)
{
	struct lrpc_async *p = cq->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= cq->nheap)
			break;
		if (c + 1 < cq->nheap &&
		    cq->heap[c + 1]->deadline < cq->heap[c]->deadline)
			c++;
		if (cq->heap[c]->deadline >= p->deadline)
			break;
		heap_set(cq, i, cq->heap[c]);
		i = c;
	}
	heap_set(cq, i, p);
}

static void heap_remove(lrpc_cq *cq, struct lrpc_async *p)
{
	size_t i = p->heap_idx;
	struct lrpc_async *last;

	if (i == SIZE_MAX)
		return;
	p->heap_idx = SIZE_MAX;
	last = cq->heap[--cq->nheap];
	if (last == p)
		return;
	heap_set(cq, i, last);
	heap_down(cq, i);
	heap_up(cq, last->heap_idx);
}

/* Arm the timer for the earliest deadline, if that changed. */
static void timer_arm(lrpc_cq *cq)
{
	lrpc_deadline d = cq->nheap ? cq->heap[0]->deadline : 0;
	struct itimerspec its = { 0 };

	if (d == cq->armed)
		return;
	cq->armed = d;
	if (d) {
		/* A deadline at or before the epoch start would disarm. */
		if (d < 1)
			d = 1;
		its.it_value.tv_sec = d / 1000000000;
		its.it_value.tv_nsec = d % 1000000000;
	}
	timerfd_settime(cq->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

int lrpc__cq_add(lrpc_cq *cq, struct lrpc_async *p)
{
	pthread_mutex_lock(&cq->lock);
	if (cq->nheap == cq->heap_cap) {
		size_t n = cq->heap_cap ? cq->heap_cap * 2 : 64;
		struct lrpc_async **h = realloc(cq->heap, n * sizeof(*h));

		if (!h) {
			pthread_mutex_unlock(&cq->lock);
			return -ENOMEM;
		}
		cq->heap = h;
		cq->heap_cap = n;
	}
	p->cq = cq;
	atomic_fetch_add(&cq->refs, 1);
	atomic_store(&p->refs, 2);
	/* A stream operation ends by itself at the stream's deadline, and
	 * must: its callback may free the stream, so it cannot run while
	 * the operation is still inside it. */
	if (!p->stream) {
		cq->nheap++;
		heap_set(cq, cq->nheap - 1, p);
		heap_up(cq, cq->nheap - 1);
	}
	cq->outstanding++;
	timer_arm(cq);
	pthread_mutex_unlock(&cq->lock);
	return 0;
}

/* --- Finishing ----------------------------------------------------------- */

/* Lock held: \p p finishes with \p code; its callback is queued. \return
 * false if it had finished already. */
static bool finish_locked(lrpc_cq *cq, struct lrpc_async *p, lrpc_code code)
{
	if (p->done)
		return false;
	p->done = true;
	p->code = code;
	heap_remove(cq, p);
	p->done_next = NULL;
	if (cq->tail)
		cq->tail->done_next = p;
	else
		cq->head = p;
	cq->tail = p;
	if (!cq->signalled) {
		uint64_t one = 1;

		cq->signalled = true;
		if (write(cq->efd, &one, sizeof(one)) < 0) {
			/* Only EAGAIN at 2^64-1, which one write never reaches. */
		}
	}
	return true;
}

void lrpc__pending_done(struct lrpc_async *p, lrpc_code code,
			const unsigned char *rep, size_t len,
			const lrpc_status *st)
{
	lrpc_cq *cq = p->cq;
	lrpc_status local;

	if (lrpc__pending_finished(p))
		return;
	/* The reply is taken before the lock, where the transport holds it;
	 * a call that finished meanwhile drops what was taken. */
	if (code == LRPC_OK) {
		code = p->take(p, rep, len, &local);
		st = code == LRPC_OK ? NULL : &local;
	}
	pthread_mutex_lock(&cq->lock);
	if (p->done) {
		pthread_mutex_unlock(&cq->lock);
		return; /* what take kept is freed with the call */
	}
	if (st)
		p->st = *st;
	else
		lrpc__status_set(&p->st, code, "%s", "");
	p->st.code = code;
	/* The transport's answer, not a cancel's or a deadline's: its
	 * headers and trailers go to the caller's lists (async_md.c). */
	lrpc__async_md_deliver(p->md);
	finish_locked(cq, p, code);
	pthread_mutex_unlock(&cq->lock);
}

void lrpc__pending_fail(struct lrpc_async *p, lrpc_code code, const char *fmt,
			...)
{
	lrpc_status st;
	va_list ap;

	st.code = code;
	va_start(ap, fmt);
	vsnprintf(st.message, sizeof(st.message), fmt, ap);
	va_end(ap);
	lrpc__pending_done(p, code, NULL, 0, &st);
}

bool lrpc__pending_finished(struct lrpc_async *p)
{
	bool done;

	pthread_mutex_lock(&p->cq->lock);
	done = p->done;
	pthread_mutex_unlock(&p->cq->lock);
	return done;
}

void lrpc__pending_put(struct lrpc_async *p)
{
	lrpc_cq *cq = p->cq;

	if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
		return;
	lrpc__pending_free(p);
	cq_unref(cq);
}

/* The cq's thread: tell the transport that \p p, finished here, may still
 * be in flight. */
static void abandon(struct lrpc_async *p)
{
	if (p->abandon)
		p->abandon(p);
	else if (!p->pooled && p->ch->ops->abandon)
		p->ch->ops->abandon(p->ch, p);
}

void lrpc__cq_cancel(struct lrpc_async *p)
{
	lrpc_cq *cq = p->cq;
	bool now;

	pthread_mutex_lock(&cq->lock);
	now = !p->done;
	/* A stream operation finishes by itself once the cancel reached it
	 * (see lrpc__cq_add). */
	if (now && !p->stream) {
		lrpc__status_set(&p->st, LRPC_CANCELLED, "cancelled by the client");
		finish_locked(cq, p, LRPC_CANCELLED);
	}
	pthread_mutex_unlock(&cq->lock);
	if (now)
		abandon(p);
}

/* --- Running -------------------------------------------------------------- */

/* Finish the calls whose deadline has come (at most \p cap), put on the
 * finished list; \return them in \p gone too, for abandon(). */
static unsigned int expire_locked(lrpc_cq *cq, struct lrpc_async **gone,
				  unsigned int cap)
{
	lrpc_deadline now = lrpc_now();
	unsigned int n = 0;

	while (cq->nheap && cq->heap[0]->deadline <= now && n < cap) {
		struct lrpc_async *p = cq->heap[0];

		lrpc__status_set(&p->st, LRPC_DEADLINE_EXCEEDED, "%s",
				 "deadline exceeded");
		finish_locked(cq, p, LRPC_DEADLINE_EXCEEDED);
		/* The cq's reference keeps it alive until its callback. */
		gone[n++] = p;
	}
	return n;
}

/* Take up to \p max finished calls off the list (0: all). */
static struct lrpc_async *take_locked(lrpc_cq *cq, unsigned int max)
{
	struct lrpc_async *head = cq->head, *p = head;

	if (!head)
		return NULL;
	for (unsigned int i = 1; max == 0 || i < max; i++) {
		if (!p->done_next)
			break;
		p = p->done_next;
	}
	cq->head = p->done_next;
	if (!cq->head)
		cq->tail = NULL;
	p->done_next = NULL;
	return head;
}

/* Empty the eventfd once the list is, and the timerfd once it fired
 * (lock held, so a finish cannot slip between the read and the flag);
 * then arm the timer for what is now the earliest deadline. */
static void drain_locked(lrpc_cq *cq)
{
	uint64_t v;

	if (cq->signalled && !cq->head) {
		if (read(cq->efd, &v, sizeof(v)) < 0) {
			/* EAGAIN: nothing was counted. */
		}
		cq->signalled = false;
	}
	if (cq->armed && cq->armed <= lrpc_now()) {
		/* One-shot: it fired and is disarmed now. */
		if (read(cq->tfd, &v, sizeof(v)) < 0) {
			/* EAGAIN: not yet seen as expired. */
		}
		cq->armed = 0;
	}
	timer_arm(cq);
}

static void wait_fd(lrpc_cq *cq, lrpc_deadline until)
{
	struct pollfd pf = { .fd = cq->epfd, .events = POLLIN };
	lrpc_deadline left = until - lrpc_now();
	int ms;

	if (left <= 0)
		return;
	ms = left / 1000000 > INT32_MAX ? -1 : (int)((left + 999999) / 1000000);
	poll(&pf, 1, until == INT64_MAX ? -1 : ms);
}

int lrpc_cq_run(lrpc_cq *cq, lrpc_deadline until, unsigned int max)
{
	struct lrpc_async *gone[64];
	int ran = 0;

	if (!cq)
		return -EINVAL;
	pthread_mutex_lock(&cq->lock);
	if (cq->running) {
		pthread_mutex_unlock(&cq->lock);
		return -EBUSY;
	}
	cq->running = true;
	for (;;) {
		struct lrpc_async *list, *next;
		unsigned int ngone = expire_locked(cq, gone, 64);

		list = take_locked(cq, max ? max - (unsigned int)ran : 0);
		drain_locked(cq);
		pthread_mutex_unlock(&cq->lock);
		for (unsigned int i = 0; i < ngone; i++)
			abandon(gone[i]);
		for (; list; list = next) {
			next = list->done_next;
			lrpc__pending_callback(list);
			pthread_mutex_lock(&cq->lock);
			cq->outstanding--;
			pthread_mutex_unlock(&cq->lock);
			lrpc__pending_put(list);
			ran++;
		}
		pthread_mutex_lock(&cq->lock);
		/* A full batch of expiries may have left more behind. */
		if (ngone == 64 && (!max || (unsigned int)ran < max))
			continue;
		if (ran || lrpc_now() >= until)
			break;
		pthread_mutex_unlock(&cq->lock);
		wait_fd(cq, until);
		pthread_mutex_lock(&cq->lock);
	}
	cq->running = false;
	pthread_mutex_unlock(&cq->lock);
	return ran;
}
