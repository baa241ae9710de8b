/* SPDX-License-Identifier: MIT */
/*
 * grpc:// streaming methods (grpc_stream.c): the handler runs on a thread
 * of its own and meets the loop under conn->lock. The loop-thread entry
 * points below are called by grpc_call.c and grpc_conn.c; the handler
 * reaches the stream through struct lrpc__sstream_ops (serve/stream.h).
 */
#ifndef LRPC_GRPC_STREAM_H
#define LRPC_GRPC_STREAM_H

#include "transport/grpc_server.h"

/* Loop thread: the headers passed; start the handler's thread (on
 * failure the stream is answered with the reason). */
void lrpc__gsync_start(struct gstream *s);
/* Loop thread: DATA for the handler; its window opens as it reads. */
void lrpc__gsync_data(struct gstream *s, const uint8_t *data, size_t len);
/* Loop thread: the client half-closed. */
void lrpc__gsync_end(struct gstream *s);
/* Loop thread: the stream is over (closed, reset, answered by the
 * loop): wake the handler, whose reads and writes then fail with
 * CANCELLED. */
void lrpc__gsync_closed(struct gstream *s);
/* Loop thread: the server is stopping. A stream's handler may wait for
 * ever (a watch, a bidi stream without deadline), so it is ended here
 * with UNAVAILABLE, as socket streams are: its reads and writes fail,
 * lrpc_call_cancelled() says so, and the connection can close. */
void lrpc__gsync_stop(struct gstream *s);
/* Loop thread: the deadline passed. Ended as by a stop, with
 * DEADLINE_EXCEEDED (trailers after what was sent, which grpc_session.c
 * follows with RST_STREAM NO_ERROR while the client still sends); a
 * handler that already returned keeps its answer. */
void lrpc__gsync_expire(struct gstream *s);
/* Loop thread, inside nghttp2_session_mem_send: the next DATA bytes. */
ssize_t lrpc__gsync_read_out(struct gstream *s, uint8_t *buf, size_t length,
			     uint32_t *flags);
/* Loop thread: the connection is closing; handlers stop waking it and
 * queued asks are dropped. */
void lrpc__gsync_conn_closing(struct gconn *c);
/* Any thread, last reference: free what the stream's handler used. */
void lrpc__gsync_free(struct gstream *s);

#endif
