// SPDX-License-Identifier: MIT
/*
 * rpal-user's receivers (rpal_user.c says how the hand-off works): each
 * registers and arms a struct rpal_uctx whose handler, here, serves its
 * lane on the caller's thread; a waker thread delivers stops, since the
 * receivers' waits have no timeout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>

#include <linux/rpal.h>

#include "handoff/handoff.h"
#include "handoff/rpal_kernel.h"
#include "handoff/rpal_user.h"
#include "wire/lane.h"

/* Handler stacks: the server's request handlers run on them. */
#define HANDLER_STACK (1024 * 1024)

/*
 * One receiver. The context comes first so that the handler finds the
 * rest from the context the stub passes it. Never freed: a client may
 * still hold its address; a retired one has rip and ids 0, which the stub
 * refuses (EINVAL), and is reused by the next receiver.
 */
struct ruser_recv {
	alignas(128) struct rpal_uctx ctx;
	struct lrpc__hrecv *r;
	void *stack;
	uint32_t kernel_id;
	uint32_t client_peer; /* our grant of the client: sharing needs it */
	uint64_t client_key;
	bool shared;
	int kicked; /* under kick_lock */
	struct ruser_recv *next;
};

static pthread_mutex_t kick_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t kick_cond = PTHREAD_COND_INITIALIZER;
static struct ruser_recv *live;    /* receivers that may be kicked */
static struct ruser_recv *retired; /* for reuse */
static bool waker_started;

static void fork_prepare(void)
{
	pthread_mutex_lock(&kick_lock);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&kick_lock);
}

static void fork_child(void)
{
	/* A fork child has no service, no receivers and no waker thread. */
	waker_started = false;
	live = NULL;
	fork_parent();
}

int lrpc__ruser_recv_atfork(void)
{
	return pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/*
 * The handler of every user-mode call, on a client's thread, on the
 * receiver's handler stack with its TLS, while the receiver thread sleeps
 * in its wait. Only calls of this connection's client are served; the
 * receiver's word holds the caller's ids, which the kernel wrote into the
 * caller's context.
 */
static unsigned long handler(struct rpal_uctx *ctx, unsigned long arg)
{
	struct ruser_recv *rr = (struct ruser_recv *)ctx;
	struct lrpc__hrecv *r = rr->r;
	uint32_t word = __atomic_load_n(&ctx->state, __ATOMIC_ACQUIRE);

	(void)arg;
	if (lrpc__word_service(word) != r->conn->client_id ||
	    LRPC__READ_ONCE(r->lane->call.flags) & LRPC__RUSER_STREAM_FLAGS)
		return LRPC__RUSER_REFUSED;
	if (atomic_load(r->conn->stop))
		return LRPC__RUSER_STOPPED;
	r->serve(r);
	return LRPC__RUSER_SERVED;
}

static struct ruser_recv *recv_get(void)
{
	struct ruser_recv *rr;

	pthread_mutex_lock(&kick_lock);
	rr = retired;
	if (rr)
		retired = rr->next;
	pthread_mutex_unlock(&kick_lock);
	if (!rr)
		rr = aligned_alloc(alignof(struct ruser_recv), sizeof(*rr));
	if (rr)
		memset(rr, 0, sizeof(*rr));
	return rr;
}

static void recv_put(struct ruser_recv *rr)
{
	__atomic_store_n(&rr->ctx.rip, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&rr->ctx.ids, 0, __ATOMIC_RELEASE);
	pthread_mutex_lock(&kick_lock);
	rr->next = retired;
	retired = rr;
	pthread_mutex_unlock(&kick_lock);
}

static void *waker_main(void *arg);


static int recv_arm(struct ruser_recv *rr)
{
	struct rpal_register reg = { .ctx = (uintptr_t)&rr->ctx };
	int fd = lrpc__rpal_fd();
	uint16_t cw;

	if (ioctl(fd, RPAL_IOC_REGISTER_RECEIVER, &reg) < 0)
		return -errno;
	rr->kernel_id = reg.id;
	__asm__ volatile("fnstcw %0" : "=m"(cw));
	rr->ctx.rip = (uintptr_t)handler;
	rr->ctx.rsp = (uintptr_t)rr->stack + HANDLER_STACK;
	rr->ctx.fsbase = lrpc__ruser_tls();
	rr->ctx.mxcsr = __builtin_ia32_stmxcsr();
	rr->ctx.fpucw = cw;
	rr->ctx.rseq = lrpc__ruser_rseq();
	if (ioctl(fd, RPAL_IOC_UCALL_ARM) < 0) {
		int err = -errno;

		ioctl(fd, RPAL_IOC_UNREGISTER);
		return err;
	}
	return 0;
}

int lrpc__ruser_recv_start(struct lrpc__hrecv *r)
{
	struct ruser_recv *rr = recv_get();
	bool start;
	int ret;

	if (!rr)
		return -ENOMEM;
	rr->r = r;
	rr->client_key = r->conn->client_key;
	rr->stack = mmap(NULL, HANDLER_STACK, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (rr->stack == MAP_FAILED) {
		recv_put(rr);
		return -ENOMEM;
	}
	ret = lrpc__rpal_request(rr->client_key, &rr->client_peer);
	if (ret == 0 && rr->client_peer != r->conn->client_id) {
		lrpc__rpal_release(rr->client_peer, rr->client_key);
		ret = -EPROTO;
	}
	if (ret == 0) {
		ret = recv_arm(rr);
		if (ret < 0)
			lrpc__rpal_release(rr->client_peer, rr->client_key);
	}
	if (ret < 0) {
		munmap(rr->stack, HANDLER_STACK);
		recv_put(rr);
		return ret;
	}
	r->lane->rx.kernel_id = rr->kernel_id;
	r->priv = rr;
	pthread_mutex_lock(&kick_lock);
	rr->next = live;
	live = rr;
	start = !waker_started;
	waker_started = true;
	pthread_mutex_unlock(&kick_lock);
	if (start) {
		pthread_t t;

		if (lrpc__thread_start(&t, waker_main, NULL, true) < 0) {
			pthread_mutex_lock(&kick_lock);
			waker_started = false;
			pthread_mutex_unlock(&kick_lock);
		}
	}
	return 0;
}

static int64_t receive(bool reply, int64_t timeout_ns)
{
	struct rpal_wait w = { .timeout_ns = timeout_ns };

	if (ioctl(lrpc__rpal_fd(), reply ? RPAL_IOC_REPLY_WAIT : RPAL_IOC_WAIT,
		  &w) < 0)
		return -errno;
	return (int64_t)w.service_id;
}

/*
 * The wait has no timeout (see the top of the file). It ends for a kernel
 * call: the client's (its first, a stream's open), which this receiver
 * shares the slot for before serving it, or our own waker's, which means
 * stop. EBUSY: a signal or stop ended the wait while a user-mode call
 * still runs the handler; the call ends by itself.
 */
int lrpc__ruser_reply_wait(struct lrpc__hrecv *r)
{
	struct ruser_recv *rr = r->priv;
	uint32_t self = 0;

	lrpc__rpal_self(&self, NULL);
	for (;;) {
		int64_t svc;

		if (atomic_load(r->conn->stop))
			return -ESHUTDOWN;
		svc = receive(r->replying, -1);
		r->replying = false;
		if (svc == -EINTR)
			continue;
		if (svc == -EBUSY) {
			nanosleep(&(struct timespec){ .tv_nsec = 100000 }, NULL);
			continue;
		}
		if (svc < 0)
			return -ESHUTDOWN;
		r->replying = true;
		if (atomic_load(r->conn->stop))
			return -ESHUTDOWN; /* a kick, or a call not to serve */
		/* Our own service is the waker's, unless we are the client
		 * too (a process calling its own server). */
		if (svc == self && svc != r->conn->client_id)
			continue;
		if (svc != r->conn->client_id)
			return 0;
		if (!rr->shared)
			rr->shared = ioctl(lrpc__rpal_fd(), RPAL_IOC_SHARE_SLOT,
					   (unsigned long)rr->client_peer) == 0;
		return 1;
	}
}

/* As rpal-kernel: reply, and wait no time at all. */
void lrpc__ruser_answer(struct lrpc__hrecv *r)
{
	r->replying = receive(true, 0) >= 0;
}

/*
 * The receiver's word after its wait: a user-mode call may still run (a
 * signal ended the wait, or the client died in it, which the loop's cancel
 * of every lane says). Wait for it to end, then make sure no call starts
 * (not WAIT) before the context goes.
 */
static void recv_quiesce(struct ruser_recv *rr)
{
	uint32_t *word = &rr->ctx.state;

	for (;;) {
		uint32_t w = __atomic_load_n(word, __ATOMIC_ACQUIRE);
		uint32_t want = w;

		if (lrpc__word_state(w) == LRPC__RX_WAIT) {
			if (__atomic_compare_exchange_n(word, &want,
							LRPC__RX_RUNNING, false,
							__ATOMIC_ACQ_REL,
							__ATOMIC_ACQUIRE))
				return;
			continue;
		}
		if (lrpc__word_state(w) != LRPC__RX_CALL ||
		    lrpc__word_service(w) != rr->r->conn->client_id ||
		    atomic_load(&rr->r->lane->call.cancel))
			return;
		nanosleep(&(struct timespec){ .tv_nsec = 100000 }, NULL);
	}
}

/* A call taken once the stop is set is not served: the unregister fails
 * it (ECONNRESET). While this receiver holds a kernel call no user-mode
 * call can run; otherwise one may, and is waited for. */
void lrpc__ruser_recv_stop(struct lrpc__hrecv *r)
{
	struct ruser_recv *rr = r->priv;
	struct ruser_recv **p;
	bool holding = false;

	pthread_mutex_lock(&kick_lock);
	for (p = &live; *p && *p != rr; p = &(*p)->next)
		;
	if (*p)
		*p = rr->next;
	pthread_mutex_unlock(&kick_lock);
	if (r->replying) /* release the last caller */
		holding = receive(true, 0) >= 0;
	r->replying = false;
	if (!holding)
		recv_quiesce(rr);
	ioctl(lrpc__rpal_fd(), RPAL_IOC_UNREGISTER);
	__atomic_store_n(&rr->ctx.state, LRPC__RX_RUNNING, __ATOMIC_RELEASE);
	munmap(rr->stack, HANDLER_STACK);
	lrpc__rpal_release(rr->client_peer, rr->client_key);
	recv_put(rr);
	r->priv = NULL;
}

/* Any thread: hand the receiver of \p lane to the waker. */
void lrpc__ruser_kick(struct lrpc__lane *lane)
{
	pthread_mutex_lock(&kick_lock);
	for (struct ruser_recv *rr = live; rr; rr = rr->next) {
		if (rr->r->lane == lane) {
			rr->kicked = 1;
			pthread_cond_signal(&kick_cond);
		}
	}
	pthread_mutex_unlock(&kick_lock);
}

/*
 * The waker: a kernel call to each kicked receiver, which ends its wait.
 * EAGAIN is a receiver not in its wait (a user-mode call runs, or it is
 * on its way out): tried again a millisecond later. A receiver whose
 * client died in a user-mode call keeps that call's word; once the loop
 * has cancelled the lane (the client is gone) the word is put back to
 * WAIT so that the kick can claim it.
 */
static void *waker_main(void *arg)
{
	uint32_t self_id = 0, me = 0;
	uint64_t key = 0;

	(void)arg;
	/* A thread inherits its creator's name, a receiver's: tools and
	 * tests that count receivers by name must not count the waker. */
	pthread_setname_np(pthread_self(), "lrpc-waker");
	if (lrpc__rpal_self(&self_id, &key) < 0 ||
	    lrpc__rpal_request(key, &me) < 0)
		return NULL;
	pthread_mutex_lock(&kick_lock);
	for (;;) {
		struct ruser_recv *rr;
		uint32_t id;
		int ret;

		for (rr = live; rr && !rr->kicked; rr = rr->next)
			;
		if (!rr) {
			pthread_cond_wait(&kick_cond, &kick_lock);
			continue;
		}
		if (atomic_load(&rr->r->lane->call.cancel)) {
			uint32_t w = __atomic_load_n(&rr->ctx.state, __ATOMIC_ACQUIRE);

			if (lrpc__word_state(w) == LRPC__RX_CALL &&
			    lrpc__word_service(w) == rr->r->conn->client_id)
				__atomic_compare_exchange_n(&rr->ctx.state, &w,
							    LRPC__RX_WAIT, false,
							    __ATOMIC_ACQ_REL,
							    __ATOMIC_ACQUIRE);
		}
		id = rr->kernel_id;
		pthread_mutex_unlock(&kick_lock);
		ret = lrpc__rpal_call(me, id, lrpc_now() + 100000000);
		if (ret == -EAGAIN)
			nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
		pthread_mutex_lock(&kick_lock);
		if (ret != -EAGAIN) {
			/* Delivered, or the receiver is gone: it may have been
			 * taken off the list (and reused) meanwhile. */
			for (struct ruser_recv *l = live; l; l = l->next)
				if (l == rr && l->kernel_id == id)
					l->kicked = 0;
		}
	}
	return NULL;
}
