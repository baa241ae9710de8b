/* SPDX-License-Identifier: MIT */
/*
 * Transports: one entry per URI scheme (transport.c), like nng's
 * transports. The client picks its transport and the server its listener
 * by the scheme alone; a transport reaches the server only through the
 * host it is given (serve/host.h) and the peer ops it registers there.
 *
 * lrpc://      lrpc_client.c, lrpc_server.c: a control socket, then lanes
 *              in shared memory and a hand-off (handoff/handoff.h)
 * unix://, tcp:// sock_client.c, sock_server.c: frames (wire/frame.h)
 * grpc://      grpc_conn.c, grpc_session.c, grpc_call.c, grpc_stream.c:
 *              gRPC over HTTP/2 (nghttp2, wire/grpc.h); grpc_client.c, grpc_async.c,
 *              grpc_stream_client.c
 * grpcs://     the same with TLS (tls.c; grpc_tls.c, grpc_client_tls.c)
 * grpc+unix:// the same as grpc:// on a Unix socket (what gRPC clients
 *              dial as "unix:PATH"); peers checked as unix:// checks them
 */
#ifndef LRPC_TRANSPORT_H
#define LRPC_TRANSPORT_H

#include <stdatomic.h>
#include <uv.h>

#include "core/internal.h"

struct lrpc__host;

/* Where one call's request is written; a transport embeds it first in
 * what it lends a call (a lane, a connection). */
struct lrpc__req_buf {
	unsigned char *buf;
	size_t cap;
	/* Set by the call path before invoke: the method's full name
	 * ("/pkg.Svc/Method"), NULL for a raw call by id. Transports that
	 * name methods on the wire (grpc://) need it. */
	const char *full_name;
	/* Set by the call path before invoke, for transports that carry
	 * metadata (chan_ops.metadata): what to send beside the request,
	 * and where to put what comes back (NULL: not wanted). */
	const lrpc_metadata *md;
	size_t n_md;
	lrpc_metadata_list *headers, *trailers;
};

struct lrpc__cstream;
struct lrpc__async_pool;

/* Writes a message's \p len bytes at \p buf; given by the stream layer. */
typedef void (*lrpc__cput_fn)(const void *arg, unsigned char *buf);

/*
 * A transport's stream, client side (client/stream.c wraps it as the
 * public lrpc_stream). send and close_send are called from the stream's
 * one writer thread, recv from its one reader thread (the two may run at
 * once), cancel from any thread until free, free once, last.
 */
struct lrpc__cstream_ops {
	/* Block until the server's window has room for \p len bytes or
	 * the stream's deadline, then have put() write them and send them.
	 * \return LRPC_OK, or the code the stream ended with. */
	lrpc_code (*send)(struct lrpc__cstream *s, size_t len,
			  lrpc__cput_fn put, const void *arg, lrpc_status *st);
	/* Half-close. \return LRPC_OK or the code the stream ended with. */
	lrpc_code (*close_send)(struct lrpc__cstream *s, lrpc_status *st);
	/* Block for the next message (*msg and *len valid until the next recv
	 * or free; possibly in memory the server can rewrite) or the end:
	 * then *end is set and the final code returned with \p st filled. */
	lrpc_code (*recv)(struct lrpc__cstream *s, const unsigned char **msg,
			  size_t *len, bool *end, lrpc_status *st);
	/* Never blocks: wake blocked members, which return CANCELLED, and
	 * tell the server. Nothing once the stream ended. */
	void (*cancel)(struct lrpc__cstream *s);
	/* Cancel if not ended, give back the call context, free. */
	void (*free)(struct lrpc__cstream *s);
};

struct lrpc__cstream {
	const struct lrpc__cstream_ops *ops;
	lrpc_deadline deadline; /* resolved: never LRPC_DEADLINE_DEFAULT */
};

/* A client channel's transport. Every member may be called from any
 * thread at once, except close, which is called once, last. */
struct lrpc__chan_ops {
	/* Does invoke carry call metadata (lrpc__req_buf's md, headers,
	 * trailers)? Else the call path refuses request metadata. */
	bool metadata;
	size_t (*max_msg)(const lrpc_channel *ch);
	/* Lend a buffer with room for \p len request bytes, blocking at most
	 * until \p deadline. */
	lrpc_code (*acquire)(lrpc_channel *ch, size_t len, lrpc_deadline deadline,
			     struct lrpc__req_buf **rb, lrpc_status *st);
	/* Send the request in \p rb and block for the reply until \p deadline;
	 * on OK, *rep (*rep_len bytes) stays valid until release. */
	lrpc_code (*invoke)(lrpc_channel *ch, struct lrpc__req_buf *rb,
			    uint32_t method_id, size_t req_len,
			    lrpc_deadline deadline, const unsigned char **rep,
			    size_t *rep_len, lrpc_status *st);
	void (*release)(lrpc_channel *ch, struct lrpc__req_buf *rb);
	/* Open a stream on \p method_id, holding one call context (a lane,
	 * a connection) until its free; blocks at most until \p deadline for
	 * one. \p full_name ("/pkg.Svc/Method") for transports that name
	 * methods on the wire. NULL: this transport carries no streams.
	 * \p opts (NULL: none; checked) only where stream_metadata: its
	 * metadata is sent with the open, its lists (kept until free) are
	 * filled once the stream ends, before the end is reported. */
	lrpc_code (*stream_open)(lrpc_channel *ch, uint32_t method_id,
				 const char *full_name,
				 lrpc_deadline deadline, const lrpc_call_opts *opts,
				 struct lrpc__cstream **out, lrpc_status *st);
	/* Does stream_open carry opts? Else the stream layer refuses
	 * request metadata and leaves the lists empty. */
	bool stream_metadata;
	/*
	 * Asynchronous calls (client/pending.h). start: take the call \p p
	 * (its request in p->req) and send it without blocking on the server
	 * (a call that finds no free call context waits in the channel's
	 * queue, at most lrpc__async_queue_max()); complete it once with
	 * lrpc__pending_done(), from any thread, at any time (even before
	 * start returns), then drop it with lrpc__pending_put(). The call may
	 * finish meanwhile by its deadline or a cancel (the cq's): the
	 * transport then drops it when it next looks. A call with options
	 * (p->md, client/async_md.h) sends p->md->opts.metadata and fills
	 * the lists p->md->opts.headers and .trailers (private to the call,
	 * NULL where not wanted) before its lrpc__pending_done(), as invoke
	 * does with lrpc__req_buf's. NULL: the generic pool (async_pool.c)
	 * runs such calls synchronously on threads of the channel.
	 */
	void (*start)(lrpc_channel *ch, struct lrpc_async *p);
	/* The cq's thread: \p p finished by its deadline or a cancel; if it
	 * is in flight, tell the server and let its call context go as soon
	 * as that is safe. Never blocks; may find \p p no longer held.
	 * NULL: nothing to tell. */
	void (*abandon)(lrpc_channel *ch, struct lrpc_async *p);
	/* lrpc_channel_set_max_conns(), \p max_conns never 0. NULL: this
	 * transport has no such cap (-EOPNOTSUPP). */
	int (*set_max_conns)(lrpc_channel *ch, unsigned int max_conns);
	void (*close)(lrpc_channel *ch);
};

struct lrpc_channel {
	const struct lrpc__chan_ops *ops;
	const char *handoff; /* lrpc_channel_handoff(), set by dial */
	lrpc_channel_opts opts;
	lrpc_peer_acl *trust; /* the copy opts.trust points at, or NULL */
	void *impl;
	/* async_pool.c's, made on first use */
	_Atomic(struct lrpc__async_pool *) pool;
	/* client/intercept.c: the interceptors (NULL: none), fixed once a
	 * call has been made (called). */
	struct lrpc__cic_chain *ic;
	_Atomic bool called;
};

/* \p d, or the channel's default timeout from now for
 * LRPC_DEADLINE_DEFAULT. */
static inline lrpc_deadline lrpc__channel_deadline(const lrpc_channel *ch,
						   lrpc_deadline d)
{
	return d == LRPC_DEADLINE_DEFAULT ?
		       lrpc_deadline_after_ms(ch->opts.default_timeout_ms) :
		       d;
}

/* A libuv stream that is a pipe or a TCP socket, seen as either. */
union lrpc__uv_stream {
	uv_handle_t handle;
	uv_stream_t stream;
	uv_pipe_t pipe;
	uv_tcp_t tcp;
};

/* A server's listening socket. */
struct lrpc__listener {
	union lrpc__uv_stream h;
	char path[108]; /* socket file to remove at the end, or "" */
	int lock_fd;    /* with path: the name's lock (listen.c), else -1 */
	char uri[300];  /* as bound (tcp: with the real port) */
};

struct lrpc__transport {
	enum lrpc__scheme scheme;
	/*
	 * Client, the opening thread: connect to \p addr and set ch->ops,
	 * ch->impl and ch->handoff; blocks up to ch->opts.connect_timeout_ms.
	 * On error the caller closes the channel (ops->close once ops is set).
	 */
	int (*dial)(lrpc_channel *ch, const struct lrpc__addr *addr);
	/*
	 * Server, before the loop runs, the caller's thread: bind and listen
	 * on \p addr with a handle on h->loop whose connections the loop
	 * thread serves, and record what to unlink in l->path and the real
	 * address in l->uri. On error the handle may be initialised; the
	 * caller closes it.
	 */
	int (*listen)(struct lrpc__host *h, struct lrpc__listener *l,
		      const struct lrpc__addr *addr);
};

/* \return the transport of \p scheme (every scheme uri.c parses has one). */
const struct lrpc__transport *lrpc__transport_find(enum lrpc__scheme scheme);

/* The entries' members, for transport.c. */
int lrpc__lrpc_dial(lrpc_channel *ch, const struct lrpc__addr *addr);
int lrpc__lrpc_listen(struct lrpc__host *h, struct lrpc__listener *l,
		      const struct lrpc__addr *addr);
int lrpc__sock_dial(lrpc_channel *ch, const struct lrpc__addr *addr);
int lrpc__unix_listen(struct lrpc__host *h, struct lrpc__listener *l,
		      const struct lrpc__addr *addr);
int lrpc__tcp_listen(struct lrpc__host *h, struct lrpc__listener *l,
		     const struct lrpc__addr *addr);
int lrpc__grpc_dial(lrpc_channel *ch, const struct lrpc__addr *addr);
int lrpc__grpc_listen(struct lrpc__host *h, struct lrpc__listener *l,
		      const struct lrpc__addr *addr);
int lrpc__grpcs_dial(lrpc_channel *ch, const struct lrpc__addr *addr);
int lrpc__grpcs_listen(struct lrpc__host *h, struct lrpc__listener *l,
		       const struct lrpc__addr *addr);
int lrpc__grpc_unix_listen(struct lrpc__host *h, struct lrpc__listener *l,
			   const struct lrpc__addr *addr);

/* listen.c: listening sockets on the host's loop, for the transports. */
int lrpc__listen_pipe(struct lrpc__host *h, struct lrpc__listener *l,
		      const char *path, bool make_dirs, uv_connection_cb cb);
int lrpc__listen_tcp(struct lrpc__host *h, struct lrpc__listener *l,
		     const struct lrpc__addr *addr, uv_connection_cb cb);
/* Give up a socket file claimed by lrpc__listen_pipe: remove it and its
 * lock. Only the owner calls this. */
void lrpc__listen_unclaim(struct lrpc__listener *l);
/* peer.c, loop thread, once per connection: what lrpc_call_peer() shows.
 * The credentials of a Unix socket's client (has_cred 0 if unknown); the
 * address of a TCP one ("" if unknown). transport is the caller's. */
void lrpc__peer_creds(uv_handle_t *handle, lrpc_peer *out);
void lrpc__peer_address(const uv_tcp_t *tcp, lrpc_peer *out);
/* May this unix-socket peer connect? (SO_PEERCRED against our euid) If
 * not, \p why says so, for the peer. */
bool lrpc__peer_allowed(const struct lrpc__host *h, uv_handle_t *handle,
			char *why, size_t why_len);

#endif
