/* SPDX-License-Identifier: MIT */
/*
 * The server's side of a stream, whatever carries it (stream.c). A
 * transport that carries streams embeds an lrpc_server_stream in its own
 * stream state, fills in ops, and runs lrpc__serve_stream() on the thread
 * that is to run the handler; when that returns, the transport sends the
 * end of the stream with the code and message it gives.
 */
#ifndef LRPC_SERVE_STREAM_H
#define LRPC_SERVE_STREAM_H

#include <lazyrpc/stream.h>

#include "serve/dispatch.h"

/* Writes a message's \p len bytes at \p buf; given by the stream layer. */
typedef void (*lrpc__put_fn)(const void *arg, unsigned char *buf);

/*
 * A transport's stream, server side. recv and send are called only from
 * the handler's thread (one at a time); cancelled from any thread. None
 * is called after lrpc__serve_stream() returned.
 */
struct lrpc__sstream_ops {
	/* Block until the client's next message, its half-close, or the
	 * end of the call. \return LRPC_OK with *msg and *len (valid until the
	 * next recv; the bytes may be in memory the client can rewrite) or
	 * with *end set at the half-close; CANCELLED (client cancelled or
	 * gone), DEADLINE_EXCEEDED (at \p deadline). */
	lrpc_code (*recv)(struct lrpc_server_stream *s, lrpc_deadline deadline,
			  const unsigned char **msg, size_t *len, bool *end);
	/* Block until the client's window has room for \p len bytes, then
	 * have put() write them there and send them. \return LRPC_OK,
	 * CANCELLED, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED (larger than the
	 * transport carries). */
	lrpc_code (*send)(struct lrpc_server_stream *s, lrpc_deadline deadline,
			  size_t len, lrpc__put_fn put, const void *arg);
	/* Largest message send takes. */
	size_t (*max_msg)(const struct lrpc_server_stream *s);
	/* Block until s->woken is set (take it: LRPC_OK), the end of the
	 * call (CANCELLED, as recv sees it) or \p deadline
	 * (DEADLINE_EXCEEDED). Handler's thread. */
	lrpc_code (*wait)(struct lrpc_server_stream *s, lrpc_deadline deadline);
	/* Any thread, while the handler runs, after s->woken was set: make
	 * a wait in progress look at it. */
	void (*wake)(struct lrpc_server_stream *s);
};

struct lrpc_server_stream {
	const struct lrpc__sstream_ops *ops;
	_Atomic int woken;            /* lrpc_server_stream_wake() since the last wait */
	struct lrpc_call *call;       /* set by lrpc__serve_stream */
	struct lrpc__arena msg_arena; /* the last message read; stream.c */
	/* Once lrpc__serve_stream() returned: the handler's headers (if no
	 * message carried them) and trailers, in its arena. While it runs,
	 * send reads call->out.headers at the first message. */
	struct lrpc__md_out md;
};

/*
 * Serve a stream opened on \p method_id until its handler returns (on
 * the calling thread), with what the transport knows of its origin
 * (\p from, may be NULL: serve/dispatch.h). Everything the call allocated is in \p arena, which the
 * caller resets afterwards. \return the code that ends the stream; its
 * message is in \p message (LRPC_STATUS_MSG_MAX bytes).
 */
lrpc_code lrpc__serve_stream(const struct lrpc__registry *reg,
			     struct lrpc__arena *arena, uint32_t method_id,
			     lrpc_deadline deadline,
			     const struct lrpc__origin *from,
			     struct lrpc_server_stream *s, char *message);

#endif
