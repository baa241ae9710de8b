/* SPDX-License-Identifier: MIT */
/*
 * Streams on the server side of unix:// and tcp:// (frames: wire/frame.h),
 * as their two halves share them: the handler's side
 * (sock_stream_handler.c) and the loop's (sock_stream_server.c).
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
#ifndef LRPC_SOCK_STREAM_SERVER_H
#define LRPC_SOCK_STREAM_SERVER_H

#include <pthread.h>

#include "serve/stream.h"
#include "transport/sock_server.h"

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
	/* Fired, outside lock, wherever cancel is set (lrpc_call_on_cancel). */
	struct lrpc__cancel_note note;
};

/* sock_stream_handler.c. */
/* A frame of @kind for stream @id with room for @body bytes after its
 * header (written by the caller); malloc'd, NULL without memory. */
struct sout *lrpc__sout_new(struct sstream *s, enum lrpc__frame_kind kind,
			    uint64_t id, size_t body);
/* An END frame with @code and @message, and @md's blocks (NULL: none). */
struct sout *lrpc__sout_end(struct sstream *s, uint64_t id, lrpc_code code,
			    const char *message, const struct lrpc__md_out *md);
/* Queue @o for the loop to write and wake it. Under s->lock. */
void lrpc__sstream_push_out(struct sstream *s, struct sout *o);
/* What the handler reads and writes through (serve/stream.h). */
extern const struct lrpc__sstream_ops lrpc__sock_sstream_ops;
/* The stream's thread: runs the handler, then queues its END (or, with
 * no memory for one, sets no_end) and wakes the loop. */
void *lrpc__sstream_thread(void *arg);

#endif
