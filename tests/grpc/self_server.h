/* SPDX-License-Identifier: MIT */
/*
 * For client tests that watch the server's side too: lazyrpc's own
 * grpc.testing.TestService server, in this process, on a loopback port,
 * and a grpc:// channel to it. Any failure fails the test.
 */
#ifndef LRPC_TEST_SELF_SERVER_H
#define LRPC_TEST_SELF_SERVER_H

#include <check.h>

#include <lazyrpc/lazyrpc.h>

#include "grpc/testing/test.lrpc.h"

/* Start *\p s (\p so may be NULL) with \p h; \return the channel, which
 * the caller closes before lrpc_server_free(*s). */
static inline lrpc_channel *self_serve(const lrpc_server_opts *so,
				       const Grpc__Testing__TestService_Handlers *h,
				       lrpc_server **s)
{
	lrpc_status st = { 0 };
	lrpc_channel_opts o;
	lrpc_channel *ch;
	char uri[300];

	ck_assert_int_eq(lrpc_server_new(so, s), 0);
	ck_assert_int_eq(grpc__testing__test_service__register(*s, h, NULL), 0);
	ck_assert_int_eq(lrpc_server_listen(*s, "grpc://127.0.0.1:0"), 0);
	ck_assert_int_eq(lrpc_server_start(*s), 0);
	ck_assert_int_eq(lrpc_server_listener_uri(*s, 0, uri, sizeof(uri)), 0);
	lrpc_channel_opts_init(&o);
	o.open_status = &st;
	ck_assert_msg(lrpc_channel_open(uri, &o, &ch) == 0, "%s", st.message);
	return ch;
}

#endif
