// SPDX-License-Identifier: MIT
/*
 * Calls given up on must not starve new ones: a handler still running for
 * a caller whose deadline passed holds its receiver, so an lrpc:// server
 * starts another one for the client on demand, up to max_receivers.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "probe.lrpc.h"

static bool shm(void)
{
	return !strcmp(h_transport(), "lrpc");
}

/* A Slow call that holds its handler for 3 s, given up on after 100 ms. */
static void give_up(lrpc_channel *ch, uint32_t tag)
{
	Lrpctest__SlowReq req = LRPCTEST__SLOW_REQ__INIT;
	Lrpctest__SlowReply *rep = NULL;
	lrpc_status st;

	req.tag = tag;
	req.hold_ms = 3000;
	ck_assert_int_eq(lrpctest__probe__slow__call(ch, &req, &rep,
						     lrpc_deadline_after_ms(100), &st),
			 LRPC_DEADLINE_EXCEEDED);
	ck_assert_ptr_null(rep);
}

/* The scenario: both receivers held by calls given up on. */
START_TEST(abandoned_calls_do_not_starve_new_ones)
{
	struct peer srv;
	lrpc_channel *ch;
	lrpc_status st;

	h_dir_setup();
	h_probe_server(&srv, "abandon", "2", NULL);
	ch = h_open(&srv);
	give_up(ch, 1);
	give_up(ch, 2);
	/* Long before either handler lets go. */
	ck_assert_msg(h_echo(ch, 7, 1000, &st) == LRPC_OK, "%s", st.message);
	if (shm()) {
		Lrpctest__StatsReply *s = h_stats(ch);

		/* The Stats call may have taken a fourth. */
		ck_assert_uint_ge(s->receivers_active, 3);
		ck_assert_uint_le(s->receivers_active, 8); /* 4 x 2 */
		lrpctest__stats_reply__free_unpacked(s, NULL);
	}
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
}
END_TEST

/* The bound holds: with max_receivers 2 the third call waits, and fails at
 * its deadline, saying why. */
START_TEST(growth_stops_at_max_receivers)
{
	struct peer srv;
	lrpc_channel *ch;
	lrpc_status st;

	if (!shm())
		return; /* sockets have no receivers to grow */
	h_dir_setup();
	setenv("LRPC_PROBE_MAX_RECEIVERS", "2", 1);
	h_probe_server(&srv, "bounded", "2", NULL);
	ch = h_open(&srv);
	give_up(ch, 1);
	give_up(ch, 2);
	ck_assert_int_eq(h_echo(ch, 8, 300, &st), LRPC_DEADLINE_EXCEEDED);
	ck_assert_msg(strstr(st.message, "free lane"), "%s", st.message);
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
}
END_TEST

struct burst {
	lrpc_channel *ch;
	unsigned int idx;
	lrpc_code code;
	char why[LRPC_STATUS_MSG_MAX];
};

static void *burst_main(void *arg)
{
	struct burst *b = arg;
	lrpc_status st;

	for (uint64_t i = 0; i < 200 && b->code == LRPC_OK; i++) {
		b->code = h_echo(b->ch, ((uint64_t)b->idx << 32) | i, 10000, &st);
		if (b->code != LRPC_OK)
			memcpy(b->why, st.message, sizeof(b->why));
	}
	return NULL;
}

/* More callers than receivers: the client grows to meet them, every call
 * is answered, and growth stops at the limit. */
START_TEST(concurrent_callers_grow_receivers)
{
	struct burst b[12];
	pthread_t t[12];
	struct peer srv;
	lrpc_channel *ch;

	h_dir_setup();
	setenv("LRPC_PROBE_MAX_RECEIVERS", "5", 1);
	h_probe_server(&srv, "burst", "1", NULL);
	ch = h_open(&srv);
	for (unsigned int i = 0; i < 12; i++) {
		b[i] = (struct burst){ .ch = ch, .idx = i, .code = LRPC_OK };
		ck_assert_int_eq(pthread_create(&t[i], NULL, burst_main, &b[i]), 0);
	}
	for (unsigned int i = 0; i < 12; i++) {
		pthread_join(t[i], NULL);
		ck_assert_msg(b[i].code == LRPC_OK, "caller %u: %s: %s", i,
			      lrpc_code_name(b[i].code), b[i].why);
	}
	if (shm()) {
		Lrpctest__StatsReply *s = h_stats(ch);

		ck_assert_uint_le(s->receivers_active, 5);
		lrpctest__stats_reply__free_unpacked(s, NULL);
	}
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
}
END_TEST

H_MAIN("abandoned", 60, abandoned_calls_do_not_starve_new_ones,
       growth_stops_at_max_receivers, concurrent_callers_grow_receivers)
