// SPDX-License-Identifier: MIT
/*
 * The cgroup v2 freezer freezes and thaws a waiting receiver and a caller
 * blocked in a call: the wait restarts rather than failing and the call
 * then completes with success.
 */
// ktest: timeout=60
#include <sys/mount.h>
#include <sys/stat.h>
#include "rpal_pair.h"

#define CG "/sys/fs/cgroup/rpal_freeze"

static void put(const char *file, const char *fmt, int v)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), CG "/%s", file);
	f = fopen(path, "w");
	if (!f)
		FAIL("open %s: %s", path, strerror(errno));
	fprintf(f, fmt, v);
	if (fclose(f))
		FAIL("write %s: %s", path, strerror(errno));
}

static int frozen(void)
{
	char line[64];
	int v = -1;
	FILE *f = fopen(CG "/cgroup.events", "r");

	if (!f)
		FAIL("cgroup.events: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		sscanf(line, "frozen %d", &v);
	fclose(f);
	return v;
}

static void freeze(int on)
{
	put("cgroup.freeze", "%d", on);
	while (frozen() != on)
		usleep(1000);
}

int main(void)
{
	rpal_open();
	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) &&
	    mount("cgroup2", "/sys/fs/cgroup", "cgroup2", 0, NULL)) {
		printf("no cgroup2 (%s)\n", strerror(errno));
		return T_SKIP;
	}
	if (mkdir(CG, 0755) && errno != EEXIST)
		FAIL("mkdir %s: %s", CG, strerror(errno));
	pair_start();
	put("cgroup.procs", "%d", pair->r);
	put("cgroup.procs", "%d", pair->c);

	pair_block_caller();
	pair_wait_idle(0);
	freeze(1);
	freeze(0);
	pair_release_caller();
	pair_call_idle();

	/* Once more, frozen while nothing is in flight. */
	pair_wait_idle(0);
	freeze(1);
	freeze(0);
	pair_call_idle();

	pair_end();
	CHECK_OK(rmdir(CG));
	return T_PASS;
}
