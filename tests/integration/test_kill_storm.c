// SPDX-License-Identifier: MIT
/*
 * The kill storm: clients SIGKILLed mid-call, again and again, then the
 * server itself SIGKILLed under calls and started again on its name, over
 * the transport under test (and, over lrpc://, each hand-off). Meanwhile a
 * bystander client makes calls and checks every reply: the storm costs it
 * nothing. After each
 * server's share of kills its descriptors, threads and memory are back to
 * what they were before them; no call of a client whose server was killed
 * outlives its deadline by more than a second (probe storm); each restart
 * reclaims the name.
 *
 * ROUNDS x (CLIENT_KILLS + 1) = 300 kills a run, 900 over the three
 * transports; a few seconds a run (tens under ASan).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "probe.lrpc.h"
#include "rawframe.h"

#define ROUNDS 25
#define CLIENT_KILLS 11
#define RSS_SLACK_KB (32 << 10)

/* A "Name:  value" line of /proc/PID/status, or -1. */
static long proc_status(pid_t pid, const char *name)
{
	char path[64], line[256];
	size_t n = strlen(name);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, n) && line[n] == ':')
			v = atol(line + n + 1);
	fclose(f);
	return v;
}

struct usage {
	int fds;
	long threads, rss_kb;
};

static struct usage usage_of(pid_t pid)
{
	return (struct usage){ .fds = raw_fd_count(pid),
			       .threads = proc_status(pid, "Threads"),
			       .rss_kb = proc_status(pid, "VmRSS") };
}

static bool back_to(const struct usage *now, const struct usage *base)
{
	return now->fds <= base->fds && now->threads <= base->threads &&
	       now->rss_kb <= base->rss_kb + RSS_SLACK_KB;
}

static void release(lrpc_channel *ch)
{
	Lrpctest__Empty req = LRPCTEST__EMPTY__INIT, *rep;

	ck_assert_int_eq(lrpctest__probe__release__call(ch, &req, &rep, 0, NULL),
			 LRPC_OK);
	lrpctest__empty__free_unpacked(rep, NULL);
}

/* One client, killed mid-call: a Slow call (its handler is running), or
 * an Echo load (killed as its calls go). */
static void kill_a_client(struct peer *srv, lrpc_channel *ch, int i)
{
	char *slow[] = { (char *)h_bin("LRPC_PROBE"), "slow", srv->uri, NULL };
	char *load[] = { (char *)h_bin("LRPC_PROBE"), "load", srv->uri, "2",
			 "1000000", NULL };
	struct peer cli;

	h_spawn(&cli, i % 3 == 0 ? slow : load);
	if (i % 3 == 0) {
		ck_assert_msg(h_expect(srv, "slow-enter", 10000), "no Slow call");
	} else {
		ck_assert_msg(h_expect(&cli, "calling", 10000), "load did not start");
	}
	h_kill(&cli, SIGKILL);
	if (i % 3 == 0)
		release(ch); /* its handler returns; nobody hears the reply */
}

/* With a storm client calling, SIGKILL the server: the client's calls end
 * within their deadlines (plus a second) and it exits 0. */
static void kill_the_server(struct peer *srv)
{
	char *argv[] = { (char *)h_bin("LRPC_PROBE"), "storm", srv->uri, "2000",
			 NULL };
	struct peer cli;
	int status;

	h_spawn(&cli, argv);
	ck_assert_msg(h_expect(&cli, "calling", 10000), "storm did not start");
	h_kill(srv, SIGKILL);
	status = h_wait(&cli, 10000);
	ck_assert_msg(status == 0, "storm client: wait status %d (3: a late call)",
		      status);
}

START_TEST(kill_storm)
{
	struct peer srv;
	int kills = 0;

	h_dir_setup();
	for (int round = 0; round < ROUNDS; round++) {
		char *load[] = { (char *)h_bin("LRPC_PROBE"), "load", srv.uri,
				 "2", "500", NULL };
		struct usage base, now = { 0 };
		struct peer bystander;
		lrpc_deadline until;
		lrpc_channel *ch;

		/* Each restart takes over the name the killed one left. */
		h_probe_server(&srv, "storm", "1", NULL);
		ch = h_open(&srv);
		/* Warm up what is made once (the worker pool, the arena of
		 * each thread), then take the baseline. */
		kill_a_client(&srv, ch, 0);
		kill_a_client(&srv, ch, 1);
		kills += 2;
		base = usage_of(srv.pid);
		h_spawn(&bystander, load);
		for (int i = 2; i < CLIENT_KILLS; i++, kills++)
			kill_a_client(&srv, ch, i);
		ck_assert_msg(h_wait(&bystander, 60000) == 0,
			      "round %d: the bystander's calls failed", round);
		until = lrpc_deadline_after_ms(10000);
		/* The server notices each death by itself: look until it
		 * has (bounded). */
		ck_assert_int_ge(base.fds, 0);
		while (lrpc_now() < until) {
			now = usage_of(srv.pid);
			if (back_to(&now, &base))
				break;
			nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
		}
		ck_assert_msg(back_to(&now, &base),
			      "round %d: %d fds, %ld threads, %ld kB; before %d, %ld, %ld",
			      round, now.fds, now.threads, now.rss_kb, base.fds,
			      base.threads, base.rss_kb);
		lrpc_channel_close(ch);
		kill_the_server(&srv);
		kills++;
	}
	ck_assert_int_ge(kills, ROUNDS * (CLIENT_KILLS + 1));
}
END_TEST

H_MAIN("kill_storm", 300, kill_storm)
