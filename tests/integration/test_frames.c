// SPDX-License-Identifier: MIT
/*
 * Frames on unix:// and tcp://, written byte by byte here so that the
 * test does not share the runtime's encoder: garbage, oversized and
 * truncated frames get a clear status and cost only their own connection.
 * The server's hang-up lingers (runtime/src/transport/linger.h): a client
 * reads its refusal and then a clean end, never a reset, even with input
 * the server never read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "probe.lrpc.h"
#include "rawframe.h"

#define MAX_MSG 65536

static struct peer srv;

/* The connection's end: a FIN (read 0), not a reset. */
static void expect_eof(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	unsigned char c;
	ssize_t r;

	ck_assert_msg(poll(&p, 1, 10000) == 1, "no end within 10 s");
	r = read(fd, &c, 1);
	ck_assert_msg(r == 0, "read %zd at the end (%s), not 0", r, r < 0 ? strerror(errno) : "data");
}

/* Send all \p n bytes of \p buf (no SIGPIPE: a failure is the test's). */
static void send_all(int fd, const unsigned char *buf, size_t n)
{
	while (n) {
		ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);

		ck_assert_msg(w > 0, "send: %s", strerror(errno));
		buf += w;
		n -= (size_t)w;
	}
}

/* Expect one reply frame with \p code, saying \p why. */
static void expect_refusal(int fd, uint32_t code, const char *why)
{
	unsigned char h[32], msg[256];
	uint32_t body;

	ck_assert(raw_read_n(fd, h, 32));
	ck_assert_uint_eq(raw_get32(h), 0x3146524c);
	ck_assert_uint_eq(raw_get32(h + 16), code);
	body = raw_get32(h + 4);
	ck_assert_uint_eq(raw_get32(h + 20), body); /* all message, no payload */
	ck_assert_uint_lt(body, sizeof(msg));
	ck_assert(raw_read_n(fd, msg, body));
	msg[body] = '\0';
	ck_assert_msg(strstr((char *)msg, why), "message '%s'", msg);
}

/* The same, then the connection's end. */
static void expect_reject(int fd, uint32_t code, const char *why)
{
	expect_refusal(fd, code, why);
	expect_eof(fd);
}

static void others_still_served(void)
{
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT, *rep;
	lrpc_channel *ch = h_open(&srv);

	req.seq = 11;
	ck_assert_int_eq(lrpctest__probe__echo__call(ch, &req, &rep, 0, NULL), LRPC_OK);
	ck_assert_uint_eq(rep->seq, 11);
	lrpctest__echo_msg__free_unpacked(rep, NULL);
	lrpc_channel_close(ch);
}

static void setup(void)
{
	h_dir_setup();
	h_probe_server(&srv, "frames", "1", "65536");
}

START_TEST(garbage_frame)
{
	unsigned char junk[40];
	int fd;

	setup();
	fd = raw_connect(srv.uri);
	memset(junk, 0xa5, sizeof(junk));
	ck_assert_int_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	expect_reject(fd, LRPC_INVALID_ARGUMENT, "malformed frame");
	close(fd);
	others_still_served();
	h_kill(&srv, SIGTERM);
}
END_TEST

START_TEST(oversized_frame)
{
	unsigned char h[32];
	int fd;

	setup();
	fd = raw_connect(srv.uri);
	raw_header(h, MAX_MSG + 1, 9, LRPCTEST__PROBE__ECHO__ID);
	ck_assert_int_eq(write(fd, h, 32), 32);
	expect_reject(fd, LRPC_RESOURCE_EXHAUSTED, "exceeds");
	close(fd);
	others_still_served();
	h_kill(&srv, SIGTERM);
}
END_TEST

/* A refusal with input the server never read: an oversized frame's header
 * and bytes after it that the server may not have read when it stops
 * reading; then, once the client has seen the server's FIN, more bytes,
 * before and after reading the refusal. Closed at once, the socket would
 * answer with a reset (for the queued bytes, or for the late ones), and
 * the client could lose the refusal or fail its sends; lingering, the
 * server reads them away and closes at the client's end. All of it stays
 * under the linger's 64 KiB, however much the server's first read took. */
START_TEST(refusal_outlives_unread_input)
{
	static unsigned char first[32 + 40 * 1024];
	unsigned char late[4096];
	struct pollfd p;
	int fd;

	setup();
	fd = raw_connect(srv.uri);
	raw_header(first, MAX_MSG + 1, 9, LRPCTEST__PROBE__ECHO__ID);
	memset(first + 32, 0xa5, sizeof(first) - 32);
	send_all(fd, first, sizeof(first));
	/* Read nothing until the server has hung up its side. */
	p = (struct pollfd){ .fd = fd, .events = POLLRDHUP };
	ck_assert_msg(poll(&p, 1, 10000) == 1, "no hang-up within 10 s");
	memset(late, 0x5a, sizeof(late));
	send_all(fd, late, sizeof(late));
	expect_refusal(fd, LRPC_RESOURCE_EXHAUSTED, "exceeds");
	send_all(fd, late, sizeof(late));
	expect_eof(fd);
	close(fd);
	others_still_served();
	h_kill(&srv, SIGTERM);
}
END_TEST

/* A client that keeps sending into a refusal is cut off once the linger
 * has thrown away its bound (LRPC__LINGER_BYTES, 64 KiB): its sends fail
 * well before 64 MiB, and the server serves on. */
START_TEST(linger_is_bounded)
{
	static unsigned char buf[65536];
	size_t sent = 0;
	ssize_t w = 0;
	int fd;

	setup();
	fd = raw_connect(srv.uri);
	raw_header(buf, MAX_MSG + 1, 9, LRPCTEST__PROBE__ECHO__ID);
	while (sent < (64u << 20)) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };

		ck_assert_msg(poll(&p, 1, 10000) == 1, "send blocked for 10 s");
		w = send(fd, buf, sizeof(buf), MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EAGAIN)
			continue;
		if (w <= 0)
			break;
		sent += (size_t)w;
		memset(buf, 0x5a, 32); /* the header went once */
	}
	ck_assert_msg(w < 0 && (errno == EPIPE || errno == ECONNRESET),
		      "%zu bytes sent; the last send: %zd (%s)", sent, w, strerror(errno));
	close(fd);
	others_still_served();
	h_kill(&srv, SIGTERM);
}
END_TEST

START_TEST(truncated_frame)
{
	unsigned char h[32 + 10] = { 0 };
	int fd;

	setup();
	fd = raw_connect(srv.uri);
	raw_header(h, 100, 1, LRPCTEST__PROBE__ECHO__ID);
	ck_assert_int_eq(write(fd, h, sizeof(h)), (ssize_t)sizeof(h));
	shutdown(fd, SHUT_WR);
	/* The server hangs up on a peer that stops mid-frame. */
	ck_assert(!raw_read_n(fd, h, 1));
	close(fd);
	others_still_served();
	h_kill(&srv, SIGTERM);
}
END_TEST

START_TEST(pipelined_frames_each_get_a_reply)
{
	/* Two Echo requests in one write; payloads seq=1 and seq=2. */
	unsigned char buf[2 * (32 + 2)], h[32], body[16];
	uint64_t seen = 0;
	int fd;

	setup();
	fd = raw_connect(srv.uri);
	for (int i = 0; i < 2; i++) {
		raw_header(buf + i * 34, 2, (uint64_t)i + 1, LRPCTEST__PROBE__ECHO__ID);
		buf[i * 34 + 32] = 0x10; /* field 2 (seq), varint */
		buf[i * 34 + 33] = (unsigned char)(i + 1);
	}
	ck_assert_int_eq(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	for (int i = 0; i < 2; i++) {
		uint32_t n;

		ck_assert(raw_read_n(fd, h, 32));
		ck_assert_uint_eq(raw_get32(h + 16), LRPC_OK);
		n = raw_get32(h + 4);
		ck_assert_uint_le(n, sizeof(body));
		ck_assert(raw_read_n(fd, body, n));
		ck_assert_uint_eq(n, 2);
		ck_assert_uint_eq(body[1], raw_get32(h + 8)); /* seq == call id */
		seen |= 1u << body[1];
	}
	ck_assert_uint_eq(seen, 6);
	close(fd);
	h_kill(&srv, SIGTERM);
}
END_TEST

int main(void)
{
	const TTest *const t[] = { garbage_frame, oversized_frame,
				   refusal_outlives_unread_input, linger_is_bounded,
				   truncated_frame, pipelined_frames_each_get_a_reply };

	if (!strcmp(h_transport(), "lrpc")) {
		printf("SKIP: frames exist on unix:// and tcp:// only\n");
		return 77;
	}
	return h_run("frames", t, (int)(sizeof(t) / sizeof(t[0])), 60);
}
