// SPDX-License-Identifier: MIT
// ktest: early pie timeout=120
/*
 * User-mode calls that cannot happen fail cleanly (K2.4):
 *
 * - RPAL_IOC_UCALL_ARM: ENOTCONN for a thread that is no receiver (A's
 *   main thread before it registers, B's sender), EINVAL for a handler
 *   outside the caller's slot (A's main thread, rip 0), which stays
 *   unarmed;
 * - RPAL_IOC_UCALL_LOOKUP: ENXIO before B imports A's slot, ESRCH for an
 *   unknown receiver id (999, 0), EPERM for a service B never requested,
 *   ENOPROTOOPT for A's unarmed receiver, ENOTCONN from a receiver;
 * - the stub: EINVAL for the unarmed context, also with its word forged
 *   to WAIT (and a kernel call to it is EAGAIN: the kernel does not read
 *   the forged word); EAGAIN for R before it waits (word RUNNING); in the
 *   handler, EBUSY for B's own context (it is in a call) and EAGAIN for R
 *   (it is in CALL). No failed call runs the handler or changes a word;
 *   R still answers a call afterwards.
 */
#include "rpal_ucall.h"

#define SELF "/tests/rpal_ucall_errors"

struct ctl {
	struct ucall_ctl u;
	uint32_t id_a, a_rid;	/* A's main thread: a receiver, unarmed */
	uint64_t a_ctx;
	uint64_t entry;		/* B's stub */
	int calls;
	long nested_self, nested_other;
};

static int rpal_fd;
static struct ctl *ctl;
static struct rpal_uctx r_uctx __attribute__((aligned(128)));
static struct rpal_uctx a_uctx __attribute__((aligned(128)));
static struct rpal_uctx b_uctx __attribute__((aligned(128)));

/* Calls the stub again from inside a call: memory only, no syscall. */
static unsigned long handler(struct rpal_uctx *self, unsigned long arg)
{
	struct rpal_uctx other __attribute__((aligned(128))) = {
		.ids = 0x7f7f00,
	};
	rpal_call_fn call = (rpal_call_fn)(uintptr_t)ctl->entry;

	ctl->calls++;
	ctl->nested_self = call((struct rpal_uctx *)(uintptr_t)self->peer,
				self, 0);
	ctl->nested_other = call(&other, self, 0);
	return arg + 1;
}

static void owner(void)
{
	struct ucall_recv r = {
		.ctl = &ctl->u, .uctx = &r_uctx, .handler = handler,
		.mxcsr = 0x1f80, .fpucw = 0x037f,
	};
	struct rpal_register reg = { .ctx = (uintptr_t)&a_uctx };
	struct rpal_ucall_lookup look = { 0 };

	CHECK_ERR(ioctl(rpal_fd, RPAL_IOC_UCALL_ARM), ENOTCONN);
	ucall_owner_start(rpal_fd, &r);
	CHECK_OK(ioctl(rpal_fd, RPAL_IOC_REGISTER_RECEIVER, &reg));
	CHECK_ERR(ioctl(rpal_fd, RPAL_IOC_UCALL_ARM), EINVAL);
	CHECK(a_uctx.ids == 0);
	CHECK_ERR(ioctl(rpal_fd, RPAL_IOC_UCALL_LOOKUP, &look), ENOTCONN);
	ctl->a_ctx = (uintptr_t)&a_uctx;
	__atomic_store_n(&ctl->a_rid, reg.id, __ATOMIC_RELEASE);
	step_wait(&ctl->u.step, 1);
}

static void importer(void)
{
	struct rpal_register reg = { .ctx = (uintptr_t)&b_uctx };
	struct rpal_ucall_lookup look = { 0 };
	struct rpal_uctx *recv, *unarmed;
	rpal_call_fn call;
	uint32_t id_a;

	pin_to(1);
	__atomic_store_n(&ctl->u.key[1], rpal_enable_key(rpal_fd),
			 __ATOMIC_RELEASE);
	id_a = rpal_request_key(rpal_fd, &ctl->u.key[0]);
	CHECK_OK(ioctl(rpal_fd, RPAL_IOC_REGISTER_SENDER, &reg));
	CHECK_ERR(ioctl(rpal_fd, RPAL_IOC_UCALL_ARM), ENOTCONN);
	while (!__atomic_load_n(&ctl->a_rid, __ATOMIC_ACQUIRE) ||
	       !__atomic_load_n(&ctl->u.rid, __ATOMIC_ACQUIRE))
		sched_yield();

	look.service_id = id_a;
	look.receiver_id = ctl->u.rid;
	CHECK_ERR(ioctl(rpal_fd, RPAL_IOC_UCALL_LOOKUP, &look), ENXIO);
	while (ioctl(rpal_fd, RPAL_IOC_IMPORT_SLOT, (unsigned long)id_a) < 0) {
		if (errno != EPERM)
			FAIL("import: %s", strerror(errno));
		sched_yield();
	}
	look.receiver_id = 999;
	CHECK_ERR(ioctl(rpal_fd, RPAL_IOC_UCALL_LOOKUP, &look), ESRCH);
	look.receiver_id = 0;
	CHECK_ERR(ioctl(rpal_fd, RPAL_IOC_UCALL_LOOKUP, &look), ESRCH);
	look.receiver_id = ctl->a_rid;
	CHECK_ERR(ioctl(rpal_fd, RPAL_IOC_UCALL_LOOKUP, &look), ENOPROTOOPT);
	look.service_id = id_a == 200 ? 201 : 200;
	look.receiver_id = ctl->u.rid;
	CHECK_ERR(ioctl(rpal_fd, RPAL_IOC_UCALL_LOOKUP, &look), EPERM);

	recv = ucall_lookup(rpal_fd, id_a, ctl->u.rid, &call);
	ctl->entry = (uintptr_t)call;
	unarmed = (struct rpal_uctx *)(uintptr_t)ctl->a_ctx;

	/* R has not waited yet: its word is RUNNING. */
	CHECK(recv->state == RPAL_RECEIVER_RUNNING);
	CHECK(call(&b_uctx, recv, 1) == -EAGAIN);
	CHECK(recv->state == RPAL_RECEIVER_RUNNING);
	CHECK(call(&b_uctx, unarmed, 1) == -EINVAL);
	unarmed->state = RPAL_RECEIVER_WAIT;
	CHECK(call(&b_uctx, unarmed, 1) == -EINVAL);
	CHECK(unarmed->state == RPAL_RECEIVER_WAIT);
	CHECK_ERR(rpal_call(rpal_fd, id_a, ctl->a_rid, 0), EAGAIN);
	CHECK(ctl->calls == 0 && b_uctx.state == RPAL_SENDER_RUNNING);

	ucall_wait_ready(&ctl->u, recv);
	CHECK(call(&b_uctx, recv, 41) == 0);
	CHECK(b_uctx.arg == 42 && ctl->calls == 1);
	if (ctl->nested_self != -EBUSY)
		FAIL("a call from a context in a call: %ld", ctl->nested_self);
	if (ctl->nested_other != -EAGAIN)
		FAIL("a call to a receiver in CALL: %ld", ctl->nested_other);
	CHECK(recv->state == RPAL_RECEIVER_WAIT);
	CHECK(b_uctx.state == RPAL_SENDER_RUNNING);
	CHECK(call(&b_uctx, recv, 1) == 0 && b_uctx.arg == 2);
	step_set(&ctl->u.step, 1);
}

int main(int argc, char **argv)
{
	ucall_main(argc, argv, SELF, &rpal_fd, (void **)&ctl, sizeof(*ctl),
		   owner, importer);
	return T_PASS;
}
