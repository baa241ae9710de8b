/* SPDX-License-Identifier: MIT */
/*
 * The synchronous call path (channel.c), for the kinds of call that ride
 * on it: typed and raw calls, and the asynchronous calls a pool thread
 * runs (async_pool.c: stream operations aside, those of a transport that
 * cannot send them without blocking).
 */
#ifndef LRPC_CALL_H
#define LRPC_CALL_H

#include "core/internal.h"

/* What one kind of call does with the request and the reply. */
struct lrpc__call_io {
	size_t req_len;
	const lrpc_call_opts *opts; /* metadata to send and receive, or NULL */
	/* Write the request's req_len bytes at \p buf. */
	void (*put)(struct lrpc__call_io *io, unsigned char *buf);
	/* Take the reply while the transport still holds it. */
	lrpc_code (*take)(struct lrpc__call_io *io, const unsigned char *rep,
			  size_t len, lrpc_status *st);
};

/* Borrow a call context of \p ch (blocking until \p deadline at most),
 * put the request into it, call, take the reply, give it back.
 * \return the call's code; \p st (may be NULL) says why. */
lrpc_code lrpc__call(lrpc_channel *ch, uint32_t method_id,
		     const char *full_name, lrpc_deadline deadline,
		     struct lrpc__call_io *io, lrpc_status *st);

/* wait_for_ready (channel.c): back off before the \p tries'th try of an
 * absent server again. \return false, at once, once \p deadline has come. */
bool lrpc__wait_ready(lrpc_deadline deadline, unsigned int tries);

#endif
