/* SPDX-License-Identifier: MIT */
/*
 * A metadata block: call metadata as the lrpc:// lane carries it
 * (md_block.c; the format is in docs/internals.md, "Metadata in the lane").
 * Entries follow each other with no padding:
 *   u32 value_len (little-endian), u8 key_len (1..255), key, value.
 * The block carries bytes only; which keys and values are allowed is the
 * reader's rule (serve/metadata.c), applied to every entry it takes.
 */
#ifndef LRPC_WIRE_MD_BLOCK_H
#define LRPC_WIRE_MD_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include <lazyrpc/service.h>

/* An entry's bytes besides its key and value. */
#define LRPC__MD_BLOCK_ENTRY_HDR 5u
/* No set within LRPC_METADATA_MAX (32 + key + value per entry) needs more. */
#define LRPC__MD_BLOCK_MAX LRPC_METADATA_MAX

/* One entry, pointing into the block it was read from. */
struct lrpc__md_ent {
	const unsigned char *key, *value;
	size_t klen, vlen;
};

/* Bytes the block of these \p n entries takes (keys are NUL-terminated;
 * the caller checked them). */
size_t lrpc__md_block_size(const lrpc_metadata *md, size_t n);

/* Write the block into \p dst, which has lrpc__md_block_size() bytes. */
void lrpc__md_block_write(unsigned char *dst, const lrpc_metadata *md, size_t n);

/* The entry at *off of a block of \p len bytes in private memory (copy a
 * block the peer can rewrite first): *off moves past it.
 * \return 1 an entry, 0 the end, -EPROTO a length that runs past the end
 * or a key of length 0. */
int lrpc__md_block_next(const unsigned char *b, size_t len, size_t *off,
			struct lrpc__md_ent *e);

#endif
