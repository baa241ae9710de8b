// SPDX-License-Identifier: MIT
/* A peer writes random bytes into its shared region while others call. */
#include <signal.h>
#include <sys/wait.h>

#include "harness.h"
#include "probe.lrpc.h"

START_TEST(garbage_in_region_hurts_nobody_else)
{
	char *argv[] = { (char *)h_bin("LRPC_HOSTILE"), "target", "2000", NULL };
	Lrpctest__Empty sreq = LRPCTEST__EMPTY__INIT;
	Lrpctest__StatsReply *s;
	struct peer srv, bad;
	lrpc_channel *ch;
	int status;

	h_dir_setup();
	h_probe_server(&srv, "target", "2", "65536");
	h_spawn(&bad, argv);
	ck_assert(h_expect(&bad, "mapped", 10000));
	ch = h_open(&srv);
	/* Honest calls keep working while the garbage flies. */
	for (uint64_t i = 0; i < 2000; i++) {
		Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT, *rep;

		req.seq = i;
		ck_assert_int_eq(lrpctest__probe__echo__call(ch, &req, &rep, 0, NULL),
				 LRPC_OK);
		ck_assert_uint_eq(rep->seq, i);
		lrpctest__echo_msg__free_unpacked(rep, NULL);
	}
	/* What is left is bounded: the last of its minimum rounds and the
	 * receiver-word swaps. */
	ck_assert_int_eq(kill(bad.pid, SIGUSR1), 0);
	status = h_wait(&bad, 120000);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(kill(srv.pid, 0), 0);
	ck_assert_int_eq(lrpctest__probe__stats__call(ch, &sreq, &s, 0, NULL), LRPC_OK);
	ck_assert_uint_gt(s->protocol_errors, 0);
	lrpctest__stats_reply__free_unpacked(s, NULL);
	lrpc_channel_close(ch);
	kill(srv.pid, SIGTERM);
	status = h_wait(&srv, 10000);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
END_TEST

H_MAIN("hostile", 300, garbage_in_region_hurts_nobody_else)
