// SPDX-License-Identifier: MIT
/*
 * A unix:// or tcp:// stream, the handler's side (sock_stream_server.h):
 * the stream's own thread runs the handler, which reads the client's
 * messages and queues its frames under the stream's lock; and the frames
 * both sides build.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/sock_stream_server.h"
#include "wire/md_block.h"

struct sout *lrpc__sout_new(struct sstream *s, enum lrpc__frame_kind kind,
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

struct sout *lrpc__sout_end(struct sstream *s, uint64_t id, lrpc_code code,
			    const char *message, const struct lrpc__md_out *md)
{
	size_t n = strnlen(message, LRPC_STATUS_MSG_MAX - 1);
	size_t hl = md ? lrpc__md_block_size(md->headers.v, md->headers.n) : 0;
	size_t tl = md ? lrpc__md_block_size(md->trailers.v, md->trailers.n) : 0;
	struct sout *o = lrpc__sout_new(s, LRPC__FRAME_END, id, n + hl + tl);

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

static void wait_until(struct sstream *s, lrpc_deadline d)
{
	struct timespec ts = { .tv_sec = d / 1000000000, .tv_nsec = d % 1000000000 };

	pthread_cond_timedwait(&s->cond, &s->lock, &ts);
}

void lrpc__sstream_push_out(struct sstream *s, struct sout *o)
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
	o = lrpc__sout_new(s, LRPC__FRAME_WINDOW, s->id, 0);
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
	lrpc__sstream_push_out(s, o);
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
	o = lrpc__sout_new(s, LRPC__FRAME_MSG, s->id, len);
	if (!o)
		return LRPC_RESOURCE_EXHAUSTED;
	put(arg, o->frame + LRPC__FRAME_HDR);
	pthread_mutex_lock(&s->lock);
	lrpc__sstream_push_out(s, o);
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

const struct lrpc__sstream_ops lrpc__sock_sstream_ops = {
	.recv = ss_recv,
	.send = ss_send,
	.max_msg = ss_max_msg,
	.wait = ss_wait,
	.wake = ss_wake,
};

void *lrpc__sstream_thread(void *arg)
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
								  .note = &s->note,
								  .peer = &s->who,
								  .md = md.v, .n_md = md.n },
					  &s->ss, message);
	}
	lrpc__count_call(s->host, code);
	/* The handler's metadata is in the arena until here. */
	o = lrpc__sout_end(s, s->id, code, message, s->md ? &s->ss.md : NULL);
	lrpc__arena_destroy(&arena);
	pthread_mutex_lock(&s->lock);
	if (s->cur) {
		free(s->cur);
		s->cur = NULL;
	}
	s->done = true;
	if (o) {
		lrpc__sstream_push_out(s, o);
	} else { /* no END to send: the loop hangs up instead */
		s->no_end = true;
		uv_async_send(&s->async);
	}
	/* Last touch: the loop frees s once it has seen done, which it reads
	 * under this lock. */
	pthread_mutex_unlock(&s->lock);
	return NULL;
}
