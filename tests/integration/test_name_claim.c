// SPDX-License-Identifier: MIT
/*
 * A name has one owner: of many servers started at once on one name,
 * exactly one comes up, the others get -EADDRINUSE, and their exit leaves
 * the winner reachable; a name left by a killed server is taken over.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "probe.lrpc.h"

/* Rounds of the race; LRPC_RACE_ROUNDS lowers it where the machine is
 * emulated (tests/kernel/runtime-suite.sh): the same checks, fewer times. */
#define ROUNDS 100
#define RACERS 8

static lrpc_code echo(void *user, lrpc_call *call, const Lrpctest__EchoMsg *req,
		      Lrpctest__EchoMsg *rep)
{
	(void)user, (void)call;
	rep->seq = req->seq;
	return LRPC_OK;
}

struct result {
	pid_t pid;
	char r;
};

/*
 * One racer: wait for the start (EOF on \p go), try to serve "race", say
 * how it went on \p out ('W' won, 'B' busy, 'E' anything else), and if it
 * won serve until \p stop closes.
 */
static void racer(int go, int out, int stop)
{
	static const Lrpctest__Probe_Handlers h = { .echo = echo };
	lrpc_server *s;
	struct result res = { .pid = getpid() };
	char b;
	int ret;

	(void)!read(go, &b, 1);
	ret = lrpc_server_new(NULL, &s);
	if (!ret)
		ret = lrpctest__probe__register(s, &h, NULL);
	if (!ret)
		ret = lrpc_server_listen(s, "lrpc://race");
	if (!ret)
		ret = lrpc_server_start(s);
	res.r = ret == 0 ? 'W' : ret == -EADDRINUSE ? 'B' : 'E';
	(void)!write(out, &res, sizeof(res)); /* atomic: under PIPE_BUF */
	if (ret == 0)
		(void)!read(stop, &b, 1);
	lrpc_server_free(s);
	_exit(0);
}

static void call_race(void)
{
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT, *rep;
	lrpc_channel_opts o;
	lrpc_channel *ch;
	int ret;

	lrpc_channel_opts_init(&o);
	o.handoff = h_forked_peer_handoff();
	ret = lrpc_channel_open("lrpc://race", &o, &ch);

	ck_assert_msg(ret == 0, "the winner is unreachable: %s", strerror(-ret));
	req.seq = 9;
	ck_assert_int_eq(lrpctest__probe__echo__call(ch, &req, &rep, 0, NULL), LRPC_OK);
	ck_assert_uint_eq(rep->seq, 9);
	lrpctest__echo_msg__free_unpacked(rep, NULL);
	lrpc_channel_close(ch);
}

START_TEST(simultaneous_starts_have_one_winner)
{
	const char *env = getenv("LRPC_RACE_ROUNDS");
	int rounds = env && atoi(env) > 0 ? atoi(env) : ROUNDS;

	h_dir_setup();
	for (int round = 0; round < rounds; round++) {
		int go[2], out[2], stop[2], won = 0, busy = 0;
		pid_t pids[RACERS], winner = 0;

		ck_assert_int_eq(pipe(go), 0);
		ck_assert_int_eq(pipe(out), 0);
		ck_assert_int_eq(pipe(stop), 0);
		for (int i = 0; i < RACERS; i++) {
			pids[i] = h_fork();
			ck_assert_int_ge(pids[i], 0);
			if (pids[i] == 0) {
				close(go[1]);
				close(stop[1]);
				racer(go[0], out[1], stop[0]);
			}
		}
		close(go[0]);
		close(go[1]); /* off they go */
		close(out[1]);
		close(stop[0]);
		for (int i = 0; i < RACERS; i++) {
			struct pollfd p = { .fd = out[0], .events = POLLIN };
			struct result res;

			ck_assert_int_eq(poll(&p, 1, 10000), 1);
			ck_assert_int_eq(read(out[0], &res, sizeof(res)), sizeof(res));
			won += res.r == 'W';
			busy += res.r == 'B';
			if (res.r == 'W')
				winner = res.pid;
		}
		ck_assert_msg(won == 1 && busy == RACERS - 1,
			      "round %d: %d servers came up, %d were told busy",
			      round, won, busy);
		/* Once the losers are gone the winner must be reachable. */
		for (int i = 0; i < RACERS; i++)
			if (pids[i] != winner)
				waitpid(pids[i], NULL, 0);
		call_race();
		close(stop[1]);
		waitpid(winner, NULL, 0);
		close(out[0]);
	}
}
END_TEST

START_TEST(killed_servers_name_is_taken_over)
{
	struct peer srv;
	lrpc_channel *ch;

	h_dir_setup();
	h_probe_server(&srv, "stale", "1", NULL);
	h_kill(&srv, SIGKILL);
	h_probe_server(&srv, "stale", "1", NULL);
	ck_assert_int_eq(lrpc_channel_open("lrpc://stale", NULL, &ch), 0);
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
	/* A clean exit leaves nothing behind that stops the next. */
	h_probe_server(&srv, "stale", "1", NULL);
	h_kill(&srv, SIGTERM);
}
END_TEST

H_MAIN("name_claim", 120, simultaneous_starts_have_one_winner,
       killed_servers_name_is_taken_over)
