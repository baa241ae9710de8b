// SPDX-License-Identifier: MIT
/*
 * poll() for the harnesses that talk to a server over a socket. libFuzzer
 * runs timers (-timeout, the RSS check) whose signals interrupt poll()
 * whatever SA_RESTART says; read as "no answer", one such EINTR made the
 * grpc_server harness report a hang of a server that had answered.
 */
#include <errno.h>

#include "fuzz.h"

int fz_poll(struct pollfd *p, nfds_t n, int ms)
{
	lrpc_deadline until = lrpc_deadline_after_ms(ms);

	for (;;) {
		lrpc_deadline now = lrpc_now();
		int ret;

		if (now >= until)
			return 0;
		ret = poll(p, n, (int)((until - now + 999999) / 1000000));
		if (ret >= 0 || errno != EINTR)
			return ret;
	}
}
