// SPDX-License-Identifier: MIT
/* The futex hand-off, through its ops table, between two threads sharing
 * one lane. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "handoff/handoff.h"
#include "check_main.h"

#define SERVICE 7
#define SENDER 1

static struct lrpc__lane *lane_new(void)
{
	struct lrpc__lane *lane = aligned_alloc(4096, LRPC__LANE_HDR_SIZE + 4096);

	ck_assert_ptr_nonnull(lane);
	memset(lane, 0, LRPC__LANE_HDR_SIZE + 4096);
	atomic_store(&lane->rx.state, LRPC__RX_WAIT);
	return lane;
}

static const struct lrpc__handoff *const h = &lrpc__handoff_futex;

struct fixture {
	struct lrpc__lane *lane;
	_Atomic int stop;
	_Atomic int dead;
	int served;
	int last;
	struct lrpc__hclient client;
	struct lrpc__hconn conn;
};

static void fixture_init(struct fixture *f)
{
	f->lane = lane_new();
	f->client = (struct lrpc__hclient){ .ops = h, .dead = &f->dead };
	f->conn = (struct lrpc__hconn){ .ops = h, .stop = &f->stop,
					.service_id = SERVICE };
}

static int call(struct fixture *f, int64_t ms)
{
	return h->call(&f->client, f->lane, lrpc__call_word(SERVICE, SENDER),
		       lrpc_deadline_after_ms(ms));
}


/* Echo receiver: reply seq = call seq until stopped. */
static void *receiver(void *arg)
{
	struct fixture *f = arg;
	struct lrpc__hrecv r = {
		.conn = &f->conn,
		.lane = f->lane,
		.call_word = lrpc__call_word(SERVICE, SENDER),
	};

	ck_assert_int_eq(h->recv_start(&r), 0);
	for (;;) {
		int got = h->reply_wait(&r);

		f->last = got;
		if (got < 0)
			break;
		ck_assert_int_eq(got, 1);
		ck_assert_uint_eq(atomic_load(&f->lane->rx.state),
				  lrpc__call_word(SERVICE, SENDER));
		f->lane->reply.seq = f->lane->call.seq;
		f->lane->reply.rep_len = f->lane->call.req_len;
		f->served++;
	}
	h->recv_stop(&r);
	return NULL;
}

START_TEST(call_reaches_receiver_and_returns)
{
	struct fixture f = { 0 };

	fixture_init(&f);
	pthread_t t;

	pthread_create(&t, NULL, receiver, &f);
	for (uint64_t i = 1; i <= 20000; i++) {
		f.lane->call.seq = i;
		f.lane->call.req_len = (uint32_t)i;
		ck_assert_int_eq(call(&f, 10000), 0);
		ck_assert_uint_eq(f.lane->reply.seq, i);
		ck_assert_uint_eq(f.lane->reply.rep_len, (uint32_t)i);
		ck_assert_uint_eq(atomic_load(&f.lane->tx.state), LRPC__TX_RUNNING);
	}
	atomic_store(&f.stop, 1);
	h->kick(f.lane);
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
	struct fixture f = { 0 };

	fixture_init(&f);
	uint32_t w = lrpc__call_word(SERVICE, SENDER);

	ck_assert_int_eq(call(&f, 50), -ETIMEDOUT);
	/* The call stays published: the lane is not reusable until a
	 * receiver hands it back. */
	ck_assert_uint_eq(atomic_load(&f.lane->rx.state), w);
	ck_assert(!h->returned(f.lane, 1));
	h->wait_returned(f.lane, 1, lrpc_deadline_after_ms(20));
	ck_assert(!h->returned(f.lane, 1));
	free(f.lane);
}
END_TEST

START_TEST(receiver_not_waiting_is_refused)
{
	struct fixture f = { 0 };

	fixture_init(&f);

	atomic_store(&f.lane->rx.state, LRPC__RX_RUNNING);
	ck_assert_int_eq(call(&f, 1000), -EPROTO);
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
	h->peer_gone(f->lane);
	return NULL;
}

START_TEST(dead_peer_releases_caller)
{
	struct fixture f = { 0 };

	fixture_init(&f);
	pthread_t t;

	pthread_create(&t, NULL, kill_sender, &f);
	ck_assert_int_eq(call(&f, 20000), -ECONNRESET);
	pthread_join(t, NULL);
	free(f.lane);
}
END_TEST

/* handoff.c alone negotiates: names it does not know are refused, a named
 * hand-off is the only one taken, and no id offered means no kernel one. */
START_TEST(negotiation_is_by_the_table)
{
	struct lrpc__hello hello = { 0 };
	struct lrpc__welcome w = { 0 };
	struct lrpc__hconn c = { 0 };
	const struct lrpc__handoff *want = NULL;

	ck_assert_int_eq(lrpc__handoff_hello("teleport", &hello, &want),
			 -EPROTONOSUPPORT);
	ck_assert_int_eq(lrpc__handoff_hello("futex", &hello, &want), 0);
	ck_assert_ptr_eq(want, h);
	ck_assert_str_eq(hello.handoff, "futex");
	ck_assert_uint_eq(hello.handoff_id, 0);

	strcpy(hello.handoff, "teleport");
	ck_assert_int_eq(lrpc__handoff_accept(&hello, &c, &w), EPROTONOSUPPORT);
	strcpy(hello.handoff, "futex");
	ck_assert_int_eq(lrpc__handoff_accept(&hello, &c, &w), 0);
	ck_assert_ptr_eq(c.ops, h);
	ck_assert_str_eq(w.handoff, "futex");
	/* Nothing named, nothing offered: only the fallback will do. */
	memset(&hello, 0, sizeof(hello));
	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(lrpc__handoff_accept(&hello, &c, &w), 0);
	ck_assert_ptr_eq(c.ops, h);

	ck_assert_ptr_eq(lrpc__handoff_welcomed(&w, NULL), h);
	ck_assert_ptr_eq(lrpc__handoff_welcomed(&w, h), h);
	strcpy(w.handoff, "teleport");
	ck_assert_ptr_null(lrpc__handoff_welcomed(&w, NULL));
	/* A welcome naming another hand-off than the one asked for lies. */
	for (unsigned int i = 0; lrpc__handoff_at(i); i++) {
		const struct lrpc__handoff *o = lrpc__handoff_at(i);

		strcpy(w.handoff, o->name);
		if (o != h)
			ck_assert_ptr_null(lrpc__handoff_welcomed(&w, h));
	}
	/* The fallback is last and always there. */
	for (unsigned int i = 0; lrpc__handoff_at(i); i++)
		if (!lrpc__handoff_at(i + 1))
			ck_assert_ptr_eq(lrpc__handoff_at(i), h);
	ck_assert(lrpc__handoff_available(h));
}
END_TEST

CHECK_MAIN("handoff", 60,
	   negotiation_is_by_the_table,
	   call_reaches_receiver_and_returns,
	   call_without_receiver_times_out,
	   receiver_not_waiting_is_refused,
	   dead_peer_releases_caller)
