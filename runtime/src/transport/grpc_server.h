/* SPDX-License-Identifier: MIT */
/*
 * grpc:// server, private to grpc_conn.c (connections: the socket, the
 * nghttp2 session, GOAWAY, limits) and grpc_call.c (one HTTP/2 stream:
 * the request's headers, its messages, running the handler, the
 * response). See grpc_conn.c's header comment for limits and threads.
 *
 * Threads: everything here belongs to the loop thread, except the
 * members marked "handler" (a worker or a stream's own handler thread,
 * under conn->lock where marked) and the atomics.
 */
#ifndef LRPC_GRPC_SERVER_H
#define LRPC_GRPC_SERVER_H

#include <nghttp2/nghttp2.h>
#include <pthread.h>
#include <stdatomic.h>

#include "serve/dispatch.h"
#include "serve/host.h"
#include "serve/stream.h"
#include "transport/grpc_md.h"
#include "transport/tls.h"
#include "transport/transport.h"
#include "wire/grpc.h"

/* What a request's headers may add up to, counted as
 * SETTINGS_MAX_HEADER_LIST_SIZE counts: the metadata's own limit plus
 * 8 KiB (what PROTOCOL-HTTP2.md suggests) for gRPC's headers. */
#define LRPC__GRPC_HEADER_MAX (LRPC_METADATA_MAX + 8192u)
#define LRPC__GRPC_PATH_MAX 256u

struct gconn;

struct gstream {
	struct gconn *conn;
	struct gstream *prev, *next; /* conn's live streams */
	int32_t id;
	/* nghttp2's until the stream closes, a unary worker's, a streaming
	 * handler's, a queued ask's; the last one frees it, on any thread. */
	_Atomic int refs;

	/* The request's headers, as they arrive. */
	size_t header_bytes;
	char path[LRPC__GRPC_PATH_MAX];
	bool post, te, grpc_type, any_type, encoded;
	bool bad_timeout;
	lrpc_deadline deadline; /* INT64_MAX: none given */
	char encoding[32];

	struct lrpc__grpc_md_in md_in; /* the request's custom metadata */

	const struct lrpc__method_entry *entry; /* once the headers pass */
	struct lrpc__grpc_msgq in;
	bool half_closed;  /* the client's END_STREAM arrived */
	bool closed;       /* nghttp2 closed it (or the connection went) */
	bool answered;     /* a response (or RST_STREAM) is submitted */
	bool expired;      /* its deadline came (lrpc__gstream_expire) */
	bool running;      /* a handler has it */
	_Atomic int cancel; /* set when the client cancels or goes */
	/* Fired with cancel (lrpc__gstream_cancel), for lrpc_call_on_cancel. */
	struct lrpc__cancel_note note;

	/* The response: one message (unary) or the stream's queue. */
	unsigned char *out;
	size_t out_len, out_off, out_cap;
	lrpc_code code;
	char message[LRPC_STATUS_MSG_MAX];
	/* The handler's headers and trailers, packed by the thread that ran
	 * it; a failure the loop sends carries them only once md_final is
	 * set (the handler returned), never while a handler writes them. */
	struct lrpc__grpc_nvs hdrs, trls;
	_Atomic bool md_final;

	uv_work_t work;
	struct gstream_sync *sync; /* streaming methods only (grpc_call.c) */
};

struct gconn {
	struct lrpc__peer peer; /* first: the host's list sees only this */
	union lrpc__uv_stream h; /* TCP, or a pipe for grpc+unix:// */
	enum lrpc__scheme scheme; /* what it counts in host->active[] */
	lrpc_peer who; /* the client, for lrpc_call_peer() */
	uv_timer_t timer; /* the earliest deadline, or the idle timeout */
	uv_async_t wake;  /* handler threads -> loop (streams) */
	/* The three handles until closed, and each stream not yet freed:
	 * the last reference (maybe a handler thread's) frees it. */
	_Atomic int refs;
	struct lrpc__host *host;
	nghttp2_session *ng; /* NULL once the connection is closing */
	struct gstream *streams; /* live ones */
	/* The last unary request's buffer (at most 1 MiB), for the next
	 * stream: no malloc, free and fresh pages per call. */
	struct lrpc__grpc_msgq spare;
	/* The same for the last unary reply's buffer, under lock: handlers'
	 * workers take it, the loop gives it back. */
	unsigned char *spare_out;
	size_t spare_out_cap;
	uint64_t idle_since;
	bool closing, writing, goaway;

	struct lrpc__tls *tls; /* grpcs:// only: the session's TLS */
	/* Keepalive (uv_now ms): when the client was last heard, and the
	 * PING that waits for it to be heard again. */
	uint64_t heard_at, ping_at;
	bool pinging;
	unsigned char *wbuf; /* the one write in flight, or being filled */
	size_t wlen, wcap;
	uv_write_t wreq;
	/* lrpc__gconn_pull's output while it runs (NULL otherwise): where a
	 * reply's DATA goes from its own buffer (lrpc__gstream_send_out). */
	int (*put)(struct gconn *c, const uint8_t *p, size_t n);
	size_t pulled, batch; /* what this pull put, and its budget */

	/* Streaming handler threads and the loop, under lock: what each
	 * stream's handler and loop share (grpc_stream.c), the streams that
	 * asked the loop for something, and whether wake still works. */
	pthread_mutex_t lock;
	struct gstream_sync *asks;
	bool wake_closed;
};

/* grpc_session.c: make c->ng, the server session, with our SETTINGS
 * queued. \return 0 or -ENOMEM. */
int lrpc__gconn_session_new(struct gconn *c);
/* grpc_conn.c: write what nghttp2 has to send, close when it is done. */
void lrpc__gconn_flush(struct gconn *c);
/* grpc_conn.c: the deadline timer must look again (a stream started). */
void lrpc__gconn_arm(struct gconn *c);

/* grpc_call.c, the loop thread: nghttp2's callbacks, per stream. */
struct gstream *lrpc__gstream_new(struct gconn *c, int32_t id);
/* A header of the request (or the client's trailers: ignored). */
int lrpc__gstream_header(struct gstream *s, const nghttp2_frame *f,
			 const uint8_t *name, size_t nlen,
			 const uint8_t *value, size_t vlen);
/* The request's headers are complete. */
void lrpc__gstream_headers_done(struct gstream *s);
void lrpc__gstream_data(struct gstream *s, const uint8_t *data, size_t len);
void lrpc__gstream_end(struct gstream *s); /* the client's END_STREAM */
/* nghttp2 closed it, or the connection is going. */
void lrpc__gstream_closed(struct gstream *s);
/* The deadline passed: the handler sees it cancelled and the client gets
 * DEADLINE_EXCEEDED (Trailers-Only, or trailers after what was sent),
 * unless the handler's own answer came first. */
void lrpc__gstream_expire(struct gstream *s);
/* The loop's turn at a streaming handler's requests (conn->wake). */
void lrpc__gstream_serve_asks(struct gconn *c);
/* Answer now with \p code, Trailers-Only (\p http: the :status). */
void lrpc__gstream_fail(struct gstream *s, int http, lrpc_code code,
			const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Drop a reference; the last frees it and may free the connection. */
void lrpc__gstream_put(struct gstream *s);
/* grpc_conn.c, any thread: drop a reference (a stream was freed); the
 * last frees the connection. */
void lrpc__gconn_unref(struct gconn *c);
/* grpc_conn.c: bytes from the client into the session. \return 0, or
 * -EPROTO: close now (not HTTP/2 at all). */
int lrpc__gconn_recv(struct gconn *c, const uint8_t *p, size_t n);
/* grpc_conn.c: take what the session has to send, up to about \p batch
 * bytes, handing each piece to \p put. \return 0, -EPROTO, -ENOMEM. */
int lrpc__gconn_pull(struct gconn *c, size_t batch,
		     int (*put)(struct gconn *c, const uint8_t *p, size_t n));
/* grpc_tls.c, grpcs://: ciphertext from the client, through TLS into the
 * session; and the session's output through TLS into c->wbuf. \return 0,
 * or < 0: close the connection. */
int lrpc__gconn_tls_recv(struct gconn *c, const uint8_t *p, size_t n);
int lrpc__gconn_tls_fill(struct gconn *c, size_t batch);
/* grpc_call.c: the response's HEADERS, with the body from read_out. */
int lrpc__gstream_respond(struct gstream *s);
ssize_t lrpc__gstream_read_out(nghttp2_session *ng, int32_t id, uint8_t *buf,
			       size_t length, uint32_t *flags,
			       nghttp2_data_source *src, void *user);
/* grpc_call.c, nghttp2's send_data_callback: a unary reply's DATA frame
 * (read_out said NO_COPY), its header and its bytes put straight from
 * s->out, one copy fewer than through nghttp2's frame buffer. */
int lrpc__gstream_send_out(nghttp2_session *ng, nghttp2_frame *frame,
			   const uint8_t *framehd, size_t length,
			   nghttp2_data_source *src, void *user);
/* grpc_call.c: submit the trailers: \p status (grpc-status, -message)
 * and the handler's. \return 0 or an nghttp2 callback error. */
int lrpc__gstream_trailers(struct gstream *s, const nghttp2_nv *status, size_t n);
/* grpc_call.c: grpc-status and grpc-message for trailers. */
void lrpc__gstream_status_nv(nghttp2_nv *nv, size_t *n, char *code,
			     size_t code_cap, char *msg, size_t msg_cap,
			     lrpc_code st, const char *text);

/* Set @s's cancel flag and fire its notification. Any thread; no lock
 * held (the callback may wake the stream). */
static inline void lrpc__gstream_cancel(struct gstream *s)
{
	atomic_store(&s->cancel, 1);
	lrpc__cancel_note_fire(&s->note);
}

#endif
