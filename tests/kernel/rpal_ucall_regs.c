// SPDX-License-Identifier: MIT
// ktest: early pie timeout=120
/*
 * A user-mode call gives the sender its own context back, whatever the
 * handler did (K2.4): R's handler, in assembly, overwrites rbx, rbp and
 * r12-r15, loads another MXCSR and x87 control word and another fsbase,
 * and returns 42. After the call B's callee-saved registers, stack
 * pointer, fsbase (and so its TLS), MXCSR and control word are those it
 * had before it.
 */
#include "rpal_ucall.h"

#define SELF "/tests/rpal_ucall_regs"
#define B_MXCSR (0x1f80u | 0x2000u)	/* round down */
#define B_FPUCW 0x027fu			/* double precision */

struct ctl {
	struct ucall_ctl u;
};

static int rpal_fd;
static struct ctl *ctl;
static __thread uint64_t tls_mark;
static struct rpal_uctx r_uctx __attribute__((aligned(128)));
static struct rpal_uctx b_uctx __attribute__((aligned(128)));

unsigned long ucall_clobber(struct rpal_uctx *self, unsigned long arg);
long ucall_checked(rpal_call_fn call, struct rpal_uctx *self,
		   struct rpal_uctx *recv, unsigned long arg, uint64_t out[8]);

asm(".text\n"
    ".globl ucall_clobber\n"
    ".type ucall_clobber, @function\n"
    "ucall_clobber:\n"
    "	movabs $0xdead0000000000b0, %rbx\n"
    "	movabs $0xdead0000000000b1, %rbp\n"
    "	movabs $0xdead0000000000b2, %r12\n"
    "	movabs $0xdead0000000000b3, %r13\n"
    "	movabs $0xdead0000000000b4, %r14\n"
    "	movabs $0xdead0000000000b5, %r15\n"
    "	sub $8, %rsp\n"
    "	movl $0x9fc0, (%rsp)\n"		/* FTZ, DAZ, round up */
    "	ldmxcsr (%rsp)\n"
    "	movw $0x007f, (%rsp)\n"		/* single precision */
    "	fldcw (%rsp)\n"
    "	add $8, %rsp\n"
    "	mov $0x7000, %eax\n"		/* an unmapped fsbase */
    "	wrfsbase %rax\n"
    "	mov $42, %eax\n"
    "	ret\n"
    ".size ucall_clobber, .-ucall_clobber\n"
    /*
     * ucall_checked(call, self, recv, arg, out): call the stub with known
     * values in the callee-saved registers; out[0..5] = rbx, rbp, r12-r15
     * after it, out[6] = rsp before it, out[7] = rsp after it.
     */
    ".globl ucall_checked\n"
    ".type ucall_checked, @function\n"
    "ucall_checked:\n"
    "	push %rbx\n"
    "	push %rbp\n"
    "	push %r12\n"
    "	push %r13\n"
    "	push %r14\n"
    "	push %r15\n"
    "	push %r8\n"
    "	mov %rsp, 48(%r8)\n"
    "	mov %rdi, %rax\n"
    "	mov %rsi, %rdi\n"
    "	mov %rdx, %rsi\n"
    "	mov %rcx, %rdx\n"
    "	movabs $0x5ede000000000000, %rbx\n"
    "	movabs $0x5ede000000000001, %rbp\n"
    "	movabs $0x5ede000000000002, %r12\n"
    "	movabs $0x5ede000000000003, %r13\n"
    "	movabs $0x5ede000000000004, %r14\n"
    "	movabs $0x5ede000000000005, %r15\n"
    "	call *%rax\n"
    "	mov (%rsp), %r8\n"
    "	mov %rbx, 0(%r8)\n"
    "	mov %rbp, 8(%r8)\n"
    "	mov %r12, 16(%r8)\n"
    "	mov %r13, 24(%r8)\n"
    "	mov %r14, 32(%r8)\n"
    "	mov %r15, 40(%r8)\n"
    "	mov %rsp, 56(%r8)\n"
    "	pop %r8\n"
    "	pop %r15\n"
    "	pop %r14\n"
    "	pop %r13\n"
    "	pop %r12\n"
    "	pop %rbp\n"
    "	pop %rbx\n"
    "	ret\n"
    ".size ucall_checked, .-ucall_checked\n");

static void owner(void)
{
	struct ucall_recv r = {
		.ctl = &ctl->u, .uctx = &r_uctx, .handler = ucall_clobber,
		.mxcsr = 0x1f80, .fpucw = 0x037f,
	};

	ucall_owner_start(rpal_fd, &r);
	step_wait(&ctl->u.step, 1);
}

static void importer(void)
{
	uint32_t mxcsr0 = get_mxcsr(), fpucw0 = get_fpucw(), mxcsr;
	uint64_t out[8], fs;
	struct rpal_uctx *recv;
	rpal_call_fn call;
	uint32_t id_a;
	uint16_t fpucw;
	long ret;
	int i;

	tls_mark = 0xb0b;
	id_a = ucall_importer_start(rpal_fd, &ctl->u, &b_uctx);
	recv = ucall_lookup(rpal_fd, id_a, ctl->u.rid, &call);
	ucall_wait_ready(&ctl->u, recv);

	fs = rdfsbase();
	set_mxcsr(B_MXCSR);
	set_fpucw(B_FPUCW);
	ret = ucall_checked(call, &b_uctx, recv, 7, out);
	mxcsr = get_mxcsr();
	fpucw = get_fpucw();
	set_mxcsr(mxcsr0);
	set_fpucw(fpucw0);
	/* Before anything that uses TLS: errno, printf. */
	if (rdfsbase() != fs) {
		wrfsbase(fs);
		FAIL("fsbase after the call is not B's");
	}
	CHECK(ret == 0 && b_uctx.arg == 42);
	for (i = 0; i < 6; i++)
		if (out[i] != 0x5ede000000000000ull + i)
			FAIL("callee-saved register %d after the call: %#llx",
			     i, (unsigned long long)out[i]);
	if (out[7] != out[6])
		FAIL("rsp %#llx after the call, %#llx before",
		     (unsigned long long)out[7], (unsigned long long)out[6]);
	if (mxcsr != B_MXCSR || fpucw != B_FPUCW)
		FAIL("MXCSR %#x CW %#x after the call, want B's %#x %#x",
		     mxcsr, fpucw, B_MXCSR, B_FPUCW);
	CHECK(tls_mark == 0xb0b);
	CHECK(recv->state == RPAL_RECEIVER_WAIT);
	CHECK(b_uctx.state == RPAL_SENDER_RUNNING);
	step_set(&ctl->u.step, 1);
}

int main(int argc, char **argv)
{
	ucall_main(argc, argv, SELF, &rpal_fd, (void **)&ctl, sizeof(*ctl),
		   owner, importer);
	return T_PASS;
}
