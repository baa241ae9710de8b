// SPDX-License-Identifier: MIT
/*
 * The futex hand-off: works on any kernel. A waiter whose peer last ran on
 * another CPU spins briefly (a reply that comes within a few microseconds
 * costs no syscall on either side, and no cross-CPU wakeup, which costs
 * tens of microseconds under virtualisation); a waiter whose peer shares
 * its CPU would only keep the peer from running, so it sleeps at once. A
 * sleeper announces itself in the context's sleeper count and sleeps on the
 * state word. A waker makes the futex syscall only when that count is
 * nonzero. The count and the state word are written and read in opposite
 * orders with sequentially consistent operations (a Dekker pair), so either
 * the waiter sees the new state or the waker sees the sleeper.
 *
 * It works on the lane's own words, so the fallback needs nothing from
 * the handshake: no offer, no grant, nothing to attach or register.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "handoff/handoff.h"
#include "wire/lane.h"

#define SPIN_NS 20000

static int futex_wait_until(_Atomic uint32_t *word, uint32_t val,
			    lrpc_deadline deadline)
{
	struct timespec ts = {
		.tv_sec = deadline / 1000000000,
		.tv_nsec = deadline % 1000000000,
	};

	/* WAIT_BITSET takes an absolute CLOCK_MONOTONIC time. Not PRIVATE:
	 * the word lives in a mapping shared with another process. */
	if (syscall(SYS_futex, word, FUTEX_WAIT_BITSET, val, &ts, NULL,
		    FUTEX_BITSET_MATCH_ANY) < 0)
		return -errno;
	return 0;
}

static void futex_wake(_Atomic uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* Spinning only pays when the peer is running on another CPU meanwhile. */
static bool spin_allowed(const _Atomic int32_t *peer_cpu)
{
	int32_t peer = atomic_load_explicit(peer_cpu, memory_order_relaxed);

	return peer != sched_getcpu();
}

/* Spin until *word != val or the budget is spent. \return the last value. */
static uint32_t spin_while(_Atomic uint32_t *word, uint32_t val,
			   const _Atomic int32_t *peer_cpu)
{
	uint32_t cur = atomic_load_explicit(word, memory_order_acquire);
	lrpc_deadline until;

	if (cur != val || !spin_allowed(peer_cpu))
		return cur;
	until = lrpc_now() + SPIN_NS;
	for (unsigned int i = 1;; i++) {
		__builtin_ia32_pause();
		cur = atomic_load_explicit(word, memory_order_acquire);
		if (cur != val)
			return cur;
		if (!(i & 63) && lrpc_now() >= until)
			return cur;
	}
}

/*
 * Sleep while *word == val. \return 0 when it changed, -ETIMEDOUT at the
 * deadline, -ECANCELED when *stop became nonzero.
 */
static int sleep_while(_Atomic uint32_t *word, _Atomic uint32_t *sleepers,
		       const _Atomic int32_t *peer_cpu, uint32_t val,
		       lrpc_deadline deadline, const _Atomic int *stop)
{
	int ret = 0;

	if (spin_while(word, val, peer_cpu) != val)
		return 0;
	atomic_fetch_add_explicit(sleepers, 1, memory_order_seq_cst);
	for (;;) {
		if (atomic_load_explicit(word, memory_order_seq_cst) != val)
			break;
		if (stop && atomic_load_explicit(stop, memory_order_acquire)) {
			ret = -ECANCELED;
			break;
		}
		if (lrpc_now() >= deadline) {
			ret = -ETIMEDOUT;
			break;
		}
		futex_wait_until(word, val, deadline);
	}
	atomic_fetch_sub_explicit(sleepers, 1, memory_order_relaxed);
	/* Pairs with the waker's release: what it wrote before changing the
	 * word is visible to the caller from here on. */
	atomic_thread_fence(memory_order_acquire);
	return ret;
}

static void wake_if_sleeping(_Atomic uint32_t *word, _Atomic uint32_t *sleepers)
{
	if (atomic_load_explicit(sleepers, memory_order_seq_cst))
		futex_wake(word);
}

static int futex_send(struct lrpc__hclient *c, struct lrpc__lane *lane,
		      uint32_t call_word)
{
	uint32_t expect = LRPC__RX_WAIT;

	(void)c;
	atomic_store_explicit(&lane->tx.state, LRPC__TX_CALL,
			      memory_order_relaxed);
	atomic_store_explicit(&lane->tx.cpu, sched_getcpu(), memory_order_relaxed);
	/* Release: the call metadata and request bytes must be visible before
	 * the receiver sees CALL. Sequentially consistent so that the sleeper
	 * check below cannot move before it. */
	if (!atomic_compare_exchange_strong_explicit(&lane->rx.state, &expect,
						     call_word,
						     memory_order_seq_cst,
						     memory_order_relaxed)) {
		atomic_store_explicit(&lane->tx.state, LRPC__TX_RUNNING,
				      memory_order_relaxed);
		return -EPROTO;
	}
	wake_if_sleeping(&lane->rx.state, &lane->rx.sleepers);
	return 0;
}

/* A synchronous call is the asynchronous send and a wait on this one
 * lane's word, spinning first. */
static int futex_call(struct lrpc__hclient *c, struct lrpc__lane *lane,
		      uint32_t call_word, lrpc_deadline deadline)
{
	int ret = futex_send(c, lane, call_word);

	if (ret < 0)
		return ret;
	ret = sleep_while(&lane->tx.state, &lane->tx.sleepers, &lane->rx.cpu,
			  LRPC__TX_CALL, deadline, c->dead);
	if (ret == -ECANCELED ||
	    (ret == 0 && atomic_load_explicit(c->dead, memory_order_acquire)))
		return -ECONNRESET;
	return ret;
}

/* The receiver moves tx out of CALL only with the reply written. */
static bool futex_returned(struct lrpc__lane *lane, uint64_t seq)
{
	(void)seq;
	return atomic_load_explicit(&lane->tx.state, memory_order_acquire) !=
	       LRPC__TX_CALL;
}

static void futex_wait_returned(struct lrpc__lane *lane, uint64_t seq,
				lrpc_deadline deadline)
{
	(void)seq;
	sleep_while(&lane->tx.state, &lane->tx.sleepers, &lane->rx.cpu,
		    LRPC__TX_CALL, deadline, NULL);
}

static void futex_peer_gone(struct lrpc__lane *lane)
{
	atomic_store_explicit(&lane->tx.state, LRPC__TX_RUNNING,
			      memory_order_seq_cst);
	futex_wake(&lane->tx.state);
}

/* The reply is written: go back to WAIT and release the sender. */
static void reply(struct lrpc__lane *lane)
{
	atomic_store_explicit(&lane->rx.cpu, sched_getcpu(), memory_order_relaxed);
	/* CALL -> WAIT before the sender can see its reply, so that its next
	 * call finds the receiver waiting. */
	atomic_store_explicit(&lane->rx.state, LRPC__RX_WAIT,
			      memory_order_relaxed);
	/* Release: the reply metadata and bytes before RUNNING. */
	atomic_store_explicit(&lane->tx.state, LRPC__TX_RUNNING,
			      memory_order_seq_cst);
	wake_if_sleeping(&lane->tx.state, &lane->tx.sleepers);
}

static int futex_reply_wait(struct lrpc__hrecv *r)
{
	struct lrpc__lane *lane = r->lane;
	uint32_t w;

	if (r->replying)
		reply(lane);
	r->replying = false;
	for (;;) {
		/* The periodic timeout only guards against a peer that rewrites
		 * the word to hide our stop kick; normal wakeups are futex ones. */
		int ret = sleep_while(&lane->rx.state, &lane->rx.sleepers,
				      &lane->tx.cpu, LRPC__RX_WAIT,
				      lrpc_now() + 1000000000, r->conn->stop);

		if (ret == -ECANCELED ||
		    atomic_load_explicit(r->conn->stop, memory_order_acquire))
			return -ESHUTDOWN;
		if (ret == 0)
			break;
	}
	w = atomic_load_explicit(&lane->rx.state, memory_order_acquire);
	if (w != r->call_word) {
		/* Not a call for this receiver: a confused or hostile client.
		 * Put the word back and keep serving. */
		atomic_compare_exchange_strong(&lane->rx.state, &w, LRPC__RX_WAIT);
		return 0;
	}
	r->replying = true;
	return 1;
}

/* The word goes back to WAIT, so the receiver's next reply_wait finds
 * whatever the client does next. */
static void futex_answer(struct lrpc__hrecv *r)
{
	reply(r->lane);
	r->replying = false;
}

static void futex_kick(struct lrpc__lane *lane)
{
	uint32_t expect = LRPC__RX_WAIT;

	/* An ordinary wakeup moves WAIT to RUNNING; a receiver in CALL is
	 * left alone and notices the stop when it finishes. */
	atomic_compare_exchange_strong_explicit(&lane->rx.state, &expect,
						LRPC__RX_RUNNING,
						memory_order_seq_cst,
						memory_order_relaxed);
	futex_wake(&lane->rx.state);
}

static bool futex_probe(void)
{
	return true;
}

static int futex_accept(struct lrpc__hconn *c, const struct lrpc__hello *h,
			struct lrpc__welcome *w)
{
	(void)c;
	(void)h;
	(void)w;
	return 0;
}

static int nothing_to_attach(struct lrpc__hclient *c,
			     const struct lrpc__welcome *w)
{
	(void)c;
	(void)w;
	return 0;
}

static void nothing_to_detach(struct lrpc__hclient *c)
{
	(void)c;
}

static int nothing_to_start(struct lrpc__hrecv *r)
{
	(void)r;
	return 0;
}

static void nothing_to_stop(struct lrpc__hrecv *r)
{
	(void)r;
}

const struct lrpc__handoff lrpc__handoff_futex = {
	.name = "futex",
	.probe = futex_probe,
	.offer = NULL, /* nothing to offer: the hello's id stays 0 */
	.accept = futex_accept,
	.attach = nothing_to_attach,
	.detach = nothing_to_detach,
	.call = futex_call,
	.send = futex_send,
	.returned = futex_returned,
	.wait_returned = futex_wait_returned,
	.peer_gone = futex_peer_gone,
	.recv_start = nothing_to_start,
	.reply_wait = futex_reply_wait,
	.answer = futex_answer,
	.recv_stop = nothing_to_stop,
	.kick = futex_kick,
};
