// SPDX-License-Identifier: MIT
/* Per-call memory. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "core/internal.h"
#include "check_main.h"

START_TEST(allocations_are_aligned_and_distinct)
{
	struct lrpc__arena a;
	char *p[100];

	lrpc__arena_init(&a);
	for (int i = 0; i < 100; i++) {
		p[i] = lrpc__arena_alloc(&a, (size_t)i * 37 + 1);
		ck_assert_ptr_nonnull(p[i]);
		ck_assert_uint_eq((uintptr_t)p[i] % _Alignof(max_align_t), 0);
		memset(p[i], i, (size_t)i * 37 + 1);
	}
	for (int i = 0; i < 100; i++)
		for (size_t j = 0; j < (size_t)i * 37 + 1; j++)
			ck_assert_int_eq(p[i][j], i);
	lrpc__arena_destroy(&a);
}
END_TEST

START_TEST(big_allocation_keeps_current_chunk_usable)
{
	struct lrpc__arena a;
	char *small, *big, *after;

	lrpc__arena_init(&a);
	small = lrpc__arena_alloc(&a, 16);
	big = lrpc__arena_alloc(&a, 1 << 20);
	after = lrpc__arena_alloc(&a, 16);
	ck_assert_ptr_nonnull(big);
	memset(big, 0xab, 1 << 20);
	/* The small ones share the first chunk. */
	ck_assert_ptr_eq(after, small + 16);
	lrpc__arena_destroy(&a);
}
END_TEST

START_TEST(reset_reuses_memory)
{
	struct lrpc__arena a;
	void *first, *again;

	lrpc__arena_init(&a);
	first = lrpc__arena_alloc(&a, 64);
	lrpc__arena_alloc(&a, 100000);
	lrpc__arena_reset(&a);
	again = lrpc__arena_alloc(&a, 64);
	ck_assert_ptr_eq(first, again);
	lrpc__arena_destroy(&a);
}
END_TEST

/* A call of a small and two 64 KiB pieces, recycled: the same call again
 * fits one chunk, each piece right after the one before. */
START_TEST(recycle_keeps_one_chunk_for_the_same_call)
{
	struct lrpc__arena a;
	char *p[3];

	lrpc__arena_init(&a);
	for (int round = 0; round < 3; round++) {
		p[0] = lrpc__arena_alloc(&a, 64);
		p[1] = lrpc__arena_alloc(&a, 65536);
		p[2] = lrpc__arena_alloc(&a, 65536);
		ck_assert_ptr_nonnull(p[1]);
		ck_assert_ptr_nonnull(p[2]);
		memset(p[1], 1, 65536);
		memset(p[2], 2, 65536);
		if (round > 0) {
			ck_assert_ptr_eq(p[1], p[0] + 64);
			ck_assert_ptr_eq(p[2], p[1] + 65536);
		}
		lrpc__arena_recycle(&a, 1 << 20);
	}
	/* Past the cap it is a reset: the first small chunk only. */
	lrpc__arena_alloc(&a, 2 << 20);
	lrpc__arena_recycle(&a, 1 << 20);
	ck_assert_ptr_null(a.chunks);
	lrpc__arena_destroy(&a);
}
END_TEST

START_TEST(overflowing_size_fails)
{
	struct lrpc__arena a;

	lrpc__arena_init(&a);
	ck_assert_ptr_null(lrpc__arena_alloc(&a, SIZE_MAX - 3));
	ck_assert_ptr_null(a.pb.alloc(a.pb.allocator_data, SIZE_MAX / 2));
	lrpc__arena_destroy(&a);
}
END_TEST

CHECK_MAIN("arena", 30,
	   allocations_are_aligned_and_distinct,
	   big_allocation_keeps_current_chunk_usable,
	   reset_reuses_memory,
	   recycle_keeps_one_chunk_for_the_same_call,
	   overflowing_size_fails)
