// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/internal.h"

const char *lrpc_code_name(lrpc_code code)
{
	switch (code) {
#define LRPC__CODE_CASE(name, val) \
	case LRPC_##name:          \
		return #name;
		LRPC_CODE_MAP(LRPC__CODE_CASE)
#undef LRPC__CODE_CASE
	}
	return "?";
}

__attribute__((format(printf, 3, 0)))
static void status_vset(lrpc_status *st, lrpc_code code, const char *fmt,
			va_list ap)
{
	char msg[sizeof(st->message)];

	if (!st)
		return;
	st->code = code;
	/* Through a copy: callers may wrap the status's own message
	 * ("...: %s", st->message), and vsnprintf's buffers must not
	 * overlap. */
	vsnprintf(msg, sizeof(msg), fmt, ap);
	memcpy(st->message, msg, sizeof(msg));
}

void lrpc__status_set(lrpc_status *st, lrpc_code code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	status_vset(st, code, fmt, ap);
	va_end(ap);
}

lrpc_code lrpc__status_fail(lrpc_status *st, lrpc_code code, const char *fmt,
			    ...)
{
	va_list ap;

	va_start(ap, fmt);
	status_vset(st, code, fmt, ap);
	va_end(ap);
	return code;
}

lrpc_code lrpc__status_from_peer(lrpc_status *st, uint32_t code,
				 const char *msg, size_t msg_len)
{
	if (code >= LRPC_CODE_COUNT)
		return lrpc__status_fail(st, LRPC_UNKNOWN, "server sent status %u",
					 code);
	if (code != LRPC_OK && st) {
		if (msg_len >= sizeof(st->message))
			msg_len = sizeof(st->message) - 1;
		st->code = (lrpc_code)code;
		memcpy(st->message, msg, msg_len);
		st->message[msg_len] = '\0';
	}
	return (lrpc_code)code;
}

lrpc_code lrpc__status_from_errno(lrpc_status *st, int err,
				  lrpc_deadline deadline, const char *what)
{
	if (err == -ETIMEDOUT && lrpc_now() >= deadline)
		return lrpc__status_fail(st, LRPC_DEADLINE_EXCEEDED,
					 "deadline exceeded %s", what);
	if (err == -ENOMEM)
		return lrpc__status_fail(st, LRPC_RESOURCE_EXHAUSTED,
					 "out of memory %s", what);
	return lrpc__status_fail(st, LRPC_UNAVAILABLE, "%s: %s", what,
				 strerror(-err));
}

void lrpc__status_name_method(lrpc_status *st, lrpc_code code,
			      const char *full_name)
{
	static const char prefix[] = "unknown method id ";
	char id[16];

	if (!st || code != LRPC_UNIMPLEMENTED ||
	    strncmp(st->message, prefix, sizeof(prefix) - 1))
		return;
	snprintf(id, sizeof(id), "%.10s", st->message + sizeof(prefix) - 1);
	lrpc__status_set(st, code, "the server does not serve %s (method id %s)",
			 full_name, id);
}
