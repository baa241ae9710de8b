// SPDX-License-Identifier: MIT
// ktest: early pie timeout=180
/*
 * A pure user-mode call enters no kernel (K2.4): B makes CALLS calls of
 * a handler that makes no system call, each with its reply checked, and
 * its thread's voluntary and involuntary context switches
 * (getrusage(RUSAGE_THREAD)) do not change; neither do R's (from
 * /proc), which slept in RPAL_IOC_WAIT throughout. A kernel-mediated
 * call (RPAL_IOC_CALL) costs each side at least one voluntary switch.
 * A and R sleep or spin on CPU 0, B runs alone on CPU 1, SCHED_FIFO
 * for the count, so that a kernel thread that wakes on CPU 1 does not
 * preempt it (which would count as an involuntary switch that no call
 * caused).
 */
#include "rpal_ucall.h"

#define SELF "/tests/rpal_ucall_rusage"
#define CALLS 100000

struct ctl {
	struct ucall_ctl u;
	long r_vol[2], r_invol[2];
};

static int rpal_fd;
static struct ctl *ctl;
static struct rpal_uctx r_uctx __attribute__((aligned(128)));
static struct rpal_uctx b_uctx __attribute__((aligned(128)));

static unsigned long handler(struct rpal_uctx *self, unsigned long arg)
{
	(void)self;
	return arg ^ 0x5a5a;
}

/* voluntary_ctxt_switches and nonvoluntary_ctxt_switches of R. */
static void r_switches(long *vol, long *invol)
{
	char path[64], line[128];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status",
		 ctl->u.r_tid);
	f = fopen(path, "r");
	CHECK(f);
	*vol = *invol = -1;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "voluntary_ctxt_switches: %ld", vol);
		sscanf(line, "nonvoluntary_ctxt_switches: %ld", invol);
	}
	fclose(f);
	CHECK(*vol >= 0 && *invol >= 0);
}

static void owner(void)
{
	struct ucall_recv r = {
		.ctl = &ctl->u, .uctx = &r_uctx, .handler = handler,
		.mxcsr = 0x1f80, .fpucw = 0x037f,
	};

	ucall_owner_start(rpal_fd, &r);
	step_wait(&ctl->u.step, 1);
	/* R asleep in its wait for good before the count starts. */
	while (task_state_of(getpid(), ctl->u.r_tid) != 'S')
		sched_yield();
	r_switches(&ctl->r_vol[0], &ctl->r_invol[0]);
	step_set(&ctl->u.step, 2);
	step_wait(&ctl->u.step, 3);
	r_switches(&ctl->r_vol[1], &ctl->r_invol[1]);
	step_set(&ctl->u.step, 4);
}

static void importer(void)
{
	struct sched_param fifo = { .sched_priority = 50 }, other = { 0 };
	struct rusage ru0, ru1;
	struct rpal_uctx *recv;
	rpal_call_fn call;
	uint32_t id_a;
	long i, bad = 0;

	id_a = ucall_importer_start(rpal_fd, &ctl->u, &b_uctx);
	recv = ucall_lookup(rpal_fd, id_a, ctl->u.rid, &call);
	ucall_wait_ready(&ctl->u, recv);
	step_set(&ctl->u.step, 1);
	step_wait(&ctl->u.step, 2);
	/* Fault in the handler's stack and code first. */
	CHECK(call(&b_uctx, recv, 1) == 0);

	CHECK_OK(sched_setscheduler(0, SCHED_FIFO, &fifo));
	CHECK_OK(getrusage(RUSAGE_THREAD, &ru0));
	for (i = 0; i < CALLS; i++)
		if (call(&b_uctx, recv, i) || b_uctx.arg != (i ^ 0x5a5aul))
			bad++;
	CHECK_OK(getrusage(RUSAGE_THREAD, &ru1));
	CHECK_OK(sched_setscheduler(0, SCHED_OTHER, &other));
	step_set(&ctl->u.step, 3);
	step_wait(&ctl->u.step, 4);

	if (bad)
		FAIL("%ld of %d calls failed or had a wrong reply", bad, CALLS);
	printf("%d calls: B %ld/%ld, R %ld/%ld (in)voluntary switches\n",
	       CALLS, ru1.ru_nvcsw - ru0.ru_nvcsw,
	       ru1.ru_nivcsw - ru0.ru_nivcsw,
	       ctl->r_vol[1] - ctl->r_vol[0],
	       ctl->r_invol[1] - ctl->r_invol[0]);
	if (ru1.ru_nvcsw != ru0.ru_nvcsw || ru1.ru_nivcsw != ru0.ru_nivcsw)
		FAIL("B switched during the calls");
	if (ctl->r_vol[1] != ctl->r_vol[0] ||
	    ctl->r_invol[1] != ctl->r_invol[0])
		FAIL("R switched during the calls");
}

int main(int argc, char **argv)
{
	ucall_main(argc, argv, SELF, &rpal_fd, (void **)&ctl, sizeof(*ctl),
		   owner, importer);
	return T_PASS;
}
