/* SPDX-License-Identifier: MIT */
/*
 * NUMA placement of an lrpc:// client's region and receivers
 * (lrpc_server_set_numa()): libnuma where the library was built with it,
 * nothing otherwise or on a machine of one node.
 */
#ifndef LRPC_NUMA_H
#define LRPC_NUMA_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>

#include "lazyrpc/server.h"

/* Where one client's region and receivers go; decided once, at its
 * handshake, and read-only afterwards. */
struct lrpc__numa_place {
	lrpc_numa_mode mode; /* OFF: the kernel's own placement */
	int node;            /* follow-client: the client's node, else -1 */
	bool pin;            /* receivers run on cpus only */
	cpu_set_t cpus;
};

/* Loop thread, at the handshake: decide for a client that said it was on
 * \p cpu_plus1 - 1 (0: did not say) what \p mode means for it. */
void lrpc__numa_decide(struct lrpc__numa_place *p, lrpc_numa_mode mode,
		       unsigned int cpu_plus1);

/* Set the memory policy of a freshly mapped region [base, base + len)
 * before anything touches it. The region is a memfd's shared mapping, so
 * the policy is the file's: the client's faults follow it too.
 * \return 0, -errno (mbind's). */
int lrpc__numa_bind(const struct lrpc__numa_place *p, void *base, size_t len);

/* On a new receiver thread: run on p's CPUs. \return 0, -errno. */
int lrpc__numa_pin(const struct lrpc__numa_place *p);

#endif
