// SPDX-License-Identifier: MIT
/*
 * Streams on the server side of unix:// and tcp:// (frames: wire/frame.h).
 *
 * A stream's handler runs on a thread of its own for the stream's life,
 * not on the libuv pool, whose few threads serve the unary calls. The
 * loop thread and the handler meet in the stream's lock: the loop queues
 * the client's messages (as many as the stream's window lets the client
 * send) and signals; the handler queues the frames it wants written (its
 * messages, its credits back to the client, its END) and wakes the loop
 * with the stream's uv_async. Every byte queued either way is counted in
 * the connection's held, so conn_held_peak shows what streams cost.
 *
 * A stream is freed on the loop thread once its handler has returned and
 * its frames are written (or the connection is gone). Frames for a stream
 * id that is not open are dropped: they are what a client sent before it
 * saw the END, and cost nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/stream.h"
#include "transport/sock_server.h"
#include "wire/md_block.h"

/* A message from the client, queued for the handler. */
struct smsg {
	struct smsg *next;
	size_t len;
	unsigned char data[];
};

/* A frame to write, made by the handler (or the loop, for refusals). */
struct sout {
	uv_write_t req;
	struct sconn *conn;
	struct sstream *s; /* NULL: a refusal, no stream */
	struct sout *next;
	unsigned int credit_msgs; /* a WINDOW: what it gives back */
	size_t credit_bytes;
	size_t len; /* of frame */
	unsigned char frame[];
};

struct sstream {
	struct lrpc_server_stream ss; /* the handler's view (serve/stream.h) */
	struct sstream *next;         /* on its connection */
	struct sconn *conn;
	struct lrpc__host *host;
	lrpc_peer who; /* a copy: the connection may go first */
	uint64_t id;
	uint32_t method_id;
	lrpc_deadline deadline;
	/* Its OPEN had LRPC__FRAME_CALL_MD: the request block (md_len bytes,
	 * ours), and the END carries the response metadata. */
	bool md;
	unsigned char *md_in;
	uint32_t md_len;
	uv_async_t async;
	/* Loop thread only. */
	unsigned int in_msgs; /* received and not credited back */
	size_t in_bytes;
	size_t held;          /* what it counts in its connection's held */
	unsigned int writes;  /* frames being written */
	bool half_closed_seen, done_seen, freeing;
	/* Shared, under lock. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct smsg *head, *tail, *cur; /* cur: the handler's last message */
	unsigned int used_msgs;         /* read by the handler, not credited */
	size_t used_bytes;
	unsigned int out_msgs;          /* sent, not credited by the client */
	size_t out_bytes;
	struct sout *outq, *outq_tail;  /* for the loop to write */
	bool half_closed, done, gone;
	bool no_end; /* done, but there was no memory for its END */
	_Atomic int cancel;             /* the call's lrpc_call_cancelled() */
};

static struct sout *sout_new(struct sstream *s, enum lrpc__frame_kind kind,
			     uint64_t id, size_t body)
{
	struct sout *o = malloc(sizeof(*o) + LRPC__FRAME_HDR + body);

	if (!o)
		return NULL;
	memset(o, 0, sizeof(*o));
	o->s = s;
	o->len = LRPC__FRAME_HDR + body;
	lrpc__frame_put(o->frame, &(struct lrpc__frame){
		.kind = kind, .call_id = id, .body_len = (uint32_t)body });
	return o;
}

/* An END frame with @code and @message, and @md's blocks (NULL: none). */
static struct sout *end_frame(struct sstream *s, uint64_t id, lrpc_code code,
			      const char *message, const struct lrpc__md_out *md)
{
	size_t n = strnlen(message, LRPC_STATUS_MSG_MAX - 1);
	size_t hl = md ? lrpc__md_block_size(md->headers.v, md->headers.n) : 0;
	size_t tl = md ? lrpc__md_block_size(md->trailers.v, md->trailers.n) : 0;
	struct sout *o = sout_new(s, LRPC__FRAME_END, id, n + hl + tl);

	if (!o)
		return NULL;
	lrpc__frame_put(o->frame, &(struct lrpc__frame){
		.kind = LRPC__FRAME_END, .call_id = id, .body_len = (uint32_t)(n + hl + tl),
		.method_or_code = (uint32_t)code, .msg_len = (uint32_t)n,
		.timeout_ns = (int64_t)((uint64_t)tl << 32 | hl) });
	memcpy(o->frame + LRPC__FRAME_HDR, message, n);
	if (md) {
		lrpc__md_block_write(o->frame + LRPC__FRAME_HDR + n, md->headers.v,
				     md->headers.n);
		lrpc__md_block_write(o->frame + LRPC__FRAME_HDR + n + hl, md->trailers.v,
				     md->trailers.n);
	}
	return o;
}

/* --- The handler's side: its thread, under the stream's lock ---------- */

static void wait_until(struct sstream *s, lrpc_deadline d)
{
	struct timespec ts = { .tv_sec = d / 1000000000, .tv_nsec = d % 1000000000 };

	pthread_cond_timedwait(&s->cond, &s->lock, &ts);
}

static void push_out(struct sstream *s, struct sout *o)
{
	if (s->outq_tail)
		s->outq_tail->next = o;
	else
		s->outq = o;
	s->outq_tail = o;
	uv_async_send(&s->async);
}

/* The last message read is done with: give its room back to the client,
 * in batches, and always before waiting for more (so that a client with
 * a large message waiting for an empty window gets it). */
static void consume(struct sstream *s)
{
	struct sout *o;

	if (s->cur) {
		s->used_msgs++;
		s->used_bytes += s->cur->len;
		free(s->cur);
		s->cur = NULL;
	}
	if (!s->used_msgs || s->done ||
	    (s->head && s->used_msgs < LRPC__STREAM_WINDOW_MSGS / 2 &&
	     s->used_bytes < LRPC__STREAM_WINDOW_BYTES / 2))
		return;
	o = sout_new(s, LRPC__FRAME_WINDOW, s->id, 0);
	if (!o)
		return; /* the credit waits for the next read */
	lrpc__frame_put(o->frame, &(struct lrpc__frame){
		.kind = LRPC__FRAME_WINDOW, .call_id = s->id,
		.method_or_code = s->used_msgs,
		.timeout_ns = (int64_t)s->used_bytes });
	o->credit_msgs = s->used_msgs;
	o->credit_bytes = s->used_bytes;
	s->used_msgs = 0;
	s->used_bytes = 0;
	push_out(s, o);
}

static lrpc_code ss_recv(struct lrpc_server_stream *ss, lrpc_deadline deadline,
			 const unsigned char **msg, size_t *len, bool *end)
{
	struct sstream *s = (struct sstream *)ss;
	lrpc_code code;

	pthread_mutex_lock(&s->lock);
	consume(s);
	for (;;) {
		if (atomic_load(&s->cancel) || s->gone) {
			code = LRPC_CANCELLED;
			break;
		}
		if (s->head) {
			s->cur = s->head;
			s->head = s->cur->next;
			if (!s->head)
				s->tail = NULL;
			*msg = s->cur->data;
			*len = s->cur->len;
			code = LRPC_OK;
			break;
		}
		if (s->half_closed) {
			*end = true;
			code = LRPC_OK;
			break;
		}
		if (lrpc_now() >= deadline) {
			code = LRPC_DEADLINE_EXCEEDED;
			break;
		}
		wait_until(s, deadline);
	}
	pthread_mutex_unlock(&s->lock);
	return code;
}

static lrpc_code ss_send(struct lrpc_server_stream *ss, lrpc_deadline deadline,
			 size_t len, lrpc__put_fn put, const void *arg)
{
	struct sstream *s = (struct sstream *)ss;
	lrpc_code code = LRPC_OK;
	struct sout *o;

	pthread_mutex_lock(&s->lock);
	while (!lrpc__stream_window_ok(s->out_msgs, s->out_bytes, len)) {
		if (atomic_load(&s->cancel) || s->gone) {
			code = LRPC_CANCELLED;
			break;
		}
		if (lrpc_now() >= deadline) {
			code = LRPC_DEADLINE_EXCEEDED;
			break;
		}
		wait_until(s, deadline);
	}
	if (code == LRPC_OK && (atomic_load(&s->cancel) || s->gone))
		code = LRPC_CANCELLED;
	if (code == LRPC_OK) {
		s->out_msgs++;
		s->out_bytes += len;
	}
	pthread_mutex_unlock(&s->lock);
	if (code != LRPC_OK)
		return code;
	o = sout_new(s, LRPC__FRAME_MSG, s->id, len);
	if (!o)
		return LRPC_RESOURCE_EXHAUSTED;
	put(arg, o->frame + LRPC__FRAME_HDR);
	pthread_mutex_lock(&s->lock);
	push_out(s, o);
	pthread_mutex_unlock(&s->lock);
	return LRPC_OK;
}

static size_t ss_max_msg(const struct lrpc_server_stream *ss)
{
	return ((const struct sstream *)ss)->host->opts.max_msg_size;
}

static lrpc_code ss_wait(struct lrpc_server_stream *ss, lrpc_deadline deadline)
{
	struct sstream *s = (struct sstream *)ss;
	lrpc_code code;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		code = atomic_load(&s->cancel) || s->gone ? LRPC_CANCELLED :
		       atomic_exchange(&ss->woken, 0) ? LRPC_OK :
		       lrpc_now() >= deadline ? LRPC_DEADLINE_EXCEEDED : (lrpc_code)-1;
		if ((int)code >= 0)
			break;
		wait_until(s, deadline);
	}
	pthread_mutex_unlock(&s->lock);
	return code;
}

static void ss_wake(struct lrpc_server_stream *ss)
{
	struct sstream *s = (struct sstream *)ss;

	pthread_mutex_lock(&s->lock);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static const struct lrpc__sstream_ops sstream_ops = {
	.recv = ss_recv,
	.send = ss_send,
	.max_msg = ss_max_msg,
	.wait = ss_wait,
	.wake = ss_wake,
};

static void *stream_thread(void *arg)
{
	struct sstream *s = arg;
	char message[LRPC_STATUS_MSG_MAX];
	struct lrpc__md_set md = { 0 };
	struct lrpc__arena arena;
	lrpc_code code;
	struct sout *o;

	lrpc__arena_init(&arena);
	if (s->md_len && lrpc__md_set_from_block(&md, &arena, s->md_in, s->md_len) < 0) {
		code = LRPC_INVALID_ARGUMENT;
		snprintf(message, sizeof(message), "request metadata (%u bytes) is "
			 "malformed, refused or past %u bytes", s->md_len, LRPC_METADATA_MAX);
		atomic_fetch_add(&s->host->stats.protocol_errors, 1);
	} else {
		code = lrpc__serve_stream(&s->host->registry, &arena, s->method_id,
					  s->deadline,
					  &(struct lrpc__origin){ .cancel = &s->cancel,
								  .peer = &s->who,
								  .md = md.v, .n_md = md.n },
					  &s->ss, message);
	}
	lrpc__count_call(s->host, code);
	/* The handler's metadata is in the arena until here. */
	o = end_frame(s, s->id, code, message, s->md ? &s->ss.md : NULL);
	lrpc__arena_destroy(&arena);
	pthread_mutex_lock(&s->lock);
	if (s->cur) {
		free(s->cur);
		s->cur = NULL;
	}
	s->done = true;
	if (o) {
		push_out(s, o);
	} else { /* no END to send: the loop hangs up instead */
		s->no_end = true;
		uv_async_send(&s->async);
	}
	/* Last touch: the loop frees s once it has seen done, which it reads
	 * under this lock. */
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* --- The loop's side -------------------------------------------------- */

static void stream_hold(struct sstream *s, ptrdiff_t delta)
{
	s->held += (size_t)delta;
	lrpc__sconn_hold(s->conn, delta);
}

static void on_async_closed(uv_handle_t *h)
{
	struct sstream *s = h->data;
	struct sconn *c = s->conn;

	while (s->head) {
		struct smsg *m = s->head;

		s->head = m->next;
		free(m);
	}
	while (s->outq) {
		struct sout *o = s->outq;

		s->outq = o->next;
		free(o);
	}
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s->md_in);
	free(s);
	lrpc__sconn_done(c);
}

static void stream_maybe_free(struct sstream *s)
{
	struct sconn *c = s->conn;
	struct sstream **p;

	if (!s->done_seen || s->writes || s->freeing)
		return;
	s->freeing = true;
	for (p = &c->streams; *p; p = &(*p)->next) {
		if (*p == s) {
			*p = s->next;
			break;
		}
	}
	c->nstreams--;
	atomic_fetch_sub(&s->host->stats.streams_active, 1);
	stream_hold(s, -(ptrdiff_t)s->held);
	uv_close((uv_handle_t *)&s->async, on_async_closed);
}

static void out_done(uv_write_t *req, int status)
{
	struct sout *o = req->data;
	struct sconn *c = o->conn;
	struct sstream *s = o->s;

	(void)status; /* a failed write: the connection closes by itself */
	lrpc__sconn_hold(c, -(ptrdiff_t)o->len);
	free(o);
	if (s) {
		s->writes--;
		stream_maybe_free(s);
	}
	lrpc__sconn_done(c);
}

/* Write @o on @c (and free it once written). */
static void out_write(struct sconn *c, struct sout *o)
{
	uv_buf_t b = uv_buf_init((char *)o->frame, (unsigned int)o->len);

	o->conn = c;
	o->req.data = o;
	if (c->closing) {
		free(o);
		return;
	}
	c->inflight++;
	lrpc__sconn_hold(c, (ptrdiff_t)o->len);
	if (o->s)
		o->s->writes++;
	if (uv_write(&o->req, &c->h.stream, &b, 1, out_done) < 0)
		out_done(&o->req, -1);
}

/* The handler queued frames, or returned. */
static void on_async(uv_async_t *a)
{
	struct sstream *s = a->data;
	struct sconn *c = s->conn;
	struct sout *o, *next;
	bool no_end;

	pthread_mutex_lock(&s->lock);
	o = s->outq;
	s->outq = s->outq_tail = NULL;
	s->done_seen = s->done;
	no_end = s->no_end && !s->gone;
	pthread_mutex_unlock(&s->lock);
	for (; o; o = next) {
		next = o->next;
		if (o->credit_msgs) {
			/* The client may send this much again. */
			s->in_msgs -= o->credit_msgs;
			s->in_bytes -= o->credit_bytes;
			stream_hold(s, -(ptrdiff_t)(o->credit_bytes +
						    o->credit_msgs * LRPC__FRAME_HDR));
		}
		out_write(c, o);
	}
	/* A client left without an END would wait for its deadline. */
	if (no_end && !c->closing)
		lrpc__sconn_reject(c, s->id, LRPC_RESOURCE_EXHAUSTED,
				   "out of memory for the end of a stream");
	stream_maybe_free(s);
}

static struct sstream *find(struct sconn *c, uint64_t id)
{
	for (struct sstream *s = c->streams; s; s = s->next)
		if (s->id == id && !s->freeing)
			return s;
	return NULL;
}

/* Refuse to open stream @id: an END saying why; the connection stays. */
static void refuse(struct sconn *c, uint64_t id, lrpc_code code,
		   const char *message)
{
	struct sout *o = end_frame(NULL, id, code, message, NULL);

	if (o)
		out_write(c, o);
	lrpc__count_call(c->host, code);
}

static void stream_open(struct sconn *c, const struct lrpc__frame *f,
			const unsigned char *body)
{
	struct lrpc__host *h = c->host;
	lrpc_deadline now = lrpc_now();
	pthread_condattr_t ca;
	char why[LRPC_STATUS_MSG_MAX];
	struct sstream *s;
	pthread_t t;

	if (c->nstreams >= LRPC__SOCK_STREAMS_PER_CONN) {
		snprintf(why, sizeof(why), "%u streams open on one connection",
			 LRPC__SOCK_STREAMS_PER_CONN);
		refuse(c, f->call_id, LRPC_RESOURCE_EXHAUSTED, why);
		return;
	}
	if (atomic_load(&h->stats.streams_active) >= h->opts.max_streams) {
		snprintf(why, sizeof(why), "server full: %u streams open (max_streams)",
			 h->opts.max_streams);
		refuse(c, f->call_id, LRPC_RESOURCE_EXHAUSTED, why);
		return;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		refuse(c, f->call_id, LRPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	s->ss.ops = &sstream_ops;
	s->conn = c;
	s->who = c->who;
	s->host = h;
	s->id = f->call_id;
	s->method_id = f->method_or_code;
	s->md = f->call_md;
	s->md_len = f->md_len;
	if (s->md_len && !(s->md_in = malloc(s->md_len))) {
		free(s);
		refuse(c, f->call_id, LRPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	if (s->md_len)
		memcpy(s->md_in, body, s->md_len);
	/* Time left, not a clock reading, as for calls (sock_server.c). */
	s->deadline = f->timeout_ns <= 0 ? now :
		      f->timeout_ns > INT64_MAX - now ? INT64_MAX :
		      now + f->timeout_ns;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	uv_async_init(&h->loop, &s->async, on_async);
	s->async.data = s;
	s->next = c->streams;
	c->streams = s;
	c->nstreams++;
	c->inflight++; /* until on_async_closed */
	atomic_fetch_add(&h->stats.streams_active, 1);
	if (lrpc__thread_start(&t, stream_thread, s, true) < 0) {
		/* As if its handler had returned at once. */
		struct sout *o = end_frame(s, s->id, LRPC_RESOURCE_EXHAUSTED,
					   "no thread for the stream", NULL);

		pthread_mutex_lock(&s->lock);
		s->done = true;
		if (o)
			push_out(s, o);
		else
			s->no_end = true;
		uv_async_send(&s->async);
		pthread_mutex_unlock(&s->lock);
		lrpc__count_call(h, LRPC_RESOURCE_EXHAUSTED);
	}
}

static bool stream_msg(struct sconn *c, struct sstream *s,
		       const struct lrpc__frame *f, const unsigned char *body)
{
	struct smsg *m;

	if (s->half_closed_seen) {
		lrpc__sconn_reject(c, f->call_id, LRPC_INVALID_ARGUMENT,
				   "stream message after the half-close");
		return false;
	}
	if (!lrpc__stream_window_ok(s->in_msgs, s->in_bytes, f->body_len)) {
		lrpc__sconn_reject(c, f->call_id, LRPC_INVALID_ARGUMENT,
				   "stream message beyond the stream's window");
		return false;
	}
	if (s->done_seen)
		return true; /* nobody will read it */
	m = malloc(sizeof(*m) + f->body_len);
	if (!m) {
		lrpc__sconn_reject(c, f->call_id, LRPC_RESOURCE_EXHAUSTED,
				   "out of memory");
		return false;
	}
	m->next = NULL;
	m->len = f->body_len;
	memcpy(m->data, body, f->body_len);
	s->in_msgs++;
	s->in_bytes += f->body_len;
	stream_hold(s, (ptrdiff_t)(f->body_len + LRPC__FRAME_HDR));
	pthread_mutex_lock(&s->lock);
	if (s->tail)
		s->tail->next = m;
	else
		s->head = m;
	s->tail = m;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return true;
}

bool lrpc__sstream_frame(struct sconn *c, const struct lrpc__frame *f,
			 const unsigned char *body)
{
	struct sstream *s = find(c, f->call_id);
	bool ok = true;

	if (f->kind == LRPC__FRAME_OPEN) {
		if (s) {
			lrpc__sconn_reject(c, f->call_id, LRPC_INVALID_ARGUMENT,
					   "stream id already open");
			return false;
		}
		if (!c->peer.draining)
			stream_open(c, f, body);
		else
			refuse(c, f->call_id, LRPC_UNAVAILABLE, "server is stopping");
		return true;
	}
	if (f->kind == LRPC__FRAME_END) {
		lrpc__sconn_reject(c, f->call_id, LRPC_INVALID_ARGUMENT,
				   "END frame from a client");
		return false;
	}
	if (!s)
		return true; /* a stream that has ended, or never was */
	if (f->kind == LRPC__FRAME_MSG)
		return stream_msg(c, s, f, body);
	pthread_mutex_lock(&s->lock);
	switch (f->kind) {
	case LRPC__FRAME_HALF_CLOSE:
		s->half_closed = s->half_closed_seen = true;
		break;
	case LRPC__FRAME_CANCEL:
		atomic_store(&s->cancel, 1);
		break;
	case LRPC__FRAME_WINDOW:
		if (f->method_or_code > s->out_msgs ||
		    (uint64_t)f->timeout_ns > s->out_bytes) {
			ok = false;
			break;
		}
		s->out_msgs -= f->method_or_code;
		s->out_bytes -= (size_t)f->timeout_ns;
		break;
	default:
		ok = false;
	}
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	if (!ok)
		lrpc__sconn_reject(c, f->call_id, LRPC_INVALID_ARGUMENT,
				   "stream credit for more than was sent");
	return ok;
}

void lrpc__sstreams_cancel(struct sconn *c, bool gone)
{
	for (struct sstream *s = c->streams; s; s = s->next) {
		pthread_mutex_lock(&s->lock);
		atomic_store(&s->cancel, 1);
		if (gone)
			s->gone = true;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
	}
}
