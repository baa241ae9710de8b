// SPDX-License-Identifier: MIT
/*
 * A unix:// or tcp:// stream, the loop's side (sock_stream_server.h):
 * frames from the connection (sock_server.c) open a stream and feed it,
 * what its handler queued is written, and the stream is freed once both
 * are done.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/sock_stream_server.h"

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
	lrpc__cancel_note_destroy(&s->note);
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
	struct sout *o = lrpc__sout_end(NULL, id, code, message, NULL);

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
	s->ss.ops = &lrpc__sock_sstream_ops;
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
	lrpc__cancel_note_init(&s->note, &s->cancel);
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
	if (lrpc__thread_start(&t, lrpc__sstream_thread, s, true) < 0) {
		/* As if its handler had returned at once. */
		struct sout *o = lrpc__sout_end(s, s->id, LRPC_RESOURCE_EXHAUSTED,
					   "no thread for the stream", NULL);

		pthread_mutex_lock(&s->lock);
		s->done = true;
		if (o)
			lrpc__sstream_push_out(s, o);
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
	/* CANCEL names unary calls too (wire/frame.h). Any other id is a
	 * call or stream that has ended, or never was: dropped, so a late
	 * or repeated CANCEL costs a lookup and nothing more. */
	if (!s && f->kind == LRPC__FRAME_CANCEL)
		lrpc__scall_cancel(c, f->call_id);
	if (!s)
		return true;
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
	/* Outside the lock: the callback may wake the stream. */
	if (f->kind == LRPC__FRAME_CANCEL)
		lrpc__cancel_note_fire(&s->note);
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
		lrpc__cancel_note_fire(&s->note);
	}
}
