// SPDX-License-Identifier: MIT
/* The store's ordered keys: a skip list (kv_map.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kv_map.h"

int kv_key_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

int kv_map_init(struct kv_map *m)
{
	memset(m, 0, sizeof(*m));
	m->head = calloc(1, sizeof(*m->head) + KV_MAP_LEVELS * sizeof(m->head->next[0]));
	if (!m->head)
		return -ENOMEM;
	m->head->levels = KV_MAP_LEVELS;
	m->rng = 0x9e3779b97f4a7c15ull;
	return 0;
}

void kv_map_free(struct kv_map *m)
{
	struct kv_entry *e = m->head, *next;

	while (e) {
		next = e->next[0];
		free(e);
		e = next;
	}
	m->head = NULL;
}

/* Fill \p before with the last entry of each level whose key is < key. */
static void find(const struct kv_map *m, const void *key, size_t klen,
		 struct kv_entry **before)
{
	struct kv_entry *e = m->head;

	for (int l = KV_MAP_LEVELS - 1; l >= 0; l--) {
		while (e->next[l] &&
		       kv_key_cmp(e->next[l]->key, e->next[l]->klen, key, klen) < 0)
			e = e->next[l];
		before[l] = e;
	}
}

const struct kv_entry *kv_map_seek(const struct kv_map *m, const void *key, size_t klen)
{
	struct kv_entry *before[KV_MAP_LEVELS];

	find(m, key, klen, before);
	return before[0]->next[0];
}

const struct kv_entry *kv_map_get(const struct kv_map *m, const void *key, size_t klen)
{
	const struct kv_entry *e = kv_map_seek(m, key, klen);

	return e && kv_key_cmp(e->key, e->klen, key, klen) == 0 ? e : NULL;
}

/* A level with probability 1/4 per step up (xorshift64). */
static unsigned int level(struct kv_map *m)
{
	unsigned int l = 1;

	m->rng ^= m->rng << 13;
	m->rng ^= m->rng >> 7;
	m->rng ^= m->rng << 17;
	for (uint64_t r = m->rng; l < KV_MAP_LEVELS && (r & 3) == 0; r >>= 2)
		l++;
	return l;
}

int kv_map_put(struct kv_map *m, const void *key, size_t klen, const void *val,
	       size_t vlen, uint64_t version)
{
	struct kv_entry *before[KV_MAP_LEVELS], *old, *e;
	unsigned int lv;

	find(m, key, klen, before);
	old = before[0]->next[0];
	if (old && kv_key_cmp(old->key, old->klen, key, klen) != 0)
		old = NULL;
	lv = old ? old->levels : level(m);
	e = malloc(sizeof(*e) + lv * sizeof(e->next[0]) + klen + vlen + 2);
	if (!e)
		return -ENOMEM;
	e->levels = lv;
	e->key = (unsigned char *)&e->next[lv];
	e->val = e->key + klen + 1;
	memcpy(e->key, key, klen);
	e->key[klen] = 0;
	if (vlen)
		memcpy(e->val, val, vlen);
	e->val[vlen] = 0;
	e->klen = klen;
	e->vlen = vlen;
	e->version = version;
	for (unsigned int l = 0; l < lv; l++) {
		e->next[l] = old ? old->next[l] : before[l]->next[l];
		before[l]->next[l] = e;
	}
	if (old) {
		m->bytes -= old->klen + old->vlen;
		free(old);
	} else {
		m->count++;
	}
	m->bytes += klen + vlen;
	return 0;
}

bool kv_map_del(struct kv_map *m, const void *key, size_t klen)
{
	struct kv_entry *before[KV_MAP_LEVELS], *e;

	find(m, key, klen, before);
	e = before[0]->next[0];
	if (!e || kv_key_cmp(e->key, e->klen, key, klen) != 0)
		return false;
	for (unsigned int l = 0; l < e->levels; l++)
		before[l]->next[l] = e->next[l];
	m->count--;
	m->bytes -= e->klen + e->vlen;
	free(e);
	return true;
}
