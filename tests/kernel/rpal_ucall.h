/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the user-mode call tests (K2.4): A ("owner") serves calls
 * with a receiver thread R armed for user-mode calls, pinned to CPU 0;
 * B ("importer") imports A's slot and calls R's handler through the
 * vDSO stub from CPU 1. Both run in slots (rpal_share.h).
 */
#ifndef RPAL_UCALL_H
#define RPAL_UCALL_H

#include "rpal_share.h"
#include <pthread.h>
#include <sys/auxv.h>
#include <sys/resource.h>
#include <sys/rseq.h>

#ifndef HWCAP2_FSGSBASE
#define HWCAP2_FSGSBASE (1 << 1)	/* asm/hwcap2.h */
#endif

typedef long (*rpal_call_fn)(struct rpal_uctx *self, struct rpal_uctx *recv,
			     unsigned long arg);
typedef unsigned long (*rpal_handler_fn)(struct rpal_uctx *self,
					 unsigned long arg);

/* The part of a test's control block these helpers use; first in it. */
struct ucall_ctl {
	uint64_t key[2];
	int step;
	uint32_t rid;		/* R's receiver id, once armed */
	int r_go;		/* R may enter RPAL_IOC_WAIT */
	pid_t r_tid;
};

#define UCALL_STACK (256 * 1024)

static inline uint64_t rdfsbase(void)
{
	uint64_t v;

	asm volatile("rdfsbase %0" : "=r"(v));
	return v;
}

static inline void wrfsbase(uint64_t v)
{
	asm volatile("wrfsbase %0" : : "r"(v) : "memory");
}

static inline uint32_t get_mxcsr(void)
{
	uint32_t v;

	asm volatile("stmxcsr %0" : "=m"(v));
	return v;
}

static inline void set_mxcsr(uint32_t v)
{
	asm volatile("ldmxcsr %0" : : "m"(v));
}

static inline uint16_t get_fpucw(void)
{
	uint16_t v;

	asm volatile("fnstcw %0" : "=m"(v));
	return v;
}

static inline void set_fpucw(uint16_t v)
{
	asm volatile("fldcw %0" : : "m"(v));
}

/* This thread's struct rseq as glibc registered it, or 0. */
static inline uint64_t my_rseq(void)
{
	if (!__rseq_size)
		return 0;
	return rdfsbase() + __rseq_offset;
}

/* The uid the pair runs as does not matter; FSGSBASE does. */
static inline void need_fsgsbase(void)
{
	if (!(getauxval(AT_HWCAP2) & HWCAP2_FSGSBASE)) {
		printf("no FSGSBASE\n");
		exit(T_SKIP);
	}
}

struct ucall_recv {
	struct ucall_ctl *ctl;
	struct rpal_uctx *uctx;
	rpal_handler_fn handler;
	void (*setup)(void);	/* in R, before it arms; may be NULL */
	uint32_t mxcsr;
	uint16_t fpucw;
	int fd;
};

/*
 * R: register @r->uctx, fill in the handler, a stack of its own, this
 * thread's TLS, FP control and rseq area, arm, publish the id; then
 * wait for calls for ever (user-mode calls never wake it).
 */
static void *ucall_receiver(void *arg)
{
	struct ucall_recv *r = arg;
	struct rpal_register reg = { .ctx = (uintptr_t)r->uctx };
	struct rpal_wait w;
	char *stack;

	pin_to(0);
	stack = mmap(NULL, UCALL_STACK, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(stack != MAP_FAILED);
	CHECK_OK(ioctl(r->fd, RPAL_IOC_REGISTER_RECEIVER, &reg));
	if (r->setup)
		r->setup();
	r->uctx->rip = (uintptr_t)r->handler;
	r->uctx->rsp = (uintptr_t)stack + UCALL_STACK;
	r->uctx->fsbase = rdfsbase();
	r->uctx->mxcsr = r->mxcsr;
	r->uctx->fpucw = r->fpucw;
	r->uctx->rseq = my_rseq();
	CHECK_OK(ioctl(r->fd, RPAL_IOC_UCALL_ARM));
	/* The kernel wrote R's ids: the word's layout, state 0. */
	CHECK(snd(r->uctx->ids) == reg.id && st(r->uctx->ids) == 0);
	r->ctl->r_tid = gettid();
	__atomic_store_n(&r->ctl->rid, reg.id, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&r->ctl->r_go, __ATOMIC_ACQUIRE))
		sched_yield();
	for (;;) {
		if (rpal_wait(r->fd, -1, &w) == 0)
			FAIL("R was woken by a kernel call");
		if (errno != EINTR)
			FAIL("R's wait: %s", strerror(errno));
	}
	return NULL;
}

/* A: become a service B may import; start R; returns B's service id. */
static inline uint32_t ucall_owner_start(int fd, struct ucall_recv *r)
{
	pthread_t t;
	uint32_t id_b;

	pin_to(0);
	__atomic_store_n(&r->ctl->key[0], rpal_enable_key(fd),
			 __ATOMIC_RELEASE);
	id_b = rpal_request_key(fd, &r->ctl->key[1]);
	share_when_requested(fd, id_b);
	r->fd = fd;
	CHECK(pthread_create(&t, NULL, ucall_receiver, r) == 0);
	return id_b;
}

/*
 * B: register this thread as a sender on @self, request A and import
 * its slot; returns A's service id once R is armed.
 */
static inline uint32_t ucall_importer_start(int fd, struct ucall_ctl *ctl,
					    struct rpal_uctx *self)
{
	struct rpal_register reg = { .ctx = (uintptr_t)self };
	uint32_t id_a;

	pin_to(1);
	__atomic_store_n(&ctl->key[1], rpal_enable_key(fd), __ATOMIC_RELEASE);
	id_a = rpal_request_key(fd, &ctl->key[0]);
	CHECK_OK(ioctl(fd, RPAL_IOC_REGISTER_SENDER, &reg));
	self->rseq = my_rseq();
	while (!__atomic_load_n(&ctl->rid, __ATOMIC_ACQUIRE))
		sched_yield();
	while (ioctl(fd, RPAL_IOC_IMPORT_SLOT, (unsigned long)id_a) < 0) {
		if (errno != EPERM)
			FAIL("import: %s", strerror(errno));
		sched_yield();
	}
	return id_a;
}

/* B: where R's context is and where B's stub is. */
static inline struct rpal_uctx *ucall_lookup(int fd, uint32_t id_a,
					     uint32_t rid, rpal_call_fn *call)
{
	struct rpal_ucall_lookup look = { .service_id = id_a,
					  .receiver_id = rid };
	uint64_t vdso = getauxval(AT_SYSINFO_EHDR);

	CHECK_OK(ioctl(fd, RPAL_IOC_UCALL_LOOKUP, &look));
	/* The stub is B's own vDSO's. */
	CHECK(vdso && look.entry > vdso && look.entry < vdso + 0x10000);
	*call = (rpal_call_fn)(uintptr_t)look.entry;
	return (struct rpal_uctx *)(uintptr_t)look.ctx;
}

/* B: let R wait and see it callable. */
static inline void ucall_wait_ready(struct ucall_ctl *ctl,
				    struct rpal_uctx *recv)
{
	__atomic_store_n(&ctl->r_go, 1, __ATOMIC_RELEASE);
	while (st(__atomic_load_n(&recv->state, __ATOMIC_ACQUIRE)) !=
	       RPAL_RECEIVER_WAIT)
		sched_yield();
}

/*
 * main() of a test: in a child, run its role (share_start() does not
 * return); in the test, SKIP on a kernel without user-mode calls, else
 * run the pair to its end, which passes if A's status is @want_a and
 * B's @want_b (exit codes, or 128 + a signal). /dev/rpal's fd goes to
 * *@fd first, for the roles.
 */
static inline void ucall_main_expect(int argc, char **argv, const char *self,
				     int *fd, void **ctl, size_t len,
				     void (*owner)(void),
				     void (*importer)(void),
				     int want_a, int want_b)
{
	int ctl_fd, sa, sb;
	pid_t a, b;

	*fd = rpal_open();
	share_start(*fd, argc, argv, ctl, len, owner, importer);
	need_fsgsbase();
	if (ioctl(*fd, RPAL_IOC_UCALL_ARM) == -1 && errno == ENOTTY) {
		printf("no RPAL_IOC_UCALL_ARM\n");
		exit(T_SKIP);
	}
	*ctl = ctl_create(len, &ctl_fd);
	a = spawn_in_slot(*fd, self, "owner", ctl_fd, -1);
	b = spawn_in_slot(*fd, self, "importer", ctl_fd, -1);
	sb = reap(b);
	if (sb != want_b) {
		kill(a, SIGKILL);
		reap(a);
		FAIL("importer status %d, want %d", sb, want_b);
	}
	sa = reap(a);
	if (sa != want_a)
		FAIL("owner status %d, want %d", sa, want_a);
}

/* The same for a pair that both exit 0. */
static inline void ucall_main(int argc, char **argv, const char *self,
			      int *fd, void **ctl, size_t len,
			      void (*owner)(void), void (*importer)(void))
{
	ucall_main_expect(argc, argv, self, fd, ctl, len, owner, importer,
			  0, 0);
}

#endif
