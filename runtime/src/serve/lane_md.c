// SPDX-License-Identifier: MIT
/*
 * Call metadata in an lrpc:// lane, server side: the request's block is
 * the client's bytes in shared memory, so it is copied once before it is
 * parsed (a second look could see other bytes), and every entry passes
 * the rules a handler's own entries pass.
 */
#include <errno.h>
#include <string.h>

#include "serve/lane_md.h"
#include "wire/md_block.h"

int lrpc__lane_md_take(const unsigned char *buf, uint64_t buf_size,
		       uint32_t req_len, uint32_t md_len,
		       struct lrpc__arena *arena, struct lrpc__md_set *set)
{
	unsigned char *copy;
	int ret;

	if (md_len > LRPC__MD_BLOCK_MAX || req_len > buf_size ||
	    md_len > buf_size - req_len)
		return -EPROTO;
	copy = lrpc__arena_alloc(arena, md_len);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, buf + req_len, md_len);
	ret = lrpc__md_set_from_block(set, arena, copy, md_len);
	return ret == -E2BIG ? -EPROTO : ret;
}

int lrpc__lane_md_put(unsigned char *buf, uint64_t buf_size, size_t at,
		      const struct lrpc__md_out *out, uint32_t *hdr_len,
		      uint32_t *trl_len)
{
	size_t hl = lrpc__md_block_size(out->headers.v, out->headers.n);
	size_t tl = lrpc__md_block_size(out->trailers.v, out->trailers.n);

	*hdr_len = *trl_len = 0;
	if (at > buf_size || hl + tl > buf_size - at)
		return -E2BIG;
	lrpc__md_block_write(buf + at, out->headers.v, out->headers.n);
	lrpc__md_block_write(buf + at + hl, out->trailers.v, out->trailers.n);
	*hdr_len = (uint32_t)hl;
	*trl_len = (uint32_t)tl;
	return 0;
}
