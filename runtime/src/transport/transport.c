// SPDX-License-Identifier: MIT
/* The transports, by scheme. */
#include "transport/transport.h"

static const struct lrpc__transport transports[] = {
	{ LRPC__SCHEME_LRPC, lrpc__lrpc_dial, lrpc__lrpc_listen },
	{ LRPC__SCHEME_UNIX, lrpc__sock_dial, lrpc__unix_listen },
	{ LRPC__SCHEME_TCP, lrpc__sock_dial, lrpc__tcp_listen },
	{ LRPC__SCHEME_GRPC, lrpc__grpc_dial, lrpc__grpc_listen },
	{ LRPC__SCHEME_GRPCS, lrpc__grpcs_dial, lrpc__grpcs_listen },
	{ LRPC__SCHEME_GRPC_UNIX, lrpc__grpc_dial, lrpc__grpc_unix_listen },
};

const struct lrpc__transport *lrpc__transport_find(enum lrpc__scheme scheme)
{
	for (unsigned int i = 0; i < sizeof(transports) / sizeof(transports[0]); i++)
		if (transports[i].scheme == scheme)
			return &transports[i];
	return NULL;
}
