/* SPDX-License-Identifier: MIT */
/*
 * lazyrpc: streams, for client-streaming, server-streaming and
 * bidirectional methods (since 0.2.0).
 *
 * On the wire every streaming method is a bidirectional stream: the client
 * opens it, both sides write messages, the client half-closes, and the
 * server ends it with a status. Generated stubs give each kind its shape
 * (a server-streaming call writes its one request and half-closes at once).
 *
 *   lrpc_stream *s;
 *   if (lrpc_stream_open(ch, &method, lrpc_deadline_after_ms(1000), &s, &st)
 *       == LRPC_OK) {
 *           lrpc_stream_write(s, &req.base, &st);
 *           lrpc_stream_close_send(s, &st);
 *           ProtobufCMessage *m;
 *           while (lrpc_stream_read(s, &m, &st) == LRPC_OK && m)
 *                   use(m);          // valid until the next read
 *           // st: how the server ended the stream
 *           lrpc_stream_free(s);
 *   }
 *
 * Flow control: each direction holds a bounded window of unread messages
 * (the lane's stream ring on lrpc://, a credit in messages and bytes on
 * sockets). A writer whose peer does not read waits, and fails at the
 * stream's deadline or on cancellation; no side buffers without bound.
 *
 * Threading: one thread may write while another reads the same stream;
 * two concurrent writers (or readers) of one stream are not allowed.
 * lrpc_stream_cancel() may be called from any thread at any time before
 * lrpc_stream_free().
 */
#ifndef LAZYRPC_STREAM_H
#define LAZYRPC_STREAM_H

#include "channel.h"
#include "common.h"
#include "service.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lrpc_stream lrpc_stream;

/**
 * Open a stream on \p method (any streaming kind; a unary method fails
 * with INVALID_ARGUMENT) that lasts until \p deadline at the latest. The
 * stream holds one of the channel's call contexts (a lane on lrpc://, a
 * connection on sockets) until lrpc_stream_free(). Blocks at most until
 * \p deadline for one. \p st may be NULL. Thread-safe on \p ch.
 * On LRPC_OK the caller owns *out and releases it with lrpc_stream_free();
 * otherwise *out is NULL.
 * \return the status code: UNIMPLEMENTED if the server has no such method
 * (possibly only on the first read), UNAVAILABLE, DEADLINE_EXCEEDED, ...
 */
LRPC_API lrpc_code lrpc_stream_open(lrpc_channel *ch,
				    const lrpc_method_desc *method,
				    lrpc_deadline deadline, lrpc_stream **out,
				    lrpc_status *st);

/**
 * lrpc_stream_open() with call options (since 0.5.0; \p opts may be NULL):
 * opts->metadata is sent with the open, read before this returns, and
 * stays the caller's. opts->headers and opts->trailers, if set, are
 * emptied here and filled, once, when the stream ends: before the call
 * that reports the end (a read, or a write that learns it) returns, on
 * every end (the server's status, a cancel, the deadline, a broken
 * connection: then with what came, maybe nothing). They must outlive the
 * stream's end or lrpc_stream_free(), whichever is first; read them then,
 * not while the stream runs (its reader may be filling them). Request
 * metadata is checked as lrpc_channel_call_opts() checks it (nothing is
 * opened then). Every transport carries it (lrpc:// since 0.6.0: to an
 * lrpc:// server before 0.6.0 request metadata is UNIMPLEMENTED, saying
 * so, and lists alone stay empty; docs/api.md). \return as
 * lrpc_stream_open().
 */
LRPC_API lrpc_code lrpc_stream_open_opts(lrpc_channel *ch,
					 const lrpc_method_desc *method,
					 lrpc_deadline deadline,
					 const lrpc_call_opts *opts,
					 lrpc_stream **out, lrpc_status *st);

/**
 * Send \p msg (of the method's input type). Returns once it is in the
 * stream's window; blocks while the window is full, until the deadline.
 * \return LRPC_OK; INVALID_ARGUMENT (wrong type, or after close_send);
 * RESOURCE_EXHAUSTED (larger than lrpc_channel_max_msg()); or the code the
 * stream ended with (CANCELLED, DEADLINE_EXCEEDED, UNAVAILABLE, or the
 * server's status if it ended the stream first; read it to learn it).
 */
LRPC_API lrpc_code lrpc_stream_write(lrpc_stream *s,
				     const ProtobufCMessage *msg,
				     lrpc_status *st);

/** The same with \p len bytes at \p buf, not checked. For tools and tests. */
LRPC_API lrpc_code lrpc_stream_write_raw(lrpc_stream *s, const void *buf,
					 size_t len, lrpc_status *st);

/**
 * Half-close: no more writes; the server's reads see the end. Idempotent.
 * \return LRPC_OK or the code the stream ended with.
 */
LRPC_API lrpc_code lrpc_stream_close_send(lrpc_stream *s, lrpc_status *st);

/**
 * Wait (until the deadline) for the next message from the server.
 * \return LRPC_OK with *msg set: a message of the method's output type,
 * owned by the stream and valid until the next read or lrpc_stream_free();
 * LRPC_OK with *msg NULL: the server ended the stream with OK;
 * any other code: the stream ended so (the server's status, CANCELLED,
 * DEADLINE_EXCEEDED, UNAVAILABLE when the server went away, INTERNAL for a
 * message that does not decode), *msg NULL, \p st says why. Every read
 * after the end returns the same.
 */
LRPC_API lrpc_code lrpc_stream_read(lrpc_stream *s, ProtobufCMessage **msg,
				    lrpc_status *st);

/**
 * The same with bytes: the next message is copied to \p buf (capacity
 * \p cap), its length stored in *len and *end set to 0; a message longer
 * than \p cap fails the stream with RESOURCE_EXHAUSTED. At the end (a
 * message may be empty, so only *end tells): *end 1, *len 0, and the code
 * lrpc_stream_read() returns there.
 */
LRPC_API lrpc_code lrpc_stream_read_raw(lrpc_stream *s, void *buf, size_t cap,
					size_t *len, int *end,
					lrpc_status *st);

/**
 * Cancel the stream: blocked and later operations return CANCELLED and
 * the server's handler sees lrpc_call_cancelled(). Thread-safe, never
 * blocks; after the stream ended it does nothing.
 */
LRPC_API void lrpc_stream_cancel(lrpc_stream *s);

/**
 * Release the stream and its call context, cancelling it first if it has
 * not ended. No other operation on \p s may be in progress. NULL allowed.
 */
LRPC_API void lrpc_stream_free(lrpc_stream *s);

/* --- Inside a streaming handler ---------------------------------------- */

/* The server's side of one stream; valid only inside its handler. */
typedef struct lrpc_server_stream lrpc_server_stream;

/**
 * Wait (until the call's deadline) for the client's next message.
 * \return LRPC_OK with *msg set (the method's input type, owned by the
 * runtime, valid until the next read or the handler's return); LRPC_OK
 * with *msg NULL: the client half-closed; CANCELLED (the client cancelled
 * or went away), DEADLINE_EXCEEDED, or INVALID_ARGUMENT (a message that
 * does not decode): the handler should return (that code or its own).
 */
LRPC_API lrpc_code lrpc_server_stream_read(lrpc_server_stream *s,
					   ProtobufCMessage **msg);

/**
 * Send \p msg (the method's output type) to the client. Blocks while the
 * client's window is full, until the deadline. \return LRPC_OK, or
 * CANCELLED / DEADLINE_EXCEEDED / RESOURCE_EXHAUSTED (too large): the
 * handler should return.
 */
LRPC_API lrpc_code lrpc_server_stream_write(lrpc_server_stream *s,
					    const ProtobufCMessage *msg);

/**
 * Wait, without reading, until another thread calls
 * lrpc_server_stream_wake() on \p s (a wake that came since the last wait
 * counts: none is lost), the stream ends for the handler (the client
 * cancelled or went away, the server stops) or the call's deadline: for a
 * handler that sends when something else happens (a health Watch). On the
 * handler's thread only. \return LRPC_OK (woken), CANCELLED,
 * DEADLINE_EXCEEDED. Since 0.3.0.
 */
LRPC_API lrpc_code lrpc_server_stream_wait(lrpc_server_stream *s);

/**
 * From any thread, while \p s's handler runs: make its
 * lrpc_server_stream_wait() (in progress, or the next) return LRPC_OK.
 * Never blocks beyond a short lock. Since 0.3.0.
 */
LRPC_API void lrpc_server_stream_wake(lrpc_server_stream *s);

/** \return the call of \p s (deadline, method, cancellation, memory). */
LRPC_API lrpc_call *lrpc_server_stream_call(lrpc_server_stream *s);

#ifdef __cplusplus
}
#endif
#endif
