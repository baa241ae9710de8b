/* SPDX-License-Identifier: MIT */
/*
 * One asynchronous call between its start (client/async.c) and its
 * callback (client/cq.c), as the transports see it: request bytes to
 * send, and a completion to report exactly once, from whatever thread.
 *
 * Life: a call is made with two references, the cq's (dropped once its
 * callback ran) and the transport's (dropped with lrpc__pending_put()
 * when the transport no longer points at it). It finishes once, under
 * its cq's lock, by whichever comes first: the transport's
 * lrpc__pending_done(), lrpc_async_cancel(), or its deadline (the cq's
 * timer). A transport that finds a call it still holds finished (by
 * lrpc__pending_finished()) drops it; for one in flight the cq calls the
 * channel's abandon op so that the transport can tell the server.
 */
#ifndef LRPC_PENDING_H
#define LRPC_PENDING_H

#include <stdatomic.h>

#include <lazyrpc/async.h>

#include "core/internal.h"

struct lrpc_async;

/* Take the reply while the transport holds it (decode or copy). \return
 * LRPC_OK or why not (then st is filled). Any thread. */
typedef lrpc_code (*lrpc__take_fn)(struct lrpc_async *p,
				   const unsigned char *rep, size_t len,
				   lrpc_status *st);

struct lrpc_async {
	/* For the transport, read-only. */
	lrpc_channel *ch;
	uint32_t method_id;
	const char *full_name; /* "/pkg.Svc/M", NULL for a raw call */
	lrpc_deadline deadline;   /* resolved */
	unsigned char *req;       /* the encoded request */
	size_t req_len;
	/* The transport's, under its own lock. */
	struct lrpc_async *next;
	void *tctx; /* e.g. the lane carrying it, NULL when not in flight */
	bool resent; /* sent once more after a refusal: never again */

	/* async.c */
	lrpc__take_fn take;
	/* A stream operation (stream_async.c): run on a pool thread instead
	 * of a unary call, and what a cancel or deadline does to it. */
	void (*run)(struct lrpc_async *p);
	void (*abandon)(struct lrpc_async *p);
	lrpc_stream *stream;
	/* Run by async_pool.c: the channel's abandon must not look at it. */
	_Atomic bool pooled;
	const lrpc_method_desc *method;
	union {
		lrpc_call_cb msg;
		lrpc_call_raw_cb raw;
		lrpc_stream_cb stream;
	} cb;
	void *arg;
	/* intercept.h: a unary call's passage through the channel's client
	 * interceptors, NULL without them; its afters run before cb. */
	struct lrpc__cic *ic;
	/* async_md.h: a unary call's options (lrpc_channel_call_async_opts),
	 * NULL without them. Every start (the transports' and the pool's)
	 * sends md->opts.metadata and fills the private lists md->opts
	 * points at; lrpc__pending_done() hands those to the caller's. */
	struct lrpc__async_md *md;
	ProtobufCMessage *rep; /* a decoded reply, until the callback */
	unsigned char *raw;    /* a copied raw reply */
	size_t raw_len;

	/* cq.c, under the cq's lock */
	lrpc_cq *cq;
	_Atomic int refs;
	bool done;
	size_t heap_idx; /* in the cq's deadline heap; SIZE_MAX: not there */
	struct lrpc_async *done_next;
	lrpc_code code;
	lrpc_status st;
};

/* Transport, any thread, once: the call's outcome. On LRPC_OK \p rep
 * (\p len bytes) is the reply, read during this call only. Nothing
 * happens if the call has finished already. */
void lrpc__pending_done(struct lrpc_async *p, lrpc_code code,
			const unsigned char *rep, size_t len,
			const lrpc_status *st);
/* The same with a status made here. */
void lrpc__pending_fail(struct lrpc_async *p, lrpc_code code,
			const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Has the call finished (its callback may be running or have run)? A
 * hint that turns true once and stays. */
bool lrpc__pending_finished(struct lrpc_async *p);
/* Drop the transport's reference. */
void lrpc__pending_put(struct lrpc_async *p);

/* cq.c, for async.c: count the call on \p cq and put its deadline on the
 * cq's timer; the call has both references. \return 0, -ENOMEM. */
int lrpc__cq_add(lrpc_cq *cq, struct lrpc_async *p);
/* The cq's thread: finish \p p with CANCELLED (if it has not finished)
 * and let the transport know. */
void lrpc__cq_cancel(struct lrpc_async *p);

/* async.c: put \p p (its fields for the transport set) on \p cq and, if
 * \p why_not is NULL and nothing else fails it first, start it on \p ch.
 * \return 0 (its callback will run), -ENOMEM (\p p is freed). */
int lrpc__async_start(lrpc_channel *ch, struct lrpc_async *p,
		      lrpc_deadline deadline, lrpc_cq *cq, const char *why_not);

/* async.c, for cq.c: run the callback of a finished call, then free what
 * the call held except its memory. */
void lrpc__pending_callback(struct lrpc_async *p);
/* async.c: free the call's memory (refs are 0). */
void lrpc__pending_free(struct lrpc_async *p);

/* async_pool.c: the fallback for transports (or hand-offs) that cannot
 * send without waiting, and for stream operations: run the call
 * synchronously on one of a few threads the channel owns. The channel's
 * start op when it has none. */
void lrpc__async_pool_start(lrpc_channel *ch, struct lrpc_async *p);
/* channel close: stop the pool's threads (no call may be outstanding). */
void lrpc__async_pool_close(lrpc_channel *ch);

/* stream.c, for stream_async.c: a read whose message the caller owns
 * (free it with protobuf_c_message_free_unpacked()), and what a stream
 * belongs to. */
lrpc_code lrpc__stream_read_owned(lrpc_stream *s, ProtobufCMessage **msg,
				  lrpc_status *st);
lrpc_channel *lrpc__stream_channel(const lrpc_stream *s);
lrpc_deadline lrpc__stream_deadline(const lrpc_stream *s);
const lrpc_method_desc *lrpc__stream_method(const lrpc_stream *s);

/* The channel's queue bound (async_queue_max, resolved). */
unsigned int lrpc__async_queue_max(const lrpc_channel *ch);

/* async.c: a transport's queue of calls waiting for a call context, under
 * the transport's lock. A queued call's tctx is the queue; abandon (a
 * cancel or deadline) sets it NULL and uncounts it, and the transport
 * drops such calls as it pops them. */
struct lrpc__aqueue {
	struct lrpc_async *head, *tail;
	unsigned int live; /* queued and not abandoned */
};
/* Append \p p, unless \p max calls wait already: then \p p fails with
 * RESOURCE_EXHAUSTED and is put. \return whether it was queued. */
bool lrpc__aqueue_push(struct lrpc__aqueue *q, struct lrpc_async *p,
		       unsigned int max);
/* Put \p p back at the head (a call the peer refused unseen), whatever
 * the bound. */
void lrpc__aqueue_requeue(struct lrpc__aqueue *q, struct lrpc_async *p);
/* The head, taken off (NULL if empty); uncounted if it was live. */
struct lrpc_async *lrpc__aqueue_pop(struct lrpc__aqueue *q);
/* Close: every call still queued ends CANCELLED ("channel closed"). */
void lrpc__aqueue_cancel_all(struct lrpc__aqueue *q);
/* Abandon: \return true if \p p was waiting in \p q (now uncounted). */
bool lrpc__aqueue_abandon(struct lrpc__aqueue *q, struct lrpc_async *p);

#endif
