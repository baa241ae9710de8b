/* SPDX-License-Identifier: MIT */
/* Call options of asynchronous unary calls (async_md.c). */
#ifndef LRPC_CLIENT_ASYNC_MD_H
#define LRPC_CLIENT_ASYNC_MD_H

#include "client/metadata.h"

struct lrpc_async;

struct lrpc__async_md {
	/* What the transport's start (or the pool's synchronous call)
	 * sends and fills: metadata is the copy, headers and trailers the
	 * private lists (or NULL). */
	lrpc_call_opts opts;
	lrpc_metadata *copy; /* one block, owned */
	lrpc_metadata_list headers, trailers; /* private to the call */
	/* The caller's, written only by lrpc__async_md_deliver(). */
	lrpc_metadata_list *user_headers, *user_trailers;
	/* Not LRPC_OK: the caller's set broke the rules (nothing copied);
	 * the start fails the call with this. */
	lrpc_status refused;
};

/* The caller's thread, at the start: give \p p a copy of \p o's metadata
 * (if it keeps the rules, else the refusal) and private lists, and clear
 * the caller's. \return 0, -ENOMEM (nothing changed). */
int lrpc__async_md_new(struct lrpc_async *p, const lrpc_call_opts *o);
/* Replace the copy with one of \p md (\p n entries that keep the rules),
 * e.g. with what interceptors added. \return 0, -ENOMEM (old copy kept). */
int lrpc__async_md_set(struct lrpc__async_md *m, const lrpc_metadata *md, size_t n);
/* Does the call send metadata or want lists back? (\p m may be NULL.) */
bool lrpc__async_md_carried(const struct lrpc__async_md *m);
/* The cq's lock held, the transport finishing the call: hand the private
 * lists over to the caller's. NULL is allowed. */
void lrpc__async_md_deliver(struct lrpc__async_md *m);
/* With the call's memory. NULL is allowed. */
void lrpc__async_md_free(struct lrpc__async_md *m);

#endif
