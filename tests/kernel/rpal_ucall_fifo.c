// SPDX-License-Identifier: MIT
// ktest: early pie timeout=120
/*
 * A SCHED_FIFO pair (K2.5, K2.6): R and B both run SCHED_FIFO at
 * priority 10, where the lazy switch takes no scheduler help either.
 *
 * - 1,000 calls whose handler makes a system call (getpid(), A's pid,
 *   the switch at system call entry) return their replies;
 * - a call whose handler spins is preempted by a SCHED_FIFO task of
 *   priority 20 that A wakes on B's CPU: the preemption hands the
 *   handler to R (R's word says LAZY_SWITCH once B runs again), and
 *   the call returns its reply when A ends the spin;
 * - 1,000 calls more, as the first, after that.
 */
#include "rpal_ucall_spin.h"
#include <linux/futex.h>
#include <sys/syscall.h>

#define SELF "/tests/rpal_ucall_fifo"
#define CALLS 1000
#define SPIN 0xffffUL

struct ctl {
	struct ucall_ctl u;
	pid_t a_pid;
	int started;
	int high_go;		/* a futex in the shared block */
	int high_ran;
	uint32_t r_word;
};

static struct ctl *ctl;

static unsigned long handler(struct rpal_uctx *self, unsigned long arg)
{
	if (arg != SPIN)
		return (unsigned long)syscall(SYS_getpid) << 32 | arg;
	return spin_handler(self, arg);
}

static void fifo(int prio)
{
	struct sched_param sp = { .sched_priority = prio };

	CHECK_OK(sched_setscheduler(0, prio ? SCHED_FIFO : SCHED_OTHER, &sp));
}

static void r_setup(void)
{
	fifo(10);
}

static void owner(void)
{
	uint64_t t0;

	ctl->a_pid = getpid();
	spin_owner_start(&ctl->u, &ctl->started, handler, r_setup);
	spin_wait_started();
	/*
	 * Above R on R's CPU until the spin ends: R runs the handler there
	 * at priority 10 once it takes it over.
	 */
	fifo(30);
	__atomic_store_n(&ctl->high_go, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &ctl->high_go, FUTEX_WAKE, 1, NULL, NULL, 0);
	while (!__atomic_load_n(&ctl->high_ran, __ATOMIC_ACQUIRE))
		sched_yield();
	/* B hands over when it runs again after the preemption; 10 s cap. */
	t0 = now_ns();
	do
		ctl->r_word = __atomic_load_n(&r_uctx.state, __ATOMIC_ACQUIRE);
	while (st(ctl->r_word) != RPAL_RECEIVER_LAZY_SWITCH &&
	       now_ns() - t0 < 10000000000ull && !sched_yield());
	spin_stop = 1;
	fifo(0);
	step_wait(&ctl->u.step, 1);
}

/* B's child: wakes at priority 20 on B's CPU, which preempts B. */
static void high(void)
{
	pin_to(1);
	fifo(20);
	while (!__atomic_load_n(&ctl->high_go, __ATOMIC_ACQUIRE))
		syscall(SYS_futex, &ctl->high_go, FUTEX_WAIT, 0, NULL, NULL,
			0);
	__atomic_store_n(&ctl->high_ran, 1, __ATOMIC_RELEASE);
	_exit(0);
}

static void calls(rpal_call_fn call, struct rpal_uctx *recv)
{
	unsigned long want;
	long ret;
	int i;

	for (i = 1; i <= CALLS; i++) {
		want = (unsigned long)ctl->a_pid << 32 | i;
		ret = call(&b_uctx, recv, i);
		if (ret || b_uctx.arg != want)
			FAIL("call %d: %ld, reply %#llx, want %#lx", i, ret,
			     (unsigned long long)b_uctx.arg, want);
	}
}

static void importer(void)
{
	struct rpal_uctx *recv;
	rpal_call_fn call;
	pid_t child;
	uint32_t w;
	long ret;

	recv = spin_importer_start(&ctl->u, &call);
	fifo(10);
	child = fork();
	CHECK(child >= 0);
	if (!child)
		high();
	ucall_wait_ready(&ctl->u, recv);
	calls(call, recv);
	ret = call(&b_uctx, recv, SPIN);
	if (ret || b_uctx.arg != SPIN + 1)
		FAIL("the spinning call: %ld, reply %#llx", ret,
		     (unsigned long long)b_uctx.arg);
	CHECK(reap(child) == 0);
	w = ctl->r_word;
	if (st(w) != RPAL_RECEIVER_LAZY_SWITCH || snd(w) != snd(b_uctx.ids))
		FAIL("R's word after the preemption: %#x", w);
	calls(call, recv);
	CHECK(b_uctx.state == RPAL_SENDER_RUNNING);
	step_set(&ctl->u.step, 1);
}

int main(int argc, char **argv)
{
	ucall_main(argc, argv, SELF, &rpal_fd, (void **)&ctl, sizeof(*ctl),
		   owner, importer);
	return T_PASS;
}
