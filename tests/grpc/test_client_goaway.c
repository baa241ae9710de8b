// SPDX-License-Identifier: MIT
/*
 * When the grpc:// client sends a call again: only when the server
 * provably did not process it. A hand-written HTTP/2 server (nghttp2's
 * server session, a thread per connection) answers each connection's
 * first request as the test scripts it, in the order they come:
 *
 *   REFUSE   GOAWAY with last-stream-id 0 (the request unprocessed), and
 *            close; what a server's idle close looks like when it crosses
 *            the call;
 *   TAKE     GOAWAY naming the request's stream (processed, maybe), and
 *            close without an answer;
 *   FULL     GOAWAY 0 REFUSED_STREAM "server full: ..." (lazyrpc's
 *            refusal of a connection beyond max_conns), and close;
 *   ANSWER   an OK reply;
 *   IDLE     an OK reply, then GOAWAY naming its stream and close, as a
 *            server closes a connection that stayed idle.
 *
 * The test counts the requests and the connections that carried one, for
 * synchronous calls (grpc_client.c's pool) and asynchronous ones (the
 * channel's watcher, grpc_async.c) alike.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <lazyrpc/lazyrpc.h>

#include "check_main.h"
#include "grpc/testing/test.lrpc.h"

enum act { ANSWER, REFUSE, TAKE, FULL, IDLE };

#define FULL_WHY "server full: max_conns grpc:// connections"

static int lfd, port;
static pthread_t server;
static enum act script[4]; /* per connection; later ones answer */
/* requests: every request's HEADERS, even after a GOAWAY;
 * conns: the connections that carried one. */
static atomic_int conns, requests;
static int go_idle[2];          /* a pipe: the test says when IDLE closes */
static atomic_bool idle_closed; /* IDLE's GOAWAY and FIN are out */

struct conn {
	nghttp2_session *ng;
	int32_t done; /* a request's stream, complete; 0: none yet */
	bool sent;    /* the reply's one message is out */
};

/* What the client sent after the GOAWAY, which nghttp2 ignores: frame
 * by frame, its requests' HEADERS. */
static void count_late(const uint8_t *p, size_t n)
{
	while (n >= 9) {
		size_t len = 9 + ((size_t)p[0] << 16 | (size_t)p[1] << 8 | p[2]);

		if (p[3] == NGHTTP2_HEADERS)
			atomic_fetch_add(&requests, 1);
		if (len > n)
			break;
		p += len;
		n -= len;
	}
}

static int on_frame(nghttp2_session *ng, const nghttp2_frame *f, void *user)
{
	struct conn *c = user;

	(void)ng;
	if (f->hd.type == NGHTTP2_HEADERS)
		atomic_fetch_add(&requests, 1);
	if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) &&
	    (f->hd.flags & NGHTTP2_FLAG_END_STREAM))
		c->done = f->hd.stream_id;
	return 0;
}

/* The reply: one empty message, then trailers grpc-status 0. */
static ssize_t read_reply(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t len,
			  uint32_t *flags, nghttp2_data_source *src, void *user)
{
	static const nghttp2_nv trl[] = {
		{ (uint8_t *)"grpc-status", (uint8_t *)"0", 11, 1, NGHTTP2_NV_FLAG_NONE },
	};
	struct conn *c = user;

	(void)src;
	ck_assert_uint_ge(len, 5);
	memset(buf, 0, 5);
	c->sent = true;
	*flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
	nghttp2_submit_trailer(ng, id, trl, 1);
	return 5;
}

static void act(struct conn *c, enum act a)
{
	static const nghttp2_nv hdr[] = {
		{ (uint8_t *)":status", (uint8_t *)"200", 7, 3, NGHTTP2_NV_FLAG_NONE },
		{ (uint8_t *)"content-type", (uint8_t *)"application/grpc", 12, 16,
		  NGHTTP2_NV_FLAG_NONE },
	};
	nghttp2_data_provider prd = { .read_callback = read_reply };

	switch (a) {
	case ANSWER:
	case IDLE: /* its GOAWAY once the reply is out (serve_conn) */
		nghttp2_submit_response(c->ng, c->done, hdr, 2, &prd);
		break;
	case REFUSE:
		nghttp2_submit_goaway(c->ng, NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, NULL, 0);
		break;
	case TAKE:
		nghttp2_submit_goaway(c->ng, NGHTTP2_FLAG_NONE, c->done, NGHTTP2_NO_ERROR,
				      NULL, 0);
		break;
	case FULL:
		nghttp2_submit_goaway(c->ng, NGHTTP2_FLAG_NONE, 0, NGHTTP2_REFUSED_STREAM,
				      (const uint8_t *)FULL_WHY, strlen(FULL_WHY));
		break;
	}
}

/* Wait until the client has acknowledged our FIN: then the GOAWAY and
 * the FIN are in its socket's queue, for its pool to find. */
static void fin_acked(int fd)
{
	for (;;) {
		struct tcp_info ti;
		socklen_t len = sizeof(ti);

		ck_assert_int_eq(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
		if (ti.tcpi_state != TCP_FIN_WAIT1 && ti.tcpi_state != TCP_CLOSING)
			return;
		sched_yield();
	}
}

/* One connection, until it is to be closed: its first request gets the
 * script's next act (connections that carry none, as the channel's first,
 * idle in the synchronous pool while an asynchronous call goes on its
 * own, take no turn). */
static void *serve_conn(void *arg)
{
	nghttp2_session_callbacks *cb;
	struct conn c = { 0 };
	uint8_t buf[16384];
	size_t late = 0; /* bytes in buf after the GOAWAY */
	int fd = (int)(intptr_t)arg;
	enum act a = ANSWER;
	bool acted = false;

	nghttp2_session_callbacks_new(&cb);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame);
	nghttp2_session_server_new(&c.ng, cb, &c);
	nghttp2_session_callbacks_del(cb);
	nghttp2_submit_settings(c.ng, NGHTTP2_FLAG_NONE, NULL, 0);
	for (;;) {
		const uint8_t *out;
		ssize_t n;

		while ((n = nghttp2_session_mem_send(c.ng, &out)) > 0)
			if (send(fd, out, (size_t)n, MSG_NOSIGNAL) != n)
				goto out;
		if (a == IDLE && !acted && c.sent && !nghttp2_session_want_write(c.ng)) {
			char go;

			/* The reply is out; once the call has ended and the
			 * connection is back in the pool, the idle close. */
			ck_assert_int_eq(read(go_idle[0], &go, 1), 1);
			nghttp2_submit_goaway(c.ng, NGHTTP2_FLAG_NONE,
					      nghttp2_session_get_last_proc_stream_id(c.ng),
					      NGHTTP2_NO_ERROR, NULL, 0);
			acted = true;
			continue;
		}
		/* Done: the GOAWAY sent, or the reply and the client's next
		 * move (its next request on this connection, or its close). */
		if (acted && a != ANSWER) {
			/* FIN after the GOAWAY, then read (and count) what the
			 * client still sends until its own: closing with its
			 * bytes unread would reset the connection, and the
			 * GOAWAY might never be read. */
			shutdown(fd, SHUT_WR);
			if (a == IDLE)
				fin_acked(fd);
			atomic_store(&idle_closed, a == IDLE);
			while (late < sizeof(buf) &&
			       (n = recv(fd, buf + late, sizeof(buf) - late, 0)) > 0)
				late += (size_t)n;
			count_late(buf, late);
			break;
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0 || nghttp2_session_mem_recv(c.ng, buf, (size_t)n) < 0)
			break;
		if (c.done && !acted) {
			int i = atomic_fetch_add(&conns, 1);

			a = i < 4 ? script[i] : ANSWER;
			act(&c, a);
			acted = a != ANSWER && a != IDLE;
			if (a == ANSWER)
				c.done = 0;
		}
	}
out:
	nghttp2_session_del(c.ng);
	close(fd);
	return NULL;
}

/* A thread per connection, joined once the client has closed them all. */
static void *serve(void *arg)
{
	pthread_t t[16];
	int n = 0;

	(void)arg;
	for (;;) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			break; /* shut down */
		ck_assert_int_lt(n, 16);
		ck_assert_int_eq(pthread_create(&t[n++], NULL, serve_conn,
						(void *)(intptr_t)fd), 0);
	}
	while (n)
		pthread_join(t[--n], NULL);
	return NULL;
}

static void start(enum act a0, enum act a1)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);

	script[0] = a0;
	script[1] = a1;
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 8), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	ck_assert_int_eq(pipe(go_idle), 0);
	ck_assert_int_eq(pthread_create(&server, NULL, serve, NULL), 0);
}

struct result {
	bool ran;
	lrpc_code code;
	lrpc_status st;
};

static void on_done(void *arg, lrpc_code code, ProtobufCMessage *rep,
		    const lrpc_status *st, lrpc_async *handle)
{
	struct result *r = arg;

	(void)handle;
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
	r->ran = true;
	r->code = code;
	r->st = *st;
}

/* One call through the channel's watcher (grpc_async.c). */
static lrpc_code call_async(lrpc_channel *ch, lrpc_status *st)
{
	Grpc__Testing__Empty req = GRPC__TESTING__EMPTY__INIT;
	struct result r = { 0 };
	lrpc_cq *cq;

	ck_assert_int_eq(lrpc_cq_new(&cq), 0);
	ck_assert_int_eq(grpc__testing__test_service__empty_call__call_async(
				 ch, &req, lrpc_deadline_after_ms(20000), cq, on_done, &r, NULL),
			 0);
	while (!r.ran)
		ck_assert_int_ge(lrpc_cq_run(cq, lrpc_deadline_after_ms(30000), 0), 0);
	ck_assert_int_eq(lrpc_cq_free(cq), 0);
	*st = r.st;
	return r.code;
}

static lrpc_code call_sync(lrpc_channel *ch, lrpc_status *st)
{
	void *rep = NULL;
	size_t rep_len = 0;
	lrpc_code code = lrpc_channel_call_bytes(ch, "/t.T/M", NULL, 0, &rep, &rep_len,
						 lrpc_deadline_after_ms(20000), NULL, st);

	free(rep);
	return code;
}

/* One call, synchronous (grpc_client.c's pool) or \p async; after IDLE,
 * a second on the same channel once the first's connection was closed. */
static lrpc_code call(lrpc_status *st, bool async)
{
	lrpc_channel *ch;
	lrpc_channel_opts o;
	char uri[64];
	lrpc_code code;

	snprintf(uri, sizeof(uri), "grpc://127.0.0.1:%d", port);
	lrpc_channel_opts_init(&o);
	o.open_status = st;
	ck_assert_msg(lrpc_channel_open(uri, &o, &ch) == 0, "%s", st->message);
	/* grpc:// multiplexes: no connection cap to set. */
	ck_assert_int_eq(lrpc_channel_set_max_conns(ch, 4), -EOPNOTSUPP);
	code = async ? call_async(ch, st) : call_sync(ch, st);
	if (script[0] == IDLE) {
		ck_assert_msg(code == LRPC_OK, "%s %s", lrpc_code_name(code), st->message);
		ck_assert_int_eq(write(go_idle[1], "", 1), 1);
		/* Once the GOAWAY and FIN wait in the pooled connection. */
		while (!atomic_load(&idle_closed))
			sched_yield();
		code = async ? call_async(ch, st) : call_sync(ch, st);
	}
	lrpc_channel_close(ch);
	shutdown(lfd, SHUT_RDWR); /* ends accept() */
	pthread_join(server, NULL);
	close(lfd);
	close(go_idle[0]);
	close(go_idle[1]);
	return code;
}

/* The server does \p a0 with the first connection's request, \p a1 with
 * the second's (later ones answer); the call ends with \p want after
 * \p sent requests, each on a connection of its own. */
static void expect(enum act a0, enum act a1, bool async, lrpc_code want, int sent)
{
	lrpc_status st;
	lrpc_code code;
	int nreq, nconn;

	start(a0, a1);
	code = call(&st, async);
	ck_assert_msg(code == want, "%s %s", lrpc_code_name(code), st.message);
	/* A refusal's reason, in the server's words. */
	if (a1 == FULL)
		ck_assert_msg(strstr(st.message, FULL_WHY), "'%s'", st.message);
	nreq = atomic_load(&requests);
	nconn = atomic_load(&conns);
	ck_assert_int_eq(nreq, sent);
	ck_assert_int_eq(nconn, sent);
}

START_TEST(a_call_refused_unprocessed_goes_again_on_a_new_connection)
{
	expect(REFUSE, ANSWER, false, LRPC_OK, 2);
}
END_TEST

/* No byte of the second call goes on the connection the server closed:
 * two requests, not a refused one besides. */
START_TEST(a_pooled_connection_the_server_closed_is_not_used)
{
	expect(IDLE, ANSWER, false, LRPC_OK, 2);
}
END_TEST

START_TEST(a_call_the_server_may_have_processed_is_not_sent_again)
{
	expect(TAKE, ANSWER, false, LRPC_UNAVAILABLE, 1);
}
END_TEST

/* Refused twice: one retry, then the end, though the third connection
 * would answer. */
START_TEST(a_call_goes_again_once_and_fails_with_the_servers_reason)
{
	expect(FULL, FULL, false, LRPC_UNAVAILABLE, 2);
}
END_TEST

START_TEST(an_async_call_refused_unprocessed_goes_again)
{
	expect(REFUSE, ANSWER, true, LRPC_OK, 2);
}
END_TEST

START_TEST(an_async_call_the_server_may_have_processed_is_not_sent_again)
{
	expect(TAKE, ANSWER, true, LRPC_UNAVAILABLE, 1);
}
END_TEST

START_TEST(an_async_call_goes_again_once_and_fails_with_the_servers_reason)
{
	expect(FULL, FULL, true, LRPC_UNAVAILABLE, 2);
}
END_TEST

CHECK_MAIN("grpc_client_goaway", 60, a_call_refused_unprocessed_goes_again_on_a_new_connection,
	   a_pooled_connection_the_server_closed_is_not_used,
	   a_call_the_server_may_have_processed_is_not_sent_again,
	   a_call_goes_again_once_and_fails_with_the_servers_reason,
	   an_async_call_refused_unprocessed_goes_again,
	   an_async_call_the_server_may_have_processed_is_not_sent_again,
	   an_async_call_goes_again_once_and_fails_with_the_servers_reason)
