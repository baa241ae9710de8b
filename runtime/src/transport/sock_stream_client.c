// SPDX-License-Identifier: MIT
/*
 * Streams on the client side of unix:// and tcp:// (frames: wire/frame.h).
 * A stream takes one connection of the channel's pool for its life, and
 * gives it back only if it ended cleanly (the server's END read, nothing
 * after it), so no stale frame can reach a later call.
 *
 * The stream's reader and writer may be two threads, and both may need
 * what comes in on the socket: the reader messages, the writer credit.
 * Whoever needs input first reads the socket (with the lock released) and
 * files every frame that came: messages into a queue, credit into the
 * window, the END into the stream; the other waits on the condition
 * variable. Cancellation shuts the socket down, which wakes a thread in
 * poll, and tells the server by the CANCEL frame (when the socket takes it
 * without blocking) and by the hang-up itself.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "transport/sock.h"
#include "transport/sock_md.h"
#include "transport/sock_pool.h"
#include "wire/frame.h"

struct cmsg {
	struct cmsg *next;
	size_t len;
	unsigned char data[];
};

struct cstream {
	struct lrpc__cstream base; /* first */
	struct sock_chan *ch;
	struct sock_conn *conn;
	int fd;
	uint64_t id;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_mutex_t wlock; /* one frame written at a time */
	/* Under lock. */
	bool reading; /* a thread reads the socket, lock released */
	struct cmsg *head, *tail, *cur; /* cur: the reader's last message */
	unsigned int in_msgs;   /* received, not credited back */
	size_t in_bytes;
	unsigned int used_msgs; /* read by the reader, not credited back */
	size_t used_bytes;
	unsigned int out_msgs;  /* sent, not credited by the server */
	size_t out_bytes;
	bool half_closed;
	bool end_seen;  /* the server's END (or refusal): end_code, end_msg */
	bool local_end; /* ended here: cancelled, deadline, lost, garbage */
	bool end_read;  /* the reader has seen the end */
	bool dirty;     /* bytes after the END: the connection is not reused */
	/* The OPEN had LRPC__FRAME_CALL_MD: the END fills these (each may
	 * be NULL), the caller's. */
	bool md;
	size_t md_open; /* the OPEN's body */
	lrpc_metadata_list *headers, *trailers;
	lrpc_code end_code;
	char end_msg[LRPC_STATUS_MSG_MAX];
	/* The reading thread's alone. */
	unsigned char *rbuf;
	size_t rlen, rcap;
	/* The writer's alone. */
	unsigned char *wbuf;
	size_t wcap;
};

/* The largest frame body the server may send on \p s. */
static size_t frame_max(const struct cstream *s)
{
	return s->ch->max_msg + LRPC_STATUS_MSG_MAX + (s->md ? 2 * LRPC__MD_BLOCK_MAX : 0);
}

static lrpc_code report(const struct cstream *s, lrpc_status *st)
{
	if (st) {
		st->code = s->end_code;
		memcpy(st->message, s->end_msg, sizeof(st->message));
	}
	return s->end_code;
}

/* Best effort and never blocking: the CANCEL frame, then the hang-up,
 * which also wakes whoever waits on the socket. Lock held. */
static void hang_up(struct cstream *s, bool cancel)
{
	if (cancel && pthread_mutex_trylock(&s->wlock) == 0) {
		unsigned char hdr[LRPC__FRAME_HDR];

		lrpc__frame_put(hdr, &(struct lrpc__frame){
			.kind = LRPC__FRAME_CANCEL, .call_id = s->id });
		(void)!send(s->fd, hdr, sizeof(hdr), MSG_DONTWAIT | MSG_NOSIGNAL);
		pthread_mutex_unlock(&s->wlock);
	}
	shutdown(s->fd, SHUT_RDWR);
}

/* End the stream here (unless it has ended): \p code for every later
 * operation. Lock held. */
__attribute__((format(printf, 3, 4)))
static void end_here(struct cstream *s, lrpc_code code, const char *fmt, ...)
{
	va_list ap;

	if (s->local_end || (s->end_seen && code != LRPC_CANCELLED))
		return;
	if (s->end_seen && s->end_read)
		return;
	s->local_end = true;
	s->end_code = code;
	va_start(ap, fmt);
	vsnprintf(s->end_msg, sizeof(s->end_msg), fmt, ap);
	va_end(ap);
	/* The server needs telling unless it ended the stream itself. */
	hang_up(s, !s->end_seen);
	pthread_cond_broadcast(&s->cond);
}

static void protocol(struct cstream *s, const char *what)
{
	end_here(s, LRPC_INTERNAL, "stream from the server: %s", what);
}

/* File one complete frame from the server. Lock held. */
static void take(struct cstream *s, const struct lrpc__frame *f,
		 const unsigned char *body)
{
	struct cmsg *m;

	if (f->kind == LRPC__FRAME_CALL && f->method_or_code != LRPC_OK) {
		/* A refusal of the connection (max_conns, uid, garbage). */
		lrpc_status st;

		s->end_code = lrpc__status_from_peer(&st, f->method_or_code,
						     (const char *)body, f->msg_len);
		memcpy(s->end_msg, st.message, sizeof(s->end_msg));
		s->end_seen = true;
		s->dirty = true;
		return;
	}
	if (f->kind == LRPC__FRAME_CALL || f->call_id != s->id || s->end_seen)
		return protocol(s, "a frame that is not this stream's");
	switch (f->kind) {
	case LRPC__FRAME_MSG:
		if (!lrpc__stream_window_ok(s->in_msgs, s->in_bytes, f->body_len))
			return protocol(s, "a message beyond the window");
		m = malloc(sizeof(*m) + f->body_len);
		if (!m) {
			end_here(s, LRPC_RESOURCE_EXHAUSTED,
				 "out of memory for a %u-byte message", f->body_len);
			return;
		}
		m->next = NULL;
		m->len = f->body_len;
		memcpy(m->data, body, f->body_len);
		if (s->tail)
			s->tail->next = m;
		else
			s->head = m;
		s->tail = m;
		s->in_msgs++;
		s->in_bytes += f->body_len;
		return;
	case LRPC__FRAME_WINDOW:
		if (f->method_or_code > s->out_msgs ||
		    (uint64_t)f->timeout_ns > s->out_bytes)
			return protocol(s, "credit for more than was sent");
		s->out_msgs -= f->method_or_code;
		s->out_bytes -= (size_t)f->timeout_ns;
		return;
	case LRPC__FRAME_END: {
		lrpc_status st;
		size_t none;

		s->end_code = lrpc__status_from_peer(&st, f->method_or_code,
						     (const char *)body, f->msg_len);
		/* Response metadata (wire/frame.h) before the end is told. */
		if (s->md && lrpc__sock_md_take_reply(f, body, s->headers, s->trailers,
						      &none, &st) != LRPC_OK) {
			s->end_code = st.code;
			s->dirty = true;
		}
		if (s->end_code == LRPC_OK)
			s->end_msg[0] = '\0';
		else
			memcpy(s->end_msg, st.message, sizeof(s->end_msg));
		s->end_seen = true;
		return;
	}
	default:
		return protocol(s, "a frame a server does not send");
	}
}

/* Wait for input by the deadline: read the socket if nobody else does,
 * and file what came. Lock held (released while reading). */
static void wait_input(struct cstream *s)
{
	lrpc_deadline d = s->base.deadline;
	size_t off = 0, need = 65536;
	struct lrpc__frame f;
	ssize_t n;

	if (lrpc_now() >= d) {
		end_here(s, LRPC_DEADLINE_EXCEEDED, "deadline exceeded in the stream");
		return;
	}
	if (s->reading) {
		struct timespec ts = { .tv_sec = d / 1000000000,
				       .tv_nsec = d % 1000000000 };

		pthread_cond_timedwait(&s->cond, &s->lock, &ts);
		return;
	}
	s->reading = true;
	/* Room for one whole frame, whatever its size. */
	if (s->rlen >= LRPC__FRAME_HDR &&
	    lrpc__frame_get(s->rbuf, frame_max(s), &f) == 0)
		need += LRPC__FRAME_HDR + f.body_len;
	if (lrpc__buf_reserve(&s->rbuf, &s->rcap, s->rlen + need) < 0) {
		s->reading = false;
		end_here(s, LRPC_RESOURCE_EXHAUSTED, "out of memory reading the stream");
		return;
	}
	pthread_mutex_unlock(&s->lock);
	n = lrpc__sock_read(s->fd, s->rbuf + s->rlen, 1, s->rcap - s->rlen, d);
	pthread_mutex_lock(&s->lock);
	s->reading = false;
	pthread_cond_broadcast(&s->cond);
	if (n < 0) {
		if (n == -ETIMEDOUT && lrpc_now() >= d)
			end_here(s, LRPC_DEADLINE_EXCEEDED,
				 "deadline exceeded in the stream");
		else
			end_here(s, LRPC_UNAVAILABLE, "connection lost: %s",
				 strerror((int)-n));
		return;
	}
	s->rlen += (size_t)n;
	while (!s->local_end && s->rlen - off >= LRPC__FRAME_HDR) {
		if (s->end_seen) {
			s->dirty = true; /* nothing may follow an END */
			break;
		}
		if (lrpc__frame_get(s->rbuf + off, frame_max(s), &f) < 0) {
			protocol(s, "a malformed frame");
			break;
		}
		if (s->rlen - off - LRPC__FRAME_HDR < f.body_len)
			break;
		take(s, &f, s->rbuf + off + LRPC__FRAME_HDR);
		off += LRPC__FRAME_HDR + f.body_len;
	}
	memmove(s->rbuf, s->rbuf + off, s->rlen - off);
	s->rlen -= off;
}

/* Write one frame (header and \p body bytes at wbuf or hdr). */
static lrpc_code put_frame(struct cstream *s, unsigned char *frame, size_t len,
			   lrpc_status *st)
{
	lrpc_code code = LRPC_OK;
	int ret;

	pthread_mutex_lock(&s->wlock);
	ret = lrpc__sock_write_all(s->fd, frame, len, s->base.deadline);
	pthread_mutex_unlock(&s->wlock);
	if (ret == 0)
		return LRPC_OK;
	pthread_mutex_lock(&s->lock);
	if (ret == -ETIMEDOUT && lrpc_now() >= s->base.deadline)
		end_here(s, LRPC_DEADLINE_EXCEEDED, "deadline exceeded in the stream");
	else
		end_here(s, LRPC_UNAVAILABLE, "connection lost: %s", strerror(-ret));
	code = report(s, st);
	pthread_mutex_unlock(&s->lock);
	return code;
}

static lrpc_code cs_send(struct lrpc__cstream *b, size_t len, lrpc__cput_fn put,
			 const void *arg, lrpc_status *st)
{
	struct cstream *s = (struct cstream *)b;
	lrpc_code code;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		if (s->local_end || s->end_seen) {
			code = report(s, st);
			pthread_mutex_unlock(&s->lock);
			return code;
		}
		if (s->half_closed) {
			pthread_mutex_unlock(&s->lock);
			return lrpc__status_fail(st, LRPC_INVALID_ARGUMENT,
						 "write after close_send");
		}
		if (lrpc__stream_window_ok(s->out_msgs, s->out_bytes, len))
			break;
		wait_input(s);
	}
	s->out_msgs++;
	s->out_bytes += len;
	pthread_mutex_unlock(&s->lock);
	if (lrpc__buf_reserve(&s->wbuf, &s->wcap, LRPC__FRAME_HDR + len) < 0)
		return lrpc__status_fail(st, LRPC_RESOURCE_EXHAUSTED,
					 "out of memory for a %zu-byte message", len);
	lrpc__frame_put(s->wbuf, &(struct lrpc__frame){
		.kind = LRPC__FRAME_MSG, .call_id = s->id,
		.body_len = (uint32_t)len });
	put(arg, s->wbuf + LRPC__FRAME_HDR);
	return put_frame(s, s->wbuf, LRPC__FRAME_HDR + len, st);
}

static lrpc_code cs_close_send(struct lrpc__cstream *b, lrpc_status *st)
{
	struct cstream *s = (struct cstream *)b;
	unsigned char hdr[LRPC__FRAME_HDR];
	lrpc_code code;

	pthread_mutex_lock(&s->lock);
	if (s->local_end || s->end_seen || s->half_closed) {
		code = s->half_closed && !s->local_end && !s->end_seen ?
			       LRPC_OK : report(s, st);
		pthread_mutex_unlock(&s->lock);
		return code;
	}
	s->half_closed = true;
	pthread_mutex_unlock(&s->lock);
	lrpc__frame_put(hdr, &(struct lrpc__frame){
		.kind = LRPC__FRAME_HALF_CLOSE, .call_id = s->id });
	return put_frame(s, hdr, sizeof(hdr), st);
}

/* Credit back what the reader has read: in batches, and always before it
 * waits (a server with a large message waits for an empty window). */
static lrpc_code give_credit(struct cstream *s, bool waiting, lrpc_status *st)
{
	unsigned char hdr[LRPC__FRAME_HDR];
	unsigned int msgs = s->used_msgs;
	size_t bytes = s->used_bytes;
	lrpc_code code;

	if (!msgs || (!waiting && msgs < LRPC__STREAM_WINDOW_MSGS / 2 &&
		      bytes < LRPC__STREAM_WINDOW_BYTES / 2))
		return LRPC_OK;
	s->used_msgs = 0;
	s->used_bytes = 0;
	s->in_msgs -= msgs;
	s->in_bytes -= bytes;
	lrpc__frame_put(hdr, &(struct lrpc__frame){
		.kind = LRPC__FRAME_WINDOW, .call_id = s->id,
		.method_or_code = msgs, .timeout_ns = (int64_t)bytes });
	pthread_mutex_unlock(&s->lock);
	code = put_frame(s, hdr, sizeof(hdr), st);
	pthread_mutex_lock(&s->lock);
	return code;
}

static lrpc_code cs_recv(struct lrpc__cstream *b, const unsigned char **msg,
			 size_t *len, bool *end, lrpc_status *st)
{
	struct cstream *s = (struct cstream *)b;
	lrpc_code code;

	pthread_mutex_lock(&s->lock);
	if (s->cur) {
		s->used_msgs++;
		s->used_bytes += s->cur->len;
		free(s->cur);
		s->cur = NULL;
	}
	for (;;) {
		if (s->local_end)
			break;
		if (s->head) {
			s->cur = s->head;
			s->head = s->cur->next;
			if (!s->head)
				s->tail = NULL;
			*msg = s->cur->data;
			*len = s->cur->len;
			/* Credit failures end the stream; this message is
			 * still delivered, the next read reports it. */
			if (!s->end_seen)
				(void)give_credit(s, false, st);
			pthread_mutex_unlock(&s->lock);
			return LRPC_OK;
		}
		if (s->end_seen)
			break;
		/* Crediting lets go of the lock: look again after it. */
		if (s->used_msgs) {
			(void)give_credit(s, true, st);
			continue;
		}
		wait_input(s);
	}
	*end = true;
	s->end_read = true;
	code = report(s, st);
	pthread_mutex_unlock(&s->lock);
	return code;
}

static void cs_cancel(struct lrpc__cstream *b)
{
	struct cstream *s = (struct cstream *)b;

	pthread_mutex_lock(&s->lock);
	end_here(s, LRPC_CANCELLED, "stream cancelled");
	pthread_mutex_unlock(&s->lock);
}

static void cs_free(struct lrpc__cstream *b)
{
	struct cstream *s = (struct cstream *)b;

	if (!s->end_seen)
		end_here(s, LRPC_CANCELLED, "stream cancelled");
	s->conn->broken = s->conn->broken || s->local_end || s->dirty ||
			  s->rlen != 0;
	lrpc__sock_give(s->ch, s->conn);
	free(s->cur);
	while (s->head) {
		struct cmsg *m = s->head;

		s->head = m->next;
		free(m);
	}
	free(s->rbuf);
	free(s->wbuf);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->wlock);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static const struct lrpc__cstream_ops cstream_ops = {
	.send = cs_send,
	.close_send = cs_close_send,
	.recv = cs_recv,
	.cancel = cs_cancel,
	.free = cs_free,
};

/* The OPEN frame into s->wbuf, with \p opts' request metadata when it
 * sends some or wants some back (wire/frame.h). \return 0, -ENOMEM. */
static int open_frame(struct cstream *s, uint32_t method_id, int64_t left,
		      const lrpc_call_opts *opts)
{
	struct lrpc__frame f = { .kind = LRPC__FRAME_OPEN, .call_id = s->id,
				 .method_or_code = method_id, .timeout_ns = left };
	size_t n = 0;

	s->md = opts && (opts->n_metadata || opts->headers || opts->trailers);
	if (s->md) {
		n = lrpc__md_block_size(opts->metadata, opts->n_metadata);
		s->headers = opts->headers;
		s->trailers = opts->trailers;
		f.call_md = true;
		f.md_len = f.body_len = (uint32_t)n;
	}
	if (lrpc__buf_reserve(&s->wbuf, &s->wcap, LRPC__FRAME_HDR + n) < 0)
		return -ENOMEM;
	lrpc__frame_put(s->wbuf, &f);
	if (n)
		lrpc__md_block_write(s->wbuf + LRPC__FRAME_HDR, opts->metadata,
				     opts->n_metadata);
	s->md_open = n;
	return 0;
}

lrpc_code lrpc__sock_stream_open(lrpc_channel *c, uint32_t method_id,
				 const char *full_name,
				 lrpc_deadline deadline, const lrpc_call_opts *opts,
				 struct lrpc__cstream **out, lrpc_status *st)
{
	struct sock_chan *ch = c->impl;
	lrpc_deadline now = lrpc_now();
	pthread_condattr_t ca;
	struct sock_conn *conn;
	struct cstream *s;
	lrpc_code code;
	int ret;

	(void)full_name;
	if (now >= deadline)
		return lrpc__status_fail(st, LRPC_DEADLINE_EXCEEDED,
					 "deadline passed before the stream opened");
	code = lrpc__sock_take(ch, deadline, true, &conn, st);
	if (code != LRPC_OK)
		return code;
	s = calloc(1, sizeof(*s));
	if (!s) {
		lrpc__sock_give(ch, conn);
		return lrpc__status_fail(st, LRPC_RESOURCE_EXHAUSTED, "out of memory");
	}
	s->base.ops = &cstream_ops;
	s->base.deadline = deadline;
	s->ch = ch;
	s->conn = conn;
	s->fd = conn->fd;
	s->id = ++conn->next_id;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->wlock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	ret = open_frame(s, method_id, deadline - now, opts);
	/* The server's answer (an END if it refuses) comes with the first
	 * read or the first write that waits for credit. */
	if (ret == 0)
		ret = lrpc__sock_write_all(s->fd, s->wbuf, LRPC__FRAME_HDR + s->md_open,
					   deadline);
	if (ret < 0) {
		code = lrpc__status_from_errno(st, ret, deadline, "opening a stream");
		s->local_end = true;
		cs_free(&s->base);
		return code;
	}
	*out = &s->base;
	return LRPC_OK;
}
