/* SPDX-License-Identifier: MIT */
/* Call metadata, client side (metadata_list.c). */
#ifndef LRPC_CLIENT_METADATA_H
#define LRPC_CLIENT_METADATA_H

#include "core/internal.h"

/* Internal code may keep one on its stack (zeroed: empty). */
struct lrpc_metadata_list {
	lrpc_metadata *v;
	size_t n, cap;
};

/* Append a copy of an entry (a transport filling a caller's list).
 * \return 0, -ENOMEM. */
int lrpc__md_list_add(lrpc_metadata_list *l, const char *key, size_t klen,
		      const void *value, size_t vlen);

/* Check what a caller wants to send against the rules and the limit.
 * \return LRPC_OK, or INVALID_ARGUMENT / RESOURCE_EXHAUSTED with \p st. */
lrpc_code lrpc__md_check(const lrpc_metadata *md, size_t n, lrpc_status *st);

/* Append the entries of a metadata block (wire/md_block.h) in private
 * memory, each checked against the key and value rules (the block came
 * from a peer). \return 0, -EPROTO, -ENOMEM. */
int lrpc__md_list_from_block(lrpc_metadata_list *l, const unsigned char *b,
			     size_t len);

/* Append the headers and trailers of a stream's metadata record
 * (wire/md_block.h, lrpc__md_rec_*) of \p len bytes at \p rec, which the
 * peer may rewrite (copied once, then parsed), to \p headers and
 * \p trailers (each may be NULL: not wanted, its block not parsed). \return 0, -EPROTO
 * (a broken record or block, an entry the rules refuse: the lists may hold
 * what came before it), -ENOMEM. */
int lrpc__md_list_from_rec(lrpc_metadata_list *headers, lrpc_metadata_list *trailers,
			   const unsigned char *rec, size_t len);

#endif
