// SPDX-License-Identifier: MIT
/*
 * grpc:// streaming methods. The handler runs lrpc__serve_stream() on a
 * thread of its own (counted in receivers_active, which the server's
 * free waits for; at most max_pipelined per connection, the streams
 * nghttp2 lets open). It meets the loop under conn->lock:
 *
 *  - in: DATA is appended to s->in by the loop; recv copies the head
 *    message out and pops it. HTTP/2 flow control is the only window: the
 *    loop gives DATA back to the window (nghttp2_session_consume) only
 *    while no whole message waits at the head, so a stream holds one
 *    unread message plus one window, and a client whose handler does not
 *    read waits.
 *  - out: send appends its message to the stream's out buffer while what
 *    waits there, with it, stays within OUT_BATCH (a larger message waits
 *    for an empty buffer and goes alone), and asks the loop to resume the
 *    stream's DATA; nghttp2 takes it as the client's window allows. So a
 *    handler pouring small messages wakes the loop once per batch rather
 *    than once per message, and a stream holds at most
 *    max(OUT_BATCH, one message) of output.
 *  - end: the handler's code; the loop sends the trailers after the last
 *    message (Trailers-Only if it is an error and nothing was sent).
 *
 * The handler asks the loop through conn->wake; each queued ask holds a
 * reference on its stream. Nothing here blocks the loop but the lock.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/grpc_stream.h"

/* Output a stream may queue before its handler's send waits. */
#define OUT_BATCH 65536u

struct gstream_sync {
	struct lrpc_server_stream ss; /* first: the ops get this */
	struct gstream *s;
	pthread_cond_t cond; /* the handler waits here, under conn->lock */

	/* Under conn->lock. */
	bool in_end;     /* the client half-closed */
	bool gone;       /* the stream is over for the handler */
	bool done;       /* the handler returned: code, message */
	bool loop_ended; /* the loop failed it: code, message are its */
	bool asked;
	struct gstream_sync *ask_next;
	unsigned char *out;
	size_t out_len, out_off, out_cap;
	lrpc_code code;
	char message[LRPC_STATUS_MSG_MAX];

	/* The handler's: the message recv returned last. */
	unsigned char *cur;
	size_t cur_cap;
	bool hdrs_packed; /* s->hdrs holds the handler's headers */

	/* The loop's. */
	size_t unconsumed; /* DATA bytes not yet given back to the window */
	bool headers_sent, trailers_sent;
};

static struct gstream_sync *sync_of(struct lrpc_server_stream *ss)
{
	return (struct gstream_sync *)ss;
}

/* Under conn->lock: have the loop look at this stream. */
static void ask(struct gstream_sync *y)
{
	struct gconn *c = y->s->conn;

	if (c->wake_closed)
		return;
	if (!y->asked) {
		y->asked = true;
		atomic_fetch_add(&y->s->refs, 1);
		y->ask_next = c->asks;
		c->asks = y;
	}
	uv_async_send(&c->wake);
}

/* Wait on the stream's cond until \p deadline. \return false at it. */
static bool wait_until(struct gstream_sync *y, lrpc_deadline deadline)
{
	struct timespec ts;

	if (deadline == INT64_MAX) {
		pthread_cond_wait(&y->cond, &y->s->conn->lock);
		return true;
	}
	ts.tv_sec = deadline / 1000000000;
	ts.tv_nsec = deadline % 1000000000;
	return pthread_cond_timedwait(&y->cond, &y->s->conn->lock, &ts) != ETIMEDOUT;
}

static lrpc_code ss_recv(struct lrpc_server_stream *ss, lrpc_deadline deadline,
			 const unsigned char **msg, size_t *len, bool *end)
{
	struct gstream_sync *y = sync_of(ss);
	struct gconn *c = y->s->conn;
	const unsigned char *m;
	lrpc_code code = LRPC_OK;
	size_t n;

	*end = false;
	pthread_mutex_lock(&c->lock);
	for (;;) {
		if (y->gone) {
			code = LRPC_CANCELLED;
			break;
		}
		if (lrpc__grpc_msgq_next(&y->s->in, &m, &n) == LRPC__GRPC_MSG) {
			if (n > y->cur_cap) {
				unsigned char *p = realloc(y->cur, n);

				if (!p) {
					code = LRPC_RESOURCE_EXHAUSTED;
					break;
				}
				y->cur = p;
				y->cur_cap = n;
			}
			if (n)
				memcpy(y->cur, m, n);
			lrpc__grpc_msgq_pop(&y->s->in);
			*msg = y->cur;
			*len = n;
			ask(y); /* the window may open again */
			break;
		}
		if (y->in_end) {
			*end = true;
			break;
		}
		if (!wait_until(y, deadline)) {
			code = LRPC_DEADLINE_EXCEEDED;
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return code;
}

static lrpc_code ss_send(struct lrpc_server_stream *ss, lrpc_deadline deadline,
			 size_t len, lrpc__put_fn put, const void *arg)
{
	struct gstream_sync *y = sync_of(ss);
	struct gconn *c = y->s->conn;
	lrpc_code code = LRPC_OK;

	size_t queued;

	pthread_mutex_lock(&c->lock);
	while (!y->gone && (queued = y->out_len - y->out_off) &&
	       queued + LRPC__GRPC_PREFIX + len > OUT_BATCH)
		if (!wait_until(y, deadline)) {
			code = LRPC_DEADLINE_EXCEEDED;
			break;
		}
	if (code == LRPC_OK && y->gone)
		code = LRPC_CANCELLED;
	if (code == LRPC_OK) {
		/* What is still queued moves to the front. */
		queued = y->out_len - y->out_off;
		if (queued && y->out_off)
			memmove(y->out, y->out + y->out_off, queued);
		y->out_off = 0;
		y->out_len = queued;
	}
	if (code == LRPC_OK && y->out_len + LRPC__GRPC_PREFIX + len > y->out_cap) {
		size_t cap = y->out_len + LRPC__GRPC_PREFIX + len;
		unsigned char *p;

		if (cap < OUT_BATCH)
			cap = OUT_BATCH;
		p = realloc(y->out, cap);
		if (!p)
			code = LRPC_RESOURCE_EXHAUSTED;
		else
			y->out = p, y->out_cap = cap;
	}
	if (code == LRPC_OK && !y->hdrs_packed) {
		/* The first message: the loop sends the headers with it. */
		if (lrpc__grpc_md_pack(&ss->call->out.headers, &y->s->hdrs) < 0)
			code = LRPC_RESOURCE_EXHAUSTED;
		y->hdrs_packed = true;
	}
	if (code == LRPC_OK) {
		/* The loop reads out only while out_off < out_len. */
		lrpc__grpc_prefix_put(y->out + y->out_len, (uint32_t)len);
		put(arg, y->out + y->out_len + LRPC__GRPC_PREFIX);
		y->out_len += LRPC__GRPC_PREFIX + len;
		ask(y);
	}
	pthread_mutex_unlock(&c->lock);
	return code;
}

static size_t ss_max_msg(const struct lrpc_server_stream *ss)
{
	return ((const struct gstream_sync *)ss)->s->conn->host->opts.max_msg_size;
}

static lrpc_code ss_wait(struct lrpc_server_stream *ss, lrpc_deadline deadline)
{
	struct gstream_sync *y = sync_of(ss);
	struct gconn *c = y->s->conn;
	lrpc_code code;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		code = y->gone || atomic_load(&y->s->cancel) ? LRPC_CANCELLED :
		       atomic_exchange(&ss->woken, 0) ? LRPC_OK : (lrpc_code)-1;
		if ((int)code >= 0)
			break;
		if (!wait_until(y, deadline)) {
			code = LRPC_DEADLINE_EXCEEDED;
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return code;
}

static void ss_wake(struct lrpc_server_stream *ss)
{
	struct gstream_sync *y = sync_of(ss);

	pthread_mutex_lock(&y->s->conn->lock);
	pthread_cond_broadcast(&y->cond);
	pthread_mutex_unlock(&y->s->conn->lock);
}

static const struct lrpc__sstream_ops sstream_ops = {
	.recv = ss_recv,
	.send = ss_send,
	.max_msg = ss_max_msg,
	.wait = ss_wait,
	.wake = ss_wake,
};

static void *handler_main(void *arg)
{
	struct gstream_sync *y = arg;
	struct gstream *s = y->s;
	struct gconn *c = s->conn;
	struct lrpc__host *h = c->host;
	char message[LRPC_STATUS_MSG_MAX];
	struct lrpc__arena arena;
	lrpc_code code;

	lrpc__arena_init(&arena);
	code = lrpc__serve_stream(&h->registry, &arena, s->entry->id,
				  s->deadline,
				  &(struct lrpc__origin){ .cancel = &s->cancel, .note = &s->note,
							  .peer = &c->who,
							  .md = s->md_in.v, .n_md = s->md_in.n },
				  &y->ss, message);
	pthread_mutex_lock(&c->lock);
	/* Headers no message carried go with the trailers (Trailers-Only). */
	if ((!y->hdrs_packed && lrpc__grpc_md_pack(&y->ss.md.headers, &s->hdrs) < 0) ||
	    lrpc__grpc_md_pack(&y->ss.md.trailers, &s->trls) < 0) {
		code = LRPC_RESOURCE_EXHAUSTED;
		snprintf(message, sizeof(message), "out of memory for metadata");
	}
	atomic_store(&s->md_final, true);
	y->done = true;
	if (!y->loop_ended) {
		y->code = code;
		memcpy(y->message, message, sizeof(message));
	}
	ask(y);
	pthread_mutex_unlock(&c->lock);
	lrpc__arena_destroy(&arena); /* the metadata is packed */
	lrpc__gstream_put(s); /* may free the connection */
	pthread_mutex_lock(&h->lock);
	if (atomic_fetch_sub(&h->stats.receivers_active, 1) == 1)
		pthread_cond_broadcast(&h->idle);
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

void lrpc__gsync_start(struct gstream *s)
{
	struct lrpc__host *h = s->conn->host;
	struct gstream_sync *y = calloc(1, sizeof(*y));
	pthread_condattr_t ca;
	pthread_t t;

	if (!y)
		return lrpc__gstream_fail(s, 200, LRPC_RESOURCE_EXHAUSTED,
					  "out of memory");
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&y->cond, &ca);
	pthread_condattr_destroy(&ca);
	y->ss.ops = &sstream_ops;
	y->s = s;
	s->sync = y;
	s->running = true;
	atomic_fetch_add(&s->refs, 1);
	atomic_fetch_add(&h->stats.receivers_active, 1);
	if (lrpc__thread_start(&t, handler_main, y, true) < 0) {
		atomic_fetch_sub(&h->stats.receivers_active, 1);
		atomic_fetch_sub(&s->refs, 1); /* nghttp2's still holds it */
		s->running = false;
		/* Not yet sent anything: Trailers-Only. */
		lrpc__gstream_fail(s, 200, LRPC_RESOURCE_EXHAUSTED,
				   "no thread for the stream's handler");
	}
}

/* The loop's side of a failure: Trailers-Only if nothing was sent, else
 * the trailers after what was. */
static void loop_fail(struct gstream *s, lrpc_code code, const char *why)
{
	struct gstream_sync *y = s->sync;
	struct gconn *c = s->conn;

	if (!y->headers_sent) {
		lrpc__gstream_fail(s, 200, code, "%s", why);
		lrpc__gsync_closed(s);
		return;
	}
	pthread_mutex_lock(&c->lock);
	y->gone = true;
	y->loop_ended = true;
	y->code = code;
	snprintf(y->message, sizeof(y->message), "%s", why);
	y->out_off = y->out_len; /* a message not yet begun is dropped */
	pthread_cond_broadcast(&y->cond);
	pthread_mutex_unlock(&c->lock);
	lrpc__gstream_cancel(s);
	nghttp2_session_resume_data(c->ng, s->id);
}

/* The loop ends a stream whose handler is still at it (a stop, the
 * deadline); one whose handler returned, or that the loop already ended,
 * goes on with that answer: whichever came first wins. */
static void loop_end(struct gstream *s, lrpc_code code, const char *why)
{
	struct gstream_sync *y = s->sync;
	struct gconn *c = s->conn;
	bool done;

	if (!y || s->closed || s->answered)
		return;
	pthread_mutex_lock(&c->lock);
	done = y->done || y->loop_ended;
	pthread_mutex_unlock(&c->lock);
	if (done)
		return;
	/* Its lrpc_call_cancelled() too, for a handler that only waits. */
	lrpc__gstream_cancel(s);
	loop_fail(s, code, why);
}

void lrpc__gsync_stop(struct gstream *s)
{
	loop_end(s, LRPC_UNAVAILABLE, "the server is stopping");
}

void lrpc__gsync_expire(struct gstream *s)
{
	loop_end(s, LRPC_DEADLINE_EXCEEDED, "deadline exceeded");
}

/* Give back to the window what the head message needs. */
static void credit(struct gstream *s)
{
	struct gstream_sync *y = s->sync;
	struct gconn *c = s->conn;
	const unsigned char *m;
	enum lrpc__grpc_next next;
	size_t n = 0, give = 0;

	pthread_mutex_lock(&c->lock);
	next = lrpc__grpc_msgq_next(&s->in, &m, &n);
	if (next == LRPC__GRPC_PARTIAL) {
		give = y->unconsumed;
		y->unconsumed = 0;
	}
	pthread_mutex_unlock(&c->lock);
	if (give)
		nghttp2_session_consume(c->ng, s->id, give);
	if (next == LRPC__GRPC_TOO_BIG) {
		char why[LRPC_STATUS_MSG_MAX];

		snprintf(why, sizeof(why), "message of %zu bytes exceeds the %zu-byte limit",
			 n, c->host->opts.max_msg_size);
		loop_fail(s, LRPC_RESOURCE_EXHAUSTED, why);
	} else if (next == LRPC__GRPC_COMPRESSED) {
		loop_fail(s, LRPC_INTERNAL, "compressed message without grpc-encoding");
	}
}

void lrpc__gsync_data(struct gstream *s, const uint8_t *data, size_t len)
{
	struct gstream_sync *y = s->sync;
	struct gconn *c = s->conn;
	int ret;

	pthread_mutex_lock(&c->lock);
	ret = y->gone ? 0 : lrpc__grpc_msgq_push(&s->in, data, len);
	if (y->gone)
		nghttp2_session_consume(c->ng, s->id, len);
	else
		y->unconsumed += len;
	pthread_cond_broadcast(&y->cond);
	pthread_mutex_unlock(&c->lock);
	if (ret < 0)
		return loop_fail(s, LRPC_RESOURCE_EXHAUSTED, "out of memory");
	credit(s);
}

void lrpc__gsync_end(struct gstream *s)
{
	struct gstream_sync *y = s->sync;
	struct gconn *c = s->conn;

	pthread_mutex_lock(&c->lock);
	y->in_end = true;
	pthread_cond_broadcast(&y->cond);
	pthread_mutex_unlock(&c->lock);
}

void lrpc__gsync_closed(struct gstream *s)
{
	struct gstream_sync *y = s->sync;
	struct gconn *c = s->conn;

	pthread_mutex_lock(&c->lock);
	y->gone = true;
	pthread_cond_broadcast(&y->cond);
	pthread_mutex_unlock(&c->lock);
}

ssize_t lrpc__gsync_read_out(struct gstream *s, uint8_t *buf, size_t length,
			     uint32_t *flags)
{
	struct gstream_sync *y = s->sync;
	struct gconn *c = s->conn;
	char st[12], msg[3 * LRPC_STATUS_MSG_MAX], text[LRPC_STATUS_MSG_MAX];
	nghttp2_nv nv[2];
	size_t n, k = 0;
	bool end, md;
	lrpc_code code;

	pthread_mutex_lock(&c->lock);
	/* The handler's trailers are its until it is done: a stream the loop
	 * ended first (a stop) goes without them. */
	md = y->done;
	n = y->out_len - y->out_off < length ? y->out_len - y->out_off : length;
	if (n)
		memcpy(buf, y->out + y->out_off, n);
	y->out_off += n;
	if (n)
		pthread_cond_broadcast(&y->cond); /* room for the next */
	end = y->out_off == y->out_len && (y->done || y->loop_ended);
	code = y->code;
	memcpy(text, y->message, sizeof(text));
	pthread_mutex_unlock(&c->lock);
	if (!n && !end)
		return NGHTTP2_ERR_DEFERRED;
	if (end) {
		*flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
		lrpc__gstream_status_nv(nv, &k, st, sizeof(st), msg, sizeof(msg),
					code, text);
		if (md ? lrpc__gstream_trailers(s, nv, k) != 0 :
			 nghttp2_submit_trailer(c->ng, s->id, nv, k) != 0)
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
		y->trailers_sent = true;
		s->answered = true;
		lrpc__count_call(c->host, code);
	}
	return (ssize_t)n;
}

/* The loop: what one stream's handler asked for. */
static void serve_ask(struct gstream_sync *y)
{
	struct gstream *s = y->s;
	struct gconn *c = s->conn;
	bool have_out, done;
	lrpc_code code;
	char text[LRPC_STATUS_MSG_MAX];

	pthread_mutex_lock(&c->lock);
	y->asked = false;
	have_out = y->out_off < y->out_len;
	done = y->done && !y->loop_ended;
	code = y->code;
	memcpy(text, y->message, sizeof(text));
	pthread_mutex_unlock(&c->lock);
	if (s->closed || s->answered || c->closing)
		return;
	credit(s);
	if (s->answered)
		return;
	if (!y->headers_sent && done && !have_out && code != LRPC_OK) {
		lrpc__gstream_fail(s, 200, code, "%s", text);
		return;
	}
	if (!have_out && !done)
		return;
	if (!y->headers_sent) {
		y->headers_sent = true;
		if (lrpc__gstream_respond(s) != 0)
			nghttp2_submit_rst_stream(c->ng, NGHTTP2_FLAG_NONE, s->id,
						  NGHTTP2_INTERNAL_ERROR);
	} else {
		nghttp2_session_resume_data(c->ng, s->id);
	}
}

void lrpc__gstream_serve_asks(struct gconn *c)
{
	struct gstream_sync *y, *next;

	pthread_mutex_lock(&c->lock);
	y = c->asks;
	c->asks = NULL;
	pthread_mutex_unlock(&c->lock);
	for (; y; y = next) {
		next = y->ask_next;
		serve_ask(y);
		lrpc__gstream_put(y->s);
	}
}

void lrpc__gsync_conn_closing(struct gconn *c)
{
	struct gstream_sync *y, *next;

	pthread_mutex_lock(&c->lock);
	c->wake_closed = true;
	y = c->asks;
	c->asks = NULL;
	for (struct gstream_sync *a = y; a; a = a->ask_next)
		a->asked = false;
	pthread_mutex_unlock(&c->lock);
	for (; y; y = next) {
		next = y->ask_next;
		lrpc__gstream_put(y->s); /* still held by nghttp2's ref */
	}
}

void lrpc__gsync_free(struct gstream *s)
{
	struct gstream_sync *y = s->sync;

	if (!y)
		return;
	pthread_cond_destroy(&y->cond);
	free(y->out);
	free(y->cur);
	free(y);
}
