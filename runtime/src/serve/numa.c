// SPDX-License-Identifier: MIT
/*
 * NUMA placement (numa.h). libnuma says which CPUs and memory make a node;
 * the policy itself is one mbind() on the region and one affinity per
 * receiver. libnuma prints a warning of its own only when sysfs does not
 * describe the nodes, which a kernel with NUMA always does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "serve/numa.h"

#ifdef LRPC_HAVE_NUMA
#include <numa.h>
#include <numaif.h>
#endif

static const char *const names[] = {
	[LRPC_NUMA_OFF] = "off",
	[LRPC_NUMA_FOLLOW_CLIENT] = "follow-client",
	[LRPC_NUMA_INTERLEAVE] = "interleave",
};

int lrpc_numa_mode_parse(const char *s, lrpc_numa_mode *out)
{
	if (!s || !out)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (lrpc_numa_mode)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *lrpc_numa_mode_name(lrpc_numa_mode mode)
{
	return (unsigned int)mode < sizeof(names) / sizeof(names[0]) ?
		names[mode] : "?";
}

#ifdef LRPC_HAVE_NUMA

/* Masks of our own live on the stack: libnuma's allocators exit the
 * process when out of memory. (Its node tables, made once on first use,
 * are the price of asking it.) */
#define LONG_BITS (8 * sizeof(unsigned long))
#define NODE_WORDS 16 /* nodes 0-1023, what Linux allows (NODES_SHIFT 10) */

static pthread_once_t once = PTHREAD_ONCE_INIT;
static unsigned int nodes;
/* libnuma caches each node's CPUs on first use without a lock of its own,
 * and every server's loop thread may ask. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void count_nodes(void)
{
	/* numa_all_nodes_ptr: the nodes with memory that this process may
	 * allocate on (its cpuset's). */
	if (numa_available() >= 0)
		nodes = numa_bitmask_weight(numa_all_nodes_ptr);
}

unsigned int lrpc_numa_nodes(void)
{
	pthread_once(&once, count_nodes);
	return nodes;
}

/* The CPUs of \p node that this process may run on, in \p out. */
static bool node_cpus(int node, cpu_set_t *out)
{
	unsigned long bits[CPU_SETSIZE / LONG_BITS] = { 0 };
	struct bitmask cpus = { .size = CPU_SETSIZE, .maskp = bits };
	cpu_set_t allowed;
	bool any = false;

	CPU_ZERO(out);
	/* ERANGE for a kernel of more than CPU_SETSIZE CPUs: not pinned. */
	if (numa_node_to_cpus(node, &cpus) < 0 ||
	    sched_getaffinity(0, sizeof(allowed), &allowed) < 0)
		return false;
	for (unsigned int c = 0; c < CPU_SETSIZE; c++) {
		if (numa_bitmask_isbitset(&cpus, c) && CPU_ISSET(c, &allowed)) {
			CPU_SET(c, out);
			any = true;
		}
	}
	return any;
}

void lrpc__numa_decide(struct lrpc__numa_place *p, lrpc_numa_mode mode,
		       unsigned int cpu_plus1)
{
	memset(p, 0, sizeof(*p));
	p->mode = LRPC_NUMA_OFF;
	p->node = -1;
	if (mode == LRPC_NUMA_OFF || lrpc_numa_nodes() < 2)
		return;
	if (mode == LRPC_NUMA_INTERLEAVE) {
		p->mode = mode;
		return;
	}
	/* A CPU past the machine's (a hostile or confused client) is as
	 * good as none said. */
	if (cpu_plus1 == 0 || cpu_plus1 > (unsigned int)numa_num_configured_cpus())
		return;
	pthread_mutex_lock(&lock);
	p->node = numa_node_of_cpu((int)cpu_plus1 - 1);
	if (p->node >= 0 && (unsigned int)p->node < NODE_WORDS * LONG_BITS &&
	    numa_bitmask_isbitset(numa_all_nodes_ptr, (unsigned int)p->node)) {
		p->mode = mode;
		p->pin = node_cpus(p->node, &p->cpus);
	} else {
		p->node = -1;
	}
	pthread_mutex_unlock(&lock);
}

int lrpc__numa_bind(const struct lrpc__numa_place *p, void *base, size_t len)
{
	unsigned long node[NODE_WORDS] = { 0 };

	if (p->mode == LRPC_NUMA_OFF)
		return 0;
	if (p->mode == LRPC_NUMA_INTERLEAVE)
		return mbind(base, len, MPOL_INTERLEAVE, numa_all_nodes_ptr->maskp,
			     numa_all_nodes_ptr->size + 1, 0) < 0 ? -errno : 0;
	/* Preferred, not bound: a node out of memory spills to another
	 * rather than failing the client's page faults. */
	node[p->node / LONG_BITS] = 1UL << (p->node % LONG_BITS);
	return mbind(base, len, MPOL_PREFERRED, node, NODE_WORDS * LONG_BITS + 1, 0) < 0 ?
		-errno : 0;
}

#else /* !LRPC_HAVE_NUMA: accepted, and nothing to do */

unsigned int lrpc_numa_nodes(void)
{
	return 0;
}

void lrpc__numa_decide(struct lrpc__numa_place *p, lrpc_numa_mode mode,
		       unsigned int cpu_plus1)
{
	(void)mode;
	(void)cpu_plus1;
	memset(p, 0, sizeof(*p));
	p->node = -1;
}

int lrpc__numa_bind(const struct lrpc__numa_place *p, void *base, size_t len)
{
	(void)p;
	(void)base;
	(void)len;
	return 0;
}

#endif

int lrpc__numa_pin(const struct lrpc__numa_place *p)
{
	if (!p->pin)
		return 0;
	return -pthread_setaffinity_np(pthread_self(), sizeof(p->cpus), &p->cpus);
}
