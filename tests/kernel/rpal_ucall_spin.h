/* SPDX-License-Identifier: MIT */
/*
 * The K2.6 tests' pair (rpal_ucall.h): R's handler spins, with no system
 * call, until A sets spin_stop, so that it is still receiver code on B's
 * thread when B is preempted, signalled or killed, or A is killed.
 */
#ifndef RPAL_UCALL_SPIN_H
#define RPAL_UCALL_SPIN_H

#include "rpal_ucall.h"

static int rpal_fd;
static struct rpal_uctx r_uctx __attribute__((aligned(128)));
static struct rpal_uctx b_uctx __attribute__((aligned(128)));
/* A's, read by the handler on whichever task runs it. */
static volatile int spin_stop;
/* In the control block (A's mapping): the handler has begun. */
static int *spin_started;

/*
 * Held in rax while the handler spins, where an interrupt's hand-off
 * finds it: a value no int holds, as the receiver's wait, an ioctl(),
 * returns one. The reply is arg + 1 only if all 64 bits came through.
 */
#define SPIN_RAX 0x5a5a5a5a80000000ul

static inline unsigned long spin_handler(struct rpal_uctx *self, unsigned long arg)
{
	unsigned long ax = SPIN_RAX;

	(void)self;
	__atomic_store_n(spin_started, 1, __ATOMIC_RELEASE);
	__asm__ volatile("1:\n\tcmpl $0, %[stop]\n\tje 1b"
			 : "+a"(ax) : [stop] "m"(spin_stop) : "cc");
	return ax == SPIN_RAX ? arg + 1 : 0;
}

static inline void spin_wait_started(void)
{
	while (!__atomic_load_n(spin_started, __ATOMIC_ACQUIRE))
		sched_yield();
}

/*
 * A: serve calls with R running @handler (spin_handler if NULL), after
 * @setup in R (may be NULL); *@started is set when spin_handler begins.
 */
static inline void spin_owner_start(struct ucall_ctl *u, int *started,
				    rpal_handler_fn handler,
				    void (*setup)(void))
{
	static struct ucall_recv r;

	r = (struct ucall_recv){
		.ctl = u, .uctx = &r_uctx,
		.handler = handler ? handler : spin_handler, .setup = setup,
		.mxcsr = 0x1f80, .fpucw = 0x037f,
	};
	spin_started = started;
	ucall_owner_start(rpal_fd, &r);
}

/* B: become A's sender and find R; returns R's context. */
static inline struct rpal_uctx *spin_importer_start(struct ucall_ctl *u,
						    rpal_call_fn *call)
{
	uint32_t id_a = ucall_importer_start(rpal_fd, u, &b_uctx);

	return ucall_lookup(rpal_fd, id_a, u->rid, call);
}

#endif
