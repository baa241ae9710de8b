/* SPDX-License-Identifier: MIT */
/*
 * Frames on unix:// and tcp:// connections: a fixed 32-byte little-endian
 * header, then the status message (replies only), then the protobuf payload.
 *
 *   0  u32 magic        LRPC__FRAME_MAGIC
 *   4  u32 body_len     bytes after the header (message + payload)
 *   8  u64 call_id      chosen by the client, echoed in the reply
 *  16  u32 method_id    request: the method; reply: the status code
 *  20  u32 msg_len      reply: status message bytes; request: 0, or
 *                       LRPC__FRAME_CALL_MD | the request metadata's bytes
 *  24  i64 timeout_ns   request: time left until the deadline; reply: 0,
 *                       or the response metadata's bytes (below)
 *
 * Call metadata (since 0.5.0). A request with LRPC__FRAME_CALL_MD in
 * msg_len carries a metadata block (wire/md_block.h, as lrpc:// lanes
 * carry it) of the low 31 bits' bytes (at most LRPC__MD_BLOCK_MAX) after
 * its payload, and says that its client reads response metadata: its
 * reply, and only such a reply, has the response headers' block and then
 * the trailers' after its payload, their lengths (each at most
 * LRPC__MD_BLOCK_MAX) in timeout_ns: headers in the low 32 bits, trailers
 * in the high 32. So
 *   request body: payload | request metadata
 *   reply body:   status message | payload | headers | trailers
 * Servers before 0.5.0 refuse a request with msg_len set (an error frame,
 * INVALID_ARGUMENT, then they hang up): they never take metadata for
 * payload. Clients before 0.5.0 never set the flag, so they are never
 * sent metadata; a client sets it only on calls that send metadata or
 * want it back, so calls without any are what they were, byte for byte.
 *
 * Stream frames (since 0.2.0) have the same header; the magic's last byte
 * names the kind ("LRS" + kind), so that one compare tells a call from a
 * stream frame and the unary path is not touched. call_id is the stream's
 * id (the client's, never 0, from the same counter as its call ids). By
 * kind, with every other field 0 (else -EPROTO):
 *
 *   O OPEN        client: method_id, timeout_ns; no body, or (since 0.5.0)
 *                 msg_len = LRPC__FRAME_CALL_MD | body_len and the body
 *                 the request metadata's block
 *   M MSG         either: body = one message
 *   H HALF_CLOSE  client: no more MSG from it; no body
 *   E END         server: code (< 2^16) and msg_len, the status message;
 *                 to an OPEN with the flag (only), then the headers' and
 *                 the trailers' blocks, lengths in timeout_ns as a reply's;
 *                 body_len = all three. Nothing follows for this stream
 *   C CANCEL      client: it gave up (its deadline, lrpc_stream_cancel);
 *                 since 0.6.0 also for a unary call's id, the connection
 *                 kept: the server answers that call with one frame still,
 *                 a bare CANCELLED header (code, no body) unless its reply
 *                 went first. Servers since 0.2.0 drop a CANCEL for an id
 *                 that is not an open stream (then send the whole reply),
 *                 so no negotiation is needed (docs/internals.md)
 *   W WINDOW      either: credit back: method_id = messages (<= 2^16),
 *                 timeout_ns = bytes (0 .. 2^32) the peer may send again
 *
 * Flow control (the same both ways): a side may have at most
 * LRPC__STREAM_WINDOW_MSGS messages and LRPC__STREAM_WINDOW_BYTES payload
 * bytes sent and not yet credited back by a WINDOW, except that one
 * message of any size (up to max_msg_size) may go when nothing is
 * outstanding. The receiver checks that rule on every MSG; breaking it is
 * a protocol error.
 */
#ifndef LRPC_FRAME_H
#define LRPC_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LRPC__FRAME_MAGIC 0x3146524cu /* "LRF1" */
#define LRPC__FRAME_HDR 32u
#define LRPC__STREAM_MAGIC 0x0053524cu /* "LRS" + kind in the top byte */
#define LRPC__FRAME_CALL_MD 0x80000000u /* in a request's msg_len */

#define LRPC__STREAM_WINDOW_MSGS 64u
#define LRPC__STREAM_WINDOW_BYTES ((size_t)64 << 10)

enum lrpc__frame_kind {
	LRPC__FRAME_CALL = 0, /* "LRF1": a unary request or reply */
	LRPC__FRAME_OPEN = 'O',
	LRPC__FRAME_MSG = 'M',
	LRPC__FRAME_HALF_CLOSE = 'H',
	LRPC__FRAME_END = 'E',
	LRPC__FRAME_CANCEL = 'C',
	LRPC__FRAME_WINDOW = 'W',
};

struct lrpc__frame {
	enum lrpc__frame_kind kind;
	uint32_t body_len;
	uint64_t call_id;
	uint32_t method_or_code;
	uint32_t msg_len;
	int64_t timeout_ns;
	/* A CALL frame with LRPC__FRAME_CALL_MD (requests only): msg_len
	 * is then 0 and md_len the request metadata's bytes. */
	bool call_md;
	uint32_t md_len;
};

void lrpc__frame_put(unsigned char *hdr, const struct lrpc__frame *f);

/*
 * Decode and check a header against the largest body this side accepts.
 * \return 0, -EPROTO (bad magic, unknown kind, a field the kind does not
 * allow, inconsistent lengths), -EMSGSIZE (body too large; the fields are
 * filled in).
 */
int lrpc__frame_get(const unsigned char *hdr, size_t max_body,
		    struct lrpc__frame *f);

/* lrpc__frame_get() for a server: bodies of at most \p max_msg payload
 * bytes, besides a call's request metadata. */
int lrpc__frame_get_request(const unsigned char *hdr, size_t max_msg,
			    struct lrpc__frame *f);

/* The response metadata lengths of reply or END \p f (to a request or
 * OPEN with LRPC__FRAME_CALL_MD), checked against the limit and its body.
 * \return 0, -EPROTO. */
int lrpc__frame_reply_md(const struct lrpc__frame *f, uint32_t *hdr_len,
			 uint32_t *trl_len);

/* May a sender with \p msgs messages and \p bytes bytes outstanding send
 * one of \p len bytes? (The window rule above; both sides use it.) */
static inline int lrpc__stream_window_ok(unsigned int msgs, size_t bytes,
					 size_t len)
{
	return msgs < LRPC__STREAM_WINDOW_MSGS &&
	       (bytes == 0 || bytes + len <= LRPC__STREAM_WINDOW_BYTES);
}

#endif
