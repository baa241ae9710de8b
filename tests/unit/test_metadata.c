// SPDX-License-Identifier: MIT
/* Call metadata, server side: the key and value rules, the bound on each
 * set, and the handler's API over a call (serve/metadata.c). */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "serve/dispatch.h"
#include "check_main.h"

static struct lrpc__arena arena;

static void call_init(struct lrpc_call *call, const lrpc_metadata *md, size_t n)
{
	lrpc__arena_init(&arena);
	lrpc__call_init(call, &arena, lrpc_deadline_after_ms(1000),
			&(struct lrpc__origin){ .md = md, .n_md = n });
}

START_TEST(keys_follow_grpc_rules)
{
	struct lrpc_call call;
	char long_key[LRPC_METADATA_KEY_MAX + 2];

	call_init(&call, NULL, 0);
	ck_assert_int_eq(lrpc_call_add_header(&call, "x-trace_id.1", "v", 1), 0);
	ck_assert_int_eq(lrpc_call_add_header(&call, "X-Upper", "v", 1), -EINVAL);
	ck_assert_int_eq(lrpc_call_add_header(&call, "", "v", 1), -EINVAL);
	ck_assert_int_eq(lrpc_call_add_header(&call, NULL, "v", 1), -EINVAL);
	ck_assert_int_eq(lrpc_call_add_header(&call, "sp ace", "v", 1), -EINVAL);
	ck_assert_int_eq(lrpc_call_add_header(&call, "grpc-status", "0", 1), -EINVAL);
	ck_assert_int_eq(lrpc_call_add_trailer(&call, "te", "trailers", 8), -EINVAL);
	ck_assert_int_eq(lrpc_call_add_trailer(&call, "content-type", "x", 1), -EINVAL);
	memset(long_key, 'k', sizeof(long_key) - 1);
	long_key[sizeof(long_key) - 1] = '\0';
	ck_assert_int_eq(lrpc_call_add_header(&call, long_key, "v", 1), -EINVAL);
	long_key[LRPC_METADATA_KEY_MAX] = '\0';
	ck_assert_int_eq(lrpc_call_add_header(&call, long_key, "v", 1), 0);
	ck_assert_uint_eq(call.out.headers.n, 2);
	lrpc__arena_destroy(&arena);
}
END_TEST

START_TEST(values_are_text_unless_binary)
{
	static const unsigned char bin[] = { 0, 0xff, '\n', 0xab };
	struct lrpc_call call;

	call_init(&call, NULL, 0);
	ck_assert_int_eq(lrpc_call_add_header(&call, "k", "line\nbreak", 10), -EINVAL);
	ck_assert_int_eq(lrpc_call_add_header(&call, "k", "\x80", 1), -EINVAL);
	ck_assert_int_eq(lrpc_call_add_header(&call, "k", NULL, 1), -EINVAL);
	ck_assert_int_eq(lrpc_call_add_header(&call, "k", NULL, 0), 0);
	ck_assert_int_eq(lrpc_call_add_trailer(&call, "k-bin", bin, sizeof(bin)), 0);
	ck_assert_uint_eq(call.out.trailers.n, 1);
	ck_assert_uint_eq(call.out.trailers.v[0].value_len, sizeof(bin));
	ck_assert_mem_eq(call.out.trailers.v[0].value, bin, sizeof(bin));
	lrpc__arena_destroy(&arena);
}
END_TEST

START_TEST(values_are_copied)
{
	struct lrpc_call call;
	char v[8] = "before";

	call_init(&call, NULL, 0);
	ck_assert_int_eq(lrpc_call_add_header(&call, "k", v, strlen(v)), 0);
	strcpy(v, "after!");
	ck_assert_str_eq(call.out.headers.v[0].value, "before");
	lrpc__arena_destroy(&arena);
}
END_TEST

/* Each set holds LRPC_METADATA_MAX bytes, key + value + 32 per entry. */
START_TEST(each_set_is_bounded)
{
	static char value[LRPC_METADATA_MAX + 1];
	struct lrpc_call call;
	size_t fill = LRPC_METADATA_MAX - 1 - 32; /* one key byte */
	int n = 0;

	call_init(&call, NULL, 0);
	memset(value, 'v', sizeof(value));
	ck_assert_int_eq(lrpc_call_add_header(&call, "k", value, fill + 1), -E2BIG);
	ck_assert_int_eq(lrpc_call_add_header(&call, "k", value, fill), 0);
	ck_assert_int_eq(lrpc_call_add_header(&call, "k", "", 0), -E2BIG);
	ck_assert_uint_eq(call.out.headers.bytes, LRPC_METADATA_MAX);
	/* The trailers have a bound of their own; many small entries hit it. */
	while (lrpc_call_add_trailer(&call, "t", "v", 1) == 0)
		n++;
	ck_assert_int_eq(n, LRPC_METADATA_MAX / 34);
	ck_assert_int_eq(lrpc_call_add_trailer(&call, "t", "v", 1), -E2BIG);
	lrpc__arena_destroy(&arena);
}
END_TEST

START_TEST(headers_are_fixed_once_sent)
{
	struct lrpc_call call;

	call_init(&call, NULL, 0);
	ck_assert_int_eq(lrpc_call_add_header(&call, "early", "1", 1), 0);
	call.out.headers_sent = true; /* what a stream's first write does */
	ck_assert_int_eq(lrpc_call_add_header(&call, "late", "1", 1), -EALREADY);
	ck_assert_int_eq(lrpc_call_add_trailer(&call, "late", "1", 1), 0);
	lrpc__arena_destroy(&arena);
}
END_TEST

START_TEST(request_metadata_is_read_in_order)
{
	static const lrpc_metadata md[] = {
		{ "a", "1", 1 }, { "b-bin", "\0\1", 2 }, { "a", "2", 1 },
	};
	const lrpc_metadata *got;
	struct lrpc_call call;

	call_init(&call, md, 3);
	ck_assert_uint_eq(lrpc_call_metadata(&call, &got), 3);
	ck_assert_ptr_eq(got, md);
	ck_assert_ptr_eq(lrpc_call_metadata_get(&call, "a"), &md[0]);
	ck_assert_ptr_eq(lrpc_call_metadata_get(&call, "b-bin"), &md[1]);
	ck_assert_ptr_null(lrpc_call_metadata_get(&call, "c"));
	ck_assert_ptr_null(lrpc_call_metadata_get(&call, NULL));
	lrpc__arena_destroy(&arena);
	call_init(&call, NULL, 0);
	ck_assert_uint_eq(lrpc_call_metadata(&call, &got), 0);
	ck_assert_ptr_null(got);
	lrpc__arena_destroy(&arena);
}
END_TEST

CHECK_MAIN("metadata", 30,
	   keys_follow_grpc_rules,
	   values_are_text_unless_binary,
	   values_are_copied,
	   each_set_is_bounded,
	   headers_are_fixed_once_sent,
	   request_metadata_is_read_in_order)
