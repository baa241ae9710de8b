// SPDX-License-Identifier: MIT
// ktest: early pie timeout=180
/*
 * The lazy switch at system call entry (K2.5): a system call in a
 * handler that B runs through __vdso_rpal_call() is made by R's task.
 *
 * - getpid() in the handler is A's pid;
 * - the handler writes to a pipe only A has open (fd 200 is not open in
 *   B) and A reads the bytes;
 * - R's seccomp filter (getppid() fails with 42) applies to the
 *   handler's getppid(), and B's own (fails with 43) does not;
 * - the stub returns 0 and B gets each handler's reply, 10,000 calls in
 *   a row, each making a system call;
 * - B's TLS, MXCSR and control word are B's afterwards, and its own
 *   getppid() still meets its own filter;
 * - R's own state survives: it waits with rbx, r8-r10, r12-r15, xmm3,
 *   MXCSR and fsbase set to values of its own, and when B's SIGUSR1 ends
 *   that wait (EINTR), after all the calls, they are all still there.
 */
#include "rpal_ucall.h"
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#define SELF "/tests/rpal_ucall_lazy"
#define A_TLS 0xa11ce000u
#define B_TLS 0xb0b000u
#define CALLS 10000
#define PIPE_FD 200
#define R_ERRNO 42
#define B_ERRNO 43
#define R_MXCSR (0x1f80u | 0x6000u)	/* the handler's: toward zero */
#define R_FPUCW (0x037fu | 0x0c00u)
#define R_OWN_MXCSR (0x1f80u | 0x2000u)	/* R's own: round down */

enum { OP_PID, OP_FD, OP_SECCOMP };

struct ctl {
	struct ucall_ctl u;
	pid_t a_pid;
	int calls;
	int r_state;		/* 1: R's wait checked, 2: it failed */
	char r_why[160];
};

static int rpal_fd;
static struct ctl *ctl;
static __thread uint64_t tls_mark;
static struct rpal_uctx r_uctx __attribute__((aligned(128)));
static struct rpal_uctx b_uctx __attribute__((aligned(128)));

/* getppid() fails with @err in the calling thread, and only there. */
static void deny_getppid(int err)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | err),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = 4, .filter = f };

	CHECK_OK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
	CHECK_OK(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog));
}

/* Runs as R from its first system call on (R's task, A's mm). */
static unsigned long handler(struct rpal_uctx *self, unsigned long arg)
{
	long r;

	(void)self;
	ctl->calls++;
	switch (arg & 3) {
	case OP_PID:
		return (unsigned long)syscall(SYS_getpid) << 32 | (uint32_t)arg;
	case OP_FD:
		r = write(PIPE_FD, "x", 1);
		return r == 1 ? 1 : 1000 + errno;
	case OP_SECCOMP:
		r = syscall(SYS_getppid);
		return r == -1 ? (unsigned long)errno : 0;
	}
	return ~0UL;
}

static void on_usr1(int sig)
{
	(void)sig;
}

static void r_fail(const char *why, uint64_t got, uint64_t want)
{
	snprintf(ctl->r_why, sizeof(ctl->r_why), "%s: %#llx, want %#llx",
		 why, (unsigned long long)got, (unsigned long long)want);
	__atomic_store_n(&ctl->r_state, 2, __ATOMIC_RELEASE);
}

#define M(n) (0x5a5a000000000000ull | (n))

/*
 * RPAL_IOC_WAIT with registers of R's own that the kernel must give back
 * when the wait ends; the values it ended with go to @out.
 */
static long raw_wait(struct rpal_wait *w, uint64_t out[9])
{
	register uint64_t r8 asm("r8") = M(8), r9 asm("r9") = M(9);
	register uint64_t r10 asm("r10") = M(10), r12 asm("r12") = M(12);
	register uint64_t r13 asm("r13") = M(13), r14 asm("r14") = M(14);
	register uint64_t r15 asm("r15") = M(15);
	uint64_t rbx = M(3), xin = M(0x33), xout;
	long ret = SYS_ioctl;

	asm volatile("movq %[xin], %%xmm3\n\t"
		     "syscall\n\t"
		     "movq %%xmm3, %[xout]"
		     : "+a"(ret), "+r"(r8), "+r"(r9), "+r"(r10), "+r"(r12),
		       "+r"(r13), "+r"(r14), "+r"(r15), "+b"(rbx),
		       [xout] "=r"(xout)
		     : "D"(rpal_fd), "S"(RPAL_IOC_WAIT), "d"(w), [xin] "r"(xin)
		     : "rcx", "r11", "xmm3", "memory");
	out[0] = rbx;
	out[1] = r8;
	out[2] = r9;
	out[3] = r10;
	out[4] = r12;
	out[5] = r13;
	out[6] = r14;
	out[7] = r15;
	out[8] = xout;
	return ret;
}

static void *receiver(void *unused)
{
	static const int idx[9] = { 3, 8, 9, 10, 12, 13, 14, 15, 0x33 };
	struct rpal_register reg = { .ctx = (uintptr_t)&r_uctx };
	struct rpal_wait w = { .timeout_ns = -1 };
	uint64_t out[9], fs;
	uint32_t mxcsr;
	char *stack;
	long ret;
	int i;

	(void)unused;
	pin_to(0);
	tls_mark = A_TLS;
	stack = mmap(NULL, UCALL_STACK, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(stack != MAP_FAILED);
	CHECK_OK(ioctl(rpal_fd, RPAL_IOC_REGISTER_RECEIVER, &reg));
	r_uctx.rip = (uintptr_t)handler;
	r_uctx.rsp = (uintptr_t)stack + UCALL_STACK;
	r_uctx.fsbase = rdfsbase();
	r_uctx.mxcsr = R_MXCSR;
	r_uctx.fpucw = R_FPUCW;
	r_uctx.rseq = my_rseq();
	CHECK_OK(ioctl(rpal_fd, RPAL_IOC_UCALL_ARM));
	deny_getppid(R_ERRNO);
	ctl->u.r_tid = gettid();
	__atomic_store_n(&ctl->u.rid, reg.id, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&ctl->u.r_go, __ATOMIC_ACQUIRE))
		sched_yield();

	fs = rdfsbase();
	set_mxcsr(R_OWN_MXCSR);
	ret = raw_wait(&w, out);
	mxcsr = get_mxcsr();
	set_mxcsr(0x1f80);
	if (ret != -EINTR)
		r_fail("R's wait returned", ret, -EINTR);
	else if (mxcsr != R_OWN_MXCSR)
		r_fail("R's MXCSR after its wait", mxcsr, R_OWN_MXCSR);
	else if (rdfsbase() != fs || tls_mark != A_TLS)
		r_fail("R's fsbase after its wait", rdfsbase(), fs);
	else
		for (i = 0; i < 9 && !ctl->r_state; i++)
			if (out[i] != M(idx[i]))
				r_fail("a register of R's after its wait",
				       out[i], M(idx[i]));
	if (!ctl->r_state)
		__atomic_store_n(&ctl->r_state, 1, __ATOMIC_RELEASE);
	for (;;)
		pause();
	return NULL;
}

static void owner(void)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	pthread_t t;
	uint32_t id_b;
	char buf[4];
	int p[2];

	/* No SA_RESTART: B's SIGUSR1 ends R's wait with EINTR. */
	CHECK_OK(sigaction(SIGUSR1, &sa, NULL));
	CHECK_OK(pipe(p));
	CHECK(dup2(p[1], PIPE_FD) == PIPE_FD);
	CHECK_OK(fcntl(p[0], F_SETFL, O_NONBLOCK));
	ctl->a_pid = getpid();
	pin_to(0);
	__atomic_store_n(&ctl->u.key[0], rpal_enable_key(rpal_fd),
			 __ATOMIC_RELEASE);
	id_b = rpal_request_key(rpal_fd, &ctl->u.key[1]);
	share_when_requested(rpal_fd, id_b);
	CHECK(pthread_create(&t, NULL, receiver, NULL) == 0);
	step_wait(&ctl->u.step, 1);
	/* The handler's write, as R, went to A's pipe. */
	CHECK(read(p[0], buf, sizeof(buf)) == 1 && buf[0] == 'x');
}

static void importer(void)
{
	uint32_t mxcsr = get_mxcsr(), fpucw = get_fpucw(), id_a;
	struct rpal_uctx *recv;
	rpal_call_fn call;
	unsigned long i, want;
	long ret;

	tls_mark = B_TLS;
	id_a = ucall_importer_start(rpal_fd, &ctl->u, &b_uctx);
	recv = ucall_lookup(rpal_fd, id_a, ctl->u.rid, &call);
	deny_getppid(B_ERRNO);
	CHECK(fcntl(PIPE_FD, F_GETFD) == -1 && errno == EBADF);
	CHECK(getpid() != ctl->a_pid);
	ucall_wait_ready(&ctl->u, recv);

	ret = call(&b_uctx, recv, OP_FD);
	if (ret || b_uctx.arg != 1)
		FAIL("write to A's pipe from the handler: %ld, reply %llu", ret,
		     (unsigned long long)b_uctx.arg);
	ret = call(&b_uctx, recv, OP_SECCOMP);
	if (ret || b_uctx.arg != R_ERRNO)
		FAIL("getppid() in the handler: %ld, reply %llu, want R's %d",
		     ret, (unsigned long long)b_uctx.arg, R_ERRNO);
	for (i = 1; i <= CALLS; i++) {
		ret = call(&b_uctx, recv, i << 2 | OP_PID);
		want = (unsigned long)ctl->a_pid << 32 | (uint32_t)(i << 2);
		if (ret || b_uctx.arg != want)
			FAIL("call %lu: %ld, reply %#llx, want %#lx (A is %d)",
			     i, ret, (unsigned long long)b_uctx.arg, want,
			     ctl->a_pid);
		CHECK(b_uctx.state == RPAL_SENDER_RUNNING);
	}
	CHECK(ctl->calls == CALLS + 2);
	CHECK(tls_mark == B_TLS);
	CHECK(get_mxcsr() == mxcsr && get_fpucw() == fpucw);
	CHECK(syscall(SYS_getppid) == -1 && errno == B_ERRNO);

	/* Now end R's wait, which all those calls ran under. */
	CHECK_OK(syscall(SYS_tgkill, ctl->a_pid, ctl->u.r_tid, SIGUSR1));
	while (!__atomic_load_n(&ctl->r_state, __ATOMIC_ACQUIRE))
		sched_yield();
	if (ctl->r_state != 1)
		FAIL("%s", ctl->r_why);
	step_set(&ctl->u.step, 1);
}

int main(int argc, char **argv)
{
	/* A kernel without seccomp filters cannot show whose filter runs. */
	if (prctl(PR_GET_SECCOMP) < 0) {
		printf("no seccomp\n");
		return T_SKIP;
	}
	ucall_main(argc, argv, SELF, &rpal_fd, (void **)&ctl, sizeof(*ctl),
		   owner, importer);
	return T_PASS;
}
