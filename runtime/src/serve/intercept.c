// SPDX-License-Identifier: MIT
/*
 * Server interceptors: logging, auth and metrics around every handler,
 * without touching handlers. A before may refuse the call; every before
 * that ran gets its after, so that what one opens (a span, a counter) it
 * can always close.
 */
#include <errno.h>

#include "serve/dispatch.h"
#include "serve/intercept.h"

int lrpc__intercept_add(struct lrpc__intercept_chain *c, const lrpc_interceptor *ic)
{
	if (!ic || (!ic->before && !ic->after))
		return -EINVAL;
	if (c->n == LRPC__INTERCEPTORS_MAX)
		return -ENOSPC;
	c->v[c->n++] = *ic;
	return 0;
}

lrpc_code lrpc__intercept_before(const struct lrpc__intercept_chain *c, lrpc_call *call,
				 size_t *ran)
{
	for (*ran = 0; *ran < c->n; (*ran)++) {
		const lrpc_interceptor *ic = &c->v[*ran];
		lrpc_code code = ic->before ? ic->before(ic->arg, call) : LRPC_OK;

		if ((unsigned int)code >= LRPC_CODE_COUNT) {
			lrpc_call_set_message(call, "interceptor %zu returned %d, not a status code",
					      *ran, (int)code);
			code = LRPC_UNKNOWN;
		}
		if (code != LRPC_OK) {
			if (!call->message[0])
				lrpc_call_set_message(call, "refused by interceptor %zu", *ran);
			(*ran)++; /* this one's after runs too */
			return code;
		}
	}
	return LRPC_OK;
}

void lrpc__intercept_after(const struct lrpc__intercept_chain *c, lrpc_call *call,
			   size_t ran, lrpc_code code, lrpc_deadline start)
{
	int64_t took;

	if (!ran)
		return;
	took = lrpc_now() - start;
	while (ran--)
		if (c->v[ran].after)
			c->v[ran].after(c->v[ran].arg, call, code, took);
}
