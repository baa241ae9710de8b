/* SPDX-License-Identifier: MIT */
/* Serving one call, whatever carried it (dispatch.c). */
#ifndef LRPC_DISPATCH_H
#define LRPC_DISPATCH_H

#include <stdatomic.h>

#include "serve/cancel_note.h"
#include "serve/metadata.h"
#include "serve/registry.h"

/* What a handler sees of its call (handler.c). */
struct lrpc_call {
	const lrpc_method_desc *method;
	lrpc_deadline deadline;
	struct lrpc__arena *arena;
	/* Set (by the transport, from any thread) once the client gave up
	 * on the call; NULL where the transport cannot tell. */
	const _Atomic int *cancel;
	/* Set once the server stops taking calls, for a stream the transport
	 * ends then; NULL where it does not (unary calls finish). */
	const _Atomic int *stop;
	/* lrpc_call_on_cancel()'s, the transport's; NULL where none. */
	struct lrpc__cancel_note *note;
	const lrpc_peer *peer; /* never NULL */
	/* The request's metadata, in the transport's memory. */
	const lrpc_metadata *md;
	size_t n_md;
	struct lrpc__md_out out; /* what the handler sends beside its reply */
	char message[LRPC_STATUS_MSG_MAX];
};

/* How a call ended: the code, the reply's length, or why not. */
struct lrpc__reply {
	lrpc_code code;
	size_t len;  /* reply bytes packed, on OK */
	char message[LRPC_STATUS_MSG_MAX];
	/* The handler's headers and trailers, whatever the code; in the
	 * call's arena, so read them before resetting it. */
	struct lrpc__md_out md;
};

/* Room for a reply of \p len bytes, where the transport wants it (a lane
 * buffer, a socket frame). \return NULL when there is none. */
typedef unsigned char *(*lrpc__reply_room)(void *ctx, size_t len);

/*
 * Find the method, check the deadline, decode the request where it lies
 * (it may be in memory the client rewrites: the decoder reads it once),
 * run the handler, and pack a reply of at most \p max_reply bytes into
 * room(ctx, len). Everything the call allocated is in \p arena, which the
 * caller resets afterwards.
 */
void lrpc__serve(const struct lrpc__registry *reg, struct lrpc__arena *arena,
		 uint32_t method_id, const void *req, size_t req_len,
		 lrpc_deadline deadline, size_t max_reply,
		 lrpc__reply_room room, void *ctx, struct lrpc__reply *out);

/* Where a call came from, as the transport tells the handler. */
struct lrpc__origin {
	/* The call's cancellation flag, set from any thread or process;
	 * NULL: none. */
	const _Atomic int *cancel;
	const lrpc_peer *peer; /* NULL: unknown */
	/* The server is stopping, for streams it ends then; NULL: none. */
	const _Atomic int *stop;
	/* Fired by the transport when it sets *cancel (client cancel,
	 * deadline, client gone); NULL: it cannot tell. Closed by the
	 * serving code when the handler returns. */
	struct lrpc__cancel_note *note;
	/* The request's metadata, valid until the call returns; n_md 0:
	 * none (or a transport that carries none). */
	const lrpc_metadata *md;
	size_t n_md;
};

/* The same, with what the transport knows of the call's origin (\p from
 * may be NULL). */
void lrpc__serve_from(const struct lrpc__registry *reg,
		      struct lrpc__arena *arena, uint32_t method_id,
		      const void *req, size_t req_len, lrpc_deadline deadline,
		      size_t max_reply, lrpc__reply_room room, void *ctx,
		      const struct lrpc__origin *from, struct lrpc__reply *out);

/* The peer a call of \p from shows its handler. */
const lrpc_peer *lrpc__origin_peer(const struct lrpc__origin *from);

/* A new call served in \p arena, as \p from (may be NULL) says it came. */
void lrpc__call_init(struct lrpc_call *call, struct lrpc__arena *arena,
		     lrpc_deadline deadline, const struct lrpc__origin *from);

#endif
