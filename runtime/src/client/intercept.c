// SPDX-License-Identifier: MIT
/*
 * Client interceptors: a chain fixed before the channel's first call (so
 * calls read it without a lock), run around each call by the entry points
 * (channel.c, async.c, stream.c). A before may add request metadata: the
 * call then sends a merged copy, checked as the caller's own would be.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/intercept.h"
#include "transport/transport.h"

int lrpc_channel_add_interceptor(lrpc_channel *ch, const lrpc_client_interceptor *ic)
{
	if (!ch || !ic || (!ic->before && !ic->after))
		return -EINVAL;
	if (atomic_load_explicit(&ch->called, memory_order_relaxed))
		return -EBUSY;
	if (!ch->ic) {
		ch->ic = calloc(1, sizeof(*ch->ic));
		if (!ch->ic)
			return -ENOMEM;
	}
	if (ch->ic->n == LRPC__CIC_MAX)
		return -ENOSPC;
	ch->ic->v[ch->ic->n++] = *ic;
	return 0;
}

bool lrpc__cic_wanted(lrpc_channel *ch)
{
	/* Read first: a store on every call would bounce the channel's cache
	 * line between the threads that share it. */
	if (!atomic_load_explicit(&ch->called, memory_order_relaxed))
		atomic_store_explicit(&ch->called, true, memory_order_relaxed);
	return ch->ic != NULL;
}

/* The caller's entries, then the added ones, in memory x owns. */
static lrpc_code merge(struct lrpc__cic *x, const lrpc_metadata *md, size_t n,
		       lrpc_status *st)
{
	size_t total = n + x->added.n;

	free(x->md);
	x->md = malloc(total * sizeof(*x->md));
	if (!x->md)
		return lrpc__status_fail(st, LRPC_RESOURCE_EXHAUSTED,
					 "out of memory for request metadata");
	if (n)
		memcpy(x->md, md, n * sizeof(*md));
	memcpy(x->md + n, x->added.v, x->added.n * sizeof(*md));
	x->info.metadata = x->md;
	x->info.n_metadata = total;
	return LRPC_OK;
}

lrpc_code lrpc__cic_before(lrpc_channel *ch, struct lrpc__cic *x, const char *method,
			   bool stream, const lrpc_metadata *md, size_t n, bool can_add,
			   lrpc_status *st)
{
	const struct lrpc__cic_chain *c = ch->ic;

	memset(x, 0, sizeof(*x));
	x->info = (lrpc_client_call_info){
		.channel = ch, .method = method, .stream = stream,
		.metadata = md, .n_metadata = n,
	};
	x->start = lrpc_now();
	for (unsigned int i = 0; i < c->n; i++) {
		const lrpc_client_interceptor *ic = &c->v[i];
		size_t had = x->added.n;
		lrpc_status why = { .code = LRPC_OK };
		lrpc_code code;

		x->ran = i + 1;
		if (!ic->before)
			continue;
		code = ic->before(ic->arg, &x->info, can_add ? &x->added : NULL, &why);
		if (code != LRPC_OK) {
			why.message[sizeof(why.message) - 1] = '\0';
			return lrpc__status_fail(st, code, "%s",
						 why.message[0] ? why.message :
								  "refused by a client interceptor");
		}
		if (x->added.n != had) {
			code = merge(x, md, n, st);
			if (code != LRPC_OK)
				return code;
		}
	}
	return LRPC_OK;
}

void lrpc__cic_after(struct lrpc__cic *x, lrpc_code code, const lrpc_status *st)
{
	const struct lrpc__cic_chain *c = x->info.channel->ic;
	int64_t ns = lrpc_now() - x->start;
	lrpc_status none;

	if (!st) {
		none.code = code;
		none.message[0] = '\0';
		st = &none;
	}
	while (x->ran) {
		const lrpc_client_interceptor *ic = &c->v[--x->ran];

		if (ic->after)
			ic->after(ic->arg, &x->info, code, st, ns);
	}
	lrpc_metadata_list_clear(&x->added);
	free(x->added.v);
	free(x->md);
	x->md = NULL;
}
