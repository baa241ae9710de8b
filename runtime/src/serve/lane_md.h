/* SPDX-License-Identifier: MIT */
/* Call metadata in an lrpc:// lane, server side (lane_md.c). */
#ifndef LRPC_SERVE_LANE_MD_H
#define LRPC_SERVE_LANE_MD_H

#include "serve/metadata.h"
#include "wire/lane.h"

/*
 * The receiver thread: take the request metadata of \p md_len bytes after
 * the \p req_len bytes of request in \p buf (\p buf_size bytes, which the
 * client can rewrite at any moment: the block is copied into \p arena
 * once, then parsed). \return 0, -EPROTO (lengths past the buffer or the
 * limit, a broken block, an entry the rules refuse), -ENOMEM.
 */
int lrpc__lane_md_take(const unsigned char *buf, uint64_t buf_size,
		       uint32_t req_len, uint32_t md_len,
		       struct lrpc__arena *arena, struct lrpc__md_set *set);

/*
 * The receiver thread: write \p out's headers, then its trailers, after
 * the \p at bytes of reply in \p buf, and set *hdr_len and *trl_len.
 * \return 0, -E2BIG (no room in the buffer: nothing written, both 0).
 */
int lrpc__lane_md_put(unsigned char *buf, uint64_t buf_size, size_t at,
		      const struct lrpc__md_out *out, uint32_t *hdr_len,
		      uint32_t *trl_len);

#endif
