// SPDX-License-Identifier: MIT
/* A client is SIGKILLed mid-call: the server serves on and reclaims it. */
#include <signal.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "probe.lrpc.h"

START_TEST(client_killed_mid_call)
{
	Lrpctest__EchoMsg ereq = LRPCTEST__ECHO_MSG__INIT, *erep;
	Lrpctest__Empty req = LRPCTEST__EMPTY__INIT, *rep;
	struct peer srv, cli;
	lrpc_channel *ch;
	lrpc_deadline until;
	Lrpctest__StatsReply *s;
	bool reclaimed = false;

	h_dir_setup();
	bool shm = strcmp(h_transport(), "lrpc") == 0;

	h_probe_server(&srv, "survivor", "2", NULL);
	char *argv[] = { (char *)h_bin("LRPC_PROBE"), "slow", srv.uri, NULL };

	h_spawn(&cli, argv);
	ck_assert(h_expect(&srv, "slow-enter", 10000));
	h_kill(&cli, SIGKILL);

	/* Everyone else is still served while the dead client's handler is
	 * still running. */
	ch = h_open(&srv);
	ereq.seq = 7;
	ck_assert_int_eq(lrpctest__probe__echo__call(ch, &ereq, &erep, 0, NULL), LRPC_OK);
	ck_assert_uint_eq(erep->seq, 7);
	lrpctest__echo_msg__free_unpacked(erep, NULL);

	/* Once its handler returns, the dead client's receivers and region
	 * go (sockets have no receivers): only our own connection is left. The server notices the death
	 * asynchronously, so look until it has (bounded). */
	ck_assert_int_eq(lrpctest__probe__release__call(ch, &req, &rep, 0, NULL), LRPC_OK);
	lrpctest__empty__free_unpacked(rep, NULL);
	until = lrpc_deadline_after_ms(10000);
	while (!reclaimed && lrpc_now() < until) {
		s = h_stats(ch);
		reclaimed = s->clients_active == 1 &&
			    s->receivers_active == (shm ? 2 : 0);
		lrpctest__stats_reply__free_unpacked(s, NULL);
		if (!reclaimed)
			nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
	ck_assert_msg(reclaimed, "dead client's contexts were not freed");
	s = h_stats(ch);
	ck_assert_uint_eq(s->clients_accepted, 2);
	lrpctest__stats_reply__free_unpacked(s, NULL);
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
}
END_TEST

/* The handler of a call whose client died sees lrpc_call_cancelled()
 * long before the call's deadline (60 s) would say so. */
START_TEST(dead_clients_call_is_cancelled)
{
	struct peer srv, cli;

	h_dir_setup();
	h_probe_server(&srv, "mourner", "2", NULL);
	char *argv[] = { (char *)h_bin("LRPC_PROBE"), "slow-until-cancelled",
			 srv.uri, NULL };

	h_spawn(&cli, argv);
	ck_assert(h_expect(&srv, "slow-enter", 10000));
	h_kill(&cli, SIGKILL);
	ck_assert_msg(h_expect(&srv, "slow-cancelled 42", 10000),
		      "the handler was not told its client went");
	h_kill(&srv, SIGTERM);
}
END_TEST

H_MAIN("client_death", 60, client_killed_mid_call, dead_clients_call_is_cancelled)
