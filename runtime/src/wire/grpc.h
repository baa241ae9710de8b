/* SPDX-License-Identifier: MIT */
/*
 * The parts of gRPC over HTTP/2 (grpc/grpc doc/PROTOCOL-HTTP2.md) that are
 * pure functions of the peer's bytes, apart from HTTP/2 itself (nghttp2):
 * the grpc-timeout header (grpc_timeout.c), the percent-encoding of
 * grpc-message (grpc_text.c), and length-prefixed messages spanning DATA
 * frames (grpc_msg.c). No locking: each object belongs to one thread.
 */
#ifndef LRPC_WIRE_GRPC_H
#define LRPC_WIRE_GRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The length prefix: 1 byte compressed flag, 4 bytes big-endian length. */
#define LRPC__GRPC_PREFIX 5u

/* The HTTP/2 window (stream and connection) that lazyrpc's unary client
 * connections and its server announce: a message up to about 1 MiB goes
 * in one flight instead of stalling at HTTP/2's default 64 KiB for a
 * WINDOW_UPDATE, which costs a round trip (a 64 KiB echo's prefix alone
 * crosses the default). Unary messages are buffered whole anyway. */
#define LRPC__GRPC_WINDOW (1u << 20)

/* The largest HTTP/2 frame lazyrpc's client connections and server take
 * (SETTINGS_MAX_FRAME_SIZE) and send when the peer takes it: a 64 KiB
 * message and its prefix in one DATA frame rather than five of HTTP/2's
 * default 16 KiB, each its own callbacks. nghttp2's output buffer grows
 * to this once per session that sends such a frame. */
#define LRPC__GRPC_FRAME_MAX (128u << 10)

/*
 * grpc-timeout: 1 to 8 ASCII digits and a unit (H M S m u n), the whole of
 * \p len bytes. \return 0 with *ns the timeout in nanoseconds (saturated
 * at INT64_MAX; 99999999H does not fit), -EINVAL for anything else.
 */
int lrpc__grpc_timeout_parse(const char *v, size_t len, int64_t *ns);

/* The grpc-timeout a client sends for \p ns nanoseconds left (at most 8
 * digits, rounded up to the coarsest unit that keeps it exact enough).
 * \p out has room for 10 bytes; \return the length (not terminated). */
size_t lrpc__grpc_timeout_format(int64_t ns, char *out);

/*
 * grpc-message: bytes outside 0x20..0x7e, and '%', as %XX (upper-case
 * hex). Writes at most \p cap bytes and stops before a sequence that does
 * not fit whole. \return the bytes written.
 */
size_t lrpc__grpc_pct_encode(const char *in, size_t len, char *out, size_t cap);
/* The reverse; a '%' not followed by two hex digits stays as it is (the
 * spec forbids failing on a bad value). Writes at most \p cap bytes.
 * \return the bytes written. */
size_t lrpc__grpc_pct_decode(const char *in, size_t len, char *out, size_t cap);

/*
 * Binary ("-bin") metadata values: base64 without padding out (\p out has
 * room for 4 * ((len + 2) / 3) bytes; \return the length written); padded
 * or not in, as the spec asks. Decoding may be in place (\p out == \p in).
 * \return the bytes decoded, -EINVAL (not base64).
 */
size_t lrpc__grpc_b64_encode(const void *in, size_t len, char *out);
ssize_t lrpc__grpc_b64_decode(const char *in, size_t len, unsigned char *out);

/*
 * A stream's received bytes, cut into length-prefixed messages. Bytes are
 * appended as DATA arrives and the head message is taken when whole; the
 * buffer holds what was pushed and not yet popped, so what bounds it is
 * what the pusher lets in (a transport: one message plus the HTTP/2
 * window); once a head message's prefix is in, room for the rest of it
 * (up to LRPC__GRPC_WINDOW past what came) is made in one step. A prefix
 * announcing more than \p max is an error as soon as its 5 bytes are in.
 */
struct lrpc__grpc_msgq {
	unsigned char *buf;
	size_t off, len, cap; /* unread bytes are buf[off .. off + len) */
	size_t max;           /* largest message accepted */
};

enum lrpc__grpc_next {
	LRPC__GRPC_PARTIAL = 0,    /* no whole message at the head yet */
	LRPC__GRPC_MSG = 1,        /* one is: *msg, *len, until the pop */
	LRPC__GRPC_TOO_BIG = -1,   /* the head announces more than max */
	LRPC__GRPC_COMPRESSED = -2 /* the head's flag is not 0 */
};

void lrpc__grpc_msgq_init(struct lrpc__grpc_msgq *q, size_t max);
void lrpc__grpc_msgq_free(struct lrpc__grpc_msgq *q);
/* \return 0, -ENOMEM (nothing appended). */
int lrpc__grpc_msgq_push(struct lrpc__grpc_msgq *q, const void *p, size_t n);
/* Look at the head. For TOO_BIG, *len is the length it announced. */
enum lrpc__grpc_next lrpc__grpc_msgq_next(const struct lrpc__grpc_msgq *q,
					  const unsigned char **msg,
					  size_t *len);
/* Drop the head message (after next() said MSG). */
void lrpc__grpc_msgq_pop(struct lrpc__grpc_msgq *q);
/* Move \p from's buffer, emptied, to \p to if \p to has none and it is
 * at most 1 MiB (a message queue's next owner reuses it), else free it;
 * \p from is left empty. */
void lrpc__grpc_msgq_recycle(struct lrpc__grpc_msgq *from, struct lrpc__grpc_msgq *to);
/* Bytes pushed and not popped. */
static inline size_t lrpc__grpc_msgq_len(const struct lrpc__grpc_msgq *q)
{
	return q->len;
}

/* Write the 5-byte prefix of an uncompressed message of \p len bytes. */
void lrpc__grpc_prefix_put(unsigned char *out, uint32_t len);

#endif
