// SPDX-License-Identifier: MIT
// ktest: early pie timeout=120
/*
 * kill -9 of the sender while it runs a handler that makes no system
 * call (K2.6). The SIGKILL hands the handler to R's task as any signal
 * does, and B gives the call up as it dies: R is left callable again
 * (its word back to WAIT, asleep in its wait), or, if it already ran
 * the handler on, finishes it once A ends the spin and then waits
 * again. Before K2.6 R's word stayed CALL for ever: uncallable.
 */
#include "rpal_ucall_spin.h"

#define SELF "/tests/rpal_ucall_spin_kill_sender"

struct ctl {
	struct ucall_ctl u;
	pid_t b_pid;
	int started;
};

static struct ctl *ctl;

/* B is a zombie (the test reaps it) or gone. */
static int dead(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 1;
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	return !p || p[2] == 'Z' || p[2] == 'X';
}

static void owner(void)
{
	uint32_t w;

	spin_owner_start(&ctl->u, &ctl->started, NULL, NULL);
	spin_wait_started();
	CHECK_OK(kill(ctl->b_pid, SIGKILL));
	while (!dead(ctl->b_pid))
		sched_yield();
	/* If R took the handler over, let it finish. */
	spin_stop = 1;
	while (st(w = __atomic_load_n(&r_uctx.state, __ATOMIC_ACQUIRE)) !=
	       RPAL_RECEIVER_WAIT)
		sched_yield();
	while (task_state_of(getpid(), ctl->u.r_tid) != 'S')
		sched_yield();
	/* Still WAIT once R sleeps: nobody holds it. */
	w = __atomic_load_n(&r_uctx.state, __ATOMIC_ACQUIRE);
	if (st(w) != RPAL_RECEIVER_WAIT)
		FAIL("R's word after B died: %#x", w);
}

static void importer(void)
{
	struct rpal_uctx *recv;
	rpal_call_fn call;

	ctl->b_pid = getpid();
	recv = spin_importer_start(&ctl->u, &call);
	ucall_wait_ready(&ctl->u, recv);
	call(&b_uctx, recv, 1);
	FAIL("B outlived its SIGKILL");
}

int main(int argc, char **argv)
{
	ucall_main_expect(argc, argv, SELF, &rpal_fd, (void **)&ctl,
			  sizeof(*ctl), owner, importer, 0, 128 + SIGKILL);
	return T_PASS;
}
