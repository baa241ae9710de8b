/* SPDX-License-Identifier: MIT */
/*
 * What the grpc:// client's call paths share: synchronous calls
 * (grpc_client.c, a connection per call) and asynchronous ones
 * (grpc_async.c, many streams on a few connections): the channel, a
 * connection and its nghttp2 session, one call's stream.
 */
#ifndef LRPC_GRPC_CLIENT_H
#define LRPC_GRPC_CLIENT_H

#include <nghttp2/nghttp2.h>
#include <stdatomic.h>

#include "transport/grpc_md.h"
#include "transport/transport.h"
#include "wire/grpc.h"

struct lrpc__tls;
struct lrpc__tls_ctx;

#define GCONN_SEGS 32u
/* 256 KiB a read: a 64 KiB reply with its frames and trailers in one. */
#define GCONN_RBUF 262144u

struct gcconn {
	int fd;
	struct lrpc__tls *tls; /* grpcs://: the session between fd and ng */
	nghttp2_session *ng;
	struct gcconn *next;
	bool broken; /* not to be reused */
	/* Where a request's DATA frames go (grpc_client_out.c): \p p, \p n
	 * bytes, after the frame header \p hd (9 bytes). \return 0, 1 (not
	 * now: the same frame again at the next mem_send), -errno. */
	int (*put_data)(struct gcconn *k, const uint8_t *hd, const uint8_t *p, size_t n);
	void *put_ctx; /* put_data's (grpc_async.c: the gaconn) */
	/* A synchronous send's output, gathered (grpc_client_out.c): pieces
	 * of wbuf (p NULL, at off) or of a call's request (p). */
	unsigned char *wbuf;
	size_t wcap, wlen;
	struct gseg {
		const uint8_t *p;
		size_t off, n;
	} seg[GCONN_SEGS];
	unsigned int nseg;
	size_t segbytes;
	lrpc_deadline wdeadline;
	int werr; /* put_data's error, for mem_send's CALLBACK_FAILURE */
	unsigned char *rbuf; /* lrpc__gconn_read()'s, GCONN_RBUF bytes */
	char goaway[128]; /* a GOAWAY's debug data: why the server refused */
};

struct gchan {
	struct lrpc__addr addr; /* scheme TCP, for sock.c */
	char authority[300];
	size_t max_msg;
	/* grpcs://: the context of the channel's TLS sessions, the name the
	 * server must have, and why the last handshake failed (under lock) */
	struct lrpc__tls_ctx *tls;
	char server_name[256];
	char tls_why[200];
	pthread_mutex_t lock;
	struct gcconn *idle;
	/* grpc_async.c's connections and watcher, made on first use */
	_Atomic(struct lrpc__grpc_async *) async;
};

/* One call: the request buffer lent by acquire, then the response. */
struct gcall {
	struct lrpc__req_buf rb; /* first: the call path sees this */
	/* The connection acquire found or opened for the call (a failed
	 * dial is acquire's UNAVAILABLE, which wait_for_ready retries);
	 * invoke takes it. */
	struct gcconn *k;
	unsigned char *mem;      /* prefix + request */
	size_t len, sent;
	int32_t sid;
	struct lrpc__grpc_msgq in;
	int http;        /* :status, 0 if none */
	int grpc_status; /* -1 if none */
	char message[LRPC_STATUS_MSG_MAX];
	bool closed, bad;
	uint32_t rst;
	/* The response's custom headers and trailers, collected only when
	 * rb.headers or rb.trailers asks for them (grpc_client_md.c). */
	struct lrpc__grpc_md_in hdr_in, trl_in;
};

/* grpc_client_md.c: one response header of \p c's stream, of a HEADERS
 * frame that is the trailers (or a Trailers-Only response) when
 * \p trailer. \return 0, -ENOMEM. */
int lrpc__gcall_md_take(struct gcall *c, bool trailer, const uint8_t *name, size_t nlen,
			const uint8_t *value, size_t vlen);
/* Hand what was collected to the caller's lists. \return 0, or a
 * negative errno with \p bad naming a binary value that is not base64. */
int lrpc__gcall_md_deliver(struct gcall *c, const char **bad);
/* The same, as a call's code: LRPC_OK, or INTERNAL (naming the value) or
 * RESOURCE_EXHAUSTED with \p st. */
lrpc_code lrpc__gcall_md_result(struct gcall *c, lrpc_status *st);
/* A stream's call takes \p opts' metadata and lists (NULL: none). */
void lrpc__gcall_md_use(struct gcall *c, const lrpc_call_opts *opts);
void lrpc__gcall_md_free(struct gcall *c);
/* The request's metadata as name/value pairs after \p lead, for
 * nghttp2_submit_request (which copies them). \return the array (free()
 * it, and *block) or NULL (-ENOMEM). */
nghttp2_nv *lrpc__gcall_md_nv(const struct gcall *c, const nghttp2_nv *lead, size_t nlead,
			      size_t *n, struct lrpc__grpc_nvs *block);

/* Connect and start a client session whose callbacks fill the gcall of
 * each stream (its stream user data). \return 0, -errno. */
int lrpc__gconn_open(struct gchan *g, lrpc_deadline deadline, struct gcconn **out);
void lrpc__gconn_free(struct gcconn *k);
/* Submit \p c (its request, \p req_len bytes, after the prefix in mem) as
 * a new stream of \p k. \return the stream id, or a negative nghttp2
 * error. */
int32_t lrpc__gcall_submit(struct gchan *g, struct gcconn *k, struct gcall *c,
			   const char *full_name, size_t req_len,
			   lrpc_deadline deadline);
/* The outcome of \p c, whose stream closed: the reply (in c, valid while
 * it lives) or the status. */
lrpc_code lrpc__gcall_result(struct gchan *g, struct gcall *c,
			     lrpc_deadline deadline, const unsigned char **rep,
			     size_t *rep_len, lrpc_status *st);

/* grpc_client_pool.c: an idle connection of \p g that can carry a call
 * (those the server closed or sent GOAWAY meanwhile are freed on the
 * way), or NULL if none is idle; the caller owns it. Thread-safe. */
struct gcconn *lrpc__gchan_borrow(struct gchan *g);
/* Back to \p g's idle list, or freed if \p k is broken or got GOAWAY.
 * Thread-safe. */
void lrpc__gchan_give_back(struct gchan *g, struct gcconn *k);
/* Did the server provably not process \p c, whose stream closed? True
 * for REFUSED_STREAM (its own, or nghttp2's for a stream above a GOAWAY's
 * last-stream-id) with nothing of a response received: the one case a
 * call may be sent again. */
bool lrpc__gcall_refused(const struct gcall *c);
/* The session callback that keeps a GOAWAY's debug data (a lazyrpc
 * server's "server full: ...") in the connection, for the calls it
 * refuses to report (lrpc__gcall_synthesize). */
int lrpc__gconn_on_frame(nghttp2_session *ng, const nghttp2_frame *f, void *user);
/* Forget \p c's response, keeping its request, to be submitted again. */
void lrpc__gcall_rewind(struct gcall *c, size_t max_msg);

/* The session callback that fills a gcall's http, grpc_status and message
 * from the response's headers and trailers. */
int lrpc__gcall_on_header(nghttp2_session *ng, const nghttp2_frame *f,
			  const uint8_t *name, size_t nlen, const uint8_t *value,
			  size_t vlen, uint8_t flags, void *user);
/* The status of \p c, whose stream closed without a grpc-status: from
 * the HTTP status or the RST_STREAM code (PROTOCOL-HTTP2.md). */
lrpc_code lrpc__gcall_synthesize(const struct gcall *c, lrpc_status *st);

/* grpc_stream_client.c: the channel's stream_open (a connection each). */
lrpc_code lrpc__grpc_stream_open(lrpc_channel *ch, uint32_t method_id,
				 const char *full_name, lrpc_deadline deadline,
				 const lrpc_call_opts *opts,
				 struct lrpc__cstream **out, lrpc_status *st);

/* grpc_client_tls.c: the connections' bytes, with TLS on grpcs://
 * channels and as they are on grpc:// ones (\p t NULL).
 *
 * grpcs:// only: make g->tls and g->server_name from ch->opts.tls and
 * the URI's host. \return 0, -EINVAL (open_status says why), -ENOMEM. */
int lrpc__gchan_tls_init(struct gchan *g, lrpc_channel *ch,
			 const struct lrpc__addr *addr);
/* After connecting \p fd: on a grpcs:// channel handshake by \p deadline
 * (the server's first plaintext goes to \p ng), setting *out; else *out
 * is NULL. \return 0, -EPROTO (g->tls_why says why), -ETIMEDOUT, -errno. */
int lrpc__gconn_tls_start(struct gchan *g, int fd, nghttp2_session *ng,
			  lrpc_deadline deadline, struct lrpc__tls **out);
/* Bytes from the socket into \p ng. \return 0, -EPROTO (bad HTTP/2),
 * -ECONNABORTED (a TLS error or alert), -ENOMEM. */
int lrpc__gconn_input(struct lrpc__tls *t, nghttp2_session *ng,
		      const uint8_t *p, size_t n);
/* nghttp2's \p n bytes at \p p, as they go on the wire, appended to
 * *buf (*len bytes of *cap). \return 0, -ENOMEM, -EPROTO. */
int lrpc__gconn_seal(struct lrpc__tls *t, const uint8_t *p, size_t n,
		     unsigned char **buf, size_t *cap, size_t *len);
/* A synchronous call's input on \p k (blocking until \p deadline): read
 * once and feed the session. \return 0, -errno as lrpc__sock_read(),
 * -EPROTO. */
int lrpc__gconn_read(struct gcconn *k, lrpc_deadline deadline);

/* grpc_client_out.c: \p k's put_data for synchronous calls (a new
 * connection's; grpc_async.c sets its own). */
void lrpc__gcconn_out_init(struct gcconn *k);
/* A synchronous call's output on \p k: all nghttp2 has to send, written
 * by \p deadline. \return 0, -EPROTO, -ENOMEM, -ETIMEDOUT, -ECONNRESET,
 * -errno. */
int lrpc__gcconn_send(struct gcconn *k, lrpc_deadline deadline);
/* nghttp2's send_data_callback: a request's DATA frame (read_req said
 * NO_COPY; the source is its gcall) to k->put_data. */
int lrpc__gcall_send_data(nghttp2_session *ng, nghttp2_frame *frame,
			  const uint8_t *framehd, size_t length,
			  nghttp2_data_source *src, void *user);

/* grpc_async.c: the channel's start and abandon, and what close stops. */
void lrpc__grpc_async_start(lrpc_channel *c, struct lrpc_async *p);
void lrpc__grpc_async_abandon(lrpc_channel *c, struct lrpc_async *p);
void lrpc__grpc_async_close(lrpc_channel *c);

#endif
