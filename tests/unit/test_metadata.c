// SPDX-License-Identifier: MIT
/* Call metadata, server side: the key and value rules, the bound on each
 * set, and the handler's API over a call (serve/metadata.c). */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "serve/dispatch.h"
#include "serve/lane_md.h"
#include "wire/frame.h"
#include "wire/md_block.h"
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

/* The lane's block: what one side writes the other reads back, and a
 * block that lies about a length or breaks a rule is refused whole. */
START_TEST(lane_blocks_round_trip_and_refuse_lies)
{
	static const unsigned char bin[] = { 0, 0xff, 7 };
	const lrpc_metadata md[] = { { "x-a", "hello", 5 }, { "x-b-bin", bin, 3 },
				     { "x-empty", "", 0 } };
	unsigned char buf[256] = { 0 }, *b = buf + 10;
	struct lrpc__md_set set = { 0 };
	size_t n = lrpc__md_block_size(md, 3);

	ck_assert_uint_eq(n, 3 * LRPC__MD_BLOCK_ENTRY_HDR + 3 + 5 + 7 + 3 + 7);
	lrpc__md_block_write(b, md, 3);
	lrpc__arena_init(&arena);
	ck_assert_int_eq(lrpc__lane_md_take(buf, sizeof(buf), 10, (uint32_t)n,
					    &arena, &set), 0);
	ck_assert_uint_eq(set.n, 3);
	ck_assert_str_eq(set.v[0].key, "x-a");
	ck_assert_mem_eq(set.v[0].value, "hello", 5);
	ck_assert_uint_eq(set.v[1].value_len, 3);
	ck_assert_mem_eq(set.v[1].value, bin, 3);
	ck_assert_uint_eq(set.v[2].value_len, 0);
	/* Past the buffer, past the limit, cut short, a value overrunning. */
	set = (struct lrpc__md_set){ 0 };
	ck_assert_int_eq(lrpc__lane_md_take(buf, sizeof(buf), 250, (uint32_t)n,
					    &arena, &set), -EPROTO);
	ck_assert_int_eq(lrpc__lane_md_take(buf, 1u << 20, 10,
					    LRPC__MD_BLOCK_MAX + 1, &arena, &set),
			 -EPROTO);
	ck_assert_int_eq(lrpc__lane_md_take(buf, sizeof(buf), 10, (uint32_t)n - 1,
					    &arena, &set), -EPROTO);
	b[0] = 0xff;
	set = (struct lrpc__md_set){ 0 };
	ck_assert_int_eq(lrpc__lane_md_take(buf, sizeof(buf), 10, (uint32_t)n,
					    &arena, &set), -EPROTO);
	/* A reserved key and one with a NUL in it. */
	lrpc__md_block_write(b, (const lrpc_metadata[]){ { "grpc-status", "0", 1 } }, 1);
	set = (struct lrpc__md_set){ 0 };
	ck_assert_int_eq(lrpc__lane_md_take(buf, sizeof(buf), 10, 5 + 11 + 1,
					    &arena, &set), -EPROTO);
	b[6] = '\0';
	set = (struct lrpc__md_set){ 0 };
	ck_assert_int_eq(lrpc__lane_md_take(buf, sizeof(buf), 10, 5 + 11 + 1,
					    &arena, &set), -EPROTO);
	lrpc__arena_destroy(&arena);
}
END_TEST

/* The response side refuses a set that does not fit beside the reply. */
START_TEST(lane_response_blocks_fit_or_nothing)
{
	unsigned char buf[64];
	struct lrpc__md_out out = { 0 };
	uint32_t hl = 1, tl = 1;

	lrpc__arena_init(&arena);
	ck_assert_int_eq(lrpc__md_add(&out.headers, &arena, "x-h", "12345678", 8), 0);
	ck_assert_int_eq(lrpc__md_add(&out.trailers, &arena, "x-t", "1", 1), 0);
	ck_assert_int_eq(lrpc__lane_md_put(buf, sizeof(buf), 40, &out, &hl, &tl),
			 -E2BIG);
	ck_assert_uint_eq(hl + tl, 0);
	ck_assert_int_eq(lrpc__lane_md_put(buf, sizeof(buf), 0, &out, &hl, &tl), 0);
	ck_assert_uint_eq(hl, 5 + 3 + 8);
	ck_assert_uint_eq(tl, 5 + 3 + 1);
	lrpc__arena_destroy(&arena);
}
END_TEST

/* Socket frames: the request's flag and block length, the reply's lengths
 * in timeout_ns, each checked against the limit and the body. */
START_TEST(frame_metadata_lengths_are_checked)
{
	unsigned char hdr[LRPC__FRAME_HDR];
	struct lrpc__frame f = { .body_len = 100, .call_id = 1, .call_md = true,
				 .md_len = 40 }, g;
	uint32_t hl, tl;

	lrpc__frame_put(hdr, &f);
	ck_assert_uint_eq(hdr[23], 0x80); /* the flag, in msg_len's top bit */
	ck_assert_int_eq(lrpc__frame_get(hdr, 1000, &g), 0);
	ck_assert(g.call_md);
	ck_assert_uint_eq(g.md_len, 40);
	ck_assert_uint_eq(g.msg_len, 0);
	/* The payload is what counts against max_msg_size. */
	ck_assert_int_eq(lrpc__frame_get_request(hdr, 60, &g), 0);
	ck_assert_int_eq(lrpc__frame_get_request(hdr, 59, &g), -EMSGSIZE);
	f.md_len = 101; /* past the body */
	lrpc__frame_put(hdr, &f);
	ck_assert_int_eq(lrpc__frame_get(hdr, 1000, &g), -EPROTO);
	f.body_len = LRPC__MD_BLOCK_MAX + 1;
	f.md_len = LRPC__MD_BLOCK_MAX + 1; /* past the limit */
	lrpc__frame_put(hdr, &f);
	ck_assert_int_eq(lrpc__frame_get(hdr, 1u << 20, &g), -EPROTO);
	/* A reply: lengths that fit after the status message. */
	f = (struct lrpc__frame){ .body_len = 30, .call_id = 1, .msg_len = 10,
				  .timeout_ns = (int64_t)(15ull << 32 | 5) };
	ck_assert_int_eq(lrpc__frame_reply_md(&f, &hl, &tl), 0);
	ck_assert_uint_eq(hl, 5);
	ck_assert_uint_eq(tl, 15);
	f.timeout_ns = (int64_t)(16ull << 32 | 5);
	ck_assert_int_eq(lrpc__frame_reply_md(&f, &hl, &tl), -EPROTO);
	ck_assert_uint_eq(hl + tl, 0);
	f.body_len = 3 * LRPC__MD_BLOCK_MAX;
	f.timeout_ns = LRPC__MD_BLOCK_MAX + 1;
	ck_assert_int_eq(lrpc__frame_reply_md(&f, &hl, &tl), -EPROTO);
	f.timeout_ns = -1; /* both lengths UINT32_MAX: no wrap */
	ck_assert_int_eq(lrpc__frame_reply_md(&f, &hl, &tl), -EPROTO);
	f.timeout_ns = 0;
	f.call_md = true; /* a reply with the request's flag */
	ck_assert_int_eq(lrpc__frame_reply_md(&f, &hl, &tl), -EPROTO);
	/* Streams: an OPEN's body is its block, all of it; an END's is the
	 * status message and the two blocks, exactly. */
	f = (struct lrpc__frame){ .kind = LRPC__FRAME_OPEN, .body_len = 9, .call_id = 3,
				  .call_md = true, .md_len = 9, .timeout_ns = 1 };
	lrpc__frame_put(hdr, &f);
	ck_assert_int_eq(lrpc__frame_get(hdr, 100, &g), 0);
	ck_assert(g.call_md);
	ck_assert_uint_eq(g.md_len, 9);
	f.md_len = 8;
	lrpc__frame_put(hdr, &f);
	ck_assert_int_eq(lrpc__frame_get(hdr, 100, &g), -EPROTO);
	f = (struct lrpc__frame){ .kind = LRPC__FRAME_END, .body_len = 12, .call_id = 3,
				  .msg_len = 2, .timeout_ns = (int64_t)(6ull << 32 | 4) };
	lrpc__frame_put(hdr, &f);
	ck_assert_int_eq(lrpc__frame_get(hdr, 100, &g), 0);
	ck_assert_int_eq(lrpc__frame_reply_md(&g, &hl, &tl), 0);
	ck_assert_uint_eq(hl, 4);
	ck_assert_uint_eq(tl, 6);
	f.body_len = 13;
	lrpc__frame_put(hdr, &f);
	ck_assert_int_eq(lrpc__frame_get(hdr, 100, &g), -EPROTO);
}
END_TEST

CHECK_MAIN("metadata", 30,
	   frame_metadata_lengths_are_checked,
	   lane_blocks_round_trip_and_refuse_lies,
	   lane_response_blocks_fit_or_nothing,
	   keys_follow_grpc_rules,
	   values_are_text_unless_binary,
	   values_are_copied,
	   each_set_is_bounded,
	   headers_are_fixed_once_sent,
	   request_metadata_is_read_in_order)
