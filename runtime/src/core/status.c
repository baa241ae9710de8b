// SPDX-License-Identifier: MIT
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
	if (!st)
		return;
	st->code = code;
	vsnprintf(st->message, sizeof(st->message), fmt, ap);
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
