// SPDX-License-Identifier: MIT
/*
 * Frames on unix:// and tcp://, written byte by byte here so that the
 * test does not share the runtime's encoder: garbage, oversized and
 * truncated frames get a clear status and cost only their own connection.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "probe.lrpc.h"
#include "rawframe.h"

#define MAX_MSG 65536

static struct peer srv;

/* Expect one reply frame with \p code, then the connection's end. */
static void expect_reject(int fd, uint32_t code, const char *why)
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
	ck_assert(!raw_read_n(fd, h, 1));
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
	const TTest *const t[] = { garbage_frame, oversized_frame, truncated_frame,
				   pipelined_frames_each_get_a_reply };

	if (!strcmp(h_transport(), "lrpc")) {
		printf("SKIP: frames exist on unix:// and tcp:// only\n");
		return 77;
	}
	return h_run("frames", t, 4, 60);
}
