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

/*
 * A stream's metadata record (LRPC__RING_MD, lane_ring.h): the response
 * headers' block and the trailers', each at most LRPC__MD_BLOCK_MAX bytes:
 *   u32 hdr_len, u32 trl_len (little-endian), headers, trailers.
 */
#define LRPC__MD_REC_HDR 8u

/* Write the record of these two sets into \p dst, which has
 * LRPC__MD_REC_HDR plus both blocks' lrpc__md_block_size() bytes. */
void lrpc__md_rec_write(unsigned char *dst, const lrpc_metadata *h, size_t nh,
			const lrpc_metadata *t, size_t nt);

/* Check the lengths of a record of \p len bytes in private memory: the
 * headers' block is at rec + LRPC__MD_REC_HDR, *hl bytes, the trailers'
 * right after it, *tl bytes. \return 0, -EPROTO (lengths past the limit
 * or that do not add up to \p len; the blocks are not looked at). */
int lrpc__md_rec_split(const unsigned char *rec, size_t len, size_t *hl,
		       size_t *tl);

#endif
