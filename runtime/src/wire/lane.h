/* SPDX-License-Identifier: MIT */
/*
 * Layout of an lrpc:// region: its lanes and their RPAL state words.
 *
 * One region (a memfd) per client connection, mapped by the server and that
 * client only, so a client that scribbles over its region can hurt nobody
 * but itself. The region holds nlanes lanes. A lane is what one call uses:
 * the receiver context (served by one receiver thread), the sender context
 * of whichever client thread holds the lane, the call and reply metadata,
 * and a buffer that carries the request and then the reply. ("Lane" is the
 * one name for it here; RPAL calls the two contexts call contexts.)
 *
 * The state words follow the RPAL receiver/sender state machine (seed 000)
 * bit for bit: bits 0-7 state, bits 8-23 sender id, bits 24-31 service id.
 * The numbers are seed 000's; handoff/rpal_kernel.c checks that the
 * kernel's uapi header agrees.
 */
#ifndef LRPC_LANE_H
#define LRPC_LANE_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <lazyrpc/common.h>

enum lrpc__rx_state {
	LRPC__RX_RUNNING = 0,
	LRPC__RX_KERNEL_RET = 1,
	LRPC__RX_READY = 2,
	LRPC__RX_WAIT = 3,
	LRPC__RX_CALL = 4,
	LRPC__RX_LAZY_SWITCH = 5,
};

enum lrpc__tx_state {
	LRPC__TX_RUNNING = 0,
	LRPC__TX_CALL = 1,
	LRPC__TX_KERNEL_RET = 2,
};

#define LRPC__STATE_MASK 0xffu
#define LRPC__SENDER_SHIFT 8
#define LRPC__SENDER_MASK 0xffffu
#define LRPC__SERVICE_SHIFT 24
#define LRPC__SERVICE_MASK 0xffu
#define LRPC__MAX_LANES 1024u

static inline uint32_t lrpc__call_word(uint32_t service_id, uint32_t sender_id)
{
	return (service_id << LRPC__SERVICE_SHIFT) |
	       (sender_id << LRPC__SENDER_SHIFT) | LRPC__RX_CALL;
}

static inline uint32_t lrpc__word_state(uint32_t w)
{
	return w & LRPC__STATE_MASK;
}

static inline uint32_t lrpc__word_sender(uint32_t w)
{
	return (w >> LRPC__SENDER_SHIFT) & LRPC__SENDER_MASK;
}

static inline uint32_t lrpc__word_service(uint32_t w)
{
	return (w >> LRPC__SERVICE_SHIFT) & LRPC__SERVICE_MASK;
}

/*
 * Receiver context. The futex hand-off works on these words. A kernel
 * hand-off must not trust a word the client can write (the kernel vetoes
 * ordinary wakeups of a receiver in CALL), so it registers a context in
 * the receiver's own memory instead and uses only kernel_id here.
 */
struct lrpc__rx_ctx {
	alignas(64) _Atomic uint32_t state;
	/* Threads asleep on the state word, so a waker knows to make the syscall. */
	_Atomic uint32_t sleepers;
	/* CPU the receiver last ran on: a sender spins for the reply only
	 * while the receiver is on another CPU. A hint; a lie costs a spin. */
	_Atomic int32_t cpu;
	/* Kernel hand-offs: the kernel's id of this lane's receiver thread. */
	uint32_t kernel_id;
};

/* Sender context of the client thread holding the lane. */
struct lrpc__tx_ctx {
	alignas(64) _Atomic uint32_t state;
	_Atomic uint32_t sleepers;
	_Atomic int32_t cpu; /* CPU the sender last ran on */
};

/* Written by the sender before it publishes CALL; read once by the receiver. */
struct lrpc__call_meta {
	alignas(64) uint64_t seq;
	int64_t deadline;
	uint32_t method_id;
	uint32_t req_len;
	uint32_t flags; /* LRPC__CALL_*; a unary call leaves it 0 */
	/* Nonzero: the client gave up on the call or stream (the handler's
	 * lrpc_call_cancelled() reads it). Set by a client that timed out or
	 * cancelled; cleared by whoever takes the lane next, only once the
	 * receiver has handed it back (transport/lrpc_client.c). */
	_Atomic int cancel;
	/* Bytes of request metadata (wire/md_block.h) right after the
	 * request in the buffer; 0: none, and nothing else is read. */
	uint32_t md_len;
};

/* The call opens a stream on the lane (lane_ring.h): the receiver answers
 * at once and serves the stream until its handler returns. */
#define LRPC__CALL_STREAM 1u
/*
 * The same with call metadata (since 0.6.0): the request's block
 * (wire/md_block.h) is md_len bytes at the start of the buffer, and the
 * stream's last record is its response headers and trailers
 * (LRPC__RING_MD, lane_ring.h). Sent without LRPC__CALL_STREAM and with
 * req_len LRPC__STREAM_MD_REQ_LEN, past any buffer: a server before 0.6.0
 * reads it as a unary call and refuses it (request length) before running
 * anything, and leaves reply.stream_md 0; one that takes it answers with
 * reply.stream_md LRPC__STREAM_MD_V1, whatever its code.
 */
#define LRPC__CALL_STREAM_MD 2u
#define LRPC__STREAM_MD_REQ_LEN UINT32_MAX
#define LRPC__STREAM_MD_V1 1u

/* Written by the receiver before it hands the lane back; read once by the sender. */
struct lrpc__reply_meta {
	alignas(64) uint64_t seq;
	uint32_t code;
	uint32_t rep_len;
	char message[LRPC_STATUS_MSG_MAX];
	/* Bytes of response headers, then trailers (wire/md_block.h), right
	 * after the reply (after rep_len bytes, whatever the code); 0: none. */
	uint32_t hdr_len, trl_len;
	/* The answer to an LRPC__CALL_STREAM_MD open: LRPC__STREAM_MD_V1.
	 * The client zeroes it before the open (an old server does not). */
	uint32_t stream_md;
};

/*
 * A stream's control block (lane_ring.h has the rings it describes).
 * Each side writes only its own cache line of indices; the bells are
 * eventcounts the other side bumps to wake a sleeper (handoff/bell.h).
 */
struct lrpc__stream_ctl {
	/* Client-written. */
	alignas(64) _Atomic uint64_t c2s_tail; /* bytes written to the server */
	_Atomic uint64_t s2c_head;             /* bytes read from the server */
	_Atomic uint32_t cli_flags;            /* LRPC__STREAM_HALF_CLOSED */
	_Atomic uint32_t cli_sleepers;         /* client threads asleep on cli_bell */
	/* Server-written. */
	alignas(64) _Atomic uint64_t c2s_head;
	_Atomic uint64_t s2c_tail;
	_Atomic uint32_t srv_sleepers;
	/* The bells: bumped by the side that does not sleep on it. */
	alignas(64) _Atomic uint32_t cli_bell;
	_Atomic uint32_t srv_bell;
	/* Server-written, once: the end of the stream. end_seq (the open's
	 * seq) is stored last, with release; then code and message are
	 * whole and the receiver no longer touches the stream. */
	alignas(64) _Atomic uint64_t end_seq;
	uint32_t end_code;
	char end_message[LRPC_STATUS_MSG_MAX];
};

#define LRPC__STREAM_HALF_CLOSED 1u

struct lrpc__lane {
	struct lrpc__rx_ctx rx;
	struct lrpc__tx_ctx tx;
	struct lrpc__call_meta call;
	struct lrpc__reply_meta reply;
	alignas(64) struct lrpc__stream_ctl stream;
};

/* The lane header takes one page; the buffer starts page-aligned after it. */
#define LRPC__LANE_HDR_SIZE 4096u
#define LRPC__PAGE 4096u

_Static_assert(offsetof(struct lrpc__lane, rx.state) == 0, "rx word at 0");
_Static_assert(offsetof(struct lrpc__lane, tx) == 64, "tx context");
_Static_assert(offsetof(struct lrpc__lane, call) == 128, "call meta");
_Static_assert(offsetof(struct lrpc__lane, reply) == 192, "reply meta");
_Static_assert(sizeof(struct lrpc__call_meta) == 64, "call meta is one line");
_Static_assert(sizeof(struct lrpc__reply_meta) == 256, "reply meta");
_Static_assert(offsetof(struct lrpc__call_meta, md_len) == 32 &&
		       offsetof(struct lrpc__reply_meta, hdr_len) == 208 &&
		       offsetof(struct lrpc__reply_meta, stream_md) == 216,
	       "metadata lengths (docs/internals.md)");
_Static_assert(offsetof(struct lrpc__lane, stream) == 448 &&
		       sizeof(struct lrpc__stream_ctl) == 448,
	       "stream control (docs/internals.md)");
_Static_assert(sizeof(struct lrpc__lane) <= LRPC__LANE_HDR_SIZE, "lane header");

/* Geometry of a region; both sides derive addresses from it alone. */
struct lrpc__geom {
	uint32_t nlanes;
	uint64_t buf_size;    /* bytes per lane buffer */
	uint64_t lane_stride; /* bytes from one lane to the next */
	uint64_t region_size;
};

/* Fill in stride and size from nlanes and buf_size. \return 0, -EINVAL. */
int lrpc__geom_init(struct lrpc__geom *g, uint32_t nlanes, uint64_t buf_size);

/* Check geometry received from a peer. \return 0, -EPROTO. */
int lrpc__geom_check(const struct lrpc__geom *g);

static inline struct lrpc__lane *lrpc__region_lane(void *base,
						   const struct lrpc__geom *g,
						   uint32_t i)
{
	return (struct lrpc__lane *)((char *)base + (size_t)i * g->lane_stride);
}

static inline unsigned char *lrpc__lane_buf(struct lrpc__lane *lane)
{
	return (unsigned char *)lane + LRPC__LANE_HDR_SIZE;
}

#endif
