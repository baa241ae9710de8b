// SPDX-License-Identifier: MIT
// ktest: early pie timeout=120
/*
 * A handler that makes no system call is preempted as the receiver
 * (K2.6): B runs R's handler, which spins for about 50 ms, on CPU 0
 * beside a CPU hog pinned there too. The first preemption of B in the
 * handler hands it to R's task (also on CPU 0), so the hog then
 * preempts R, not B: R's involuntary context switches and CPU time
 * grow while B sleeps in its wait for the reply, and the call returns
 * the handler's reply. Without the switch R sleeps through the call
 * and neither grows.
 *
 * A's main thread, on CPU 1, ends the handler's spin 50 ms after it
 * began, or later, once R has been preempted and has run for a tick,
 * with a 10 s cap that fails the test.
 */
#include "rpal_ucall_spin.h"

#define SELF "/tests/rpal_ucall_spin_preempt"
#define SPIN_NS 50000000ull
#define CAP_NS 10000000000ull

struct ctl {
	struct ucall_ctl u;
	int hog_ready;
	int started;
	long r_nivcsw[2];
	long r_ticks[2];
};

static struct ctl *ctl;

/* Field @key of /proc/self/task/@tid/status. */
static long status_field(pid_t tid, const char *key)
{
	char path[64], line[128];
	size_t n = strlen(key);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	f = fopen(path, "r");
	CHECK(f);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':')
			v = atol(line + n + 1);
	fclose(f);
	CHECK(v >= 0);
	return v;
}

/* utime + stime of thread @tid, in clock ticks. */
static long cpu_ticks(pid_t tid)
{
	char path[64], buf[512], *p;
	unsigned long ut, stime;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	f = fopen(path, "r");
	CHECK(f && fgets(buf, sizeof(buf), f));
	fclose(f);
	p = strrchr(buf, ')');
	/* state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt */
	CHECK(p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
			  &ut, &stime) == 2);
	return ut + stime;
}

static void owner(void)
{
	pid_t tid;
	uint64_t t0;

	spin_owner_start(&ctl->u, &ctl->started, NULL, NULL);
	pin_to(1);
	spin_wait_started();
	tid = ctl->u.r_tid;
	ctl->r_nivcsw[0] = status_field(tid, "nonvoluntary_ctxt_switches");
	ctl->r_ticks[0] = cpu_ticks(tid);
	t0 = now_ns();
	/* The handler's length, not a synchronisation: it spins until told. */
	usleep(SPIN_NS / 1000);
	do {
		ctl->r_nivcsw[1] = status_field(tid,
						"nonvoluntary_ctxt_switches");
		ctl->r_ticks[1] = cpu_ticks(tid);
		if (ctl->r_nivcsw[1] > ctl->r_nivcsw[0] &&
		    ctl->r_ticks[1] > ctl->r_ticks[0])
			break;
		usleep(1000);
	} while (now_ns() - t0 < CAP_NS);
	spin_stop = 1;
	step_wait(&ctl->u.step, 1);
}

static void importer(void)
{
	struct rusage ru0, ru1;
	struct rpal_uctx *recv;
	rpal_call_fn call;
	pid_t hog;
	long ret;

	recv = spin_importer_start(&ctl->u, &call);
	pin_to(0);
	hog = fork();
	CHECK(hog >= 0);
	if (!hog) {
		pin_to(0);
		__atomic_store_n(&ctl->hog_ready, 1, __ATOMIC_RELEASE);
		for (;;)
			;
	}
	while (!__atomic_load_n(&ctl->hog_ready, __ATOMIC_ACQUIRE))
		sched_yield();
	ucall_wait_ready(&ctl->u, recv);
	CHECK_OK(getrusage(RUSAGE_THREAD, &ru0));
	ret = call(&b_uctx, recv, 41);
	CHECK_OK(getrusage(RUSAGE_THREAD, &ru1));
	kill(hog, SIGKILL);
	reap(hog);
	if (ret || b_uctx.arg != 42)
		FAIL("the call: %ld, reply %llu, want 42", ret,
		     (unsigned long long)b_uctx.arg);
	printf("R: +%ld involuntary switches, +%ld ticks; B: +%ld voluntary, +%ld involuntary, %ld us CPU\n",
	       ctl->r_nivcsw[1] - ctl->r_nivcsw[0],
	       ctl->r_ticks[1] - ctl->r_ticks[0],
	       ru1.ru_nvcsw - ru0.ru_nvcsw, ru1.ru_nivcsw - ru0.ru_nivcsw,
	       (ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) * 1000000L +
	       ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec +
	       (ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) * 1000000L +
	       ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec);
	if (ctl->r_nivcsw[1] <= ctl->r_nivcsw[0] ||
	    ctl->r_ticks[1] <= ctl->r_ticks[0])
		FAIL("R was not preempted running the handler in 10 s");
	/* B went to sleep for the reply: a voluntary switch. */
	CHECK(ru1.ru_nvcsw > ru0.ru_nvcsw);
	CHECK(b_uctx.state == RPAL_SENDER_RUNNING);
	step_set(&ctl->u.step, 1);
}

int main(int argc, char **argv)
{
	ucall_main(argc, argv, SELF, &rpal_fd, (void **)&ctl, sizeof(*ctl),
		   owner, importer);
	return T_PASS;
}
