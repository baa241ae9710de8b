// SPDX-License-Identifier: MIT
/*
 * Call metadata in unix:// and tcp:// frames (sock_md.h): the reply's
 * blocks, both sides. The request's block is written with
 * lrpc__md_block_write() and read with lrpc__md_set_from_block() where
 * the frame is (sock_client.c, sock_server.c).
 */
#include <errno.h>
#include <stdlib.h>

#include "client/metadata.h"
#include "transport/sock_md.h"
#include "wire/md_block.h"

lrpc_code lrpc__sock_md_take_reply(const struct lrpc__frame *f,
				   const unsigned char *body,
				   lrpc_metadata_list *headers,
				   lrpc_metadata_list *trailers,
				   size_t *payload_len, lrpc_status *st)
{
	uint32_t hl, tl;
	const unsigned char *at;
	int ret = 0;

	*payload_len = 0;
	if (lrpc__frame_reply_md(f, &hl, &tl) < 0)
		return lrpc__status_fail(st, LRPC_INTERNAL,
					 "server sent response metadata lengths %u and %u "
					 "past its %u-byte reply",
					 (uint32_t)f->timeout_ns,
					 (uint32_t)((uint64_t)f->timeout_ns >> 32),
					 f->body_len);
	*payload_len = f->body_len - f->msg_len - hl - tl;
	at = body + f->msg_len + *payload_len;
	if (headers)
		ret = lrpc__md_list_from_block(headers, at, hl);
	if (ret >= 0 && trailers)
		ret = lrpc__md_list_from_block(trailers, at + hl, tl);
	if (ret < 0)
		return lrpc__status_fail(st, ret == -ENOMEM ? LRPC_RESOURCE_EXHAUSTED :
							     LRPC_INTERNAL,
					 "server sent malformed response metadata");
	return LRPC_OK;
}

int lrpc__sock_md_put_reply(unsigned char **frame, size_t *len,
			    const struct lrpc__md_out *md)
{
	size_t hl = lrpc__md_block_size(md->headers.v, md->headers.n);
	size_t tl = lrpc__md_block_size(md->trailers.v, md->trailers.n);
	struct lrpc__frame f;
	unsigned char *p;

	if (!hl && !tl)
		return 0;
	p = realloc(*frame, *len + hl + tl);
	if (!p)
		return -ENOMEM;
	/* Our own header: it decodes. The sets are within the limit
	 * (lrpc__md_add), so each block is too. */
	(void)lrpc__frame_get(p, SIZE_MAX, &f);
	lrpc__md_block_write(p + *len, md->headers.v, md->headers.n);
	lrpc__md_block_write(p + *len + hl, md->trailers.v, md->trailers.n);
	f.body_len += (uint32_t)(hl + tl);
	f.timeout_ns = (int64_t)((uint64_t)tl << 32 | hl);
	lrpc__frame_put(p, &f);
	*frame = p;
	*len += hl + tl;
	return 0;
}
