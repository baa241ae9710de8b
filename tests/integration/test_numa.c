// SPDX-License-Identifier: MIT
/*
 * NUMA placement (lrpc_server_set_numa()), as the kernel reports it: each
 * mode's policy and pages of a client's region in the server's
 * /proc/self/numa_maps, and the CPUs its receiver threads may run on in
 * each thread's /proc/self/task/TID/status. The server is in this
 * process, its client one of its threads, pinned to a CPU of the node
 * under test.
 *
 * LRPC_NUMA_TEST says which half:
 *   placement   two nodes or more (the RPAL guest boots with two): the
 *               placement itself; SKIP (77) on fewer
 *   one-node    fewer than two (most hosts), or a library built without
 *               libnuma: every mode does nothing; SKIP (77) where there
 *               are two
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "probe.lrpc.h"

#define RECEIVERS 2
#define PAYLOAD (64 << 10) /* 16 pages of the lane buffer, both ways */

static lrpc_code echo(void *user, lrpc_call *call, const Lrpctest__EchoMsg *req,
		      Lrpctest__EchoMsg *rep)
{
	(void)user;
	(void)call;
	rep->seq = req->seq;
	rep->payload = req->payload; /* the request outlives the reply's packing */
	return LRPC_OK;
}

/* A server of \p mode in a fresh runtime directory; its address in uri. */
static lrpc_server *start(lrpc_numa_mode mode, char *uri, size_t len)
{
	static const Lrpctest__Probe_Handlers h = { .echo = echo };
	lrpc_server_opts o;
	lrpc_server *s;

	h_dir_setup();
	lrpc_server_opts_init(&o);
	o.receivers = RECEIVERS;
	ck_assert_int_eq(lrpc_server_new(&o, &s), 0);
	ck_assert_int_eq(lrpctest__probe__register(s, &h, NULL), 0);
	ck_assert_int_eq(lrpc_server_set_numa(s, mode), 0);
	h_listen_uri(uri, len, "numa");
	ck_assert_int_eq(lrpc_server_listen(s, uri), 0);
	ck_assert_int_eq(lrpc_server_listener_uri(s, 0, uri, len), 0);
	ck_assert_int_eq(lrpc_server_start(s), 0);
	return s;
}

/* One call with PAYLOAD bytes each way, so that the region has pages. */
static void call(lrpc_channel *ch)
{
	static unsigned char buf[PAYLOAD];
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT, *rep = NULL;

	memset(buf, 0x5a, sizeof(buf));
	req.seq = 7;
	req.payload.data = buf;
	req.payload.len = sizeof(buf);
	ck_assert_int_eq(lrpctest__probe__echo__call(ch, &req, &rep,
						     lrpc_deadline_after_ms(30000), NULL),
			 LRPC_OK);
	ck_assert_uint_eq(rep->payload.len, sizeof(buf));
	lrpctest__echo_msg__free_unpacked(rep, NULL);
}

/* What numa_maps says of the regions' mappings (the server's and, this
 * process being its client too, the client's): their one policy and the
 * pages on each node. */
struct region {
	int lines;
	char policy[64];
	unsigned long pages[64];
};

static void region_read(struct region *r)
{
	FILE *f = fopen("/proc/self/numa_maps", "r");
	char line[4096];

	ck_assert_ptr_nonnull(f);
	memset(r, 0, sizeof(*r));
	while (fgets(line, sizeof(line), f)) {
		char *save, *tok;

		if (!strstr(line, "lazyrpc-lanes"))
			continue;
		strtok_r(line, " \n", &save); /* the address */
		tok = strtok_r(NULL, " \n", &save);
		ck_assert_ptr_nonnull(tok);
		if (r->lines++ == 0)
			snprintf(r->policy, sizeof(r->policy), "%s", tok);
		else /* a memfd's policy is the file's: every mapping's */
			ck_assert_str_eq(r->policy, tok);
		while ((tok = strtok_r(NULL, " \n", &save))) {
			unsigned int node;
			unsigned long n;

			if (sscanf(tok, "N%u=%lu", &node, &n) == 2 && node < 64)
				r->pages[node] += n;
		}
	}
	fclose(f);
}

/* How many of this process's receiver threads may run on exactly \p cpus
 * (a kernel CPU list, "1" or "0-3"), and in \p total how many there
 * are. */
static int receivers_on(const char *cpus, int *total)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0, all = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d))) {
		char path[300], line[512];
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue; /* gone since */
		line[0] = '\0';
		if (!fgets(line, sizeof(line), f))
			line[0] = '\0';
		fclose(f);
		if (strcmp(line, "lrpc-receiver\n") != 0)
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/status", e->d_name);
		f = fopen(path, "r");
		ck_assert_ptr_nonnull(f); /* receivers live as long as the channel */
		while (fgets(line, sizeof(line), f)) {
			if (strncmp(line, "Cpus_allowed_list:", 18))
				continue;
			line[strcspn(line, "\n")] = '\0';
			n += strcmp(line + 18 + strspn(line + 18, " \t"), cpus) == 0;
			all++;
		}
		fclose(f);
	}
	closedir(d);
	if (total)
		*total = all;
	return n;
}

/* This thread's CPU list, as Cpus_allowed_list says it. */
static void my_cpulist(char *buf, size_t len)
{
	FILE *f = fopen("/proc/thread-self/status", "r");
	char line[512];

	ck_assert_ptr_nonnull(f);
	buf[0] = '\0';
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "Cpus_allowed_list:", 18) == 0)
			snprintf(buf, len, "%s", line + 18 + strspn(line + 18, " \t"));
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	ck_assert_str_ne(buf, "");
}

/* sysfs's CPU list of \p node, e.g. "1". */
static void node_cpulist(int node, char *buf, size_t len)
{
	char path[96];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/cpulist", node);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(buf, (int)len, f));
	buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

/* The node under test: that of the last CPU this process may use (in the
 * guest cpu1, node 1: not node 0, where pages and threads could be by
 * chance). The calling thread moves to that CPU; the node's CPU list goes
 * to \p cpus. */
static int pick_node(char *cpus, size_t len)
{
	cpu_set_t all, one;
	int cpu = -1, node = -1;
	char path[96];

	ck_assert_int_eq(sched_getaffinity(0, sizeof(all), &all), 0);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &all))
			cpu = c;
	ck_assert_int_ge(cpu, 0);
	for (int n = 0; n < 64 && node < 0; n++) {
		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/node%d", cpu, n);
		if (access(path, F_OK) == 0)
			node = n;
	}
	ck_assert_int_ge(node, 0);
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	ck_assert_int_eq(sched_setaffinity(0, sizeof(one), &one), 0);
	node_cpulist(node, cpus, len);
	return node;
}

/* Where the server's threads may run unless placed: the process's CPUs. */
static char unpinned[256];

/* Start a server of \p mode, call it from a thread on the node under test
 * and read the placement. \return the node. */
static int run(lrpc_numa_mode mode, struct region *r, char *cpus, size_t len,
	       lrpc_server **srv, lrpc_channel **ch)
{
	char uri[300];
	int node;

	/* The server's threads start before this one moves: they would
	 * inherit its affinity. */
	*srv = start(mode, uri, sizeof(uri));
	my_cpulist(unpinned, sizeof(unpinned));
	node = pick_node(cpus, len);
	ck_assert_int_eq(lrpc_channel_open(uri, NULL, ch), 0);
	call(*ch);
	region_read(r);
	ck_assert_int_ge(r->lines, 2); /* the server's mapping and ours */
	return node;
}

static void done(lrpc_server *srv, lrpc_channel *ch)
{
	lrpc_channel_close(ch);
	lrpc_server_free(srv);
}

static unsigned long pages_total(const struct region *r)
{
	unsigned long n = 0;

	for (int i = 0; i < 64; i++)
		n += r->pages[i];
	return n;
}

/* Two nodes or more. */

START_TEST(placement_off)
{
	struct region r;
	char cpus[256];
	lrpc_server *srv;
	lrpc_channel *ch;

	int all;

	run(LRPC_NUMA_OFF, &r, cpus, sizeof(cpus), &srv, &ch);
	ck_assert_str_eq(r.policy, "default");
	/* The receivers go where the scheduler likes. */
	ck_assert_int_eq(receivers_on(unpinned, &all), RECEIVERS);
	ck_assert_int_eq(all, RECEIVERS);
	done(srv, ch);
}
END_TEST

START_TEST(placement_follow_client)
{
	struct region r;
	char cpus[256], want[32];
	lrpc_server *srv;
	lrpc_channel *ch;
	int node = run(LRPC_NUMA_FOLLOW_CLIENT, &r, cpus, sizeof(cpus), &srv, &ch);
	int all;

	snprintf(want, sizeof(want), "prefer:%d", node);
	ck_assert_str_eq(r.policy, want);
	/* Every page the call touched, on either side, is on our node. */
	ck_assert_uint_gt(r.pages[node], PAYLOAD / 4096);
	ck_assert_uint_eq(pages_total(&r), r.pages[node]);
	/* Both receivers, pinned to the node's CPUs. */
	ck_assert_int_eq(receivers_on(cpus, &all), RECEIVERS);
	ck_assert_int_eq(all, RECEIVERS);
	done(srv, ch);
}
END_TEST

START_TEST(placement_interleave)
{
	struct region r;
	char cpus[256];
	lrpc_server *srv;
	lrpc_channel *ch;
	int spread = 0, all;

	run(LRPC_NUMA_INTERLEAVE, &r, cpus, sizeof(cpus), &srv, &ch);
	ck_assert_msg(strncmp(r.policy, "interleave:", 11) == 0, "policy %s", r.policy);
	/* The payload's consecutive pages alternate. */
	for (int i = 0; i < 64; i++)
		spread += r.pages[i] > 0;
	ck_assert_int_ge(spread, 2);
	ck_assert_int_eq(receivers_on(unpinned, &all), RECEIVERS);
	ck_assert_int_eq(all, RECEIVERS);
	done(srv, ch);
}
END_TEST

/* Fewer than two nodes, or no libnuma: every mode is the kernel's own. */

static void no_op(lrpc_numa_mode mode)
{
	struct region r;
	char uri[300], mine[256];
	lrpc_server *srv;
	lrpc_channel *ch;
	int all;

	ck_assert_uint_le(lrpc_numa_nodes(), 1);
	my_cpulist(mine, sizeof(mine));
	srv = start(mode, uri, sizeof(uri));
	ck_assert_int_eq(lrpc_channel_open(uri, NULL, &ch), 0);
	call(ch);
	region_read(&r);
	ck_assert_int_ge(r.lines, 2);
	ck_assert_str_eq(r.policy, "default");
	ck_assert_uint_gt(pages_total(&r), 0);
	/* No receiver was pinned anywhere. */
	ck_assert_int_eq(receivers_on(mine, &all), RECEIVERS);
	ck_assert_int_eq(all, RECEIVERS);
	done(srv, ch);
}

START_TEST(one_node_off) { no_op(LRPC_NUMA_OFF); }
END_TEST
START_TEST(one_node_follow_client) { no_op(LRPC_NUMA_FOLLOW_CLIENT); }
END_TEST
START_TEST(one_node_interleave) { no_op(LRPC_NUMA_INTERLEAVE); }
END_TEST

/* The option itself, everywhere. */
START_TEST(option)
{
	lrpc_numa_mode m;
	lrpc_server *s;

	ck_assert_int_eq(lrpc_numa_mode_parse("follow-client", &m), 0);
	ck_assert_int_eq(m, LRPC_NUMA_FOLLOW_CLIENT);
	ck_assert_int_eq(lrpc_numa_mode_parse("interleave", &m), 0);
	ck_assert_int_eq(m, LRPC_NUMA_INTERLEAVE);
	ck_assert_int_eq(lrpc_numa_mode_parse("off", &m), 0);
	ck_assert_int_eq(m, LRPC_NUMA_OFF);
	ck_assert_int_eq(lrpc_numa_mode_parse("on", &m), -EINVAL);
	ck_assert_int_eq(lrpc_numa_mode_parse(NULL, &m), -EINVAL);
	ck_assert_str_eq(lrpc_numa_mode_name(LRPC_NUMA_FOLLOW_CLIENT), "follow-client");
	ck_assert_str_eq(lrpc_numa_mode_name((lrpc_numa_mode)9), "?");
	ck_assert_int_eq(lrpc_server_set_numa(NULL, LRPC_NUMA_OFF), -EINVAL);
	ck_assert_int_eq(lrpc_server_new(NULL, &s), 0);
	ck_assert_int_eq(lrpc_server_set_numa(s, (lrpc_numa_mode)3), -EINVAL);
	ck_assert_int_eq(lrpc_server_set_numa(s, LRPC_NUMA_INTERLEAVE), 0);
	lrpc_server_free(s);
}
END_TEST

int main(void)
{
	const char *which = getenv("LRPC_NUMA_TEST");
	const TTest *const placement[] = { placement_off, placement_follow_client,
					   placement_interleave, option };
	const TTest *const one_node[] = { one_node_off, one_node_follow_client,
					  one_node_interleave, option };
	unsigned int nodes = lrpc_numa_nodes();

	if (which && strcmp(which, "placement") == 0) {
		if (nodes < 2) {
			printf("SKIP numa placement: %u NUMA node(s) to place on%s\n", nodes,
			       nodes ? "" : " (no libnuma, or a kernel without NUMA)");
			return 77;
		}
		return h_run("numa_placement", placement, 4, 120);
	}
	if (which && strcmp(which, "one-node") == 0) {
		if (nodes >= 2) {
			printf("SKIP numa one-node: this machine has %u nodes\n", nodes);
			return 77;
		}
		return h_run("numa_one_node", one_node, 4, 120);
	}
	fprintf(stderr, "LRPC_NUMA_TEST: placement or one-node\n");
	return 2;
}
