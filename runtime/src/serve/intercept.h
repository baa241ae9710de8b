/* SPDX-License-Identifier: MIT */
/*
 * Server interceptors (intercept.c): the chain lrpc_server_add_interceptor()
 * builds, run around every handler by dispatch.c and stream.c. Fixed once
 * the server starts, then read by any thread.
 */
#ifndef LRPC_SERVE_INTERCEPT_H
#define LRPC_SERVE_INTERCEPT_H

#include <lazyrpc/server.h>

#define LRPC__INTERCEPTORS_MAX 8

struct lrpc__intercept_chain {
	lrpc_interceptor v[LRPC__INTERCEPTORS_MAX];
	size_t n;
};

/* \return 0, -EINVAL (NULL, or neither member set), -ENOSPC (full). */
int lrpc__intercept_add(struct lrpc__intercept_chain *c, const lrpc_interceptor *ic);

/* Run the befores in order. \return LRPC_OK, or the first refusal's code
 * (its message in the call); *ran says how many befores ran. */
lrpc_code lrpc__intercept_before(const struct lrpc__intercept_chain *c, lrpc_call *call,
				 size_t *ran);
/* Run the afters of the first \p ran, last first, with the call's code
 * and the time since \p start. */
void lrpc__intercept_after(const struct lrpc__intercept_chain *c, lrpc_call *call,
			   size_t ran, lrpc_code code, lrpc_deadline start);

#endif
