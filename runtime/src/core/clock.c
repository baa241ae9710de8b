// SPDX-License-Identifier: MIT
/* Time: CLOCK_MONOTONIC nanoseconds, the unit of every deadline. */
#include <stdint.h>
#include <time.h>

#include "core/internal.h"

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
