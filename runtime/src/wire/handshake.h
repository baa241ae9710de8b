/* SPDX-License-Identifier: MIT */
/*
 * The handshake on a server's control socket (a Unix stream socket).
 *
 * client -> server: struct lrpc__hello
 * server -> client: struct lrpc__welcome, with the region's memfd attached
 *                   (SCM_RIGHTS) when status is 0; a refusal (status not 0)
 *                   is followed in the same message by why, in text
 *                   (fewer than LRPC__REFUSAL_MAX bytes, no terminator)
 * The connection then stays open. Its end tells each side that the other
 * is gone. Besides, it carries single bytes:
 *   client -> server LRPC__CTL_GROW: all the lanes I may use are busy,
 *                    start a receiver on the next lane (since 0.2.0);
 *   server -> client LRPC__CTL_GROWN: done, one more lane may be used.
 * The region holds nlanes lanes, of which the first nlanes_active have a
 * receiver from the start; the client asks for the rest one at a time,
 * and asks again only after the answer. Any other byte, or a grow past
 * nlanes, is a protocol error that ends the connection.
 */
#ifndef LRPC_CTLPROTO_H
#define LRPC_CTLPROTO_H

#include <stdint.h>

#define LRPC__HELLO_MAGIC 0x48505243u   /* "CRPH" */
#define LRPC__WELCOME_MAGIC 0x57505243u /* "CRPW" */
#define LRPC__CTL_VERSION 1u
#define LRPC__HANDOFF_NAME_MAX 16
#define LRPC__REFUSAL_MAX 192 /* LRPC_STATUS_MSG_MAX */
#define LRPC__CTL_GROW '+'
#define LRPC__CTL_GROWN '+'

struct lrpc__hello {
	uint32_t magic;
	uint16_t version;
	uint16_t flags;
	char handoff[LRPC__HANDOFF_NAME_MAX]; /* "" = best offered */
	/* The client's id with the kernel hand-offs (its RPAL service id),
	 * 0 for none: the server accepts calls on this connection's
	 * receivers from that service only. */
	uint32_t handoff_id;
	/* Since 0.6.0: 1 + the CPU the client dialled from, for a server
	 * that places by the client's NUMA node; 0 (older clients): not
	 * said. A hint only: a client may say anything, and the server
	 * then places the client's own region and receivers badly. */
	uint32_t cpu_plus1;
	/* rpal-user (since 0.6.0): the client's RPAL key, low word first, 0
	 * for none; the server requests the client's service with it, since
	 * sharing slots takes a request each way. The hello has no reserved
	 * space left: what comes next needs a new version. */
	uint32_t handoff_key[2];
};

struct lrpc__welcome {
	uint32_t magic;
	uint16_t version;
	uint16_t status;     /* 0, or a positive errno saying why not */
	uint32_t service_id; /* goes into the CALL state word */
	uint32_t nlanes;
	uint64_t buf_size;
	uint64_t lane_stride;
	uint64_t region_size;
	char handoff[LRPC__HANDOFF_NAME_MAX];
	/* Kernel hand-offs: the key to request the server's service with,
	 * and its id; receiver ids are in each lane's receiver context. */
	uint64_t handoff_key;
	uint32_t handoff_id;
	/* Lanes with a receiver from the start; 0 (a 0.1 server): all. */
	uint32_t nlanes_active;
};

_Static_assert(sizeof(struct lrpc__hello) == 40, "hello wire size");
_Static_assert(sizeof(struct lrpc__welcome) == 72, "welcome wire size");

#endif
