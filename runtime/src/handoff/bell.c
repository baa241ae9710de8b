// SPDX-License-Identifier: MIT
/* Futex eventcounts for lane streams: see bell.h. */
#define _GNU_SOURCE
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "handoff/bell.h"

/* Looks before sleeping: a peer on another CPU often answers within a
 * few microseconds, far cheaper than a futex sleep and wakeup. */
#define SPIN_ROUNDS 256

static void wake(_Atomic uint32_t *bell)
{
	/* Not PRIVATE: the word is in a mapping shared with another process. */
	syscall(SYS_futex, bell, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

void lrpc__bell_ring(_Atomic uint32_t *bell, const _Atomic uint32_t *sleepers)
{
	if (atomic_load_explicit(sleepers, memory_order_seq_cst)) {
		atomic_fetch_add_explicit(bell, 1, memory_order_seq_cst);
		wake(bell);
	}
}

void lrpc__bell_kick(_Atomic uint32_t *bell)
{
	atomic_fetch_add_explicit(bell, 1, memory_order_seq_cst);
	wake(bell);
}

static uint32_t arm(_Atomic uint32_t *bell, _Atomic uint32_t *sleepers)
{
	atomic_fetch_add_explicit(sleepers, 1, memory_order_seq_cst);
	return atomic_load_explicit(bell, memory_order_seq_cst);
}

static void disarm(_Atomic uint32_t *sleepers)
{
	atomic_fetch_sub_explicit(sleepers, 1, memory_order_relaxed);
}

static void sleep_on(_Atomic uint32_t *bell, _Atomic uint32_t *sleepers,
		     uint32_t seen, lrpc_deadline until)
{
	lrpc_deadline slice = lrpc_now() + LRPC__BELL_SLICE_NS;
	struct timespec ts;

	if (until > slice)
		until = slice;
	ts.tv_sec = until / 1000000000;
	ts.tv_nsec = until % 1000000000;
	/* WAIT_BITSET takes an absolute CLOCK_MONOTONIC time. */
	syscall(SYS_futex, bell, FUTEX_WAIT_BITSET, seen, &ts, NULL,
		FUTEX_BITSET_MATCH_ANY);
	disarm(sleepers);
}

static pthread_once_t cpus_once = PTHREAD_ONCE_INIT;
static bool many_cpus;

static void count_cpus(void)
{
	many_cpus = get_nprocs() > 1;
}

static bool spin(unsigned int *round)
{
	pthread_once(&cpus_once, count_cpus);
	if (!many_cpus || ++*round > SPIN_ROUNDS)
		return false;
	__builtin_ia32_pause();
	return true;
}

int lrpc__bell_wait(_Atomic uint32_t *bell, _Atomic uint32_t *sleepers,
		    int (*look)(void *ctx), int (*check)(void *ctx), void *ctx,
		    lrpc_deadline until)
{
	unsigned int round = 0;

	for (;;) {
		uint32_t seen;
		int r = look(ctx);

		if (r < 0)
			r = check(ctx);
		if (r >= 0)
			return r;
		if (spin(&round))
			continue;
		seen = arm(bell, sleepers);
		/* Armed: a publication from now on rings us. */
		r = look(ctx);
		if (r < 0)
			r = check(ctx);
		if (r >= 0) {
			disarm(sleepers);
			return r;
		}
		sleep_on(bell, sleepers, seen, until);
	}
}
