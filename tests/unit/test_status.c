// SPDX-License-Identifier: MIT
/* Status codes and deadlines. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include <lazyrpc/lazyrpc.h>

#include "check_main.h"

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

CHECK_MAIN("status", 30,
	   code_names_match_grpc,
	   deadline_after_ms_saturates,
	   method_id_is_fnv1a_and_never_zero)
