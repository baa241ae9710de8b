// SPDX-License-Identifier: MIT
/*
 * The store: map, log, snapshot, watchers (kv_store.h).
 *
 * Locks: `write` serializes writers (log append, map change, watcher
 * events, snapshot) in that order; `map` is a read-write lock that readers
 * share and a writer takes only around the map change; `watchers` guards
 * the watcher list and each watcher's queue; `sync` the group commit.
 * Writers take write, then map or watchers; sync only once write is let go;
 * nothing takes write while holding another.
 *
 * Group commit (--fsync always): a writer appends and applies its write
 * under `write`, lets it go, and then waits until the log is synced past
 * its record; one waiter at a time runs fdatasync for everything appended
 * by then, so writers that arrive meanwhile share the next one. A writer
 * is answered only once its record is durable; a reader may see a write
 * whose writer is still waiting (and which a crash then may take away:
 * that writer is never answered OK).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kv_log.h"
#include "kv_store.h"

struct kv_watch {
	struct kv_store *s;
	struct kv_watch *next;
	unsigned char *prefix;
	size_t plen;
	/* A ring of KV_WATCH_BACKLOG events, under s->watchers. */
	struct kv_event q[KV_WATCH_BACKLOG];
	size_t head, len;
	bool overflow;
	pthread_cond_t cond;
	struct kv_event cur; /* the event kv_watch_next() returned last */
};

struct kv_store {
	struct kv_store_opts o;
	char log_path[4096], snap_path[4096];
	struct kv_log log;
	struct kv_map map;
	uint64_t seq; /* the last write's version */
	pthread_mutex_t write;
	pthread_rwlock_t lock;
	/* Log bytes ever appended (under write) and known durable (under
	 * sync_lock); a snapshot makes everything before it durable. */
	_Atomic uint64_t written;
	uint64_t synced;
	bool syncing;
	pthread_mutex_t sync_lock;
	pthread_cond_t synced_cond;
	pthread_mutex_t watchers_lock;
	struct kv_watch *watchers;
	bool closing;
};

static int apply(void *arg, enum kv_op op, uint64_t seq, const void *key, size_t klen,
		 const void *val, size_t vlen)
{
	struct kv_store *s = arg;

	if (seq > s->seq)
		s->seq = seq;
	if (op == KV_OP_PUT)
		return kv_map_put(&s->map, key, klen, val, vlen, seq);
	if (op == KV_OP_DEL)
		kv_map_del(&s->map, key, klen);
	return 0;
}

/* Log records a snapshot already holds are replayed again harmlessly:
 * they are older than or equal to what it holds, key by key. */
int kv_store_open(const struct kv_store_opts *o, struct kv_store **out, char *why,
		  size_t why_len)
{
	struct kv_store *s = calloc(1, sizeof(*s));
	uint64_t dropped;
	int ret;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->o = *o;
	if (!s->o.snapshot_bytes)
		s->o.snapshot_bytes = 64u << 20;
	if (!s->o.max_bytes)
		s->o.max_bytes = 1u << 30;
	snprintf(s->log_path, sizeof(s->log_path), "%s/log", o->dir);
	snprintf(s->snap_path, sizeof(s->snap_path), "%s/snapshot", o->dir);
	pthread_mutex_init(&s->write, NULL);
	pthread_rwlock_init(&s->lock, NULL);
	pthread_mutex_init(&s->sync_lock, NULL);
	pthread_cond_init(&s->synced_cond, NULL);
	pthread_mutex_init(&s->watchers_lock, NULL);
	s->log.fd = -1;
	ret = kv_map_init(&s->map);
	if (ret == 0 && mkdir(o->dir, 0700) < 0 && errno != EEXIST)
		ret = -errno;
	if (ret == 0) {
		ret = kv_snapshot_read(s->snap_path, apply, s);
		if (ret == -ENOENT)
			ret = 0;
		else if (ret < 0)
			snprintf(why, why_len, "snapshot %s: %s", s->snap_path, strerror(-ret));
	}
	if (ret == 0) {
		ret = kv_log_open(&s->log, s->log_path, apply, s, &dropped);
		if (ret < 0)
			snprintf(why, why_len, "log %s: %s", s->log_path, strerror(-ret));
		else if (dropped)
			snprintf(why, why_len, "log %s: cut %llu bytes of an unfinished write",
				 s->log_path, (unsigned long long)dropped);
	}
	if (ret < 0) {
		kv_store_close(s);
		return ret;
	}
	*out = s;
	return 0;
}

void kv_store_close(struct kv_store *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->watchers_lock);
	s->closing = true;
	for (struct kv_watch *w = s->watchers; w; w = w->next)
		pthread_cond_broadcast(&w->cond);
	/* Watchers still open are freed by their owners, who must do so
	 * before the store goes: the server stops its streams first. */
	pthread_mutex_unlock(&s->watchers_lock);
	kv_log_close(&s->log);
	kv_map_free(&s->map);
	pthread_mutex_destroy(&s->write);
	pthread_rwlock_destroy(&s->lock);
	pthread_mutex_destroy(&s->sync_lock);
	pthread_cond_destroy(&s->synced_cond);
	pthread_mutex_destroy(&s->watchers_lock);
	free(s);
}

void kv_store_read(struct kv_store *s, const void *key, size_t klen,
		   void (*fn)(void *arg, const struct kv_entry *e), void *arg)
{
	pthread_rwlock_rdlock(&s->lock);
	fn(arg, kv_map_get(&s->map, key, klen));
	pthread_rwlock_unlock(&s->lock);
}

bool kv_store_scan(struct kv_store *s, const void *start, size_t slen, const void *end,
		   size_t elen, unsigned int limit,
		   void (*fn)(void *arg, const struct kv_entry *e), void *arg)
{
	const struct kv_entry *e;
	bool more = false;

	pthread_rwlock_rdlock(&s->lock);
	for (e = kv_map_seek(&s->map, start, slen); e; e = kv_map_next(e)) {
		if (elen && kv_key_cmp(e->key, e->klen, end, elen) >= 0)
			break;
		if (!limit--) {
			more = true;
			break;
		}
		fn(arg, e);
	}
	pthread_rwlock_unlock(&s->lock);
	return more;
}

/* Under s->write: tell each watcher whose prefix the key has. */
static void notify(struct kv_store *s, bool del, const void *key, size_t klen,
		   const void *val, size_t vlen, uint64_t version)
{
	pthread_mutex_lock(&s->watchers_lock);
	for (struct kv_watch *w = s->watchers; w; w = w->next) {
		struct kv_event *ev;

		if (w->overflow || klen < w->plen || memcmp(key, w->prefix, w->plen))
			continue;
		if (w->len == KV_WATCH_BACKLOG) {
			w->overflow = true;
			pthread_cond_broadcast(&w->cond);
			continue;
		}
		ev = &w->q[(w->head + w->len) % KV_WATCH_BACKLOG];
		ev->key = malloc(klen + vlen + 2);
		if (!ev->key) {
			w->overflow = true; /* a lost event must not go unnoticed */
			pthread_cond_broadcast(&w->cond);
			continue;
		}
		ev->val = ev->key + klen + 1;
		memcpy(ev->key, key, klen);
		if (vlen)
			memcpy(ev->val, val, vlen);
		ev->klen = klen;
		ev->vlen = vlen;
		ev->del = del;
		ev->version = version;
		w->len++;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&s->watchers_lock);
}

/* Under s->write, once the log passed its size: write every key to a new
 * snapshot and empty the log. A failure keeps the log (and says nothing:
 * the next write tries again). */
static void snapshot(struct kv_store *s)
{
	struct kv_snapshot snap;
	const struct kv_entry *e;
	int ret;

	ret = kv_snapshot_begin(&snap, s->snap_path, s->seq);
	for (e = kv_map_seek(&s->map, "", 0); ret == 0 && e; e = kv_map_next(e))
		ret = kv_snapshot_add(&snap, e->version, e->key, e->klen, e->val, e->vlen);
	if (ret < 0) {
		kv_snapshot_abort(&snap);
		return;
	}
	if (kv_snapshot_commit(&snap) != 0)
		return;
	/* Everything written so far is in the synced snapshot. */
	pthread_mutex_lock(&s->sync_lock);
	s->synced = atomic_load(&s->written);
	pthread_cond_broadcast(&s->synced_cond);
	pthread_mutex_unlock(&s->sync_lock);
	kv_log_reset(&s->log);
}

/* Wait until the log is durable up to \p end (of s->written). \return 0,
 * -EIO (fdatasync failed: the writes it covered are not known durable). */
static int sync_to(struct kv_store *s, uint64_t end)
{
	int ret = 0;

	pthread_mutex_lock(&s->sync_lock);
	while (s->synced < end && ret == 0) {
		uint64_t target;

		if (s->syncing) {
			pthread_cond_wait(&s->synced_cond, &s->sync_lock);
			continue;
		}
		s->syncing = true;
		target = atomic_load(&s->written);
		pthread_mutex_unlock(&s->sync_lock);
		/* fdatasync on a log a snapshot has just emptied is harmless;
		 * the snapshot raised synced past what it held. */
		ret = kv_log_sync(&s->log) < 0 ? -EIO : 0;
		pthread_mutex_lock(&s->sync_lock);
		s->syncing = false;
		if (ret == 0 && target > s->synced)
			s->synced = target;
		pthread_cond_broadcast(&s->synced_cond);
	}
	pthread_mutex_unlock(&s->sync_lock);
	return ret;
}

int kv_store_write(struct kv_store *s, bool del, const void *key, size_t klen,
		   const void *val, size_t vlen, bool cas, uint64_t expected,
		   uint64_t *version)
{
	const struct kv_entry *e;
	uint64_t seq, end, before;
	int ret = 0;

	if (klen > KV_KEY_MAX || vlen > KV_VALUE_MAX)
		return -E2BIG;
	pthread_mutex_lock(&s->write);
	/* Only writers change the map, and they hold s->write: reading it
	 * here needs no other lock. */
	e = kv_map_get(&s->map, key, klen);
	if (cas && (e ? e->version : 0) != expected) {
		*version = e ? e->version : 0;
		ret = -ECANCELED;
	} else if (del && !e) {
		ret = -ENOENT;
	} else if (!del && s->map.bytes - (e ? e->klen + e->vlen : 0) + klen + vlen >
			   s->o.max_bytes) {
		ret = -ENOSPC;
	}
	if (ret)
		goto out;
	seq = s->seq + 1;
	before = s->log.size;
	ret = kv_log_append(&s->log, del ? KV_OP_DEL : KV_OP_PUT, seq, key, klen, val, vlen);
	if (ret) {
		ret = ret == -ENOMEM ? ret : -EIO;
		goto out;
	}
	pthread_rwlock_wrlock(&s->lock);
	if (del)
		kv_map_del(&s->map, key, klen);
	else
		ret = kv_map_put(&s->map, key, klen, val, vlen, seq);
	pthread_rwlock_unlock(&s->lock);
	if (ret) {
		/* Logged but not in memory: the log would bring it back at the
		 * next start, so say it failed only when nothing can. */
		ret = -EIO;
		goto out;
	}
	s->seq = seq;
	*version = seq;
	end = atomic_fetch_add(&s->written, s->log.size - before) + (s->log.size - before);
	notify(s, del, key, klen, val, vlen, seq);
	if (s->log.size > s->o.snapshot_bytes)
		snapshot(s);
	pthread_mutex_unlock(&s->write);
	return s->o.fsync == KV_FSYNC_ALWAYS ? sync_to(s, end) : 0;
out:
	pthread_mutex_unlock(&s->write);
	return ret;
}

int kv_watch_new(struct kv_store *s, const void *prefix, size_t plen, struct kv_watch **out)
{
	struct kv_watch *w = calloc(1, sizeof(*w));
	pthread_condattr_t ca;

	if (!w || !(w->prefix = malloc(plen + 1))) {
		free(w);
		return -ENOMEM;
	}
	memcpy(w->prefix, prefix, plen);
	w->plen = plen;
	w->s = s;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_lock(&s->watchers_lock);
	w->next = s->watchers;
	s->watchers = w;
	pthread_mutex_unlock(&s->watchers_lock);
	*out = w;
	return 0;
}

int kv_watch_next(struct kv_watch *w, lrpc_deadline until, struct kv_event *ev)
{
	struct kv_store *s = w->s;
	struct timespec ts = { .tv_sec = until / 1000000000, .tv_nsec = until % 1000000000 };
	int ret = 0;

	free(w->cur.key);
	w->cur.key = NULL;
	pthread_mutex_lock(&s->watchers_lock);
	while (!w->len && !w->overflow && !s->closing && lrpc_now() < until)
		pthread_cond_timedwait(&w->cond, &s->watchers_lock, &ts);
	if (w->overflow) {
		ret = -ENOBUFS;
	} else if (w->len) {
		w->cur = w->q[w->head];
		w->head = (w->head + 1) % KV_WATCH_BACKLOG;
		w->len--;
		*ev = w->cur;
		ret = 1;
	} else if (s->closing) {
		ret = -ESHUTDOWN;
	}
	pthread_mutex_unlock(&s->watchers_lock);
	return ret;
}

void kv_watch_free(struct kv_watch *w)
{
	struct kv_store *s;

	if (!w)
		return;
	s = w->s;
	pthread_mutex_lock(&s->watchers_lock);
	for (struct kv_watch **p = &s->watchers; *p; p = &(*p)->next) {
		if (*p == w) {
			*p = w->next;
			break;
		}
	}
	pthread_mutex_unlock(&s->watchers_lock);
	for (size_t i = 0; i < w->len; i++)
		free(w->q[(w->head + i) % KV_WATCH_BACKLOG].key);
	free(w->cur.key);
	pthread_cond_destroy(&w->cond);
	free(w->prefix);
	free(w);
}
