// SPDX-License-Identifier: MIT
/*
 * unix:// and tcp:// clients: the libuv loop reads frames, the libuv worker
 * pool runs the handlers (or, with inline_handlers, the loop itself does),
 * the loop writes the replies. A connection that
 * sends a frame we cannot accept gets one error frame saying why and is
 * closed; nobody else notices.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/frame.h"
#include "serve/host.h"

/* Calls one connection may have queued before we stop reading from it. */
#define MAX_INFLIGHT 64

struct lrpc__sconn {
	union lrpc__uv_stream h;
	lrpc_server *srv;
	struct lrpc__sconn *prev, *next;
	unsigned char *rbuf;
	size_t rlen, rcap;
	unsigned int inflight;
	bool closed, reading;
	bool draining; /* server stopping: close once inflight reaches 0 */
};

struct swork {
	uv_work_t work;
	uv_write_t write;
	struct lrpc__sconn *conn;
	struct lrpc__frame f;
	unsigned char *body; /* request payload, then the whole reply frame */
	size_t out_len;
	lrpc_code code;
};

static void sconn_maybe_free(struct lrpc__sconn *c)
{
	if (!c->closed || c->inflight)
		return;
	free(c->rbuf);
	free(c);
}

static void on_closed(uv_handle_t *h)
{
	struct lrpc__sconn *c = h->data;
	lrpc_server *srv = c->srv;

	atomic_fetch_sub(&srv->stats.clients_active, 1);
	c->closed = true;
	sconn_maybe_free(c);
	lrpc__server_reap(srv);
}

static void sconn_close(struct lrpc__sconn *c)
{
	lrpc_server *srv = c->srv;

	if (uv_is_closing(&c->h.handle))
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->sconns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	uv_close(&c->h.handle, on_closed);
}

/* A call just finished on @c: if the server is stopping and it was the
 * last, the connection can go. */
static void call_done(struct lrpc__sconn *c)
{
	c->inflight--;
	if (c->draining && !c->inflight)
		sconn_close(c);
	sconn_maybe_free(c);
}

void lrpc__sock_drain_all(lrpc_server *srv)
{
	struct lrpc__sconn *c = srv->sconns, *next;

	for (; c; c = next) {
		next = c->next;
		uv_read_stop(&c->h.stream);
		c->reading = false;
		c->draining = true;
		if (!c->inflight)
			sconn_close(c);
	}
}

/* A reply frame: header, status message, payload; malloc'd. */
static unsigned char *frame_build(uint64_t call_id, lrpc_code code,
				  const char *message, ProtobufCMessage *rep,
				  size_t *len)
{
	size_t msg_len = code == LRPC_OK ? 0 : strnlen(message, LRPC_STATUS_MSG_MAX - 1);
	size_t payload = rep ? protobuf_c_message_get_packed_size(rep) : 0;
	struct lrpc__frame f = {
		.body_len = (uint32_t)(msg_len + payload),
		.call_id = call_id,
		.method_or_code = (uint32_t)code,
		.msg_len = (uint32_t)msg_len,
	};
	unsigned char *out = malloc(LRPC__FRAME_HDR + msg_len + payload);

	if (!out)
		return NULL;
	lrpc__frame_put(out, &f);
	memcpy(out + LRPC__FRAME_HDR, message, msg_len);
	if (rep)
		protobuf_c_message_pack(rep, out + LRPC__FRAME_HDR + msg_len);
	*len = LRPC__FRAME_HDR + msg_len + payload;
	return out;
}

/* On a worker thread: the handler runs here, never on the loop. */
static void work_cb(uv_work_t *req)
{
	struct swork *w = req->data;
	lrpc_server *srv = w->conn->srv;
	char message[LRPC_STATUS_MSG_MAX] = "";
	ProtobufCMessage *rep = NULL;
	struct lrpc__arena arena;
	lrpc_deadline now = lrpc_now(), deadline;
	unsigned char *out;

	/* The peer sends time left, not a clock reading: its clock is not
	 * ours when it is on another host. */
	deadline = w->f.timeout_ns <= 0 ? now :
		   w->f.timeout_ns > INT64_MAX - now ? INT64_MAX :
		   now + w->f.timeout_ns;
	lrpc__arena_init(&arena);
	w->code = lrpc__dispatch(srv, &arena, w->f.method_or_code, w->body,
				 w->f.body_len, deadline, &rep, message);
	if (w->code == LRPC_OK &&
	    protobuf_c_message_get_packed_size(rep) > srv->opts.max_msg_size) {
		snprintf(message, sizeof(message),
			 "reply of %zu bytes exceeds the %zu-byte limit",
			 protobuf_c_message_get_packed_size(rep),
			 srv->opts.max_msg_size);
		w->code = LRPC_RESOURCE_EXHAUSTED;
		rep = NULL;
	}
	out = frame_build(w->f.call_id, w->code, message,
			  w->code == LRPC_OK ? rep : NULL, &w->out_len);
	if (!out && w->code == LRPC_OK) {
		w->code = LRPC_RESOURCE_EXHAUSTED;
		out = frame_build(w->f.call_id, w->code, "out of memory", NULL,
				  &w->out_len);
	}
	lrpc__arena_destroy(&arena);
	free(w->body);
	w->body = out;
	lrpc__count_call(srv, w->code);
}

static void write_done(uv_write_t *req, int status)
{
	struct swork *w = req->data;
	struct lrpc__sconn *c = w->conn;

	if (status < 0)
		sconn_close(c);
	free(w->body);
	free(w);
	call_done(c);
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);
static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf);

static void after_work(uv_work_t *req, int status)
{
	struct swork *w = req->data;
	struct lrpc__sconn *c = w->conn;
	uv_buf_t b = uv_buf_init((char *)w->body, (unsigned int)w->out_len);

	if (status < 0 || !w->body || uv_is_closing(&c->h.handle) ||
	    uv_write(&w->write, &c->h.stream, &b, 1, write_done) < 0) {
		free(w->body);
		free(w);
		call_done(c);
		return;
	}
	if (!c->reading && !c->draining && c->inflight <= MAX_INFLIGHT / 2 &&
	    uv_read_start(&c->h.stream, alloc_cb, read_cb) == 0)
		c->reading = true;
}

static void write_then_close(uv_write_t *req, int status)
{
	struct swork *w = req->data;
	struct lrpc__sconn *c = w->conn;

	(void)status;
	free(w->body);
	free(w);
	c->inflight--;
	sconn_close(c);
	sconn_maybe_free(c);
}

/* Tell the peer why, then hang up on it. */
static void reject(struct lrpc__sconn *c, uint64_t call_id, lrpc_code code,
		   const char *message)
{
	struct swork *w = calloc(1, sizeof(*w));
	uv_buf_t b;

	atomic_fetch_add(&c->srv->stats.protocol_errors, 1);
	uv_read_stop(&c->h.stream);
	c->reading = false;
	if (w)
		w->body = frame_build(call_id, code, message, NULL, &w->out_len);
	if (!w || !w->body) {
		free(w);
		sconn_close(c);
		return;
	}
	w->conn = c;
	w->write.data = w;
	c->inflight++;
	b = uv_buf_init((char *)w->body, (unsigned int)w->out_len);
	if (uv_write(&w->write, &c->h.stream, &b, 1, write_then_close) < 0) {
		c->inflight--;
		free(w->body);
		free(w);
		sconn_close(c);
	}
}

/* \return false when the connection was rejected. */
static bool take_frames(struct lrpc__sconn *c)
{
	lrpc_server *srv = c->srv;
	size_t off = 0;

	while (c->rlen - off >= LRPC__FRAME_HDR) {
		struct lrpc__frame f;
		struct swork *w;
		char why[LRPC_STATUS_MSG_MAX];
		int ret = lrpc__frame_get(c->rbuf + off, srv->opts.max_msg_size, &f);

		if (ret == -EMSGSIZE) {
			snprintf(why, sizeof(why),
				 "frame of %u bytes exceeds the %zu-byte limit",
				 f.body_len, srv->opts.max_msg_size);
			reject(c, f.call_id, LRPC_RESOURCE_EXHAUSTED, why);
			return false;
		}
		if (ret < 0 || f.msg_len) {
			reject(c, 0, LRPC_INVALID_ARGUMENT, "malformed frame");
			return false;
		}
		if (c->rlen - off - LRPC__FRAME_HDR < f.body_len)
			break;
		w = calloc(1, sizeof(*w));
		if (w)
			w->body = malloc(f.body_len ? f.body_len : 1);
		if (!w || !w->body) {
			if (w)
				free(w);
			reject(c, f.call_id, LRPC_RESOURCE_EXHAUSTED, "out of memory");
			return false;
		}
		memcpy(w->body, c->rbuf + off + LRPC__FRAME_HDR, f.body_len);
		w->f = f;
		w->conn = c;
		w->work.data = w;
		w->write.data = w;
		off += LRPC__FRAME_HDR + f.body_len;
		c->inflight++;
		if (srv->opts.inline_handlers) {
			work_cb(&w->work);
			after_work(&w->work, 0);
			/* A failed write closes the connection: stop here. */
			if (uv_is_closing(&c->h.handle))
				return false;
			continue;
		}
		if (uv_queue_work(&srv->loop, &w->work, work_cb, after_work) < 0) {
			c->inflight--;
			free(w->body);
			free(w);
			reject(c, f.call_id, LRPC_UNAVAILABLE, "server is stopping");
			return false;
		}
	}
	memmove(c->rbuf, c->rbuf + off, c->rlen - off);
	c->rlen -= off;
	return true;
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct lrpc__sconn *c = h->data;
	size_t want = c->rlen + (hint > 65536 ? hint : 65536);

	if (want > c->rcap) {
		unsigned char *p = realloc(c->rbuf, want);

		if (!p) {
			*buf = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS */
			return;
		}
		c->rbuf = p;
		c->rcap = want;
	}
	*buf = uv_buf_init((char *)c->rbuf + c->rlen,
			   (unsigned int)(c->rcap - c->rlen));
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct lrpc__sconn *c = s->data;

	(void)buf;
	if (n < 0) {
		/* EOF, possibly mid-frame: the peer is gone; so are we. */
		sconn_close(c);
		return;
	}
	c->rlen += (size_t)n;
	if (!take_frames(c))
		return;
	if (c->inflight >= MAX_INFLIGHT) {
		uv_read_stop(s);
		c->reading = false;
	}
	/* Do not keep a buffer sized for one huge frame forever. */
	if (c->rlen == 0 && c->rcap > (1u << 20)) {
		free(c->rbuf);
		c->rbuf = NULL;
		c->rcap = 0;
	}
}

void lrpc__sock_on_connection(uv_stream_t *listener, int status)
{
	lrpc_server *srv = listener->data;
	struct lrpc__sconn *c;
	int ret;

	if (status < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c)
		return; /* the listener reports the connection again */
	c->srv = srv;
	if (listener->type == UV_TCP)
		ret = uv_tcp_init(&srv->loop, &c->h.tcp);
	else
		ret = uv_pipe_init(&srv->loop, &c->h.pipe, 0);
	if (ret < 0) {
		free(c);
		return;
	}
	c->h.handle.data = c;
	c->next = srv->sconns;
	if (srv->sconns)
		srv->sconns->prev = c;
	srv->sconns = c;
	atomic_fetch_add(&srv->stats.clients_active, 1);
	if (uv_accept(listener, &c->h.stream) < 0 ||
	    (listener->type != UV_TCP &&
	     !lrpc__peer_allowed(srv, &c->h.handle))) {
		atomic_fetch_add(&srv->stats.clients_rejected, 1);
		sconn_close(c);
		return;
	}
	if (listener->type == UV_TCP)
		uv_tcp_nodelay(&c->h.tcp, 1);
	atomic_fetch_add(&srv->stats.clients_accepted, 1);
	if (uv_read_start(&c->h.stream, alloc_cb, read_cb) < 0)
		sconn_close(c);
	else
		c->reading = true;
}
