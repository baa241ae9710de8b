// SPDX-License-Identifier: MIT
/* Status codes, deadlines, and the statuses a call reports. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <lazyrpc/lazyrpc.h>

#include "check_main.h"
#include "core/internal.h"

START_TEST(code_names_match_grpc)
{
	ck_assert_str_eq(lrpc_code_name(LRPC_OK), "OK");
	ck_assert_str_eq(lrpc_code_name(LRPC_DEADLINE_EXCEEDED), "DEADLINE_EXCEEDED");
	ck_assert_str_eq(lrpc_code_name(LRPC_UNAUTHENTICATED), "UNAUTHENTICATED");
	ck_assert_int_eq(LRPC_UNAVAILABLE, 14);
	ck_assert_int_eq(LRPC_UNIMPLEMENTED, 12);
	ck_assert_str_eq(lrpc_code_name((lrpc_code)LRPC_CODE_COUNT), "?");
	for (int c = 0; c < LRPC_CODE_COUNT; c++)
		ck_assert_str_ne(lrpc_code_name((lrpc_code)c), "?");
}
END_TEST

START_TEST(deadline_after_ms_saturates)
{
	lrpc_deadline now = lrpc_now();
	lrpc_deadline d = lrpc_deadline_after_ms(1000);

	ck_assert_int_ge(d, now + 1000000000LL);
	ck_assert_int_eq(lrpc_deadline_after_ms(INT64_MAX), INT64_MAX);
	ck_assert_int_le(lrpc_deadline_after_ms(-5), lrpc_now());
}
END_TEST

START_TEST(method_id_is_fnv1a_and_never_zero)
{
	/* FNV-1a of the empty string is the offset basis. */
	ck_assert_uint_eq(lrpc_method_id(""), 2166136261u);
	ck_assert_uint_eq(lrpc_method_id("a"), 0xe40c292cu);
	ck_assert_uint_ne(lrpc_method_id("/greeter.Greeter/SayHello"),
			  lrpc_method_id("/greeter.Greeter/SayHellO"));
}
END_TEST

/* What a server sends is checked, and its message kept within bounds. */
START_TEST(status_from_peer_checks_the_code)
{
	char msg[300];
	lrpc_status st = { .code = LRPC_OK, .message = "untouched" };

	ck_assert_int_eq(lrpc__status_from_peer(&st, LRPC_OK, "x", 1), LRPC_OK);
	ck_assert_str_eq(st.message, "untouched");
	ck_assert_int_eq(lrpc__status_from_peer(&st, LRPC_CODE_COUNT, "x", 1),
			 LRPC_UNKNOWN);
	ck_assert_int_eq(st.code, LRPC_UNKNOWN);
	memset(msg, 'm', sizeof(msg)); /* not terminated, and too long */
	ck_assert_int_eq(lrpc__status_from_peer(&st, LRPC_NOT_FOUND, msg,
						sizeof(msg)), LRPC_NOT_FOUND);
	ck_assert_int_eq(st.code, LRPC_NOT_FOUND);
	ck_assert_uint_eq(strlen(st.message), sizeof(st.message) - 1);
	ck_assert_int_eq(lrpc__status_from_peer(NULL, LRPC_ABORTED, "x", 1),
			 LRPC_ABORTED);
}
END_TEST

/* A timeout is DEADLINE_EXCEEDED only once the call's deadline passed. */
START_TEST(status_from_errno_maps_once)
{
	lrpc_status st;

	ck_assert_int_eq(lrpc__status_from_errno(&st, -ETIMEDOUT, lrpc_now(),
						 "waiting"), LRPC_DEADLINE_EXCEEDED);
	ck_assert_str_eq(st.message, "deadline exceeded waiting");
	ck_assert_int_eq(lrpc__status_from_errno(&st, -ETIMEDOUT, INT64_MAX,
						 "connecting"), LRPC_UNAVAILABLE);
	ck_assert_int_eq(lrpc__status_from_errno(&st, -ENOMEM, INT64_MAX, "x"),
			 LRPC_RESOURCE_EXHAUSTED);
	ck_assert_int_eq(lrpc__status_from_errno(&st, -ECONNRESET, 0, "calling"),
			 LRPC_UNAVAILABLE);
	ck_assert_ptr_nonnull(strstr(st.message, "calling: "));
}
END_TEST

CHECK_MAIN("status", 30,
	   status_from_peer_checks_the_code,
	   status_from_errno_maps_once,
	   code_names_match_grpc,
	   deadline_after_ms_saturates,
	   method_id_is_fnv1a_and_never_zero)
