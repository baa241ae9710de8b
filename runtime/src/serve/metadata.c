// SPDX-License-Identifier: MIT
/*
 * Call metadata, server side: the key and value rules (gRPC's, so that
 * what a handler adds can cross grpc:// unchanged) and the handler's API.
 */
#include <errno.h>
#include <string.h>

#include "serve/dispatch.h"
#include "serve/metadata.h"
#include "wire/md_block.h"

bool lrpc__md_key_valid(const char *key, size_t len)
{
	if (len == 0 || len > LRPC_METADATA_KEY_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = key[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '_' ||
		      c == '-' || c == '.'))
			return false;
	}
	return true;
}

bool lrpc__md_key_reserved(const char *key, size_t len)
{
	/* gRPC's own, and what HTTP/2 forbids or gRPC sends itself. */
	static const char *const http[] = {
		"content-type", "te", "connection", "host", "keep-alive",
		"proxy-connection", "transfer-encoding", "upgrade",
	};

	if (len >= 5 && memcmp(key, "grpc-", 5) == 0)
		return true;
	for (size_t i = 0; i < sizeof(http) / sizeof(http[0]); i++)
		if (len == strlen(http[i]) && memcmp(key, http[i], len) == 0)
			return true;
	return false;
}

bool lrpc__md_key_binary(const char *key, size_t len)
{
	return len > 4 && memcmp(key + len - 4, "-bin", 4) == 0;
}

bool lrpc__md_value_valid(const char *key, size_t klen, const void *value,
			  size_t len)
{
	const unsigned char *v = value;

	if (lrpc__md_key_binary(key, klen))
		return true;
	for (size_t i = 0; i < len; i++)
		if (v[i] < 0x20 || v[i] > 0x7e)
			return false;
	return true;
}

int lrpc__md_add(struct lrpc__md_set *set, struct lrpc__arena *arena,
		 const char *key, const void *value, size_t len)
{
	size_t klen = key ? strnlen(key, LRPC_METADATA_KEY_MAX + 1) : 0;
	size_t cost;
	char *k, *v;

	if (!lrpc__md_key_valid(key, klen) || lrpc__md_key_reserved(key, klen) ||
	    (len && !value) || !lrpc__md_value_valid(key, klen, value, len))
		return -EINVAL;
	if (len > LRPC_METADATA_MAX)
		return -E2BIG;
	cost = klen + len + LRPC__MD_ENTRY_COST;
	if (set->bytes + cost > LRPC_METADATA_MAX)
		return -E2BIG;
	if (set->n == set->cap) {
		/* At most LRPC_METADATA_MAX / 33 entries fit: growth is bounded. */
		size_t cap = set->cap ? 2 * set->cap : 8;
		lrpc_metadata *nv = lrpc__arena_alloc(arena, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		if (set->n)
			memcpy(nv, set->v, set->n * sizeof(*nv));
		set->v = nv;
		set->cap = cap;
	}
	k = lrpc__arena_alloc(arena, klen + 1);
	v = lrpc__arena_alloc(arena, len + 1);
	if (!k || !v)
		return -ENOMEM;
	memcpy(k, key, klen + 1);
	if (len)
		memcpy(v, value, len);
	v[len] = '\0';
	set->v[set->n++] = (lrpc_metadata){ .key = k, .value = v, .value_len = len };
	set->bytes += cost;
	return 0;
}

int lrpc__md_set_from_block(struct lrpc__md_set *set, struct lrpc__arena *arena,
			    const unsigned char *b, size_t len)
{
	struct lrpc__md_ent e;
	size_t off = 0;
	int ret;

	while ((ret = lrpc__md_block_next(b, len, &off, &e)) > 0) {
		char key[LRPC_METADATA_KEY_MAX + 1];

		/* A key with a NUL inside would pass as a shorter one. */
		if (memchr(e.key, '\0', e.klen))
			return -EPROTO;
		memcpy(key, e.key, e.klen);
		key[e.klen] = '\0';
		ret = lrpc__md_add(set, arena, key, e.value, e.vlen);
		if (ret == -EINVAL)
			return -EPROTO;
		if (ret < 0)
			return ret;
	}
	return ret;
}

size_t lrpc_call_metadata(const lrpc_call *call, const lrpc_metadata **md)
{
	if (md)
		*md = call->n_md ? call->md : NULL;
	return call->n_md;
}

const lrpc_metadata *lrpc_call_metadata_get(const lrpc_call *call, const char *key)
{
	for (size_t i = 0; key && i < call->n_md; i++)
		if (strcmp(call->md[i].key, key) == 0)
			return &call->md[i];
	return NULL;
}

int lrpc_call_add_header(lrpc_call *call, const char *key, const void *value,
			 size_t value_len)
{
	if (call->out.headers_sent)
		return -EALREADY;
	return lrpc__md_add(&call->out.headers, call->arena, key, value, value_len);
}

int lrpc_call_add_trailer(lrpc_call *call, const char *key, const void *value,
			  size_t value_len)
{
	return lrpc__md_add(&call->out.trailers, call->arena, key, value, value_len);
}
