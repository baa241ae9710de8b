/* SPDX-License-Identifier: MIT */
/*
 * Client interceptors (intercept.c): the channel's chain, and one call's
 * passage through it. A channel without interceptors pays one pointer
 * test per call.
 */
#ifndef LRPC_CLIENT_INTERCEPT_H
#define LRPC_CLIENT_INTERCEPT_H

#include "client/metadata.h"

#define LRPC__CIC_MAX 8

struct lrpc__cic_chain {
	unsigned int n;
	lrpc_client_interceptor v[LRPC__CIC_MAX];
};

/* One call between its befores and its afters. */
struct lrpc__cic {
	lrpc_client_call_info info;
	unsigned int ran; /* interceptors whose before ran (or have none) */
	lrpc_deadline start;
	struct lrpc_metadata_list added; /* what befores added */
	lrpc_metadata *md;               /* caller's + added, if any added */
};

/* The starting thread: mark \p ch used (no more interceptors), and
 * \return true if it has interceptors, so that the call must pass them. */
bool lrpc__cic_wanted(lrpc_channel *ch);

/* Run the befores of \p ch's chain for a call of \p method (NULL: raw)
 * with the caller's metadata \p md (\p n entries); \p can_add: the call
 * carries metadata. On LRPC_OK x->info.metadata is what to send (the
 * caller's, or a merged copy x owns). Otherwise the call fails with the
 * code, \p st filled; either way lrpc__cic_after() must follow. */
lrpc_code lrpc__cic_before(lrpc_channel *ch, struct lrpc__cic *x, const char *method,
			   bool stream, const lrpc_metadata *md, size_t n, bool can_add,
			   lrpc_status *st);

/* Run the afters of those whose before ran, last first, with the call's
 * outcome, and free what \p x holds. Once per lrpc__cic_before(). */
void lrpc__cic_after(struct lrpc__cic *x, lrpc_code code, const lrpc_status *st);

#endif
