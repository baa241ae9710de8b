// SPDX-License-Identifier: MIT
// ktest: early pie timeout=120
/*
 * Signals to a sender whose call the lazy switch handed to the receiver
 * (K2.5): the handler blocks, as R, in a read() of a pipe only A has,
 * and A sends B three SIGUSR1s meanwhile.
 *
 * - while the handler blocks, R's word says LAZY_SWITCH with B's ids;
 * - each signal handler of B's runs on B's own stack and TLS (not R's
 *   handler stack or TLS), and a getpid() there is B's;
 * - after each, B waits on for the reply (the wait restarts), and when A
 *   writes to the pipe the call returns 0 with the byte as its reply.
 */
#include "rpal_ucall.h"
#include <sys/syscall.h>

#define SELF "/tests/rpal_ucall_lazy_signal"
#define A_TLS 0xa11ce000u
#define B_TLS 0xb0b000u
#define SIGNALS 3

struct ctl {
	struct ucall_ctl u;
	pid_t b_pid;
	int in_handler;
	int signals;
	int bad_tls, bad_stack, bad_pid;
	uint64_t b_stack;	/* near the top of B's own stack */
	uint32_t r_word;
	int pipe_fd;		/* A's read end, for the handler */
};

static int rpal_fd;
static struct ctl *ctl;
static __thread uint64_t tls_mark;
static struct rpal_uctx r_uctx __attribute__((aligned(128)));
static struct rpal_uctx b_uctx __attribute__((aligned(128)));

static unsigned long handler(struct rpal_uctx *self, unsigned long arg)
{
	char c;

	(void)self;
	(void)arg;
	__atomic_store_n(&ctl->in_handler, 1, __ATOMIC_RELEASE);
	return read(ctl->pipe_fd, &c, 1) == 1 ? (unsigned char)c : ~0UL;
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

static void wait_asleep(pid_t pid)
{
	while (task_state_of(pid, pid) != 'S')
		usleep(1000);
}

static void owner(void)
{
	struct ucall_recv r = {
		.ctl = &ctl->u, .uctx = &r_uctx, .handler = handler,
		.setup = r_setup, .mxcsr = 0x1f80, .fpucw = 0x037f,
	};
	int p[2], i;

	CHECK_OK(pipe(p));
	ctl->pipe_fd = p[0];
	ucall_owner_start(rpal_fd, &r);
	while (!__atomic_load_n(&ctl->in_handler, __ATOMIC_ACQUIRE))
		sched_yield();
	for (i = 1; i <= SIGNALS; i++) {
		/* B asleep in its wait for the reply, R in the read. */
		wait_asleep(ctl->b_pid);
		ctl->r_word = r_uctx.state;
		CHECK_OK(kill(ctl->b_pid, SIGUSR1));
		while (__atomic_load_n(&ctl->signals, __ATOMIC_ACQUIRE) < i)
			sched_yield();
	}
	wait_asleep(ctl->b_pid);
	CHECK(write(p[1], "z", 1) == 1);
	step_wait(&ctl->u.step, 1);
}

static void importer(void)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	volatile char top;
	struct rpal_uctx *recv;
	rpal_call_fn call;
	uint32_t id_a, w;
	long ret;

	tls_mark = B_TLS;
	ctl->b_pid = getpid();
	ctl->b_stack = (uintptr_t)&top;
	CHECK_OK(sigaction(SIGUSR1, &sa, NULL));
	id_a = ucall_importer_start(rpal_fd, &ctl->u, &b_uctx);
	recv = ucall_lookup(rpal_fd, id_a, ctl->u.rid, &call);
	ucall_wait_ready(&ctl->u, recv);
	ret = call(&b_uctx, recv, 0);
	if (ret || b_uctx.arg != 'z')
		FAIL("the call: %ld, reply %#llx, want 'z'", ret,
		     (unsigned long long)b_uctx.arg);
	CHECK(ctl->signals == SIGNALS);
	if (ctl->bad_tls || ctl->bad_stack || ctl->bad_pid)
		FAIL("B's signal handler: %d not on B's TLS, %d not on B's stack, %d getpid() not B's",
		     ctl->bad_tls, ctl->bad_stack, ctl->bad_pid);
	w = ctl->r_word;
	if (st(w) != RPAL_RECEIVER_LAZY_SWITCH || snd(w) != snd(b_uctx.ids))
		FAIL("R's word while the handler blocked as R: %#x", w);
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
