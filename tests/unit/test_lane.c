// SPDX-License-Identifier: MIT
/* Region geometry and the RPAL state word encoding. */
#include <check.h>
#include <errno.h>

#include "wire/lane.h"
#include "core/internal.h"
#include "check_main.h"

START_TEST(call_word_matches_rpal_encoding)
{
	uint32_t w = lrpc__call_word(0xab, 0x1234);

	/* seed 000: service id << 24 | sender id << 8 | state */
	ck_assert_uint_eq(w, 0xab123404u);
	ck_assert_uint_eq(lrpc__word_state(w), LRPC__RX_CALL);
	ck_assert_uint_eq(lrpc__word_sender(w), 0x1234);
	ck_assert_uint_eq(lrpc__word_service(w), 0xab);
	ck_assert_uint_eq(LRPC__RX_WAIT, 3);
	ck_assert_uint_eq(LRPC__TX_KERNEL_RET, 2);
}
END_TEST

START_TEST(geometry_is_page_aligned)
{
	struct lrpc__geom g;

	ck_assert_int_eq(lrpc__geom_init(&g, 3, 100), 0);
	ck_assert_uint_eq(g.lane_stride, 4096 + 4096);
	ck_assert_uint_eq(g.region_size, 3 * g.lane_stride);
	ck_assert_int_eq(lrpc__geom_check(&g), 0);
	ck_assert_int_eq(lrpc__geom_init(&g, 1, LRPC_DEFAULT_MAX_MSG), 0);
	ck_assert_uint_eq(g.lane_stride, 4096 + LRPC_DEFAULT_MAX_MSG);
}
END_TEST

START_TEST(bad_geometry_is_rejected)
{
	struct lrpc__geom g;

	ck_assert_int_eq(lrpc__geom_init(&g, 0, 100), -EINVAL);
	ck_assert_int_eq(lrpc__geom_init(&g, LRPC__MAX_LANES + 1, 100), -EINVAL);
	ck_assert_int_eq(lrpc__geom_init(&g, 1, 0), -EINVAL);
	ck_assert_int_eq(lrpc__geom_init(&g, 1, LRPC_MAX_MSG_LIMIT + 1), -EINVAL);
	ck_assert_int_eq(lrpc__geom_init(&g, 2, 4096), 0);
	g.region_size += 4096; /* a peer claiming more than the lanes need */
	ck_assert_int_eq(lrpc__geom_check(&g), -EPROTO);
	ck_assert_int_eq(lrpc__geom_init(&g, 2, 4096), 0);
	g.lane_stride = 64;
	ck_assert_int_eq(lrpc__geom_check(&g), -EPROTO);
}
END_TEST

CHECK_MAIN("lane", 30,
	   call_word_matches_rpal_encoding,
	   geometry_is_page_aligned,
	   bad_geometry_is_rejected)
