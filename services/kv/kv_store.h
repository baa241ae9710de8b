/* SPDX-License-Identifier: MIT */
/*
 * The store (kv_store.c): the keys in memory (kv_map.h), every write in
 * the log before it is answered (kv_log.h), a snapshot when the log grows
 * past a size, and watchers told of each change. Thread-safe: reads share
 * a lock, writes take turns (one at a time, each synced with --fsync
 * always before the next).
 */
#ifndef KV_STORE_H
#define KV_STORE_H

#include <lazyrpc/common.h>

#include "kv_map.h"

enum kv_fsync {
	KV_FSYNC_ALWAYS, /* fdatasync before a write is answered */
	KV_FSYNC_NEVER,  /* the kernel writes back when it likes */
};

struct kv_store_opts {
	const char *dir;         /* holds "log" and "snapshot" */
	enum kv_fsync fsync;
	uint64_t snapshot_bytes; /* log size that makes a snapshot; 0: 64 MiB */
	uint64_t max_bytes;      /* keys and values held; 0: 1 GiB */
};

struct kv_store;

/* Open \p o->dir, reading back what it holds. \return 0, or -errno with
 * \p why saying what went wrong. */
int kv_store_open(const struct kv_store_opts *o, struct kv_store **out, char *why,
		  size_t why_len);
void kv_store_close(struct kv_store *s);

/* Run \p fn on the entry of \p key (or NULL) under the read lock. */
void kv_store_read(struct kv_store *s, const void *key, size_t klen,
		   void (*fn)(void *arg, const struct kv_entry *e), void *arg);
/* Run \p fn on each entry in [start, end) (elen 0: no end), at most
 * \p limit, under the read lock. \return whether the limit cut it short. */
bool kv_store_scan(struct kv_store *s, const void *start, size_t slen, const void *end,
		   size_t elen, unsigned int limit,
		   void (*fn)(void *arg, const struct kv_entry *e), void *arg);

/*
 * Writes. A CAS (\p cas) applies only if the key's version is
 * \p expected (0: absent). \return 0 with *version the write's;
 * -ENOENT (delete: no such key); -ECANCELED (CAS: *version is the
 * current one, 0 if absent); -E2BIG (key or value too long); -ENOSPC
 * (max_bytes); -EIO (the log failed: the write did not happen).
 */
int kv_store_write(struct kv_store *s, bool del, const void *key, size_t klen,
		   const void *val, size_t vlen, bool cas, uint64_t expected,
		   uint64_t *version);

/* A watcher of the keys starting with a prefix. */
struct kv_watch;
struct kv_event {
	bool del;
	unsigned char *key, *val; /* the watcher's until the next */
	size_t klen, vlen;
	uint64_t version;
};
#define KV_WATCH_BACKLOG 1024

int kv_watch_new(struct kv_store *s, const void *prefix, size_t plen, struct kv_watch **out);
/* The next change, waiting until \p until. \return 1 (*ev), 0 (nothing
 * by then), -ENOBUFS (fell KV_WATCH_BACKLOG behind), -ESHUTDOWN (the
 * store is closing). */
int kv_watch_next(struct kv_watch *w, lrpc_deadline until, struct kv_event *ev);
void kv_watch_free(struct kv_watch *w);

#endif
