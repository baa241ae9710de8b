// SPDX-License-Identifier: MIT
/* A stream's rings in its lane buffer: see lane_ring.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "wire/lane_ring.h"

void lrpc__ring_init(struct lrpc__ring *r, unsigned char *buf,
		     uint64_t buf_size, int which, _Atomic uint64_t *own_shared,
		     _Atomic uint64_t *peer)
{
	uint64_t size = lrpc__ring_size(buf_size);

	*r = (struct lrpc__ring){
		.base = buf + (which ? size : 0),
		.size = size,
		.own_shared = own_shared,
		.peer = peer,
	};
}

void lrpc__ring_destroy(struct lrpc__ring *r)
{
	free(r->bounce);
	r->bounce = NULL;
	r->bounce_cap = 0;
}

static int bounce_fit(struct lrpc__ring *r, size_t len)
{
	unsigned char *b;

	if (len <= r->bounce_cap)
		return 0;
	b = realloc(r->bounce, len);
	if (!b)
		return -ENOMEM;
	r->bounce = b;
	r->bounce_cap = len;
	return 0;
}

int lrpc__ring_room(struct lrpc__ring *r, size_t len)
{
	uint64_t head = atomic_load_explicit(r->peer, memory_order_acquire);
	uint64_t used = r->own - head;

	/* Also catches a head past our tail: the difference wraps. */
	if (used > r->size)
		return -EPROTO;
	return r->size - used >= lrpc__ring_rec(len);
}

int lrpc__ring_put(struct lrpc__ring *r, size_t len, uint32_t kind,
		   lrpc__ring_put_fn put, const void *arg)
{
	uint64_t off = r->own % r->size, at = (off + LRPC__RING_HDR) % r->size;
	uint32_t hdr[2] = { (uint32_t)len, kind };

	if (at + len <= r->size) {
		put(arg, r->base + at);
	} else {
		size_t first = (size_t)(r->size - at);

		if (bounce_fit(r, len) < 0)
			return -ENOMEM;
		put(arg, r->bounce);
		memcpy(r->base + at, r->bounce, first);
		memcpy(r->base, r->bounce + first, len - first);
	}
	memcpy(r->base + off, hdr, sizeof(hdr));
	r->own += lrpc__ring_rec(len);
	/* Release: the record before the index. Sequentially consistent:
	 * the caller's look at the peer's sleeper count must follow it. */
	atomic_store_explicit(r->own_shared, r->own, memory_order_seq_cst);
	return 0;
}

int lrpc__ring_release(struct lrpc__ring *r)
{
	if (!r->pending)
		return 0;
	r->own += r->pending;
	r->pending = 0;
	atomic_store_explicit(r->own_shared, r->own, memory_order_seq_cst);
	return 1;
}

int lrpc__ring_take(struct lrpc__ring *r, const unsigned char **msg,
		    size_t *len, uint32_t *kind)
{
	uint64_t tail, avail, off, at;
	uint32_t n;

	lrpc__ring_release(r);
	tail = atomic_load_explicit(r->peer, memory_order_acquire);
	avail = tail - r->own;
	if (avail == 0)
		return 0;
	/* Records are published whole: less than a header is a lie, and
	 * so is more than the ring holds (or a tail behind our head). */
	if (avail > r->size || avail < LRPC__RING_HDR)
		return -EPROTO;
	off = r->own % r->size;
	/* Read once: the producer can change it as we look. */
	n = LRPC__READ_ONCE(*(uint32_t *)(void *)(r->base + off));
	if (n > lrpc__ring_max_msg(r->size) || lrpc__ring_rec(n) > avail)
		return -EPROTO;
	at = (off + LRPC__RING_HDR) % r->size;
	if (at + n <= r->size) {
		*msg = r->base + at;
	} else {
		size_t first = (size_t)(r->size - at);

		if (bounce_fit(r, n) < 0)
			return -ENOMEM;
		memcpy(r->bounce, r->base + at, first);
		memcpy(r->bounce + first, r->base, n - first);
		*msg = r->bounce;
	}
	*len = n;
	*kind = LRPC__READ_ONCE(*(uint32_t *)(void *)(r->base + off + 4));
	r->pending = lrpc__ring_rec(n);
	return 1;
}
