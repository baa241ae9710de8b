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

void lrpc__md_block_write(unsigned char *dst, const lrpc_metadata *md, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t klen = strlen(md[i].key);
		uint32_t v = (uint32_t)md[i].value_len;

		dst[0] = (unsigned char)v;
		dst[1] = (unsigned char)(v >> 8);
		dst[2] = (unsigned char)(v >> 16);
		dst[3] = (unsigned char)(v >> 24);
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
	vlen = (size_t)b[at] | (size_t)b[at + 1] << 8 | (size_t)b[at + 2] << 16 |
	       (size_t)b[at + 3] << 24;
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
