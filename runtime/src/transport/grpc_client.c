// SPDX-License-Identifier: MIT
/*
 * The client side of grpc://: not written yet. lrpc_channel_open() on a
 * grpc:// URI fails with -EPROTONOSUPPORT rather than pretend; a lazyrpc
 * client reaches a lazyrpc server over lrpc://, unix:// or tcp:// until
 * then (docs/api.md).
 */
#include <errno.h>

#include "transport/transport.h"

int lrpc__grpc_dial(lrpc_channel *ch, const struct lrpc__addr *addr)
{
	(void)ch, (void)addr;
	return -EPROTONOSUPPORT;
}
