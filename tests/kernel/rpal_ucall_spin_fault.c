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
#include "rpal_ucall_spin.h"

#define SELF "/tests/rpal_ucall_spin_fault"
#define B_TLS 0xb0b000u

struct ctl {
	struct ucall_ctl u;
};

static struct ctl *ctl;
static __thread uint64_t tls_mark;
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
	spin_owner_start(&ctl->u, NULL, handler, NULL);
	/* Until the handler's fault ends A. */
	for (;;)
		pause();
}

static void importer(void)
{
	uint32_t mxcsr = get_mxcsr(), fpucw = get_fpucw();
	struct rpal_uctx *recv;
	sigset_t mask, pending;
	rpal_call_fn call;
	long ret;

	tls_mark = B_TLS;
	recv = spin_importer_start(&ctl->u, &call);
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
	ucall_main_expect(argc, argv, SELF, &rpal_fd, (void **)&ctl,
			  sizeof(*ctl), owner, importer, 128 + SIGSEGV, 0);
	return T_PASS;
}
