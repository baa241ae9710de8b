// SPDX-License-Identifier: MIT
/*
 * The server side of grpc://HOST:PORT: gRPC over HTTP/2 with prior
 * knowledge (h2c), grpc/grpc doc/PROTOCOL-HTTP2.md; grpcs:// puts TLS
 * between the socket and the session (grpc_tls.c). nghttp2 does HTTP/2
 * (framing, HPACK, flow control, stream states) on the host's libuv loop
 * (its settings and callbacks: grpc_session.c); grpc_call.c does gRPC on
 * each stream. This file owns the connection:
 * reading into the session, writing what it has to send, its timer, its
 * limits and its end.
 *
 * Threads: the loop thread does everything here and is the only one that
 * touches the nghttp2 session. Unary handlers run on libuv's worker pool,
 * streaming handlers on a thread each (grpc_call.c); both come back to
 * the loop (uv_queue_work's after_work, conn->wake) to answer.
 *
 * Limits (lrpc_server_opts): max_conns connections; max_pipelined
 * streams at once per connection (SETTINGS_MAX_CONCURRENT_STREAMS: nghttp2
 * refuses more with RST_STREAM REFUSED_STREAM); request headers up to 16 KiB
 * (SETTINGS_MAX_HEADER_LIST_SIZE), 8 KiB of them metadata (a larger list
 * fails its stream with RESOURCE_EXHAUSTED); messages up to max_msg_size each way (a longer
 * prefix fails the stream with RESOURCE_EXHAUSTED before its body is
 * buffered); a unary request is buffered whole (at most max_msg_size), a
 * stream holds one unread message plus the HTTP/2 window (1 MiB,
 * LRPC__GRPC_WINDOW), so a connection holds at most max_pipelined x
 * (max_msg_size + 1 MiB) of
 * requests, plus one reply per stream and the last request's and reply's
 * buffers kept for the next (at most 1 MiB each); output is pulled from nghttp2 only
 * while less than 256 KiB is waiting to be written. A connection with no
 * stream for idle_timeout_ms gets GOAWAY and is closed. Bad HTTP/2 (a
 * connection error) costs that connection, after nghttp2's GOAWAY; a bad
 * gRPC request costs its stream.
 *
 * Stop (lrpc_server_stop): GOAWAY with the last stream taken; those
 * streams finish and are answered, then the connection closes, lingering.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/grpc_server.h"
#include "transport/grpc_stream.h"
#include "transport/linger.h"

/* What one uv_write carries at most: a 64 KiB reply with its frames and
 * trailers in one write, not the rest a loop turn later. */
#define WRITE_BATCH 262144u

void lrpc__gconn_unref(struct gconn *c)
{
	if (atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	pthread_mutex_destroy(&c->lock);
	lrpc__grpc_msgq_free(&c->spare);
	free(c->spare_out);
	lrpc__tls_free(c->tls);
	free(c->wbuf);
	free(c);
}

static void on_closed(uv_handle_t *handle)
{
	struct gconn *c = handle->data;
	struct lrpc__host *h = c->host;

	if (handle != &c->h.handle) {
		lrpc__gconn_unref(c);
		return;
	}
	/* The socket counts the connection; the others only its memory. */
	atomic_fetch_sub(&h->stats.clients_active, 1);
	atomic_fetch_sub(&h->active[c->scheme], 1);
	lrpc__gconn_unref(c);
	lrpc__host_reap(h);
}

/* Forget the session; every stream is cancelled and its handler's answer
 * will go nowhere. @lingers: we hang up, so what we sent last (a GOAWAY,
 * trailers) must not be lost to a reset (linger.h); else the peer is gone. */
static void gconn_close(struct gconn *c, bool lingers)
{
	if (c->closing)
		return;
	c->closing = true;
	lrpc__peer_remove(&c->peer);
	lrpc__gsync_conn_closing(c); /* no more wakes from handlers */
	while (c->streams)
		lrpc__gstream_closed(c->streams); /* unlinks it */
	nghttp2_session_del(c->ng);
	c->ng = NULL;
	uv_close((uv_handle_t *)&c->timer, on_closed);
	uv_close((uv_handle_t *)&c->wake, on_closed);
	if (lingers)
		lrpc__linger_close(&c->h.stream, on_closed);
	else
		uv_close(&c->h.handle, on_closed);
}

static void write_done(uv_write_t *req, int status)
{
	struct gconn *c = req->data;

	c->writing = false;
	c->wlen = 0;
	if (status < 0) {
		gconn_close(c, false);
		return;
	}
	lrpc__gconn_flush(c);
}

int lrpc__gconn_pull(struct gconn *c, size_t batch,
		     int (*put)(struct gconn *c, const uint8_t *p, size_t n))
{
	int ret = 0;

	/* A reply's DATA frames reach put from lrpc__gstream_send_out, inside
	 * mem_send and in order, counted in c->pulled like the rest; past
	 * the batch it makes mem_send return (0) and is asked again. */
	c->put = put;
	c->pulled = 0;
	c->batch = batch;
	while (c->pulled < batch) {
		const uint8_t *p;
		ssize_t n = nghttp2_session_mem_send(c->ng, &p);

		if (n < 0) {
			ret = -EPROTO;
			break;
		}
		if (n == 0)
			break;
		if (put(c, p, (size_t)n) < 0) {
			ret = -ENOMEM;
			break;
		}
		c->pulled += (size_t)n;
	}
	c->put = NULL;
	return ret;
}

/* Plaintext: the session's bytes go out as they are. */
static int wbuf_put(struct gconn *c, const uint8_t *p, size_t n)
{
	if (lrpc__buf_reserve(&c->wbuf, &c->wcap, c->wlen + n) < 0)
		return -ENOMEM;
	memcpy(c->wbuf + c->wlen, p, n);
	c->wlen += n;
	return 0;
}

void lrpc__gconn_flush(struct gconn *c)
{
	uv_buf_t b;
	int ret;

	if (c->closing || c->writing)
		return;
	ret = c->tls ? lrpc__gconn_tls_fill(c, WRITE_BATCH) :
		       lrpc__gconn_pull(c, WRITE_BATCH, wbuf_put);
	if (ret < 0) {
		gconn_close(c, true);
		return;
	}
	if (c->wlen) {
		b = uv_buf_init((char *)c->wbuf, (unsigned int)c->wlen);
		c->wreq.data = c;
		if (uv_write(&c->wreq, &c->h.stream, &b, 1, write_done) < 0) {
			gconn_close(c, false);
			return;
		}
		c->writing = true;
		return;
	}
	/* Nothing left to say and nothing more to hear (GOAWAY either way,
	 * every stream done): the connection is over. */
	if (!nghttp2_session_want_read(c->ng) && !nghttp2_session_want_write(c->ng))
		gconn_close(c, true);
}

static void on_timer(uv_timer_t *t);

/* When keepalive next has something to do (uv_now ms), or UINT64_MAX. */
static uint64_t keepalive_due(const struct gconn *c)
{
	const struct lrpc__host *h = c->host;

	if (!h->keepalive_ms)
		return UINT64_MAX;
	return c->pinging ? c->ping_at + h->keepalive_timeout_ms : c->heard_at + h->keepalive_ms;
}

/* Run the timer for the earliest stream deadline, or the idle timeout,
 * or keepalive's next step, whichever comes first. */
void lrpc__gconn_arm(struct gconn *c)
{
	lrpc_deadline now = lrpc_now(), first = INT64_MAX;
	uint64_t ms = UINT64_MAX, at = uv_now(&c->host->loop), due;

	if (c->closing)
		return;
	for (struct gstream *s = c->streams; s; s = s->next)
		if (!s->answered && !s->expired && s->deadline < first)
			first = s->deadline;
	if (c->streams) {
		if (first != INT64_MAX)
			ms = first <= now ? 0 : (uint64_t)(first - now) / 1000000 + 1;
	} else {
		due = c->idle_since + c->host->opts.idle_timeout_ms;
		ms = due > at ? due - at : 0;
	}
	due = keepalive_due(c);
	if (due != UINT64_MAX && (due > at ? due - at : 0) < ms)
		ms = due > at ? due - at : 0;
	if (ms == UINT64_MAX) {
		uv_timer_stop(&c->timer);
		return;
	}
	uv_timer_start(&c->timer, on_timer, ms, 0);
}

/* \return false once the connection is closed: its client stayed silent
 * past a PING and keepalive_timeout_ms. */
static bool keepalive(struct gconn *c)
{
	uint64_t at = uv_now(&c->host->loop);

	if (keepalive_due(c) > at)
		return true;
	if (c->pinging) {
		gconn_close(c, true);
		return false;
	}
	nghttp2_submit_ping(c->ng, NGHTTP2_FLAG_NONE, NULL);
	c->pinging = true;
	c->ping_at = at;
	return true;
}

static void on_timer(uv_timer_t *t)
{
	struct gconn *c = t->data;
	lrpc_deadline now = lrpc_now();
	struct gstream *s, *next;

	if (c->closing || !keepalive(c))
		return;
	if (!c->streams &&
	    uv_now(&c->host->loop) >= c->idle_since + c->host->opts.idle_timeout_ms) {
		nghttp2_submit_goaway(c->ng, NGHTTP2_FLAG_NONE,
				      nghttp2_session_get_last_proc_stream_id(c->ng),
				      NGHTTP2_NO_ERROR, NULL, 0);
		c->goaway = true;
		lrpc__gconn_flush(c);
		return;
	}
	for (s = c->streams; s; s = next) {
		next = s->next;
		if (!s->answered && !s->expired && s->deadline <= now)
			lrpc__gstream_expire(s);
	}
	lrpc__gconn_flush(c);
	lrpc__gconn_arm(c);
}

static void on_wake(uv_async_t *a)
{
	struct gconn *c = a->data;

	if (c->closing)
		return;
	lrpc__gstream_serve_asks(c);
	lrpc__gconn_flush(c);
}

/* What one read takes at most: a 64 KiB request with its frames in one
 * read, not two. One buffer per loop thread, consumed at once by
 * read_cb; on the heap (freed when the thread ends), as every thread of
 * the process would have one in static TLS. */
#define READ_BUF 262144u

static pthread_key_t rbuf_key;
static pthread_once_t rbuf_once = PTHREAD_ONCE_INIT;
static bool rbuf_key_ok; /* set once, under rbuf_once */

static void rbuf_key_make(void)
{
	rbuf_key_ok = pthread_key_create(&rbuf_key, free) == 0;
}

static void alloc_cb(uv_handle_t *handle, size_t hint, uv_buf_t *buf)
{
	char *rbuf;

	(void)handle, (void)hint;
	pthread_once(&rbuf_once, rbuf_key_make);
	rbuf = rbuf_key_ok ? pthread_getspecific(rbuf_key) : NULL;
	if (!rbuf && rbuf_key_ok && (rbuf = malloc(READ_BUF)) &&
	    pthread_setspecific(rbuf_key, rbuf) != 0) {
		free(rbuf);
		rbuf = NULL;
	}
	/* No buffer: libuv reports UV_ENOBUFS and read_cb closes. */
	*buf = rbuf ? uv_buf_init(rbuf, READ_BUF) : uv_buf_init(NULL, 0);
}

int lrpc__gconn_recv(struct gconn *c, const uint8_t *p, size_t n)
{
	ssize_t used = nghttp2_session_mem_recv(c->ng, p, n);

	if (used < 0) {
		/* A connection error: nghttp2 has queued its GOAWAY (unless
		 * this is no HTTP/2 client at all); it is sent below, and then
		 * the connection goes, want_read being 0 from now on. */
		atomic_fetch_add(&c->host->stats.protocol_errors, 1);
		uv_read_stop(&c->h.stream);
		if (used == NGHTTP2_ERR_BAD_CLIENT_MAGIC)
			return -EPROTO;
	}
	return 0;
}

static void read_cb(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
	struct gconn *c = st->data;
	int ret;

	if (n < 0) {
		gconn_close(c, false);
		return;
	}
	if (c->closing || n == 0)
		return;
	/* Anything from the client shows it is there (gRPC keepalive's rule). */
	c->heard_at = uv_now(&c->host->loop);
	c->pinging = false;
	ret = c->tls ? lrpc__gconn_tls_recv(c, (const uint8_t *)buf->base, (size_t)n) :
		       lrpc__gconn_recv(c, (const uint8_t *)buf->base, (size_t)n);
	if (ret < 0) {
		gconn_close(c, true);
		return;
	}
	if (!c->streams)
		c->idle_since = uv_now(&c->host->loop);
	lrpc__gconn_flush(c);
	if (!c->closing)
		lrpc__gconn_arm(c);
}

/* Stop: GOAWAY naming the last stream taken; unary calls finish, streams
 * end with UNAVAILABLE (one may never end by itself), after what their
 * handlers queued before the stop (a health Watch's NOT_SERVING, sent by
 * an on_stop hook) has gone out as far as the client's window lets it. */
static void peer_drain(struct lrpc__peer *p)
{
	struct gconn *c = (struct gconn *)p;

	if (c->closing)
		return;
	lrpc__gstream_serve_asks(c);
	lrpc__gconn_flush(c);
	if (c->closing)
		return;
	if (!c->goaway)
		nghttp2_submit_goaway(c->ng, NGHTTP2_FLAG_NONE,
				      nghttp2_session_get_last_proc_stream_id(c->ng),
				      NGHTTP2_NO_ERROR, NULL, 0);
	c->goaway = true;
	for (struct gstream *s = c->streams, *next; s; s = next) {
		next = s->next;
		lrpc__gsync_stop(s);
	}
	lrpc__gconn_flush(c);
}

static void peer_close(struct lrpc__peer *p)
{
	struct gconn *c = (struct gconn *)p;

	if (!c->closing && !c->streams && !c->writing)
		gconn_close(c, true);
}

static const struct lrpc__peer_ops peer_ops = {
	.drain = peer_drain,
	.close = peer_close,
};

/* Refused the HTTP/2 way: GOAWAY before any stream, with the reason as
 * its debug data. */
static void refuse(struct gconn *c, const char *why)
{
	atomic_fetch_add(&c->host->stats.clients_rejected, 1);
	nghttp2_submit_goaway(c->ng, NGHTTP2_FLAG_NONE, 0, NGHTTP2_REFUSED_STREAM,
			      (const uint8_t *)why, strlen(why));
	c->goaway = true;
	lrpc__gconn_flush(c);
}

static void accept_conn(uv_stream_t *listener, int status, bool tls)
{
	struct lrpc__host *h = listener->data;
	bool pipe = listener->type == UV_NAMED_PIPE;
	char why[160];
	struct gconn *c;
	unsigned int n;

	if (status < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->host = h;
	if ((pipe ? uv_pipe_init(&h->loop, &c->h.pipe, 0) :
		    uv_tcp_init(&h->loop, &c->h.tcp)) < 0) {
		free(c);
		return;
	}
	pthread_mutex_init(&c->lock, NULL);
	c->h.handle.data = c;
	c->scheme = pipe ? LRPC__SCHEME_GRPC_UNIX : LRPC__SCHEME_GRPC;
	uv_timer_init(&h->loop, &c->timer);
	c->timer.data = c;
	uv_async_init(&h->loop, &c->wake, on_wake);
	c->wake.data = c;
	atomic_init(&c->refs, 3);
	c->idle_since = c->heard_at = uv_now(&h->loop);
	lrpc__peer_add(h, &c->peer, &peer_ops);
	atomic_fetch_add(&h->stats.clients_active, 1);
	n = atomic_fetch_add(&h->active[c->scheme], 1) + 1;
	if (uv_accept(listener, &c->h.stream) < 0 || lrpc__gconn_session_new(c) < 0 ||
	    (tls && !(c->tls = lrpc__tls_new(h->tls, true, NULL)))) {
		atomic_fetch_add(&h->stats.clients_rejected, 1);
		gconn_close(c, false);
		return;
	}
	if (pipe) {
		c->who.transport = "grpc+unix";
		lrpc__peer_creds(&c->h.handle, &c->who);
		/* The same rule as unix:// (SO_PEERCRED against our euid). */
		if (!lrpc__peer_allowed(h, &c->h.handle, why, sizeof(why)))
			return refuse(c, why);
	} else {
		c->who.transport = tls ? "grpcs" : "grpc";
		lrpc__peer_address(&c->h.tcp, &c->who);
		uv_tcp_nodelay(&c->h.tcp, 1);
	}
	if (n > h->opts.max_conns) {
		snprintf(why, sizeof(why), "server full: max_conns %s connections",
			 pipe ? "grpc+unix://" : "grpc://");
		return refuse(c, why);
	}
	atomic_fetch_add(&h->stats.clients_accepted, 1);
	if (uv_read_start(&c->h.stream, alloc_cb, read_cb) < 0) {
		gconn_close(c, false);
		return;
	}
	lrpc__gconn_flush(c); /* our SETTINGS */
	lrpc__gconn_arm(c);
	if (atomic_load(&h->stop_requested))
		peer_drain(&c->peer);
}

static void on_connection(uv_stream_t *listener, int status)
{
	accept_conn(listener, status, false);
}

static void on_tls_connection(uv_stream_t *listener, int status)
{
	accept_conn(listener, status, true);
}

static int listen_as(struct lrpc__host *h, struct lrpc__listener *l,
		     const struct lrpc__addr *addr, const char *scheme, uv_connection_cb cb)
{
	int ret = lrpc__listen_tcp(h, l, addr, cb);

	/* listen.c names what it bound tcp://; this listener is ours. */
	if (ret == 0 && strncmp(l->uri, "tcp://", 6) == 0) {
		char uri[sizeof(l->uri)];

		snprintf(uri, sizeof(uri), "%s%s", scheme, l->uri + 6);
		memcpy(l->uri, uri, sizeof(uri));
	}
	return ret;
}

int lrpc__grpc_listen(struct lrpc__host *h, struct lrpc__listener *l,
		      const struct lrpc__addr *addr)
{
	return listen_as(h, l, addr, "grpc://", on_connection);
}

int lrpc__grpc_unix_listen(struct lrpc__host *h, struct lrpc__listener *l,
			   const struct lrpc__addr *addr)
{
	return lrpc__listen_pipe(h, l, addr->path, false, on_connection);
}

int lrpc__grpcs_listen(struct lrpc__host *h, struct lrpc__listener *l,
		       const struct lrpc__addr *addr)
{
	if (!h->tls) {
		snprintf(h->error, sizeof(h->error),
			 "grpcs:// needs the server's certificate: lrpc_server_set_tls()");
		return -ENOKEY;
	}
	return listen_as(h, l, addr, "grpcs://", on_tls_connection);
}
