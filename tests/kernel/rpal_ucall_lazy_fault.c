// SPDX-License-Identifier: MIT
// ktest: early pie timeout=120
/*
 * After the lazy switch a fault in the handler is the receiver's (K2.5):
 * the handler makes a system call, which hands it to R's task, and then
 * stores through a null pointer. A dies of SIGSEGV, B lives: its call
 * returns -ECONNRESET (R's exit fails the call it had taken over), with
 * B's own TLS, MXCSR and control word, and B's word back to RUNNING.
 */
#include "rpal_ucall.h"
#include <sys/syscall.h>

#define SELF "/tests/rpal_ucall_lazy_fault"
#define A_TLS 0xa11ce000u
#define B_TLS 0xb0b000u

struct ctl {
	struct ucall_ctl u;
	pid_t a_pid, r_pid;
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
	/* The system call moves the handler to R's task... */
	ctl->r_pid = syscall(SYS_getpid);
	/* ...where this kills A, not B. */
	*null_ptr = arg;
	return arg;
}

static void r_setup(void)
{
	tls_mark = A_TLS;
}

static void owner(void)
{
	struct ucall_recv r = {
		.ctl = &ctl->u, .uctx = &r_uctx, .handler = handler,
		.setup = r_setup, .mxcsr = 0x1f80, .fpucw = 0x037f,
	};

	ctl->a_pid = getpid();
	ucall_owner_start(rpal_fd, &r);
	/* Until the handler's fault ends A. */
	for (;;)
		pause();
}

static void importer(void)
{
	uint32_t mxcsr = get_mxcsr(), fpucw = get_fpucw(), id_a;
	struct rpal_uctx *recv;
	rpal_call_fn call;
	long ret;

	tls_mark = B_TLS;
	id_a = ucall_importer_start(rpal_fd, &ctl->u, &b_uctx);
	recv = ucall_lookup(rpal_fd, id_a, ctl->u.rid, &call);
	ucall_wait_ready(&ctl->u, recv);
	ret = call(&b_uctx, recv, 7);
	if (ret != -ECONNRESET)
		FAIL("a call whose handler faulted as R: %ld, want %d", ret,
		     -ECONNRESET);
	CHECK(ctl->r_pid == ctl->a_pid);
	CHECK(b_uctx.state == RPAL_SENDER_RUNNING);
	CHECK(tls_mark == B_TLS);
	CHECK(get_mxcsr() == mxcsr && get_fpucw() == fpucw);
}

int main(int argc, char **argv)
{
	ucall_main_expect(argc, argv, SELF, &rpal_fd, (void **)&ctl,
			  sizeof(*ctl), owner, importer, 128 + SIGSEGV, 0);
	return T_PASS;
}
