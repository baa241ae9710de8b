// SPDX-License-Identifier: MIT
/* Bad calls get clear statuses, and the channel keeps working after each. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "probe.lrpc.h"

#define MAX_MSG 65536

static struct peer srv;
static lrpc_channel *ch;

static void setup(void)
{
	lrpc_channel_opts o;

	h_dir_setup();
	h_probe_server(&srv, "errors", "1", "65536");
	/* Socket channels have their own limit; make it the server's. */
	lrpc_channel_opts_init(&o);
	o.max_msg_size = MAX_MSG;
	ch = h_open_opts(&srv, &o);
}

static void teardown(void)
{
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
}

static void echo_still_works(void)
{
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT, *rep;

	req.seq = 5;
	ck_assert_int_eq(lrpctest__probe__echo__call(ch, &req, &rep, 0, NULL), LRPC_OK);
	ck_assert_uint_eq(rep->seq, 5);
	lrpctest__echo_msg__free_unpacked(rep, NULL);
}

START_TEST(unknown_method_is_unimplemented)
{
	char rep[16];
	size_t n;
	lrpc_status st;

	setup();
	ck_assert_int_eq(lrpc_channel_call_raw(ch, 0xdeadbeef, "", 0, rep, sizeof(rep),
					       &n, 0, &st), LRPC_UNIMPLEMENTED);
	ck_assert_ptr_nonnull(strstr(st.message, "0xdeadbeef"));
	echo_still_works();
	teardown();
}
END_TEST

/* A client that knows the method's name gets it back, not the id alone. */
START_TEST(unknown_method_is_named)
{
	lrpc_method_desc missing = *lrpctest__probe__service_desc.methods;
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT, *rep = NULL;
	lrpc_status st;

	missing.full_name = "/lrpctest.Probe/Missing";
	missing.name = "Missing";
	missing.id = lrpc_method_id(missing.full_name);
	setup();
	ck_assert_int_eq(lrpc_channel_call(ch, &missing, &req.base,
					   (ProtobufCMessage **)&rep, 0, &st),
			 LRPC_UNIMPLEMENTED);
	ck_assert_ptr_null(rep);
	ck_assert_msg(strstr(st.message, "/lrpctest.Probe/Missing"), "%s", st.message);
	echo_still_works();
	teardown();
}
END_TEST

START_TEST(malformed_request_is_invalid_argument)
{
	static const unsigned char junk[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x0a, 0x99 };
	char rep[16];
	size_t n;
	lrpc_status st;

	setup();
	ck_assert_int_eq(lrpc_channel_call_raw(ch, LRPCTEST__PROBE__ECHO__ID, junk,
					       sizeof(junk), rep, sizeof(rep), &n, 0, &st),
			 LRPC_INVALID_ARGUMENT);
	ck_assert_ptr_nonnull(strstr(st.message, "does not decode"));
	echo_still_works();
	teardown();
}
END_TEST

START_TEST(oversized_request_and_reply_are_resource_exhausted)
{
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT, *rep = NULL;
	unsigned char *big = calloc(1, MAX_MSG + 1);
	lrpc_status st;

	setup();
	ck_assert_uint_eq(lrpc_channel_max_msg(ch), MAX_MSG);
	req.payload.data = big;
	req.payload.len = MAX_MSG + 1;
	ck_assert_int_eq(lrpctest__probe__echo__call(ch, &req, &rep, 0, &st),
			 LRPC_RESOURCE_EXHAUSTED);
	ck_assert_ptr_null(rep);
	/* A reply too big for the buffer fails on the server side. */
	req.payload.len = 1;
	req.reply_size = MAX_MSG * 2;
	ck_assert_int_eq(lrpctest__probe__echo__call(ch, &req, &rep, 0, &st),
			 LRPC_RESOURCE_EXHAUSTED);
	ck_assert_ptr_nonnull(strstr(st.message, "reply"));
	/* Just under the limit still goes through. */
	req.reply_size = MAX_MSG - 16;
	ck_assert_int_eq(lrpctest__probe__echo__call(ch, &req, &rep, 0, &st), LRPC_OK);
	ck_assert_uint_eq(rep->payload.len, MAX_MSG - 16);
	lrpctest__echo_msg__free_unpacked(rep, NULL);
	free(big);
	echo_still_works();
	teardown();
}
END_TEST

START_TEST(wrong_request_type_is_invalid_argument)
{
	Lrpctest__SlowReq wrong = LRPCTEST__SLOW_REQ__INIT;
	ProtobufCMessage *rep = NULL;
	lrpc_status st;

	setup();
	ck_assert_int_eq(lrpc_channel_call(ch, &lrpctest__probe__service_desc.methods[0],
					   &wrong.base, &rep, 0, &st),
			 LRPC_INVALID_ARGUMENT);
	ck_assert_ptr_null(rep);
	ck_assert_int_eq(lrpc_channel_call(ch, NULL, &wrong.base, &rep, 0, &st),
			 LRPC_INVALID_ARGUMENT);
	echo_still_works();
	teardown();
}
END_TEST

START_TEST(limits_differ_between_client_and_server)
{
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT, *rep = NULL;
	unsigned char *big = calloc(1, 4 * MAX_MSG);
	lrpc_channel_opts o;
	lrpc_channel *wide, *narrow;
	lrpc_status st;

	setup();
	/* A client allowing more than the server: the server refuses the
	 * request with a status, even though it hangs up at once. */
	lrpc_channel_opts_init(&o);
	o.max_msg_size = 8 * MAX_MSG;
	wide = h_open_opts(&srv, &o);
	req.payload.data = big;
	req.payload.len = 4 * MAX_MSG;
	ck_assert_int_eq(lrpctest__probe__echo__call(wide, &req, &rep, 0, &st),
			 LRPC_RESOURCE_EXHAUSTED);
	ck_assert_ptr_null(rep);
	/* A client allowing less than the reply: refused on its side. */
	o.max_msg_size = 1024;
	narrow = h_open_opts(&srv, &o);
	req.payload.len = 1;
	req.reply_size = 4096;
	ck_assert_int_eq(lrpctest__probe__echo__call(narrow, &req, &rep, 0, &st),
			 strcmp(h_transport(), "lrpc") ? LRPC_RESOURCE_EXHAUSTED : LRPC_OK);
	if (rep)
		lrpctest__echo_msg__free_unpacked(rep, NULL);
	lrpc_channel_close(wide);
	lrpc_channel_close(narrow);
	free(big);
	echo_still_works();
	teardown();
}
END_TEST

H_MAIN("errors", 60, unknown_method_is_unimplemented, unknown_method_is_named,
       malformed_request_is_invalid_argument,
       oversized_request_and_reply_are_resource_exhausted,
       wrong_request_type_is_invalid_argument,
       limits_differ_between_client_and_server)
