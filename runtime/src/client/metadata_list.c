// SPDX-License-Identifier: MIT
/*
 * Call metadata, client side: the lists a call fills with what came back
 * beside the reply, and the check of what a caller sends.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client/metadata.h"
#include "serve/metadata.h"
#include "wire/md_block.h"

int lrpc_metadata_list_new(lrpc_metadata_list **out)
{
	if (!out)
		return -EINVAL;
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void lrpc_metadata_list_clear(lrpc_metadata_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		free((void *)l->v[i].key); /* key and value in one block */
	l->n = 0;
}

void lrpc_metadata_list_free(lrpc_metadata_list *l)
{
	if (!l)
		return;
	lrpc_metadata_list_clear(l);
	free(l->v);
	free(l);
}

size_t lrpc_metadata_list_get(const lrpc_metadata_list *l, const lrpc_metadata **md)
{
	if (md)
		*md = l && l->n ? l->v : NULL;
	return l ? l->n : 0;
}

const lrpc_metadata *lrpc_metadata_list_find(const lrpc_metadata_list *l, const char *key)
{
	for (size_t i = 0; l && key && i < l->n; i++)
		if (strcmp(l->v[i].key, key) == 0)
			return &l->v[i];
	return NULL;
}

int lrpc__md_list_add(lrpc_metadata_list *l, const char *key, size_t klen,
		      const void *value, size_t vlen)
{
	char *p;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		lrpc_metadata *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	p = malloc(klen + vlen + 2);
	if (!p)
		return -ENOMEM;
	memcpy(p, key, klen);
	p[klen] = '\0';
	if (vlen)
		memcpy(p + klen + 1, value, vlen);
	p[klen + 1 + vlen] = '\0';
	l->v[l->n++] = (lrpc_metadata){ .key = p, .value = p + klen + 1, .value_len = vlen };
	return 0;
}

int lrpc_metadata_list_add(lrpc_metadata_list *l, const char *key,
			   const void *value, size_t value_len)
{
	if (!l || !key || (!value && value_len))
		return -EINVAL;
	return lrpc__md_list_add(l, key, strlen(key), value, value_len);
}

lrpc_code lrpc__md_check(const lrpc_metadata *md, size_t n, lrpc_status *st)
{
	size_t bytes = 0;

	if (n && !md)
		return lrpc__status_fail(st, LRPC_INVALID_ARGUMENT, "%zu metadata entries at NULL",
					 n);
	for (size_t i = 0; i < n; i++) {
		const char *k = md[i].key;
		size_t klen = k ? strnlen(k, LRPC_METADATA_KEY_MAX + 1) : 0;

		if (!lrpc__md_key_valid(k, klen) || lrpc__md_key_reserved(k, klen))
			return lrpc__status_fail(st, LRPC_INVALID_ARGUMENT,
						 "metadata key \"%.64s\" is %s", k ? k : "(null)",
						 lrpc__md_key_valid(k, klen) ? "reserved" :
									      "not [0-9a-z_.-]{1,255}");
		if ((md[i].value_len && !md[i].value) ||
		    !lrpc__md_value_valid(k, klen, md[i].value, md[i].value_len))
			return lrpc__status_fail(st, LRPC_INVALID_ARGUMENT,
						 "metadata %s: a value of printable ASCII only "
						 "(binary values take a -bin key)", k);
		bytes += klen + md[i].value_len + LRPC__MD_ENTRY_COST;
	}
	if (bytes > LRPC_METADATA_MAX)
		return lrpc__status_fail(st, LRPC_RESOURCE_EXHAUSTED,
					 "request metadata of %zu bytes exceeds %u", bytes,
					 LRPC_METADATA_MAX);
	return LRPC_OK;
}

int lrpc__md_list_from_block(lrpc_metadata_list *l, const unsigned char *b,
			     size_t len)
{
	struct lrpc__md_ent e;
	size_t off = 0;
	int ret;

	if (len > LRPC__MD_BLOCK_MAX)
		return -EPROTO;
	while ((ret = lrpc__md_block_next(b, len, &off, &e)) > 0) {
		const char *k = (const char *)e.key;

		if (!lrpc__md_key_valid(k, e.klen) ||
		    !lrpc__md_value_valid(k, e.klen, e.value, e.vlen))
			return -EPROTO;
		ret = lrpc__md_list_add(l, k, e.klen, e.value, e.vlen);
		if (ret < 0)
			return ret;
	}
	return ret;
}

int lrpc__md_list_from_rec(lrpc_metadata_list *headers, lrpc_metadata_list *trailers,
			   const unsigned char *rec, size_t len)
{
	unsigned char *copy;
	size_t hl, tl;
	int ret;

	/* At most two blocks' worth: past that the split refuses anyway. */
	if (len > LRPC__MD_REC_HDR + 2 * (size_t)LRPC__MD_BLOCK_MAX)
		return -EPROTO;
	copy = malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, rec, len);
	ret = lrpc__md_rec_split(copy, len, &hl, &tl);
	if (!ret && headers)
		ret = lrpc__md_list_from_block(headers, copy + LRPC__MD_REC_HDR, hl);
	if (!ret && trailers)
		ret = lrpc__md_list_from_block(trailers, copy + LRPC__MD_REC_HDR + hl, tl);
	free(copy);
	return ret;
}
