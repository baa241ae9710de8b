// SPDX-License-Identifier: MIT
/* Many client processes and threads at once; every reply is checked. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "harness.h"
#include "probe.lrpc.h"

#define PROCS 4
#define THREADS 4

/* Calls per thread: 25000 over shared memory; the socket variants set
 * fewer through LRPC_LOAD_CALLS to keep the suite's time in bounds. */
static long calls(void)
{
	const char *c = getenv("LRPC_LOAD_CALLS");

	return c ? atol(c) : 25000;
}

START_TEST(four_processes_four_threads)
{
	struct peer srv, cli[PROCS];
	Lrpctest__Empty req = LRPCTEST__EMPTY__INIT;
	Lrpctest__StatsReply *stats;
	lrpc_channel *ch;
	lrpc_status st;

	h_dir_setup();
	h_probe_server(&srv, "load", NULL, NULL);
	for (int i = 0; i < PROCS; i++) {
		char n[24];
		char *argv[] = { (char *)h_bin("LRPC_PROBE"), "load", srv.uri,
				 "4", n, NULL };

		snprintf(n, sizeof(n), "%ld", calls());
		h_spawn(&cli[i], argv);
	}
	for (int i = 0; i < PROCS; i++) {
		int status = h_wait(&cli[i], 600000);

		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			      "client %d failed (status %d)", i, status);
	}
	ch = h_open(&srv);
	ck_assert_int_eq(lrpctest__probe__stats__call(ch, &req, &stats, 0, &st), LRPC_OK);
	ck_assert_uint_eq(stats->calls_ok, PROCS * THREADS * calls());
	ck_assert_uint_eq(stats->calls_failed, 0);
	lrpctest__stats_reply__free_unpacked(stats, NULL);
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
}
END_TEST

H_MAIN("load", 900, four_processes_four_threads)
