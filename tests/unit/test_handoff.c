// SPDX-License-Identifier: MIT
/* The futex hand-off between two threads sharing one lane. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "handoff.h"
#include "check_main.h"

#define SERVICE 7
#define SENDER 1

struct fixture {
	struct lrpc__lane *lane;
	_Atomic int stop;
	_Atomic int dead;
	int served;
	int64_t last;
};

static struct lrpc__lane *lane_new(void)
{
	struct lrpc__lane *lane = aligned_alloc(4096, LRPC__LANE_HDR_SIZE + 4096);

	ck_assert_ptr_nonnull(lane);
	memset(lane, 0, LRPC__LANE_HDR_SIZE + 4096);
	atomic_store(&lane->rx.state, LRPC__RX_WAIT);
	return lane;
}

/* Echo receiver: reply seq = call seq until stopped. */
static void *receiver(void *arg)
{
	struct fixture *f = arg;

	for (;;) {
		int64_t w = lrpc__futex_recv(f->lane, &f->stop);

		f->last = w;
		if (w < 0)
			return NULL;
		ck_assert_uint_eq((uint32_t)w, lrpc__call_word(SERVICE, SENDER));
		f->lane->reply.seq = f->lane->call.seq;
		f->lane->reply.rep_len = f->lane->call.req_len;
		f->served++;
		lrpc__futex_reply(f->lane);
	}
}

START_TEST(call_reaches_receiver_and_returns)
{
	struct fixture f = { .lane = lane_new() };
	pthread_t t;

	pthread_create(&t, NULL, receiver, &f);
	for (uint64_t i = 1; i <= 20000; i++) {
		f.lane->call.seq = i;
		f.lane->call.req_len = (uint32_t)i;
		ck_assert_int_eq(lrpc__futex_call(f.lane, lrpc__call_word(SERVICE, SENDER),
						  lrpc_deadline_after_ms(10000), &f.dead), 0);
		ck_assert_uint_eq(f.lane->reply.seq, i);
		ck_assert_uint_eq(f.lane->reply.rep_len, (uint32_t)i);
		ck_assert_uint_eq(atomic_load(&f.lane->tx.state), LRPC__TX_RUNNING);
	}
	atomic_store(&f.stop, 1);
	lrpc__futex_kick_receiver(f.lane);
	pthread_join(t, NULL);
	ck_assert_int_eq(f.served, 20000);
	ck_assert_int_eq(f.last, -ESHUTDOWN);
	/* The stop kick is an ordinary wakeup: WAIT -> RUNNING. */
	ck_assert_uint_eq(atomic_load(&f.lane->rx.state), LRPC__RX_RUNNING);
	free(f.lane);
}
END_TEST

START_TEST(call_without_receiver_times_out)
{
	struct fixture f = { .lane = lane_new() };
	uint32_t w = lrpc__call_word(SERVICE, SENDER);

	ck_assert_int_eq(lrpc__futex_call(f.lane, w, lrpc_deadline_after_ms(50), &f.dead),
			 -ETIMEDOUT);
	/* The call stays published: the lane is not reusable until a
	 * receiver hands it back. */
	ck_assert_uint_eq(atomic_load(&f.lane->rx.state), w);
	ck_assert_int_eq(lrpc__futex_wait_returned(f.lane, lrpc_deadline_after_ms(20)),
			 -ETIMEDOUT);
	free(f.lane);
}
END_TEST

START_TEST(receiver_not_waiting_is_refused)
{
	struct fixture f = { .lane = lane_new() };

	atomic_store(&f.lane->rx.state, LRPC__RX_RUNNING);
	ck_assert_int_eq(lrpc__futex_call(f.lane, lrpc__call_word(SERVICE, SENDER),
					  lrpc_deadline_after_ms(1000), &f.dead), -EPROTO);
	ck_assert_uint_eq(atomic_load(&f.lane->tx.state), LRPC__TX_RUNNING);
	free(f.lane);
}
END_TEST

static void *kill_sender(void *arg)
{
	struct fixture *f = arg;

	/* Wait until the call is published, then declare the peer dead. */
	while (atomic_load(&f->lane->rx.state) == LRPC__RX_WAIT)
		;
	atomic_store(&f->dead, 1);
	lrpc__futex_kick_sender(f->lane);
	return NULL;
}

START_TEST(dead_peer_releases_caller)
{
	struct fixture f = { .lane = lane_new() };
	pthread_t t;

	pthread_create(&t, NULL, kill_sender, &f);
	ck_assert_int_eq(lrpc__futex_call(f.lane, lrpc__call_word(SERVICE, SENDER),
					  lrpc_deadline_after_ms(20000), &f.dead),
			 -ECONNRESET);
	pthread_join(t, NULL);
	free(f.lane);
}
END_TEST

CHECK_MAIN("handoff", 60,
	   call_reaches_receiver_and_returns,
	   call_without_receiver_times_out,
	   receiver_not_waiting_is_refused,
	   dead_peer_releases_caller)
