/* SPDX-License-Identifier: MIT */
/*
 * Hand-off: how the CPU passes from a caller to a receiver and back.
 *
 * The caller has written the call metadata and request into the lane; the
 * hand-off publishes the CALL state word and waits for the reply. The
 * receiver side waits for a CALL and hands the lane back. These are the
 * futex hand-off's; rpal-kernel (rpal.h) replaces the call and the wait
 * with /dev/rpal ioctls and keeps the same lanes and metadata.
 */
#ifndef LRPC_HANDOFF_H
#define LRPC_HANDOFF_H

#include "internal.h"

/* Client side. \return 0 reply ready, -ETIMEDOUT, -ECONNRESET (peer gone),
 * -EPROTO (the receiver was not waiting). */
int lrpc__futex_call(struct lrpc__lane *lane, uint32_t call_word,
		     lrpc_deadline deadline, const _Atomic int *dead);

/* Client side, for a lane whose call timed out: wait until its receiver
 * hands it back. \return 0, -ETIMEDOUT. */
int lrpc__futex_wait_returned(struct lrpc__lane *lane, lrpc_deadline deadline);

/* Receiver side: wait while the receiver is in WAIT.
 * \return the state word that ended the wait, or -ESHUTDOWN once *stop. */
int64_t lrpc__futex_recv(struct lrpc__lane *lane, const _Atomic int *stop);

/* Receiver side: the reply is written; go back to WAIT and release the sender. */
void lrpc__futex_reply(struct lrpc__lane *lane);

/* Wake a receiver so that it notices *stop (ordinary wakeup: WAIT -> RUNNING). */
void lrpc__futex_kick_receiver(struct lrpc__lane *lane);

/* Release a sender blocked on this lane because its peer is gone. */
void lrpc__futex_kick_sender(struct lrpc__lane *lane);

#endif
