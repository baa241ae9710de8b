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
 */
#ifndef LRPC_TRANSPORT_H
#define LRPC_TRANSPORT_H

#include <uv.h>

#include "core/internal.h"

struct lrpc__host;

/* Where one call's request is written; a transport embeds it first in
 * what it lends a call (a lane, a connection). */
struct lrpc__req_buf {
	unsigned char *buf;
	size_t cap;
};

/* A client channel's transport. Every member may be called from any
 * thread at once, except close, which is called once, last. */
struct lrpc__chan_ops {
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
	void (*close)(lrpc_channel *ch);
};

struct lrpc_channel {
	const struct lrpc__chan_ops *ops;
	const char *handoff; /* lrpc_channel_handoff(), set by dial */
	lrpc_channel_opts opts;
	void *impl;
};

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

/* listen.c: listening sockets on the host's loop, for the transports. */
int lrpc__listen_pipe(struct lrpc__host *h, struct lrpc__listener *l,
		      const char *path, bool make_dirs, uv_connection_cb cb);
int lrpc__listen_tcp(struct lrpc__host *h, struct lrpc__listener *l,
		     const struct lrpc__addr *addr, uv_connection_cb cb);
/* Give up a socket file claimed by lrpc__listen_pipe: remove it and its
 * lock. Only the owner calls this. */
void lrpc__listen_unclaim(struct lrpc__listener *l);
/* May this unix-socket peer connect? (SO_PEERCRED against our euid) If
 * not, \p why says so, for the peer. */
bool lrpc__peer_allowed(const struct lrpc__host *h, uv_handle_t *handle,
			char *why, size_t why_len);

#endif
