// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <string.h>
#include <time.h>

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

lrpc_deadline lrpc_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (lrpc_deadline)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

lrpc_deadline lrpc_deadline_after_ms(int64_t ms)
{
	lrpc_deadline now = lrpc_now();

	if (ms <= 0)
		return now;
	if (ms > (INT64_MAX - now) / 1000000)
		return INT64_MAX;
	return now + ms * 1000000;
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
