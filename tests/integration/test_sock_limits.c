// SPDX-License-Identifier: MIT
/*
 * What a socket peer can make the server hold is bounded: silent
 * connections and half-sent headers time out, connections beyond
 * max_conns are refused with a reason, and a client that never reads its
 * replies cannot make the server buffer more than max_conn_buffer. And a
 * busy client stays within its own channel's cap
 * (lrpc_channel_set_max_conns()): calls beyond it wait for a connection
 * instead of being refused by the server, also once the cap is lowered.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "probe.lrpc.h"
#include "rawframe.h"

static struct peer srv;

/* Wait for the server to hang up: poll and read return 0 (bounded). */
static void expect_eof(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	unsigned char b;

	ck_assert_msg(poll(&p, 1, 10000) == 1, "server did not hang up");
	ck_assert_int_eq(read(fd, &b, 1), 0);
}

START_TEST(silent_connection_is_closed_when_idle)
{
	int fd;

	h_dir_setup();
	setenv("LRPC_PROBE_IDLE_MS", "200", 1);
	h_probe_server(&srv, "limits", "1", NULL);
	fd = raw_connect(srv.uri);
	expect_eof(fd);
	close(fd);
	h_kill(&srv, SIGTERM);
}
END_TEST

START_TEST(partial_header_is_closed)
{
	unsigned char h[RAW_HDR], body[256];
	uint32_t code, len;
	uint64_t id;
	int fd;

	h_dir_setup();
	setenv("LRPC_PROBE_HEADER_MS", "200", 1);
	h_probe_server(&srv, "limits", "1", NULL);
	fd = raw_connect(srv.uri);
	raw_header(h, 2, 1, LRPCTEST__PROBE__ECHO__ID);
	ck_assert_int_eq(write(fd, h, 10), 10);
	ck_assert(raw_reply(fd, &code, &id, body, sizeof(body) - 1, &len));
	ck_assert_uint_eq(code, LRPC_DEADLINE_EXCEEDED);
	body[len] = '\0';
	ck_assert_msg(strstr((char *)body, "header_timeout_ms"), "'%s'", body);
	expect_eof(fd);
	close(fd);
	h_kill(&srv, SIGTERM);
}
END_TEST

START_TEST(connection_over_max_conns_is_refused)
{
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT, *rep;
	unsigned char body[16];
	lrpc_channel *ch;
	lrpc_status st;
	uint32_t code, len;
	uint64_t id;
	int fds[4];

	h_dir_setup();
	setenv("LRPC_PROBE_MAX_CONNS", "4", 1);
	h_probe_server(&srv, "limits", "1", NULL);
	for (int i = 0; i < 4; i++) {
		fds[i] = raw_connect(srv.uri);
		raw_echo(fds[i], 1, 3);
		ck_assert(raw_reply(fds[i], &code, &id, body, sizeof(body), &len));
		ck_assert_uint_eq(code, LRPC_OK);
	}
	ch = h_open(&srv);
	ck_assert_int_eq(lrpctest__probe__echo__call(ch, &req, &rep, 0, &st),
			 LRPC_RESOURCE_EXHAUSTED);
	ck_assert_msg(strstr(st.message, "max_conns") &&
		      strstr(st.message, h_transport()), "'%s'", st.message);
	lrpc_channel_close(ch);
	for (int i = 0; i < 4; i++)
		close(fds[i]);
	h_kill(&srv, SIGTERM);
}
END_TEST

START_TEST(unread_replies_stay_under_the_buffer_cap)
{
	const size_t cap = 256 << 10;
	/* Echo asking for a 60000-byte reply: field 3, varint 60000. */
	static const unsigned char ask[] = { 0x18, 0xe0, 0xd4, 0x03 };
	enum { FRAME = RAW_HDR + sizeof(ask) };
	static unsigned char chunk[1024 * FRAME];
	Lrpctest__StatsReply *s;
	lrpc_channel *ch;
	size_t sent = 0;
	int fd;

	h_dir_setup();
	setenv("LRPC_PROBE_CONN_BUFFER_KIB", "256", 1);
	h_probe_server(&srv, "limits", "4", "65536");
	for (int i = 0; i < 1024; i++) {
		raw_header(chunk + i * FRAME, sizeof(ask), (uint64_t)i + 1,
			   LRPCTEST__PROBE__ECHO__ID);
		memcpy(chunk + i * FRAME + RAW_HDR, ask, sizeof(ask));
	}
	fd = raw_connect(srv.uri);
	ck_assert_int_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	/* Send calls and read no reply, until the server stops reading
	 * ours (the socket's buffers fill) or 64 MiB have gone. */
	while (sent < (64u << 20)) {
		ssize_t n = write(fd, chunk, sizeof(chunk));

		if (n < 0) {
			ck_assert_int_eq(errno, EAGAIN);
			break;
		}
		sent += (size_t)n;
	}
	ck_assert_msg(sent < (64u << 20), "the server read 64 MiB of calls");
	ch = h_open(&srv);
	s = h_stats(ch);
	ck_assert_msg(s->conn_held_peak <= cap, "a connection held %llu bytes",
		      (unsigned long long)s->conn_held_peak);
	ck_assert_uint_gt(s->conn_held_peak, 0);
	lrpctest__stats_reply__free_unpacked(s, NULL);
	lrpc_channel_close(ch);
	close(fd);
	h_kill(&srv, SIGKILL);
}
END_TEST

#define CAP 4
#define HOLD_MS 1000

static void *slow_call(void *arg)
{
	Lrpctest__SlowReq req = LRPCTEST__SLOW_REQ__INIT;
	Lrpctest__SlowReply *rep = NULL;
	lrpc_status st;
	lrpc_code code;

	req.hold_ms = HOLD_MS;
	code = lrpctest__probe__slow__call(arg, &req, &rep, lrpc_deadline_after_ms(30000), &st);
	if (rep)
		lrpctest__slow_reply__free_unpacked(rep, NULL);
	return (void *)(intptr_t)(code == LRPC_OK);
}

static void *echo_call(void *arg)
{
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT, *rep = NULL;
	lrpc_status st;
	lrpc_code code;

	code = lrpctest__probe__echo__call(arg, &req, &rep, lrpc_deadline_after_ms(30000), &st);
	if (rep)
		lrpctest__echo_msg__free_unpacked(rep, NULL);
	if (code != LRPC_OK)
		fprintf(stderr, "echo: %s %s\n", lrpc_code_name(code), st.message);
	return (void *)(intptr_t)(code == LRPC_OK);
}

START_TEST(calls_beyond_the_channel_cap_wait_for_a_connection)
{
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT, *rep = NULL;
	pthread_t slow[CAP], echo[4 * CAP];
	lrpc_channel *ch;
	lrpc_status st;
	void *ok;

	h_dir_setup();
	setenv("LRPC_PROBE_MAX_CONNS", "4", 1);
	h_probe_server(&srv, "limits", "1", NULL);
	ch = h_open(&srv);
	ck_assert_int_eq(lrpc_channel_set_max_conns(NULL, CAP), -EINVAL);
	ck_assert_int_eq(lrpc_channel_set_max_conns(ch, CAP), 0);
	/* CAP calls hold every connection the server allows... */
	for (int i = 0; i < CAP; i++)
		ck_assert_int_eq(pthread_create(&slow[i], NULL, slow_call, ch), 0);
	for (int i = 0; i < CAP; i++)
		ck_assert(h_expect(&srv, "slow-enter", 10000));
	/* ...so one more waits, here until its short deadline, and says so. */
	ck_assert_int_eq(lrpctest__probe__echo__call(ch, &req, &rep,
						     lrpc_deadline_after_ms(50), &st),
			 LRPC_DEADLINE_EXCEEDED);
	ck_assert_msg(strstr(st.message, "max_conns"), "'%s'", st.message);
	/* Many more, with time: each gets a connection as one comes free. */
	for (int i = 0; i < 4 * CAP; i++)
		ck_assert_int_eq(pthread_create(&echo[i], NULL, echo_call, ch), 0);
	for (int i = 0; i < CAP; i++) {
		pthread_join(slow[i], &ok);
		ck_assert_msg(ok, "slow call %d failed", i);
	}
	for (int i = 0; i < 4 * CAP; i++) {
		pthread_join(echo[i], &ok);
		ck_assert_msg(ok, "call %d beyond the cap failed", i);
	}
	/* A lower cap: the connections beyond it close as they come back,
	 * here one per call (the pool lends the last given back)... */
	ck_assert_int_eq(lrpc_channel_set_max_conns(ch, 1), 0);
	for (int i = 0; i < CAP; i++)
		ck_assert_msg(echo_call(ch), "call %d after lowering the cap failed", i);
	/* ...and then one call holds the only one. */
	ck_assert_int_eq(pthread_create(&slow[0], NULL, slow_call, ch), 0);
	ck_assert(h_expect(&srv, "slow-enter", 10000));
	ck_assert_int_eq(lrpctest__probe__echo__call(ch, &req, &rep,
						     lrpc_deadline_after_ms(50), &st),
			 LRPC_DEADLINE_EXCEEDED);
	ck_assert_msg(strstr(st.message, "channel's 1 connections"), "'%s'", st.message);
	pthread_join(slow[0], &ok);
	ck_assert_msg(ok, "the slow call under the lower cap failed");
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
}
END_TEST

int main(void)
{
	const TTest *const t[] = { silent_connection_is_closed_when_idle,
				   partial_header_is_closed,
				   connection_over_max_conns_is_refused,
				   unread_replies_stay_under_the_buffer_cap,
				   calls_beyond_the_channel_cap_wait_for_a_connection };

	if (!strcmp(h_transport(), "lrpc")) {
		printf("SKIP: these limits are unix:// and tcp://'s own\n");
		return 77;
	}
	/* The channel-cap case (last) blocks its handlers: inline, that would
	 * be the server's loop, and the calls would queue there rather than
	 * for connections. Not run in that variant. */
	return h_run("sock_limits", t, getenv("LRPC_PROBE_INLINE") ? 4 : 5, 60);
}
