/* SPDX-License-Identifier: MIT */
/*
 * The two halves of the rpal-user hand-off: the probe, the handshake and
 * the client's calls (rpal_user.c, which has the ops table and says how it
 * works), and the receivers with their handler and waker
 * (rpal_user_recv.c).
 */
#ifndef LRPC_HANDOFF_RPAL_USER_H
#define LRPC_HANDOFF_RPAL_USER_H

#include <stdint.h>
#include <sys/rseq.h>

#include "handoff/handoff.h"

/* The handler's answer, in the caller's context (self->arg). */
enum { LRPC__RUSER_SERVED = 1, LRPC__RUSER_STOPPED, LRPC__RUSER_REFUSED };

/* Stream opens stay kernel calls (rpal_user.c). */
#define LRPC__RUSER_STREAM_FLAGS (LRPC__CALL_STREAM | LRPC__CALL_STREAM_MD)

/* This thread's TLS (the TCB points to itself at %fs:0). */
static inline uintptr_t lrpc__ruser_tls(void)
{
	uintptr_t fs;

	__asm__ volatile("mov %%fs:0, %0" : "=r"(fs));
	return fs;
}

/* This thread's struct rseq, 0 if glibc registered none. */
static inline uintptr_t lrpc__ruser_rseq(void)
{
	return __rseq_size ? lrpc__ruser_tls() + (uintptr_t)__rseq_offset : 0;
}

/* The receiver side's fork handlers (its lock, list and waker); once, from
 * the probe. \return 0, or pthread_atfork()'s error. */
int lrpc__ruser_recv_atfork(void);

/* The server's members of the ops table, as handoff.h describes them. */
int lrpc__ruser_recv_start(struct lrpc__hrecv *r);
int lrpc__ruser_reply_wait(struct lrpc__hrecv *r);
void lrpc__ruser_answer(struct lrpc__hrecv *r);
void lrpc__ruser_recv_stop(struct lrpc__hrecv *r);
void lrpc__ruser_kick(struct lrpc__lane *lane);

#endif
