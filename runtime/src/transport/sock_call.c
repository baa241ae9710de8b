// SPDX-License-Identifier: MIT
/*
 * One unary call on a unix:// or tcp:// connection (sock_server.c): its
 * request copied out of the read buffer, its handler run on the libuv
 * worker pool (or, with inline_handlers, on the loop itself), its reply
 * written by the loop. Until the reply is known, a call holds room for
 * the largest one in its connection's held (max_conn_buffer).
 *
 * A CANCEL frame with a call's id (wire/frame.h), or its connection's
 * end, sets the call's own cancel flag and fires its notification
 * (lrpc_call_on_cancel); a call its client cancelled is answered with a
 * bare CANCELLED header instead of its reply, so that every request still
 * gets exactly one frame and the client knows when a connection it keeps
 * is clean again.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/dispatch.h"
#include "transport/sock_md.h"
#include "transport/sock_server.h"

struct swork {
	uv_work_t work;
	uv_write_t write;
	struct sconn *conn;
	struct lrpc__frame f;
	unsigned char *body; /* request payload, then the whole reply frame */
	size_t out_len;
	size_t held; /* what this call counts in its connection's held */
	_Atomic int cancel; /* for lrpc_call_cancelled() */
	bool cancel_frame;  /* the client sent CANCEL (loop thread) */
	bool answered;      /* after_work ran (loop thread) */
	struct lrpc__cancel_note note;
	struct swork *prev, *next; /* on conn->calls, until work_free */
};

/* The room a call holds for its reply until the reply is known (with
 * response metadata, when its client reads that). */
static size_t reply_reserve(const struct lrpc__host *h, bool md)
{
	return h->opts.max_msg_size + LRPC__FRAME_HDR + LRPC_STATUS_MSG_MAX +
	       (md ? 2 * LRPC__MD_BLOCK_MAX : 0);
}

static void hold(struct sconn *c, struct swork *w, size_t bytes)
{
	lrpc__sconn_hold(c, (ptrdiff_t)bytes - (ptrdiff_t)w->held);
	w->held = bytes;
}

/* Off its connection's list, and freed. */
static void unlink_free(struct swork *w)
{
	struct sconn *c = w->conn;

	hold(c, w, 0);
	if (w->prev)
		w->prev->next = w->next;
	else
		c->calls = w->next;
	if (w->next)
		w->next->prev = w->prev;
	lrpc__cancel_note_destroy(&w->note);
	free(w->body);
	free(w);
}

/* A call is over, its reply sent or not. */
static void work_free(struct swork *w)
{
	struct sconn *c = w->conn;

	unlink_free(w);
	lrpc__sconn_done(c);
}

/* Loop thread: @w was given up on (@frame: by its client's CANCEL). */
static void cancel(struct swork *w, bool frame)
{
	/* Its answer will be a bare header: the room reserved for its reply
	 * goes back now, so that calls given up on, with handlers that do
	 * not look, never hold a connection's later calls back. (A reply
	 * packed meanwhile lives until after_work, unaccounted: at most one
	 * per worker thread.) */
	if (frame && !w->cancel_frame && !w->answered)
		hold(w->conn, w, w->f.body_len + LRPC__FRAME_HDR);
	w->cancel_frame = w->cancel_frame || frame;
	atomic_store(&w->cancel, 1);
	lrpc__cancel_note_fire(&w->note);
}

bool lrpc__scall_cancel(struct sconn *c, uint64_t call_id)
{
	for (struct swork *w = c->calls; w; w = w->next)
		if (w->f.call_id == call_id) {
			cancel(w, true);
			return true;
		}
	return false;
}

void lrpc__scalls_cancel(struct sconn *c)
{
	for (struct swork *w = c->calls; w; w = w->next)
		cancel(w, false);
}

unsigned char *lrpc__sock_error_frame(uint64_t call_id, lrpc_code code,
				      const char *message, size_t *len)
{
	size_t msg_len = strnlen(message, LRPC_STATUS_MSG_MAX - 1);
	struct lrpc__frame f = {
		.body_len = (uint32_t)msg_len,
		.call_id = call_id,
		.method_or_code = (uint32_t)code,
		.msg_len = (uint32_t)msg_len,
	};
	unsigned char *out = malloc(LRPC__FRAME_HDR + msg_len);

	if (!out)
		return NULL;
	lrpc__frame_put(out, &f);
	memcpy(out + LRPC__FRAME_HDR, message, msg_len);
	*len = LRPC__FRAME_HDR + msg_len;
	return out;
}

/* An OK reply's payload goes after the frame header. */
static unsigned char *frame_room(void *ctx, size_t len)
{
	unsigned char **out = ctx;

	*out = malloc(LRPC__FRAME_HDR + len);
	return *out ? *out + LRPC__FRAME_HDR : NULL;
}

/* On a worker thread: the handler runs here, never on the loop. */
static void work_cb(uv_work_t *req)
{
	struct swork *w = req->data;
	struct lrpc__host *h = w->conn->host;
	lrpc_deadline now = lrpc_now(), deadline;
	size_t req_len = w->f.body_len - w->f.md_len;
	struct lrpc__reply rep = { .len = 0 };
	struct lrpc__md_set md = { 0 };
	struct lrpc__arena arena;
	unsigned char *out = NULL;

	/* The peer sends time left, not a clock reading: its clock is not
	 * ours when it is on another host. */
	deadline = w->f.timeout_ns <= 0 ? now :
		   w->f.timeout_ns > INT64_MAX - now ? INT64_MAX :
		   now + w->f.timeout_ns;
	lrpc__arena_init(&arena);
	if (atomic_load(&w->cancel)) {
		/* Given up on while it waited for a worker: never run it. */
		rep.code = LRPC_CANCELLED;
		snprintf(rep.message, sizeof(rep.message), "cancelled by the client");
	} else if (w->f.md_len && lrpc__md_set_from_block(&md, &arena, w->body + req_len,
						   w->f.md_len) < 0) {
		rep.code = LRPC_INVALID_ARGUMENT;
		snprintf(rep.message, sizeof(rep.message),
			 "request metadata (%u bytes) is malformed, refused or past %u bytes",
			 w->f.md_len, LRPC_METADATA_MAX);
		atomic_fetch_add(&h->stats.protocol_errors, 1);
	} else {
		lrpc__serve_from(&h->registry, &arena, w->f.method_or_code, w->body,
				 req_len, deadline, h->opts.max_msg_size,
				 frame_room, &out,
				 &(struct lrpc__origin){ .cancel = &w->cancel,
							 .note = &w->note,
							 .peer = &w->conn->who,
							 .md = md.v, .n_md = md.n },
				 &rep);
	}
	if (rep.code == LRPC_OK) {
		struct lrpc__frame f = {
			.body_len = (uint32_t)rep.len,
			.call_id = w->f.call_id,
			.method_or_code = LRPC_OK,
		};

		lrpc__frame_put(out, &f);
		w->out_len = LRPC__FRAME_HDR + rep.len;
	} else {
		free(out);
		out = lrpc__sock_error_frame(w->f.call_id, rep.code, rep.message,
				  &w->out_len);
	}
	/* Only a client that said it reads them gets headers and trailers
	 * (wire/frame.h); they are in the arena until here. */
	if (out && w->f.call_md && lrpc__sock_md_put_reply(&out, &w->out_len, &rep.md) < 0) {
		free(out);
		rep.code = LRPC_RESOURCE_EXHAUSTED;
		out = lrpc__sock_error_frame(w->f.call_id, rep.code,
				  "out of memory for the response metadata", &w->out_len);
	}
	lrpc__arena_destroy(&arena);
	free(w->body);
	w->body = out;
	lrpc__count_call(h, rep.code);
}

static void write_done(uv_write_t *req, int status)
{
	struct swork *w = req->data;
	struct sconn *c = w->conn;

	if (status < 0)
		lrpc__sconn_close(c, false);
	work_free(w);
}

static void after_work(uv_work_t *req, int status)
{
	struct swork *w = req->data;
	struct sconn *c = w->conn;
	uv_buf_t b;

	w->answered = true;
	/* Its client gave up on it: a bare CANCELLED header instead. */
	if (w->cancel_frame && w->body) {
		struct lrpc__frame f = {
			.call_id = w->f.call_id,
			.method_or_code = LRPC_CANCELLED,
		};

		lrpc__frame_put(w->body, &f);
		w->out_len = LRPC__FRAME_HDR;
	}
	/* The reply is known: it replaces the request and the reservation. */
	hold(c, w, w->body ? w->out_len : 0);
	b = uv_buf_init((char *)w->body, (unsigned int)w->out_len);
	if (status < 0 || !w->body || c->closing ||
	    uv_write(&w->write, &c->h.stream, &b, 1, write_done) < 0)
		work_free(w);
	/* Otherwise the call is over once its reply is written (write_done). */
}

bool lrpc__scall_room(const struct sconn *c, const struct lrpc__frame *f)
{
	const struct lrpc__host *h = c->host;

	return !c->inflight ||
	       (c->inflight < h->opts.max_pipelined &&
		c->held + f->body_len + reply_reserve(h, f->call_md) <=
			h->conn_buffer);
}

bool lrpc__scall_take(struct sconn *c, const struct lrpc__frame *f,
		      const unsigned char *body)
{
	struct lrpc__host *h = c->host;
	struct swork *w = calloc(1, sizeof(*w));

	if (w)
		w->body = malloc(f->body_len ? f->body_len : 1);
	if (!w || !w->body) {
		if (w)
			free(w);
		lrpc__sconn_reject(c, f->call_id, LRPC_RESOURCE_EXHAUSTED, "out of memory");
		return false;
	}
	memcpy(w->body, body, f->body_len);
	w->f = *f;
	w->conn = c;
	lrpc__cancel_note_init(&w->note, &w->cancel);
	w->next = c->calls;
	if (c->calls)
		c->calls->prev = w;
	c->calls = w;
	hold(c, w, f->body_len + reply_reserve(h, f->call_md));
	w->work.data = w;
	w->write.data = w;
	c->inflight++;
	if (h->opts.inline_handlers) {
		work_cb(&w->work);
		after_work(&w->work, 0);
		/* A failed write closes the connection: stop here. */
		return !c->closing;
	}
	if (uv_queue_work(&h->loop, &w->work, work_cb, after_work) < 0) {
		c->inflight--;
		unlink_free(w);
		lrpc__sconn_reject(c, f->call_id, LRPC_UNAVAILABLE, "server is stopping");
		return false;
	}
	return true;
}
