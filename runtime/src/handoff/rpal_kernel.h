/* SPDX-License-Identifier: MIT */
/*
 * The /dev/rpal wrappers beneath the rpal-kernel hand-off
 * (rpal_kernel.c), which rpal-user (rpal_user.c) builds on. The runtime
 * reaches both hand-offs through their ops tables (handoff.h) alone; these
 * are declared for rpal_user.c and for the tests that poke the kernel
 * directly (tests/integration/hostile.c).
 */
#ifndef LRPC_HANDOFF_RPAL_KERNEL_H
#define LRPC_HANDOFF_RPAL_KERNEL_H

#include "core/internal.h"

/* /dev/rpal, opened once per process if its API version is ours; -1 if
 * not. */
int lrpc__rpal_fd(void);

/* The calling thread's sender context, registered on first use (shared by
 * both kernel hand-offs). \return NULL with *err -ENODEV, -EDEADLK (the
 * thread is a receiver), -errno. */
struct rpal_uctx;
struct rpal_uctx *lrpc__rpal_sender(int *err);

/* This process as an RPAL service (enabled on first use): its id and, if
 * \p key is not NULL, its key. \return 0, -ENODEV, -errno. */
int lrpc__rpal_self(uint32_t *id, uint64_t *key);

/* Be allowed to call the service holding \p key. \return 0, -errno.
 * Release gives back what a request of \p key gave \p peer_id. */
int lrpc__rpal_request(uint64_t key, uint32_t *peer_id);
void lrpc__rpal_release(uint32_t peer_id, uint64_t key);

/*
 * Call receiver \p receiver_id of service \p peer_id by \p deadline; the
 * calling thread becomes an RPAL sender on first use. \return 0 replied,
 * -ETIMEDOUT, -ECONNRESET (receiver died), -ECONNREFUSED (service gone),
 * -EAGAIN (receiver not waiting), -EDEADLK (this thread is an RPAL
 * receiver and cannot also send), -errno.
 */
int lrpc__rpal_call(uint32_t peer_id, uint32_t receiver_id,
		    lrpc_deadline deadline);

#endif
