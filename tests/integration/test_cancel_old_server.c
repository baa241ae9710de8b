// SPDX-License-Identifier: MIT
/*
 * A unix:// client against a server before 0.6.0, made by hand: the
 * server gets the CANCEL that the client sends at a synchronous call's
 * deadline, takes it as that of no open stream (as those servers do), and
 * sends the call's whole reply after all. The client drops that late
 * reply as the next call on the same connection reads it, and the next
 * call's own reply is its answer; no second connection is made.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"
#include "probe.lrpc.h"
#include "rawframe.h"

/* A server before 0.6.0, by hand: it takes the CANCEL of a unary call as
 * that of no open stream, and sends the call's whole reply after it. */
struct old_server {
	int listener;
	bool saw_cancel, one_conn;
};

static void *old_serve(void *arg)
{
	struct old_server *o = arg;
	unsigned char h[RAW_HDR], body[64], rep[RAW_HDR + 2] = { 0 };
	int fd = accept(o->listener, NULL, NULL);
	uint64_t id;

	ck_assert_int_ge(fd, 0);
	ck_assert(raw_read_n(fd, h, RAW_HDR)); /* the Slow call */
	ck_assert_uint_le(raw_get32(h + 4), sizeof(body));
	ck_assert(raw_read_n(fd, body, raw_get32(h + 4)));
	id = raw_get64(h + 8);
	ck_assert(raw_read_n(fd, h, RAW_HDR)); /* its CANCEL, at the deadline */
	o->saw_cancel = raw_get32(h) == (0x0053524cu | (uint32_t)'C' << 24) &&
			raw_get64(h + 8) == id;
	raw_header(rep, 2, id, 0); /* the whole late reply: tag = 5 */
	raw_put64(rep + 24, 0);
	rep[RAW_HDR] = 0x08;
	rep[RAW_HDR + 1] = 5;
	ck_assert_int_eq(write(fd, rep, sizeof(rep)), (ssize_t)sizeof(rep));
	ck_assert(raw_read_n(fd, h, RAW_HDR)); /* the next call, an Echo */
	ck_assert_uint_le(raw_get32(h + 4), sizeof(body));
	ck_assert(raw_read_n(fd, body, raw_get32(h + 4)));
	raw_header(rep, raw_get32(h + 4), raw_get64(h + 8), 0); /* echoed */
	raw_put64(rep + 24, 0);
	ck_assert_int_eq(write(fd, rep, RAW_HDR), RAW_HDR);
	ck_assert_int_eq(write(fd, body, raw_get32(h + 4)), (ssize_t)raw_get32(h + 4));
	/* The client's dial made the one connection: nothing waits. */
	o->one_conn = fcntl(o->listener, F_SETFL, O_NONBLOCK) == 0 &&
		      accept(o->listener, NULL, NULL) < 0 && errno == EAGAIN;
	close(fd);
	return NULL;
}

START_TEST(an_old_servers_late_reply_is_dropped)
{
	Lrpctest__SlowReq req = LRPCTEST__SLOW_REQ__INIT;
	Lrpctest__SlowReply *rep = NULL;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct old_server o = { .listener = -1 };
	char uri[sizeof(sa.sun_path) + 8];
	lrpc_channel *ch;
	lrpc_status st;
	pthread_t t;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/old.sock", h_dir_setup());
	snprintf(uri, sizeof(uri), "unix://%s", sa.sun_path);
	o.listener = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(o.listener, 0);
	ck_assert_int_eq(bind(o.listener, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(o.listener, 4), 0);
	ck_assert_int_eq(lrpc_channel_open(uri, NULL, &ch), 0); /* connects */
	ck_assert_int_eq(pthread_create(&t, NULL, old_serve, &o), 0);
	ck_assert_int_eq(lrpctest__probe__slow__call(ch, &req, &rep,
						     lrpc_deadline_after_ms(100), &st),
			 LRPC_DEADLINE_EXCEEDED);
	/* The late Slow reply comes first; the client drops it. */
	ck_assert_msg(h_echo(ch, 7, 30000, &st) == LRPC_OK, "%s", st.message);
	pthread_join(t, NULL);
	ck_assert(o.saw_cancel);
	ck_assert(o.one_conn);
	lrpc_channel_close(ch);
	close(o.listener);
}
END_TEST

int main(void)
{
	const TTest *const t[] = { an_old_servers_late_reply_is_dropped };

	if (strcmp(h_transport(), "unix")) {
		printf("SKIP: the old server is made by hand over unix:// only\n");
		return 77;
	}
	return h_run("cancel_old_server", t, 1, 60);
}
