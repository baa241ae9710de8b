// SPDX-License-Identifier: MIT
/*
 * The server side of unix:// and tcp://, a connection: the libuv loop
 * reads frames; a call's goes to sock_call.c (the libuv worker pool runs
 * the handler, or with inline_handlers the loop itself does; the loop
 * writes the reply), a stream's to sock_stream_server.c. A connection
 * that sends a frame we cannot accept gets one error frame saying why and
 * is closed (every close we make lingers, transport/linger.h, so it
 * arrives); nobody else notices.
 *
 * What one connection costs is bounded (lrpc_server_opts): at most
 * max_pipelined calls, max_conn_buffer bytes of requests and unsent
 * replies (each call taken reserves room for the largest reply until its
 * own is known), and a read buffer of one frame, CANCEL_SLACK (for the
 * CANCELs behind a call that waits for room) and one read; a
 * connection with nothing to do is closed after idle_timeout_ms, one that
 * starts a frame header and does not finish it after header_timeout_ms.
 * Stream frames never wait for room here: the stream's windows bound
 * what it holds (counted in held too).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/linger.h"
#include "transport/sock_server.h"

static void sconn_maybe_free(struct sconn *c)
{
	if (!c->closed || c->inflight)
		return;
	free(c->rbuf);
	free(c);
}

static void on_closed(uv_handle_t *handle)
{
	struct sconn *c = handle->data;
	struct lrpc__host *h = c->host;

	if (--c->handles)
		return;
	atomic_fetch_sub(&h->stats.clients_active, 1);
	atomic_fetch_sub(&h->active[c->scheme], 1);
	c->closed = true;
	sconn_maybe_free(c);
	lrpc__host_reap(h);
}

void lrpc__sconn_close(struct sconn *c, bool lingers)
{
	if (c->closing)
		return;
	c->closing = true;
	lrpc__peer_remove(&c->peer);
	/* Its calls and streams in flight are cancelled. */
	lrpc__scalls_cancel(c);
	lrpc__sstreams_cancel(c, true);
	uv_close((uv_handle_t *)&c->timer, on_closed);
	if (lingers)
		lrpc__linger_close(&c->h.stream, on_closed);
	else
		uv_close(&c->h.handle, on_closed);
}

/* @w now counts @bytes (instead of what it counted) against its
 * connection's max_conn_buffer; the peak is for lrpc_server_stats. */
void lrpc__sconn_hold(struct sconn *c, ptrdiff_t delta)
{
	uint64_t peak;

	c->held += (size_t)delta;
	peak = atomic_load_explicit(&c->host->stats.conn_held_peak,
				    memory_order_relaxed);
	if (c->held > peak) /* loop thread only writes it */
		atomic_store(&c->host->stats.conn_held_peak, c->held);
}

static void sconn_arm(struct sconn *c);
static void on_timer(uv_timer_t *t);

static void sconn_pump(struct sconn *c);

/* A call just finished on @c: if the server is stopping and it was the
 * last, the connection can go; otherwise there is room for another. */
void lrpc__sconn_done(struct sconn *c)
{
	c->inflight--;
	if (!c->inflight)
		c->idle_since = uv_now(&c->host->loop);
	sconn_pump(c);
	sconn_maybe_free(c);
}

/* Stop reading; the connection closes once its calls are answered. */
static void peer_drain(struct lrpc__peer *p)
{
	struct sconn *c = (struct sconn *)p;

	uv_read_stop(&c->h.stream);
	c->reading = false;
	lrpc__sstreams_cancel(c, false);
	if (!c->inflight)
		lrpc__sconn_close(c, true);
}

static void peer_close(struct lrpc__peer *p)
{
	struct sconn *c = (struct sconn *)p;

	if (!c->inflight)
		lrpc__sconn_close(c, true);
}

static const struct lrpc__peer_ops peer_ops = {
	.drain = peer_drain,
	.close = peer_close,
};

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);
static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf);

/* An error frame on its way, the connection's last. */
struct srefusal {
	uv_write_t write;
	struct sconn *conn;
	unsigned char *frame;
	size_t len;
};

static void write_then_close(uv_write_t *req, int status)
{
	struct srefusal *r = req->data;
	struct sconn *c = r->conn;

	free(r->frame);
	free(r);
	c->inflight--;
	lrpc__sconn_close(c, status == 0);
	sconn_maybe_free(c);
}

/* Tell the peer why, then hang up on it. */
static void reject(struct sconn *c, uint64_t call_id, lrpc_code code,
		   const char *message)
{
	struct srefusal *r;
	uv_buf_t b;

	if (c->closing) /* its reads are the linger's now: leave them be */
		return;
	r = calloc(1, sizeof(*r));
	uv_read_stop(&c->h.stream);
	c->reading = false;
	c->rejected = true;
	if (r)
		r->frame = lrpc__sock_error_frame(call_id, code, message, &r->len);
	if (!r || !r->frame) {
		free(r);
		lrpc__sconn_close(c, true);
		return;
	}
	r->conn = c;
	r->write.data = r;
	c->inflight++;
	b = uv_buf_init((char *)r->frame, (unsigned int)r->len);
	if (uv_write(&r->write, &c->h.stream, &b, 1, write_then_close) < 0) {
		c->inflight--;
		free(r->frame);
		free(r);
		lrpc__sconn_close(c, false);
	}
}

void lrpc__sconn_reject(struct sconn *c, uint64_t call_id, lrpc_code code,
			const char *message)
{
	atomic_fetch_add(&c->host->stats.protocol_errors, 1);
	reject(c, call_id, code, message);
}

/* Bytes a connection reads on past a call that waits for room, for the
 * CANCELs that may free it (beside one read's worth). */
#define CANCEL_SLACK 4096u

/*
 * The call at the buffer's start waits for room, and the CANCELs right
 * behind it may be what frees some (calls given up on whose handlers do
 * not look would otherwise hold it forever): take them now, out of their
 * place, and drop them from the buffer. Stops at any other frame, and at
 * a CANCEL of the waiting call @waiting itself, which must come after it.
 * \return false when the connection was rejected.
 */
static bool take_cancels_ahead(struct sconn *c, size_t at, uint64_t waiting)
{
	while (c->rlen - at >= LRPC__FRAME_HDR) {
		struct lrpc__frame f;

		if (lrpc__frame_get_request(c->rbuf + at, c->host->opts.max_msg_size,
					    &f) < 0 ||
		    f.kind != LRPC__FRAME_CANCEL || f.call_id == waiting)
			break;
		if (!lrpc__sstream_frame(c, &f, NULL))
			return false;
		memmove(c->rbuf + at, c->rbuf + at + LRPC__FRAME_HDR,
			c->rlen - at - LRPC__FRAME_HDR);
		c->rlen -= LRPC__FRAME_HDR;
	}
	return true;
}

/* Take the complete frames in the read buffer while there is room for
 * another call. \return false when the connection was rejected. */
static bool take_frames(struct sconn *c)
{
	struct lrpc__host *h = c->host;
	size_t off = 0;

	while (c->rlen - off >= LRPC__FRAME_HDR) {
		struct lrpc__frame f;
		char why[LRPC_STATUS_MSG_MAX];
		int ret = lrpc__frame_get_request(c->rbuf + off, h->opts.max_msg_size,
						  &f);

		if (ret == -EMSGSIZE) {
			snprintf(why, sizeof(why),
				 "frame of %u bytes exceeds the %zu-byte limit",
				 f.body_len, h->opts.max_msg_size);
			lrpc__sconn_reject(c, f.call_id, LRPC_RESOURCE_EXHAUSTED, why);
			return false;
		}
		if (ret < 0 || (f.kind == LRPC__FRAME_CALL && f.msg_len)) {
			lrpc__sconn_reject(c, 0, LRPC_INVALID_ARGUMENT, "malformed frame");
			return false;
		}
		/* Stream frames are bounded by their windows, not by room. */
		if (f.kind != LRPC__FRAME_CALL) {
			if (c->rlen - off - LRPC__FRAME_HDR < f.body_len)
				break;
			if (!lrpc__sstream_frame(c, &f, c->rbuf + off +
						 LRPC__FRAME_HDR))
				return false;
			off += LRPC__FRAME_HDR + f.body_len;
			continue;
		}
		if (c->rlen - off - LRPC__FRAME_HDR < f.body_len)
			break;
		if (!lrpc__scall_room(c, &f) &&
		    (!take_cancels_ahead(c, off + LRPC__FRAME_HDR + f.body_len, f.call_id) ||
		     c->rejected || c->closing))
			return false;
		if (!lrpc__scall_room(c, &f))
			break;
		if (!lrpc__scall_take(c, &f, c->rbuf + off + LRPC__FRAME_HDR))
			return false;
		off += LRPC__FRAME_HDR + f.body_len;
	}
	if (off) { /* (no buffer yet on a fresh connection) */
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
		c->rlen -= off;
	}
	return true;
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct sconn *c = h->data;
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

/*
 * Take what frames there is room for, then read on if there is room for
 * more and pause if not. Runs after every read and every finished call,
 * whichever way it finished, so a paused connection always resumes, and
 * a resumed one notices when its peer has hung up.
 */
static void sconn_pump(struct sconn *c)
{
	struct lrpc__frame f;
	bool room;

	if (c->pumping || c->rejected || c->closing)
		return;
	c->pumping = true;
	if (!take_frames(c))
		goto out;
	if (c->peer.draining) {
		if (!c->inflight)
			lrpc__sconn_close(c, true);
		goto out;
	}
	/* A whole frame still here waits for room: read no further than
	 * CANCEL_SLACK past it (take_cancels_ahead). A partial one is read
	 * on, so the buffer holds one frame and the slack at most. */
	room = !(c->rlen >= LRPC__FRAME_HDR &&
		 lrpc__frame_get_request(c->rbuf, c->host->opts.max_msg_size, &f) == 0 &&
		 c->rlen - LRPC__FRAME_HDR >= f.body_len &&
		 c->rlen - LRPC__FRAME_HDR - f.body_len >= CANCEL_SLACK);
	if (room && !c->reading) {
		if (uv_read_start(&c->h.stream, alloc_cb, read_cb) < 0)
			lrpc__sconn_close(c, false);
		else
			c->reading = true;
	} else if (!room && c->reading) {
		uv_read_stop(&c->h.stream);
		c->reading = false;
	}
	/* Do not keep a buffer sized for one huge frame forever. */
	if (c->rlen == 0 && c->rcap > (1u << 20)) {
		free(c->rbuf);
		c->rbuf = NULL;
		c->rcap = 0;
	}
	/* A header begun and not finished is on the clock. */
	if (c->rlen == 0 || c->rlen >= LRPC__FRAME_HDR)
		c->header_since = 0;
	else if (!c->header_since)
		c->header_since = uv_now(&c->host->loop);
	sconn_arm(c);
out:
	c->pumping = false;
}

/* Run the timer for whichever timeout is due first, if any applies. */
static void sconn_arm(struct sconn *c)
{
	const struct lrpc__host *h = c->host;
	uint64_t due = UINT64_MAX, now = uv_now(&c->host->loop);

	if (!c->inflight)
		due = c->idle_since + h->opts.idle_timeout_ms;
	if (c->header_since && c->header_since + h->opts.header_timeout_ms < due)
		due = c->header_since + h->opts.header_timeout_ms;
	if (due == UINT64_MAX)
		uv_timer_stop(&c->timer);
	else
		uv_timer_start(&c->timer, on_timer, due > now ? due - now : 0, 0);
}

static void on_timer(uv_timer_t *t)
{
	struct sconn *c = t->data;
	const struct lrpc__host *h = c->host;
	uint64_t now = uv_now(&c->host->loop);
	char why[LRPC_STATUS_MSG_MAX];

	if (c->rejected || c->closing)
		return;
	if (c->header_since && now >= c->header_since + h->opts.header_timeout_ms) {
		snprintf(why, sizeof(why),
			 "frame header incomplete after %u ms (header_timeout_ms)",
			 h->opts.header_timeout_ms);
		lrpc__sconn_reject(c, 0, LRPC_DEADLINE_EXCEEDED, why);
	} else if (!c->inflight && now >= c->idle_since + h->opts.idle_timeout_ms) {
		/* Nothing to say: a client's pool drops a closed connection
		 * before it is used again. */
		lrpc__sconn_close(c, true);
	} else {
		sconn_arm(c);
	}
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct sconn *c = s->data;

	(void)buf;
	if (n < 0) {
		/* EOF, possibly mid-frame: the peer is gone; so are we. */
		lrpc__sconn_close(c, false);
		return;
	}
	c->rlen += (size_t)n;
	c->idle_since = uv_now(&c->host->loop);
	sconn_pump(c);
}

static void on_connection(uv_stream_t *listener, int status)
{
	struct lrpc__host *h = listener->data;
	char why[LRPC_STATUS_MSG_MAX];
	struct sconn *c;
	unsigned int n;
	int ret;

	if (status < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c)
		return; /* the listener reports the connection again */
	c->host = h;
	c->scheme = listener->type == UV_TCP ? LRPC__SCHEME_TCP : LRPC__SCHEME_UNIX;
	if (listener->type == UV_TCP)
		ret = uv_tcp_init(&h->loop, &c->h.tcp);
	else
		ret = uv_pipe_init(&h->loop, &c->h.pipe, 0);
	if (ret < 0) {
		free(c);
		return;
	}
	c->h.handle.data = c;
	uv_timer_init(&h->loop, &c->timer);
	c->timer.data = c;
	c->handles = 2;
	c->idle_since = uv_now(&h->loop);
	lrpc__peer_add(h, &c->peer, &peer_ops);
	atomic_fetch_add(&h->stats.clients_active, 1);
	n = atomic_fetch_add(&h->active[c->scheme], 1) + 1;
	if (uv_accept(listener, &c->h.stream) < 0) {
		atomic_fetch_add(&h->stats.clients_rejected, 1);
		lrpc__sconn_close(c, false);
		return;
	}
	/* A refusal is an error frame saying why, which the client reads
	 * as the answer to its first call. */
	if (listener->type != UV_TCP &&
	    !lrpc__peer_allowed(h, &c->h.handle, why, sizeof(why))) {
		atomic_fetch_add(&h->stats.clients_rejected, 1);
		reject(c, 0, LRPC_PERMISSION_DENIED, why);
		return;
	}
	if (n > h->opts.max_conns) {
		snprintf(why, sizeof(why),
			 "server full: %u %s connections (max_conns)",
			 h->opts.max_conns, c->scheme == LRPC__SCHEME_TCP ?
			 "tcp://" : "unix://");
		atomic_fetch_add(&h->stats.clients_rejected, 1);
		reject(c, 0, LRPC_RESOURCE_EXHAUSTED, why);
		return;
	}
	if (listener->type == UV_TCP) {
		uv_tcp_nodelay(&c->h.tcp, 1);
		c->who.transport = "tcp";
		lrpc__peer_address(&c->h.tcp, &c->who);
	} else {
		c->who.transport = "unix";
		lrpc__peer_creds(&c->h.handle, &c->who);
	}
	atomic_fetch_add(&h->stats.clients_accepted, 1);
	sconn_pump(c); /* starts reading and the idle timeout */
}

int lrpc__unix_listen(struct lrpc__host *h, struct lrpc__listener *l,
		      const struct lrpc__addr *addr)
{
	return lrpc__listen_pipe(h, l, addr->path, false, on_connection);
}

int lrpc__tcp_listen(struct lrpc__host *h, struct lrpc__listener *l,
		     const struct lrpc__addr *addr)
{
	return lrpc__listen_tcp(h, l, addr, on_connection);
}
