// SPDX-License-Identifier: MIT
/*
 * What a call costs the calling thread in context switches, per hand-off:
 * over rpal-user a call whose handler makes no system call runs the
 * server's code on the caller's thread and never enters the kernel, so
 * the thread does not switch; over rpal-kernel a call sleeps in the
 * kernel (one voluntary switch) unless the reply beat it to sleep (995 of
 * 1,000 did in the guest), which shows that the count sees what it
 * should. Echo's handler makes no system call. Other hand-offs
 * spin or sleep as the scheduler has it: nothing to assert.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "harness.h"

#define CALLS 1000

static long switches(void)
{
	struct rusage ru;

	ck_assert_int_eq(getrusage(RUSAGE_THREAD, &ru), 0);
	return ru.ru_nvcsw + ru.ru_nivcsw;
}

START_TEST(calls_switch_as_the_handoff_says)
{
	const char *h = getenv("LRPC_EXPECT_HANDOFF");
	struct peer srv;
	lrpc_channel *ch;
	lrpc_status st;
	long before, n;

	h_probe_server(&srv, "switches", "1", NULL);
	ch = h_open(&srv);
	/* The first calls go through the kernel (rpal-user imports the
	 * server's slot after the first). */
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(h_echo(ch, (uint64_t)i, 10000, &st), LRPC_OK);
	before = switches();
	for (int i = 0; i < CALLS; i++)
		ck_assert_int_eq(h_echo(ch, (uint64_t)i, 10000, &st), LRPC_OK);
	n = switches() - before;
	if (h && !strcmp(h, "rpal-user"))
		ck_assert_msg(n < CALLS / 10, "%ld switches in %d calls", n, CALLS);
	else if (h && !strcmp(h, "rpal-kernel"))
		ck_assert_msg(n >= CALLS / 2, "%ld switches in %d calls", n, CALLS);
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
}
END_TEST

H_MAIN("handoff_switches", 120, calls_switch_as_the_handoff_says)
