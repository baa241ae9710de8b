// SPDX-License-Identifier: MIT
// ktest: early pie timeout=120
/*
 * A fault in a handler before any system call is the receiver's (K2.6):
 * the handler, run by B, stores through a null pointer at once. The
 * kernel holds the fault's SIGSEGV back from B and hands the faulting
 * instruction to R's task, which executes it again: A dies of SIGSEGV,
 * B lives, and its call returns -ECONNRESET with B's own TLS, MXCSR,
 * control word and signal mask, no SIGSEGV pending and B's word back to
 * RUNNING. Without the switch B dies of the SIGSEGV.
 */
#include "rpal_ucall.h"

#define SELF "/tests/rpal_ucall_spin_fault"
#define B_TLS 0xb0b000u

struct ctl {
	struct ucall_ctl u;
};

static int rpal_fd;
static struct ctl *ctl;
static __thread uint64_t tls_mark;
static struct rpal_uctx r_uctx __attribute__((aligned(128)));
static struct rpal_uctx b_uctx __attribute__((aligned(128)));
/* Null, read at run time: the store below must really fault. */
static unsigned long *volatile null_ptr;

static unsigned long handler(struct rpal_uctx *self, unsigned long arg)
{
	(void)self;
	*null_ptr = arg;
	return arg;
}

static void owner(void)
{
	struct ucall_recv r = {
		.ctl = &ctl->u, .uctx = &r_uctx, .handler = handler,
		.mxcsr = 0x1f80, .fpucw = 0x037f,
	};

	ucall_owner_start(rpal_fd, &r);
	/* Until the handler's fault ends A. */
	for (;;)
		pause();
}

static void importer(void)
{
	uint32_t mxcsr = get_mxcsr(), fpucw = get_fpucw(), id_a;
	struct rpal_uctx *recv;
	sigset_t mask, pending;
	rpal_call_fn call;
	long ret;

	tls_mark = B_TLS;
	id_a = ucall_importer_start(rpal_fd, &ctl->u, &b_uctx);
	recv = ucall_lookup(rpal_fd, id_a, ctl->u.rid, &call);
	ucall_wait_ready(&ctl->u, recv);
	ret = call(&b_uctx, recv, 7);
	if (ret != -ECONNRESET)
		FAIL("a call whose handler faulted at once: %ld, want %d", ret,
		     -ECONNRESET);
	CHECK(b_uctx.state == RPAL_SENDER_RUNNING);
	CHECK(tls_mark == B_TLS);
	CHECK(get_mxcsr() == mxcsr && get_fpucw() == fpucw);
	CHECK_OK(sigprocmask(SIG_BLOCK, NULL, &mask));
	CHECK(!sigismember(&mask, SIGSEGV));
	CHECK_OK(sigpending(&pending));
	CHECK(!sigismember(&pending, SIGSEGV));
}

int main(int argc, char **argv)
{
	int ctl_fd, sa, sb;
	pid_t a, b;

	rpal_fd = rpal_open();
	share_start(rpal_fd, argc, argv, (void **)&ctl, sizeof(*ctl), owner,
		    importer);
	need_fsgsbase();
	if (ioctl(rpal_fd, RPAL_IOC_UCALL_ARM) == -1 && errno == ENOTTY) {
		printf("no RPAL_IOC_UCALL_ARM\n");
		return T_SKIP;
	}
	ctl = ctl_create(sizeof(*ctl), &ctl_fd);
	a = spawn_in_slot(rpal_fd, SELF, "owner", ctl_fd, -1);
	b = spawn_in_slot(rpal_fd, SELF, "importer", ctl_fd, -1);
	sb = reap(b);
	if (sb) {
		kill(a, SIGKILL);
		reap(a);
		FAIL("importer status %d", sb);
	}
	sa = reap(a);
	if (sa != 128 + SIGSEGV)
		FAIL("owner status %d, want SIGSEGV (%d)", sa, 128 + SIGSEGV);
	return T_PASS;
}
