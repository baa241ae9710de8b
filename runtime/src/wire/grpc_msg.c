// SPDX-License-Identifier: MIT
/* Length-prefixed messages spanning DATA frames (PROTOCOL-HTTP2.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wire/grpc.h"

void lrpc__grpc_msgq_init(struct lrpc__grpc_msgq *q, size_t max)
{
	memset(q, 0, sizeof(*q));
	q->max = max;
}

void lrpc__grpc_msgq_free(struct lrpc__grpc_msgq *q)
{
	free(q->buf);
	q->buf = NULL;
	q->off = q->len = q->cap = 0;
}

/* The bytes the head message takes with its prefix, once its prefix is
 * among the q->len queued and the n new bytes at p (and within max), else
 * 0: room for a whole message is made at once, not doubled up to it with
 * a copy at every step. At most one HTTP/2 window more than has come, so
 * that 5 bytes announcing a huge message do not reserve all of it. */
static size_t head_size(const struct lrpc__grpc_msgq *q, const unsigned char *p, size_t n)
{
	unsigned char h[LRPC__GRPC_PREFIX];
	size_t have = q->len < LRPC__GRPC_PREFIX ? q->len : LRPC__GRPC_PREFIX;
	uint32_t len;

	if (have + n < LRPC__GRPC_PREFIX)
		return 0;
	if (have)
		memcpy(h, q->buf + q->off, have);
	memcpy(h + have, p, LRPC__GRPC_PREFIX - have);
	len = (uint32_t)h[1] << 24 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 8 | h[4];
	if (len > q->max)
		return 0;
	return LRPC__GRPC_PREFIX + (size_t)len < q->len + n + LRPC__GRPC_WINDOW ?
		       LRPC__GRPC_PREFIX + (size_t)len : q->len + n + LRPC__GRPC_WINDOW;
}

int lrpc__grpc_msgq_push(struct lrpc__grpc_msgq *q, const void *p, size_t n)
{
	if (!n)
		return 0;
	if (q->off + q->len + n > q->cap) {
		size_t need = q->len + n, head = head_size(q, p, n), cap;
		unsigned char *b;

		/* Compact first: popped bytes at the front are dead. */
		if (q->off) {
			memmove(q->buf, q->buf + q->off, q->len);
			q->off = 0;
		}
		if (need > q->cap) {
			cap = q->cap ? q->cap : 4096;
			if (head > need && head > cap)
				cap = head; /* the rest of it is coming */
			while (cap < need)
				cap *= 2;
			b = realloc(q->buf, cap);
			if (!b)
				return -ENOMEM;
			q->buf = b;
			q->cap = cap;
		}
	}
	memcpy(q->buf + q->off + q->len, p, n);
	q->len += n;
	return 0;
}

void lrpc__grpc_msgq_recycle(struct lrpc__grpc_msgq *from, struct lrpc__grpc_msgq *to)
{
	if (from->buf && !to->buf && from->cap <= (1u << 20)) {
		to->buf = from->buf;
		to->cap = from->cap;
		to->off = to->len = 0;
		from->buf = NULL;
		from->cap = 0;
	}
	lrpc__grpc_msgq_free(from);
}

enum lrpc__grpc_next lrpc__grpc_msgq_next(const struct lrpc__grpc_msgq *q,
					  const unsigned char **msg,
					  size_t *len)
{
	const unsigned char *h;
	uint32_t n;

	if (q->len < LRPC__GRPC_PREFIX)
		return LRPC__GRPC_PARTIAL; /* (buf may still be NULL) */
	h = q->buf + q->off;
	n = (uint32_t)h[1] << 24 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 8 |
	    h[4];
	*len = n;
	if (h[0] != 0)
		return LRPC__GRPC_COMPRESSED;
	if (n > q->max)
		return LRPC__GRPC_TOO_BIG;
	if (q->len - LRPC__GRPC_PREFIX < n)
		return LRPC__GRPC_PARTIAL;
	*msg = h + LRPC__GRPC_PREFIX;
	return LRPC__GRPC_MSG;
}

void lrpc__grpc_msgq_pop(struct lrpc__grpc_msgq *q)
{
	const unsigned char *msg;
	size_t n;

	if (lrpc__grpc_msgq_next(q, &msg, &n) != LRPC__GRPC_MSG)
		return;
	q->off += LRPC__GRPC_PREFIX + n;
	q->len -= LRPC__GRPC_PREFIX + n;
	if (!q->len)
		q->off = 0;
	/* Do not keep a buffer sized for one huge message forever. */
	if (!q->len && q->cap > (1u << 20)) {
		free(q->buf);
		q->buf = NULL;
		q->cap = 0;
	}
}

void lrpc__grpc_prefix_put(unsigned char *out, uint32_t len)
{
	out[0] = 0;
	out[1] = (unsigned char)(len >> 24);
	out[2] = (unsigned char)(len >> 16);
	out[3] = (unsigned char)(len >> 8);
	out[4] = (unsigned char)len;
}
