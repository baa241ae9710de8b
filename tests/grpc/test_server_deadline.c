// SPDX-License-Identifier: MIT
/*
 * A grpc:// server's own deadline: a client that sends grpc-timeout but
 * keeps no timer of its own (hand-written HTTP/2 here, through nghttp2's
 * client session) must get grpc-status 4, DEADLINE_EXCEEDED, in trailers
 * when the server's deadline passes, never RST_STREAM CANCEL (which gRPC
 * clients whose timer has not fired report as CANCELLED). The handlers
 * only wait for lrpc_call_cancelled() and then answer OK: that late answer
 * must be dropped, the expiry being first. The server is lazyrpc's own,
 * in this process.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <lazyrpc/lazyrpc.h>

#include "check_main.h"
#include "grpc/testing/test.lrpc.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static bool client_done;    /* the client has read the call's end */
static int handlers_told;   /* handlers that saw the call given up on */
static int handlers_returned;

/* The handler's side: hold on until the client has read how the call
 * ended (so the server's expiry is what ended it), see that the call was
 * given up on, and answer OK, too late: that answer must go nowhere.
 * \p stream: a stream's wait must say CANCELLED, which only the loop's
 * expiry makes it say (its own deadline says DEADLINE_EXCEEDED). */
static lrpc_code after_the_client(lrpc_call *call, lrpc_server_stream *stream)
{
	bool told;

	pthread_mutex_lock(&mu);
	while (!client_done)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	told = stream ? lrpc_server_stream_wait(stream) == LRPC_CANCELLED &&
				lrpc_call_cancelled(call) :
			lrpc_call_cancelled(call);
	pthread_mutex_lock(&mu);
	handlers_told += told;
	handlers_returned++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	return LRPC_OK;
}

static lrpc_code unary_call(void *user, lrpc_call *call, const Grpc__Testing__SimpleRequest *req,
			    Grpc__Testing__SimpleResponse *reply)
{
	(void)user, (void)req, (void)reply;
	return after_the_client(call, NULL);
}

/* One reply first, so that the expiry's status comes as trailers. */
static lrpc_code reply_then_wait(lrpc_call *call, lrpc_server_stream *stream, bool reply)
{
	Grpc__Testing__StreamingOutputCallResponse rep =
		GRPC__TESTING__STREAMING_OUTPUT_CALL_RESPONSE__INIT;

	if (reply)
		(void)grpc__testing__test_service__full_duplex_call__server_write(stream, &rep);
	return after_the_client(call, stream);
}

static lrpc_code streaming_output_call(void *user, lrpc_call *call,
				       const Grpc__Testing__StreamingOutputCallRequest *req,
				       lrpc_server_stream *stream)
{
	(void)user, (void)req;
	return reply_then_wait(call, stream, true);
}

/* The client's first message says whether to reply first (a payload). */
static lrpc_code full_duplex_call(void *user, lrpc_call *call, lrpc_server_stream *stream)
{
	Grpc__Testing__StreamingOutputCallRequest *req = NULL;
	bool reply = grpc__testing__test_service__full_duplex_call__server_read(stream, &req) ==
			     LRPC_OK && req && req->payload;

	(void)user;
	return reply_then_wait(call, stream, reply);
}

/* The client: one stream on one connection, and what came back on it. */
struct peer {
	int fd;
	nghttp2_session *ng;
	int32_t id;
	const uint8_t *body;
	size_t body_len, body_off;
	bool end; /* half-close after the body */
	int headers_frames; /* HEADERS the server sent on the stream */
	size_t data_bytes;
	char grpc_status[8];
	int status_frame;   /* which HEADERS carried grpc-status (1: Trailers-Only) */
	bool ended;         /* the server's END_STREAM */
	bool rst_first;     /* RST_STREAM before END_STREAM */
	int rst_code;       /* the server's RST_STREAM, or -1 */
	bool closed, ping_acked;
	int late; /* frames on the stream once it closed */
};

static ssize_t send_cb(nghttp2_session *ng, const uint8_t *data, size_t len, int flags,
		       void *user)
{
	struct peer *p = user;
	ssize_t n = send(p->fd, data, len, MSG_NOSIGNAL);

	(void)ng, (void)flags;
	return n < 0 ? NGHTTP2_ERR_CALLBACK_FAILURE : n;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *f, const uint8_t *name,
		     size_t nlen, const uint8_t *value, size_t vlen, uint8_t flags, void *user)
{
	struct peer *p = user;

	(void)ng, (void)flags;
	if (nlen == 11 && memcmp(name, "grpc-status", 11) == 0 && f->hd.stream_id == p->id) {
		snprintf(p->grpc_status, sizeof(p->grpc_status), "%.*s", (int)vlen, value);
		p->status_frame = p->headers_frames + 1;
	}
	return 0;
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *f, void *user)
{
	struct peer *p = user;

	(void)ng;
	if (f->hd.type == NGHTTP2_PING && (f->hd.flags & NGHTTP2_FLAG_ACK))
		p->ping_acked = true;
	if (f->hd.stream_id != p->id)
		return 0;
	if (p->closed)
		p->late++;
	if (f->hd.type == NGHTTP2_HEADERS)
		p->headers_frames++;
	if (f->hd.type == NGHTTP2_RST_STREAM) {
		p->rst_code = (int)f->rst_stream.error_code;
		p->rst_first = !p->ended;
	}
	if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) &&
	    (f->hd.flags & NGHTTP2_FLAG_END_STREAM))
		p->ended = true;
	return 0;
}

static int on_data(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data,
		   size_t len, void *user)
{
	struct peer *p = user;

	(void)ng, (void)flags, (void)data;
	if (id == p->id)
		p->data_bytes += len;
	return 0;
}

static int on_close(nghttp2_session *ng, int32_t id, uint32_t code, void *user)
{
	struct peer *p = user;

	(void)ng, (void)code;
	if (id == p->id)
		p->closed = true;
	return 0;
}

static ssize_t read_body(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t length,
			 uint32_t *flags, nghttp2_data_source *src, void *user)
{
	struct peer *p = user;
	size_t n = p->body_len - p->body_off < length ? p->body_len - p->body_off : length;

	(void)ng, (void)id, (void)src;
	memcpy(buf, p->body + p->body_off, n);
	p->body_off += n;
	if (p->body_off == p->body_len)
		*flags |= NGHTTP2_DATA_FLAG_EOF | (p->end ? 0 : NGHTTP2_DATA_FLAG_NO_END_STREAM);
	return (ssize_t)n;
}

/* Send what is queued, then take one read's worth. A guard, not a
 * measure: 30 s of silence is a hang. */
static void step(struct peer *p)
{
	struct pollfd pfd = { p->fd, POLLIN, 0 };
	uint8_t buf[16384];
	ssize_t n;

	ck_assert_int_eq(nghttp2_session_send(p->ng), 0);
	ck_assert_msg(poll(&pfd, 1, 30000) == 1, "the server went silent");
	n = recv(p->fd, buf, sizeof(buf), 0);
	ck_assert_msg(n > 0, "the server closed the connection");
	ck_assert_int_eq(nghttp2_session_mem_recv(p->ng, buf, (size_t)n), n);
}

static void peer_open(struct peer *p, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	nghttp2_session_callbacks *cb;

	memset(p, 0, sizeof(*p));
	p->rst_code = -1;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(p->fd, 0);
	ck_assert_int_eq(connect(p->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(nghttp2_session_callbacks_new(&cb), 0);
	nghttp2_session_callbacks_set_send_callback(cb, send_cb);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
	ck_assert_int_eq(nghttp2_session_client_new(&p->ng, cb, p), 0);
	nghttp2_session_callbacks_del(cb);
	ck_assert_int_eq(nghttp2_submit_settings(p->ng, NGHTTP2_FLAG_NONE, NULL, 0), 0);
}

#define NV(n, v) { (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1, \
		   NGHTTP2_NV_FLAG_NONE }

/* Open \p path with grpc-timeout \p timeout and send \p body (one
 * length-prefixed message), half-closing after it if \p end. */
static void call(struct peer *p, const char *path, const char *timeout,
		 const uint8_t *body, size_t len, bool end)
{
	nghttp2_nv nv[] = {
		NV(":method", "POST"), NV(":scheme", "http"), NV(":path", ""),
		NV(":authority", "127.0.0.1"), NV("te", "trailers"),
		NV("content-type", "application/grpc"), NV("grpc-timeout", ""),
	};
	nghttp2_data_provider prd = { .read_callback = read_body };

	nv[2].value = (uint8_t *)path, nv[2].valuelen = strlen(path);
	nv[6].value = (uint8_t *)timeout, nv[6].valuelen = strlen(timeout);
	p->body = body, p->body_len = len, p->body_off = 0;
	p->end = end;
	p->id = nghttp2_submit_request(p->ng, NULL, nv, 7, &prd, NULL);
	ck_assert_int_gt(p->id, 0);
}

struct server {
	lrpc_server *s;
	uint16_t port;
};

static void server_start(struct server *sv)
{
	static const Grpc__Testing__TestService_Handlers h = { /* the server keeps it */
		.unary_call = unary_call,
		.streaming_output_call = streaming_output_call,
		.full_duplex_call = full_duplex_call,
	};
	char uri[300];
	const char *colon;

	ck_assert_int_eq(lrpc_server_new(NULL, &sv->s), 0);
	ck_assert_int_eq(grpc__testing__test_service__register(sv->s, &h, NULL), 0);
	ck_assert_int_eq(lrpc_server_listen(sv->s, "grpc://127.0.0.1:0"), 0);
	ck_assert_int_eq(lrpc_server_start(sv->s), 0);
	ck_assert_int_eq(lrpc_server_listener_uri(sv->s, 0, uri, sizeof(uri)), 0);
	colon = strrchr(uri, ':');
	ck_assert_ptr_nonnull(colon);
	sv->port = (uint16_t)atoi(colon + 1);
}

/* Run the call to the server's END_STREAM, let its handler see it was
 * cancelled and answer, then one PING round trip: frames its late answer
 * sent before the PING's ack would show (none may).
 * \p reset: the server must follow its trailers with RST_STREAM NO_ERROR. */
static void finish(struct peer *p, struct server *sv, bool reset)
{
	while (!p->ended && !p->rst_first)
		step(p);
	ck_assert_msg(!p->rst_first, "RST_STREAM %d instead of a status", p->rst_code);
	ck_assert_str_eq(p->grpc_status, "4");
	if (reset) {
		while (!p->closed)
			step(p);
		ck_assert_int_eq(p->rst_code, NGHTTP2_NO_ERROR);
	}
	pthread_mutex_lock(&mu);
	client_done = true;
	pthread_cond_broadcast(&cv);
	while (handlers_returned < 1)
		pthread_cond_wait(&cv, &mu);
	ck_assert_int_eq(handlers_told, 1);
	pthread_mutex_unlock(&mu);
	ck_assert_int_eq(nghttp2_submit_ping(p->ng, NGHTTP2_FLAG_NONE, NULL), 0);
	while (!p->ping_acked)
		step(p);
	ck_assert_int_eq(p->late, 0);
	ck_assert_int_le(p->headers_frames, 2);
	nghttp2_session_del(p->ng);
	close(p->fd);
	lrpc_server_free(sv->s);
}

/* A length-prefixed empty message, and one with an empty payload (field
 * 3 of StreamingOutputCallRequest). */
static const uint8_t empty_msg[] = { 0, 0, 0, 0, 0 };
static const uint8_t payload_msg[] = { 0, 0, 0, 0, 2, 0x1a, 0 };

START_TEST(unary_expiry_is_trailers_only_deadline_exceeded)
{
	struct server sv;
	struct peer p;

	server_start(&sv);
	peer_open(&p, sv.port);
	call(&p, "/grpc.testing.TestService/UnaryCall", "100m", empty_msg,
	     sizeof(empty_msg), true);
	finish(&p, &sv, false);
	ck_assert_int_eq(p.status_frame, 1); /* Trailers-Only */
	ck_assert_uint_eq(p.data_bytes, 0);
}
END_TEST

START_TEST(server_streaming_expiry_sends_trailers_after_the_reply)
{
	struct server sv;
	struct peer p;

	server_start(&sv);
	peer_open(&p, sv.port);
	call(&p, "/grpc.testing.TestService/StreamingOutputCall", "300m", empty_msg,
	     sizeof(empty_msg), true);
	finish(&p, &sv, false);
	/* The reply before the deadline (300 ms for a thread to write one
	 * message), else a Trailers-Only DEADLINE_EXCEEDED: both are right. */
	ck_assert(p.status_frame == 1 || (p.status_frame == 2 && p.data_bytes == 5));
}
END_TEST

START_TEST(bidi_expiry_while_the_client_sends_is_trailers_only)
{
	struct server sv;
	struct peer p;

	server_start(&sv);
	peer_open(&p, sv.port);
	call(&p, "/grpc.testing.TestService/FullDuplexCall", "100m", empty_msg,
	     sizeof(empty_msg), false);
	finish(&p, &sv, false);
	ck_assert_int_eq(p.status_frame, 1);
	ck_assert_int_eq(p.rst_code, -1); /* grpcio takes no reset after it */
}
END_TEST

START_TEST(bidi_expiry_after_a_reply_ends_with_rst_stream_no_error)
{
	struct server sv;
	struct peer p;

	server_start(&sv);
	peer_open(&p, sv.port);
	call(&p, "/grpc.testing.TestService/FullDuplexCall", "300m", payload_msg,
	     sizeof(payload_msg), false);
	while (!p.ended && !p.rst_first && p.data_bytes == 0)
		step(&p);
	/* The reply came first (else, as above, Trailers-Only, no reset). */
	finish(&p, &sv, p.data_bytes > 0);
	ck_assert(p.status_frame == 1 || p.status_frame == 2);
}
END_TEST

CHECK_MAIN("server_deadline", 60, unary_expiry_is_trailers_only_deadline_exceeded,
	   server_streaming_expiry_sends_trailers_after_the_reply,
	   bidi_expiry_while_the_client_sends_is_trailers_only,
	   bidi_expiry_after_a_reply_ends_with_rst_stream_no_error)
