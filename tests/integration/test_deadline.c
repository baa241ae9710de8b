// SPDX-License-Identifier: MIT
/* Deadlines: a slow handler, a late reply, a deadline already past. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "probe.lrpc.h"

START_TEST(slow_handler_exceeds_deadline_and_late_reply_is_dropped)
{
	Lrpctest__SlowReq sreq = LRPCTEST__SLOW_REQ__INIT;
	Lrpctest__SlowReply *srep = NULL;
	Lrpctest__EchoMsg ereq = LRPCTEST__ECHO_MSG__INIT, *erep = NULL;
	struct peer srv;
	lrpc_channel *ch;
	lrpc_status st;

	h_dir_setup();
	/* One receiver and no more: the next call must reuse the lane the
	 * late reply comes back on. */
	setenv("LRPC_PROBE_MAX_RECEIVERS", "1", 1);
	h_probe_server(&srv, "slowpoke", "1", NULL);
	ch = h_open(&srv);
	sreq.tag = 1;
	ck_assert_int_eq(lrpctest__probe__slow__call(ch, &sreq, &srep,
						     lrpc_deadline_after_ms(200), &st),
			 LRPC_DEADLINE_EXCEEDED);
	ck_assert_ptr_null(srep);
	ck_assert_int_eq(st.code, LRPC_DEADLINE_EXCEEDED);
	ck_assert_ptr_nonnull(strstr(st.message, "deadline"));

	/* The Slow handler replies once its own deadline passes; that reply
	 * must not surface here. */
	ereq.seq = 99;
	ck_assert_int_eq(lrpctest__probe__echo__call(ch, &ereq, &erep,
						     lrpc_deadline_after_ms(10000), &st),
			 LRPC_OK);
	ck_assert_uint_eq(erep->seq, 99);
	lrpctest__echo_msg__free_unpacked(erep, NULL);
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
}
END_TEST

START_TEST(past_deadline_fails_without_calling)
{
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT, *rep = NULL;
	struct peer srv;
	lrpc_channel *ch;
	lrpc_status st;

	h_dir_setup();
	h_probe_server(&srv, "late", "1", NULL);
	ch = h_open(&srv);
	ck_assert_int_eq(lrpctest__probe__echo__call(ch, &req, &rep, lrpc_now() - 1, &st),
			 LRPC_DEADLINE_EXCEEDED);
	/* The lane was never used, so a call right after succeeds at once. */
	ck_assert_int_eq(lrpctest__probe__echo__call(ch, &req, &rep, 0, &st), LRPC_OK);
	lrpctest__echo_msg__free_unpacked(rep, NULL);
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
}
END_TEST

H_MAIN("deadline", 60, slow_handler_exceeds_deadline_and_late_reply_is_dropped,
       past_deadline_fails_without_calling)
