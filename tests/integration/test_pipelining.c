// SPDX-License-Identifier: MIT
/*
 * Pipelining on unix:// and tcp://: a connection that sends more calls at
 * once than the server queues is paused, not forgotten. Reading restarts
 * whichever way its calls complete, so later calls are served and a peer
 * that hangs up is noticed (its descriptor and buffers go).
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

#define BURST 200 /* well over the 64 calls a connection may queue */

static struct peer srv;

/* Write BURST Echo frames in one go (call ids 1..BURST). */
static void burst(int fd)
{
	static unsigned char buf[BURST * (RAW_HDR + 2)];

	for (int i = 0; i < BURST; i++) {
		unsigned char *f = buf + i * (RAW_HDR + 2);

		raw_header(f, 2, (uint64_t)i + 1, LRPCTEST__PROBE__ECHO__ID);
		f[RAW_HDR] = 0x10;
		f[RAW_HDR + 1] = (unsigned char)(i % 100 + 1);
	}
	ck_assert_int_eq(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
}

/* Read the BURST replies, checking each. */
static void drain_replies(int fd)
{
	unsigned char body[16];
	uint32_t code, len;
	uint64_t id;

	for (int i = 0; i < BURST; i++) {
		ck_assert_msg(raw_reply(fd, &code, &id, body, sizeof(body), &len),
			      "connection closed after %d replies", i);
		ck_assert_uint_eq(code, LRPC_OK);
		ck_assert_uint_eq(len, 2);
		ck_assert_uint_eq(body[1], (id - 1) % 100 + 1);
	}
}

START_TEST(more_calls_after_a_long_burst)
{
	unsigned char body[16];
	uint32_t code, len;
	uint64_t id;
	int fd;

	h_dir_setup();
	h_probe_server(&srv, "pipes", "1", NULL);
	fd = raw_connect(srv.uri);
	burst(fd);
	drain_replies(fd);
	/* The connection is read again: the next calls are answered. */
	for (int i = 0; i < 3; i++) {
		raw_echo(fd, 1000 + (uint64_t)i, 7);
		ck_assert(raw_reply(fd, &code, &id, body, sizeof(body), &len));
		ck_assert_uint_eq(code, LRPC_OK);
		ck_assert_uint_eq(id, 1000 + (uint64_t)i);
	}
	close(fd);
	h_kill(&srv, SIGTERM);
}
END_TEST

START_TEST(hang_ups_after_a_burst_are_noticed)
{
	const int conns = 20;
	lrpc_deadline until;
	int base, now = -1;

	h_dir_setup();
	h_probe_server(&srv, "pipes", "1", NULL);
	base = raw_fd_count(srv.pid);
	ck_assert_int_gt(base, 0);
	for (int i = 0; i < conns; i++) {
		int fd = raw_connect(srv.uri);

		burst(fd);
		drain_replies(fd);
		close(fd);
	}
	/* The server notices each hang-up once its queued calls are done;
	 * look until it has (bounded), then it must hold no more than
	 * before. */
	until = lrpc_deadline_after_ms(20000);
	while (lrpc_now() < until && (now = raw_fd_count(srv.pid)) > base)
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	ck_assert_msg(now <= base, "server holds %d descriptors, %d before", now,
		      base);
	h_kill(&srv, SIGTERM);
}
END_TEST

int main(void)
{
	const TTest *const t[] = { more_calls_after_a_long_burst,
				   hang_ups_after_a_burst_are_noticed };

	if (!strcmp(h_transport(), "lrpc")) {
		printf("SKIP: pipelining exists on unix:// and tcp:// only\n");
		return 77;
	}
	return h_run("pipelining", t, 2, 60);
}
