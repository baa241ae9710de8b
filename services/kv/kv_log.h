/* SPDX-License-Identifier: MIT */
/*
 * The store's files (kv_log.c): an append-only log of writes, and a
 * snapshot of every key, in the same record format:
 *
 *   u32 body length, u32 CRC-32 of the body (zlib's), then the body:
 *   u8 op, u64 sequence number, u32 key length, u32 value length, key, value
 *
 * all little-endian. A log is read up to its first record that is cut
 * short or fails its CRC (a write the process died in), and is cut back
 * to there, so that it is never left unreadable. A snapshot is written to
 * a temporary file, synced and renamed, so that it is whole or absent; its
 * first record (KV_OP_MARK) holds the sequence number it covers.
 */
#ifndef KV_LOG_H
#define KV_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KV_KEY_MAX 4096u
#define KV_VALUE_MAX (1u << 20)

enum kv_op { KV_OP_PUT = 1, KV_OP_DEL = 2, KV_OP_MARK = 3 };

struct kv_log {
	int fd;
	uint64_t size; /* bytes of whole records */
};

/* Called for each whole record read back; nonzero stops the replay with
 * that error. */
typedef int (*kv_apply_fn)(void *arg, enum kv_op op, uint64_t seq, const void *key,
			   size_t klen, const void *val, size_t vlen);

/* Open (creating) the log at \p path and replay it into \p apply; a bad
 * tail is cut off and its length stored in *dropped. \return 0 or -errno. */
int kv_log_open(struct kv_log *l, const char *path, kv_apply_fn apply, void *arg,
		uint64_t *dropped);
void kv_log_close(struct kv_log *l);
/* Append one record (one write(2)). \return 0 or -errno (nothing of it
 * counts then: the next append overwrites what was written). */
int kv_log_append(struct kv_log *l, enum kv_op op, uint64_t seq, const void *key,
		  size_t klen, const void *val, size_t vlen);
/* Make what was appended durable. \return 0 or -errno. */
int kv_log_sync(struct kv_log *l);
/* Empty the log (after a snapshot took its records). */
int kv_log_reset(struct kv_log *l);

/* Read a whole snapshot at \p path into \p apply. \return 0, -ENOENT (none),
 * -EBADMSG (not whole: refuse to start rather than lose keys), -errno. */
int kv_snapshot_read(const char *path, kv_apply_fn apply, void *arg);
/* A snapshot being written: kv_snapshot_begin, _add for each key, _commit. */
struct kv_snapshot {
	struct kv_log out;
	char tmp[4096], path[4096];
};
int kv_snapshot_begin(struct kv_snapshot *s, const char *path, uint64_t seq);
int kv_snapshot_add(struct kv_snapshot *s, uint64_t seq, const void *key, size_t klen,
		    const void *val, size_t vlen);
/* Sync, rename into place, sync the directory. On error the old snapshot
 * stays. */
int kv_snapshot_commit(struct kv_snapshot *s);
void kv_snapshot_abort(struct kv_snapshot *s);

#endif
