/* SPDX-License-Identifier: MIT */
/*
 * The store's keys in order (kv_map.c): a skip list, O(log n) to find,
 * insert and remove, and a walk in key order for Scan. Not locked: the
 * server holds its lock around every use.
 */
#ifndef KV_MAP_H
#define KV_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KV_MAP_LEVELS 24

struct kv_entry {
	unsigned char *key, *val; /* one allocation with the entry */
	size_t klen, vlen;
	uint64_t version;
	unsigned int levels;
	struct kv_entry *next[]; /* levels of them */
};

struct kv_map {
	struct kv_entry *head; /* no key; KV_MAP_LEVELS links */
	size_t count;
	size_t bytes; /* keys and values */
	uint64_t rng;
};

int kv_map_init(struct kv_map *m);
void kv_map_free(struct kv_map *m);
/* The entry of \p key, or NULL. */
const struct kv_entry *kv_map_get(const struct kv_map *m, const void *key, size_t klen);
/* Set \p key (copied) to \p val (copied) at \p version. \return 0, -ENOMEM
 * (the map unchanged). */
int kv_map_put(struct kv_map *m, const void *key, size_t klen, const void *val,
	       size_t vlen, uint64_t version);
/* Remove \p key. \return whether it was there. */
bool kv_map_del(struct kv_map *m, const void *key, size_t klen);
/* The first entry whose key is >= \p key (klen 0: the first), or NULL. */
const struct kv_entry *kv_map_seek(const struct kv_map *m, const void *key, size_t klen);
static inline const struct kv_entry *kv_map_next(const struct kv_entry *e)
{
	return e->next[0];
}

/* memcmp order, shorter first on a tie. */
int kv_key_cmp(const void *a, size_t alen, const void *b, size_t blen);

#endif
