// SPDX-License-Identifier: MIT
/* The store's log and snapshot files (kv_log.h). CRCs from zlib, which
 * Debian keeps (zlib1g). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "kv_log.h"

#define HDR 8u              /* length, CRC */
#define BODY_FIXED 17u      /* op, seq, klen, vlen */
#define BODY_MAX (BODY_FIXED + KV_KEY_MAX + KV_VALUE_MAX)

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static int full_read(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (int)(got == len);
}

/*
 * Read records from \p fd into \p apply until the end or a bad one.
 * \return 0 with *good the bytes of whole records (what follows them, if
 * the file is longer, is bad), or the first error of read or apply.
 */
static int replay(int fd, kv_apply_fn apply, void *arg, uint64_t *good)
{
	unsigned char hdr[HDR], *body = malloc(BODY_MAX);
	int ret = 0;

	*good = 0;
	if (!body)
		return -ENOMEM;
	for (;;) {
		uint32_t len, klen, vlen;
		int r = full_read(fd, hdr, HDR);

		if (r <= 0) {
			ret = r;
			break;
		}
		len = get32(hdr);
		if (len < BODY_FIXED || len > BODY_MAX || (r = full_read(fd, body, len)) <= 0 ||
		    crc32(0, body, len) != get32(hdr + 4)) {
			ret = r < 0 ? r : 0;
			break;
		}
		klen = get32(body + 9);
		vlen = get32(body + 13);
		if (klen > KV_KEY_MAX || vlen > KV_VALUE_MAX ||
		    (uint64_t)BODY_FIXED + klen + vlen != len || body[0] < KV_OP_PUT ||
		    body[0] > KV_OP_MARK)
			break;
		ret = apply(arg, (enum kv_op)body[0], get64(body + 1), body + BODY_FIXED, klen,
			    body + BODY_FIXED + klen, vlen);
		if (ret)
			break;
		*good += HDR + len;
	}
	free(body);
	return ret;
}

int kv_log_open(struct kv_log *l, const char *path, kv_apply_fn apply, void *arg,
		uint64_t *dropped)
{
	struct stat st;
	int ret;

	*dropped = 0;
	l->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (l->fd < 0)
		return -errno;
	ret = replay(l->fd, apply, arg, &l->size);
	if (ret == 0 && fstat(l->fd, &st) < 0)
		ret = -errno;
	if (ret == 0 && (uint64_t)st.st_size > l->size) {
		/* Cut the write the last process died in, durably, before
		 * anything is appended after it. */
		*dropped = (uint64_t)st.st_size - l->size;
		if (ftruncate(l->fd, (off_t)l->size) < 0 || fsync(l->fd) < 0)
			ret = -errno;
	}
	if (ret == 0 && lseek(l->fd, (off_t)l->size, SEEK_SET) < 0)
		ret = -errno;
	if (ret) {
		close(l->fd);
		l->fd = -1;
	}
	return ret;
}

void kv_log_close(struct kv_log *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

int kv_log_append(struct kv_log *l, enum kv_op op, uint64_t seq, const void *key,
		  size_t klen, const void *val, size_t vlen)
{
	size_t len = BODY_FIXED + klen + vlen, done = 0;
	unsigned char *rec;

	if (klen > KV_KEY_MAX || vlen > KV_VALUE_MAX)
		return -E2BIG;
	rec = malloc(HDR + len);
	if (!rec)
		return -ENOMEM;
	put32(rec, (uint32_t)len);
	rec[HDR] = (unsigned char)op;
	put64(rec + HDR + 1, seq);
	put32(rec + HDR + 9, (uint32_t)klen);
	put32(rec + HDR + 13, (uint32_t)vlen);
	if (klen)
		memcpy(rec + HDR + BODY_FIXED, key, klen);
	if (vlen)
		memcpy(rec + HDR + BODY_FIXED + klen, val, vlen);
	put32(rec + 4, (uint32_t)crc32(0, rec + HDR, (uInt)len));
	while (done < HDR + len) {
		ssize_t n = pwrite(l->fd, rec + done, HDR + len - done, (off_t)(l->size + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = -errno;

			free(rec);
			return err;
		}
		done += (size_t)n;
	}
	free(rec);
	l->size += HDR + len;
	return 0;
}

int kv_log_sync(struct kv_log *l)
{
	return fdatasync(l->fd) < 0 ? -errno : 0;
}

int kv_log_reset(struct kv_log *l)
{
	if (ftruncate(l->fd, 0) < 0 || fsync(l->fd) < 0)
		return -errno;
	l->size = 0;
	return 0;
}

int kv_snapshot_read(const char *path, kv_apply_fn apply, void *arg)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	uint64_t good;
	int ret;

	if (fd < 0)
		return -errno;
	ret = replay(fd, apply, arg, &good);
	if (ret == 0 && fstat(fd, &st) < 0)
		ret = -errno;
	close(fd);
	return ret ? ret : (uint64_t)st.st_size != good ? -EBADMSG : 0;
}

int kv_snapshot_begin(struct kv_snapshot *s, const char *path, uint64_t seq)
{
	snprintf(s->path, sizeof(s->path), "%s", path);
	snprintf(s->tmp, sizeof(s->tmp), "%s.tmp", path);
	s->out.fd = open(s->tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	s->out.size = 0;
	if (s->out.fd < 0)
		return -errno;
	return kv_log_append(&s->out, KV_OP_MARK, seq, NULL, 0, NULL, 0);
}

int kv_snapshot_add(struct kv_snapshot *s, uint64_t seq, const void *key, size_t klen,
		    const void *val, size_t vlen)
{
	return kv_log_append(&s->out, KV_OP_PUT, seq, key, klen, val, vlen);
}

int kv_snapshot_commit(struct kv_snapshot *s)
{
	char dir[4096];
	int dfd, ret = 0;

	if (fsync(s->out.fd) < 0 || rename(s->tmp, s->path) < 0)
		ret = -errno;
	kv_log_close(&s->out);
	if (ret) {
		unlink(s->tmp);
		return ret;
	}
	snprintf(dir, sizeof(dir), "%s", s->path);
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	if (fsync(dfd) < 0)
		ret = -errno;
	close(dfd);
	return ret;
}

void kv_snapshot_abort(struct kv_snapshot *s)
{
	kv_log_close(&s->out);
	unlink(s->tmp);
}
