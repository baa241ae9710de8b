// SPDX-License-Identifier: MIT
// ktest: early pie timeout=120
/*
 * A signal to a sender while it runs a handler that makes no system
 * call (K2.6): R's handler spins on B's CPU, with R's TLS on R's handler
 * stack, when A sends B a SIGUSR1. The signal hands the handler to R's
 * task first, so:
 *
 * - B's signal handler runs on B's own stack and TLS (without the
 *   switch it would run on R's handler stack with R's TLS), and a
 *   getpid() there is B's;
 * - meanwhile R's word says LAZY_SWITCH with B's ids: R runs the
 *   handler on;
 * - a second SIGUSR1, sent while B waits for the reply, is handled the
 *   same way, and when A ends the spin the call returns the reply.
 */
#include "rpal_ucall_spin.h"
#include <sys/syscall.h>

#define SELF "/tests/rpal_ucall_spin_signal"
#define A_TLS 0xa11ce000u
#define B_TLS 0xb0b000u
#define SIGNALS 2

struct ctl {
	struct ucall_ctl u;
	pid_t b_pid;
	int started;
	int signals;
	int bad_tls, bad_stack, bad_pid;
	uint64_t b_stack;	/* near the top of B's own stack */
	uint32_t r_word;
};

static struct ctl *ctl;
static __thread uint64_t tls_mark;

static unsigned long handler(struct rpal_uctx *self, unsigned long arg)
{
	/* R's TLS, whichever task ran the handler. */
	return spin_handler(self, arg) + tls_mark;
}

static void r_setup(void)
{
	tls_mark = A_TLS;
}

static void on_usr1(int sig)
{
	volatile char here;
	uint64_t sp = (uintptr_t)&here;

	(void)sig;
	if (tls_mark != B_TLS)
		ctl->bad_tls++;
	if (sp > ctl->b_stack || ctl->b_stack - sp > (1 << 20))
		ctl->bad_stack++;
	if (syscall(SYS_getpid) != ctl->b_pid)
		ctl->bad_pid++;
	__atomic_add_fetch(&ctl->signals, 1, __ATOMIC_RELEASE);
}

static void owner(void)
{
	int i;

	spin_owner_start(&ctl->u, &ctl->started, handler, r_setup);
	spin_wait_started();
	for (i = 1; i <= SIGNALS; i++) {
		CHECK_OK(kill(ctl->b_pid, SIGUSR1));
		while (__atomic_load_n(&ctl->signals, __ATOMIC_ACQUIRE) < i)
			sched_yield();
		if (i == 1)
			ctl->r_word = __atomic_load_n(&r_uctx.state,
						      __ATOMIC_ACQUIRE);
	}
	spin_stop = 1;
	step_wait(&ctl->u.step, 1);
}

static void importer(void)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	volatile char top;
	struct rpal_uctx *recv;
	rpal_call_fn call;
	uint32_t w;
	long ret;

	tls_mark = B_TLS;
	ctl->b_pid = getpid();
	ctl->b_stack = (uintptr_t)&top;
	CHECK_OK(sigaction(SIGUSR1, &sa, NULL));
	recv = spin_importer_start(&ctl->u, &call);
	ucall_wait_ready(&ctl->u, recv);
	ret = call(&b_uctx, recv, 1);
	if (ret || b_uctx.arg != 2 + A_TLS)
		FAIL("the call: %ld, reply %#llx, want %#x", ret,
		     (unsigned long long)b_uctx.arg, 2 + A_TLS);
	CHECK(ctl->signals == SIGNALS);
	if (ctl->bad_tls || ctl->bad_stack || ctl->bad_pid)
		FAIL("B's signal handler: %d not on B's TLS, %d not on B's stack, %d getpid() not B's",
		     ctl->bad_tls, ctl->bad_stack, ctl->bad_pid);
	w = ctl->r_word;
	if (st(w) != RPAL_RECEIVER_LAZY_SWITCH || snd(w) != snd(b_uctx.ids))
		FAIL("R's word after B's first signal: %#x", w);
	CHECK(tls_mark == B_TLS);
	CHECK(b_uctx.state == RPAL_SENDER_RUNNING);
	step_set(&ctl->u.step, 1);
}

int main(int argc, char **argv)
{
	ucall_main(argc, argv, SELF, &rpal_fd, (void **)&ctl, sizeof(*ctl),
		   owner, importer);
	return T_PASS;
}
