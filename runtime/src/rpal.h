/* SPDX-License-Identifier: MIT */
/* The rpal-kernel hand-off: thin wrappers around /dev/rpal (rpal.c). */
#ifndef LRPC_RPAL_H
#define LRPC_RPAL_H

#include "internal.h"

/* Is /dev/rpal here, with our API version, and not disabled by
 * LAZYRPC_HANDOFF? Probed once per process. */
bool lrpc__rpal_available(void);

/* This process as an RPAL service (enabled on first use): its id and, if
 * \p key is not NULL, its key. \return 0, -ENODEV, -errno. */
int lrpc__rpal_self(uint32_t *id, uint64_t *key);

/* Be allowed to call the service holding \p key. \return 0, -errno. */
int lrpc__rpal_request(uint64_t key, uint32_t *peer_id);
void lrpc__rpal_release(uint32_t peer_id);

/*
 * Call receiver \p receiver_id of service \p peer_id by \p deadline; the
 * calling thread becomes an RPAL sender on first use. \return 0 replied,
 * -ETIMEDOUT, -ECONNRESET (receiver died), -ECONNREFUSED (service gone),
 * -EAGAIN (receiver not waiting), -EDEADLK (this thread is an RPAL
 * receiver and cannot also send), -errno.
 */
int lrpc__rpal_call(uint32_t peer_id, uint32_t receiver_id,
		    lrpc_deadline deadline);

/* Receiver side: register the calling thread with its receiver context,
 * which must outlive the registration (the thread's life). */
int lrpc__rpal_receiver_register(struct lrpc__rx_ctx *ctx, uint32_t *id);

/* Undo this thread's registration (a caller still waiting gets ECONNRESET). */
void lrpc__rpal_unregister(void);

/*
 * Receiver side: (reply to the current caller if \p reply, then) wait for
 * the next call. \return the CALL state word the kernel saw (caller's
 * service and sender ids), -ETIMEDOUT, -EINTR, -errno.
 */
int64_t lrpc__rpal_receive(bool reply, int64_t timeout_ns);

#endif
