/* SPDX-License-Identifier: MIT */
/*
 * Frames on unix:// and tcp:// connections: a fixed 32-byte little-endian
 * header, then the status message (replies only), then the protobuf payload.
 *
 *   0  u32 magic        LRPC__FRAME_MAGIC
 *   4  u32 body_len     bytes after the header (message + payload)
 *   8  u64 call_id      chosen by the client, echoed in the reply
 *  16  u32 method_id    request: the method; reply: the status code
 *  20  u32 msg_len      reply: status message bytes; request: 0
 *  24  i64 timeout_ns   request: time left until the deadline; reply: 0
 */
#ifndef LRPC_FRAME_H
#define LRPC_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define LRPC__FRAME_MAGIC 0x3146524cu /* "LRF1" */
#define LRPC__FRAME_HDR 32u

struct lrpc__frame {
	uint32_t body_len;
	uint64_t call_id;
	uint32_t method_or_code;
	uint32_t msg_len;
	int64_t timeout_ns;
};

void lrpc__frame_put(unsigned char *hdr, const struct lrpc__frame *f);

/*
 * Decode and check a header against the largest body this side accepts.
 * \return 0, -EPROTO (bad magic or inconsistent lengths), -EMSGSIZE (body
 * too large).
 */
int lrpc__frame_get(const unsigned char *hdr, size_t max_body,
		    struct lrpc__frame *f);

#endif
