// SPDX-License-Identifier: MIT
/* What a handler can ask of the call it is serving. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "serve/dispatch.h"

lrpc_deadline lrpc_call_deadline(const lrpc_call *call)
{
	return call->deadline;
}

const lrpc_method_desc *lrpc_call_method(const lrpc_call *call)
{
	return call->method;
}

bool lrpc_call_cancelled(const lrpc_call *call)
{
	return (call->cancel && atomic_load_explicit(call->cancel,
						     memory_order_relaxed)) ||
	       (call->stop && atomic_load_explicit(call->stop,
						   memory_order_relaxed)) ||
	       call->deadline <= lrpc_now();
}

int lrpc_call_on_cancel(lrpc_call *call, void (*fn)(void *arg), void *arg)
{
	if (!call || !fn)
		return -EINVAL;
	if (!call->note)
		return -ENOTSUP;
	return lrpc__cancel_note_set(call->note, fn, arg);
}

const lrpc_peer *lrpc_call_peer(const lrpc_call *call)
{
	return call->peer;
}

void *lrpc_call_alloc(lrpc_call *call, size_t size)
{
	return lrpc__arena_alloc(call->arena, size);
}

char *lrpc_call_strdup(lrpc_call *call, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = lrpc__arena_alloc(call->arena, n);

	if (p)
		memcpy(p, s, n);
	return p;
}

void lrpc_call_set_message(lrpc_call *call, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(call->message, sizeof(call->message), fmt, ap);
	va_end(ap);
}
