/* SPDX-License-Identifier: MIT */
/*
 * Call metadata, server side (metadata.c): the rules every transport
 * applies to keys and values, and the sets a handler adds to, kept in the
 * call's arena.
 */
#ifndef LRPC_SERVE_METADATA_H
#define LRPC_SERVE_METADATA_H

#include <stdbool.h>

#include "core/internal.h"

/* What an entry counts against LRPC_METADATA_MAX: HTTP/2's measure. */
#define LRPC__MD_ENTRY_COST 32u

/* A growing set of entries, in an arena (no free). */
struct lrpc__md_set {
	lrpc_metadata *v;
	size_t n, cap;
	size_t bytes; /* sum of key + value + LRPC__MD_ENTRY_COST */
};

/* What a handler sends beside its reply. */
struct lrpc__md_out {
	struct lrpc__md_set headers, trailers;
	bool headers_sent; /* a stream wrote a message: no more headers */
};

/* Is \p key (\p len bytes) a metadata key at all: 1..255 of [0-9a-z_.-]? */
bool lrpc__md_key_valid(const char *key, size_t len);
/* Is it one an application may not set (grpc-*, gRPC's own headers)? */
bool lrpc__md_key_reserved(const char *key, size_t len);
/* Does \p key end in "-bin" (binary values)? */
bool lrpc__md_key_binary(const char *key, size_t len);
/* May \p key carry this value? (printable ASCII unless binary) */
bool lrpc__md_value_valid(const char *key, size_t klen, const void *value,
			  size_t len);

/* Check and copy an entry into \p set, in \p arena. \return 0, -EINVAL,
 * -E2BIG (past LRPC_METADATA_MAX), -ENOMEM. */
int lrpc__md_add(struct lrpc__md_set *set, struct lrpc__arena *arena,
		 const char *key, const void *value, size_t len);

/* Take the entries of a metadata block (wire/md_block.h) in private
 * memory into \p set, each checked as lrpc__md_add checks it.
 * \return 0, -EPROTO (a broken block or an entry the rules refuse),
 * -E2BIG, -ENOMEM. */
int lrpc__md_set_from_block(struct lrpc__md_set *set, struct lrpc__arena *arena,
			    const unsigned char *b, size_t len);

#endif
