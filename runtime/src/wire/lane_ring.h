/* SPDX-License-Identifier: MIT */
/*
 * A stream's two rings in its lane buffer (lane_ring.c): single-producer,
 * single-consumer queues of length-prefixed messages, client to server in
 * the first half of the buffer, server to client in the second.
 *
 * A record is a u32 length and a u32 kind, then the message, padded to
 * 8 bytes (kind 0, LRPC__RING_MSG: a message; before 0.6.0 the kind was
 * always 0 and nobody read it); records start 8-aligned, so a header never wraps and a message
 * may (it is then written and read through a private bounce buffer).
 * Indices are byte counts since the stream opened, u64, never reset: the
 * producer publishes its tail after a whole record, the consumer its head
 * after it is done with one. Each side keeps its own index privately and
 * only stores it to the lane; the other's it reads once per look and
 * checks, since the peer can rewrite shared memory at any moment: a tail
 * more than a ring ahead, a head behind or past what was written, a
 * length that is not whole in what the tail covers are all -EPROTO.
 */
#ifndef LRPC_LANE_RING_H
#define LRPC_LANE_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Writes a message's bytes at \p buf (the stream layers' put). */
typedef void (*lrpc__ring_put_fn)(const void *arg, unsigned char *buf);

struct lrpc__ring {
	unsigned char *base; /* size bytes in the lane buffer */
	uint64_t size;       /* a multiple of 8, at least 16 */
	uint64_t own;        /* our index: producer tail, consumer head */
	_Atomic uint64_t *own_shared; /* where own is published */
	_Atomic uint64_t *peer;       /* the other side's index */
	uint64_t pending;    /* consumer: the record handed out, unreleased */
	unsigned char *bounce; /* private copy of a wrapping message */
	size_t bounce_cap;
};

#define LRPC__RING_HDR 8u

/* Record kinds. LRPC__RING_MD: the response headers and trailers of a
 * stream opened with LRPC__CALL_STREAM_MD, server to client, once, the
 * last record before the end (wire/md_block.h, lrpc__md_rec_*). */
enum { LRPC__RING_MSG = 0, LRPC__RING_MD = 1 };

/* Bytes a record of a \p len-byte message takes. */
static inline uint64_t lrpc__ring_rec(uint64_t len)
{
	return LRPC__RING_HDR + ((len + 7) & ~(uint64_t)7);
}

/* Size of each of the two rings in a \p buf_size-byte lane buffer. */
static inline uint64_t lrpc__ring_size(uint64_t buf_size)
{
	return (buf_size / 2) & ~(uint64_t)7;
}

/* Largest message a ring of \p size carries. */
static inline size_t lrpc__ring_max_msg(uint64_t size)
{
	return (size_t)(size - LRPC__RING_HDR);
}

/*
 * Set up \p r over the lane buffer \p buf of \p buf_size bytes: ring
 * \p which (0 client to server, 1 server to client), at index 0, with the
 * indices in the lane's stream control block.
 */
void lrpc__ring_init(struct lrpc__ring *r, unsigned char *buf,
		     uint64_t buf_size, int which, _Atomic uint64_t *own_shared,
		     _Atomic uint64_t *peer);

/* Free what lrpc__ring_init and use allocated (the bounce buffer). */
void lrpc__ring_destroy(struct lrpc__ring *r);

/* Producer: \return 1 there is room for a \p len-byte message, 0 not
 * yet, -EPROTO the consumer's head is impossible. */
int lrpc__ring_room(struct lrpc__ring *r, size_t len);

/* Producer, after room said 1: write the record (of \p kind) with \p put
 * and publish it (sequentially consistent, for the bell's sleeper check).
 * \return 0, -ENOMEM (a wrapping message needs a bounce buffer). */
int lrpc__ring_put(struct lrpc__ring *r, size_t len, uint32_t kind,
		   lrpc__ring_put_fn put, const void *arg);

/* Consumer: release the record taken last, if any. \return whether one
 * was (the producer may be waiting for the room). */
int lrpc__ring_release(struct lrpc__ring *r);

/*
 * Consumer: the next record. \return 1 with *msg, *len (in the ring,
 * where the producer can still write, or in the bounce buffer; valid
 * until the next release) and *kind (as the producer wrote it: check
 * it), 0 empty, -EPROTO broken, -ENOMEM.
 */
int lrpc__ring_take(struct lrpc__ring *r, const unsigned char **msg,
		    size_t *len, uint32_t *kind);

#endif
