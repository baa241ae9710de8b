// SPDX-License-Identifier: MIT
/* The lane's metadata block (md_block.h): writer and bounds-checked reader. */
#include <errno.h>
#include <string.h>

#include "wire/md_block.h"

size_t lrpc__md_block_size(const lrpc_metadata *md, size_t n)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++)
		len += LRPC__MD_BLOCK_ENTRY_HDR + strlen(md[i].key) + md[i].value_len;
	return len;
}

static void put_u32(unsigned char *dst, uint32_t v)
{
	dst[0] = (unsigned char)v;
	dst[1] = (unsigned char)(v >> 8);
	dst[2] = (unsigned char)(v >> 16);
	dst[3] = (unsigned char)(v >> 24);
}

static size_t get_u32(const unsigned char *b)
{
	return (size_t)b[0] | (size_t)b[1] << 8 | (size_t)b[2] << 16 |
	       (size_t)b[3] << 24;
}

void lrpc__md_block_write(unsigned char *dst, const lrpc_metadata *md, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t klen = strlen(md[i].key);
		uint32_t v = (uint32_t)md[i].value_len;

		put_u32(dst, v);
		dst[4] = (unsigned char)klen;
		memcpy(dst + LRPC__MD_BLOCK_ENTRY_HDR, md[i].key, klen);
		if (v)
			memcpy(dst + LRPC__MD_BLOCK_ENTRY_HDR + klen, md[i].value, v);
		dst += LRPC__MD_BLOCK_ENTRY_HDR + klen + v;
	}
}

int lrpc__md_block_next(const unsigned char *b, size_t len, size_t *off,
			struct lrpc__md_ent *e)
{
	size_t at = *off, klen, vlen;

	if (at >= len)
		return 0;
	if (len - at < LRPC__MD_BLOCK_ENTRY_HDR)
		return -EPROTO;
	vlen = get_u32(b + at);
	klen = b[at + 4];
	at += LRPC__MD_BLOCK_ENTRY_HDR;
	/* Subtractions only: no sum of peer lengths can wrap. */
	if (klen == 0 || klen > len - at || vlen > len - at - klen)
		return -EPROTO;
	e->key = b + at;
	e->klen = klen;
	e->value = b + at + klen;
	e->vlen = vlen;
	*off = at + klen + vlen;
	return 1;
}

void lrpc__md_rec_write(unsigned char *dst, const lrpc_metadata *h, size_t nh,
			const lrpc_metadata *t, size_t nt)
{
	size_t hl = lrpc__md_block_size(h, nh);

	put_u32(dst, (uint32_t)hl);
	put_u32(dst + 4, (uint32_t)lrpc__md_block_size(t, nt));
	lrpc__md_block_write(dst + LRPC__MD_REC_HDR, h, nh);
	lrpc__md_block_write(dst + LRPC__MD_REC_HDR + hl, t, nt);
}

int lrpc__md_rec_split(const unsigned char *rec, size_t len, size_t *hl,
		       size_t *tl)
{
	if (len < LRPC__MD_REC_HDR)
		return -EPROTO;
	*hl = get_u32(rec);
	*tl = get_u32(rec + 4);
	/* Each within the limit first: then the sum cannot wrap. */
	if (*hl > LRPC__MD_BLOCK_MAX || *tl > LRPC__MD_BLOCK_MAX ||
	    LRPC__MD_REC_HDR + *hl + *tl != len)
		return -EPROTO;
	return 0;
}
