/* SPDX-License-Identifier: MIT */
/* Socket helpers for the transports' client sides (sock.c). */
#ifndef LRPC_SOCK_H
#define LRPC_SOCK_H

#include "core/internal.h"

/* Connect to the path (lrpc://, unix://) or host and port (tcp://) of
 * \p addr by \p deadline. \return a non-blocking fd, -ETIMEDOUT,
 * -ENAMETOOLONG, -errno. */
int lrpc__sock_connect(const struct lrpc__addr *addr, lrpc_deadline deadline);

/* Wait until \p fd has \p events (poll's) or \p deadline passed.
 * \return 0, -ETIMEDOUT, -errno. */
int lrpc__sock_wait(int fd, short events, lrpc_deadline deadline);

/* Write exactly \p len bytes on a non-blocking fd by \p deadline.
 * \return 0, -ETIMEDOUT, -ECONNRESET (peer closed), -errno. */
int lrpc__sock_write_all(int fd, const void *buf, size_t len,
			 lrpc_deadline deadline);

/* Read at least \p min and at most \p cap bytes on a non-blocking fd by
 * \p deadline, in as few recv calls as the peer allows. \return the bytes
 * read, -ETIMEDOUT, -ECONNRESET (peer closed), other -errno. */
ssize_t lrpc__sock_read(int fd, void *buf, size_t min, size_t cap,
			lrpc_deadline deadline);

#endif
