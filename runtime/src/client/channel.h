/* SPDX-License-Identifier: MIT */
/*
 * A channel is the generic call path (channel.c) over one transport:
 * shared call contexts (channel_shm.c) or sockets (channel_sock.c).
 */
#ifndef LRPC_CHANNEL_INTERNAL_H
#define LRPC_CHANNEL_INTERNAL_H

#include "core/internal.h"

/* Where one call's request is written; transports embed it first. */
struct lrpc__slot {
	unsigned char *buf;
	size_t cap;
};

struct lrpc__chan_ops {
	size_t (*max_msg)(const lrpc_channel *ch);
	/* Lend a slot with room for \p len request bytes, waiting at most
	 * until \p deadline. */
	lrpc_code (*acquire)(lrpc_channel *ch, size_t len, lrpc_deadline deadline,
			     struct lrpc__slot **slot, lrpc_status *st);
	/* Send the request in the slot and wait for the reply; on OK,
	 * *rep (*rep_len bytes) stays valid until release. */
	lrpc_code (*invoke)(lrpc_channel *ch, struct lrpc__slot *slot,
			    uint32_t method_id, size_t req_len,
			    lrpc_deadline deadline, const unsigned char **rep,
			    size_t *rep_len, lrpc_status *st);
	void (*release)(lrpc_channel *ch, struct lrpc__slot *slot);
	void (*close)(lrpc_channel *ch);
};

struct lrpc_channel {
	const struct lrpc__chan_ops *ops;
	const char *handoff; /* lrpc_channel_handoff(), set by the transport */
	lrpc_channel_opts opts;
	void *impl;
};

/* \return 0 with ch->ops and ch->impl set, or -errno. */
int lrpc__shm_open(lrpc_channel *ch, const char *path);
int lrpc__sock_open(lrpc_channel *ch, const struct lrpc__addr *addr);

#endif
