// SPDX-License-Identifier: MIT
/* services/kv's map and files: the map against a plain model, the log
 * cut at every byte of its last record, a bad CRC, and snapshots that are
 * whole or refused. */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "kv_log.h"
#include "kv_map.h"

static char dir[] = "/tmp/lrpc-kvfiles-XXXXXX";
static char path[4200];

struct seen {
	int n;
	uint64_t last_seq;
	char keys[64][16];
};

static int record(void *arg, enum kv_op op, uint64_t seq, const void *key, size_t klen,
		  const void *val, size_t vlen)
{
	struct seen *s = arg;

	(void)val;
	ck_assert_int_eq(op, KV_OP_PUT);
	ck_assert_uint_lt(klen, 16);
	ck_assert_uint_eq(vlen, 100);
	memcpy(s->keys[s->n], key, klen);
	s->keys[s->n][klen] = 0;
	s->last_seq = seq;
	s->n++;
	return 0;
}

static void write_log(int n)
{
	struct kv_log l;
	struct seen s = { 0 };
	uint64_t dropped;
	char key[16], val[100];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/log", dir);
	ck_assert_int_eq(kv_log_open(&l, path, record, &s, &dropped), 0);
	memset(val, 'v', sizeof(val));
	for (int i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		ck_assert_int_eq(kv_log_append(&l, KV_OP_PUT, (uint64_t)i + 1, key, strlen(key),
					       val, sizeof(val)), 0);
	}
	ck_assert_int_eq(kv_log_sync(&l), 0);
	kv_log_close(&l);
}

/* The test's directory goes with it. */
static void cleanup(void)
{
	char cmd[4300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static off_t file_size(void)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_size;
}

START_TEST(log_is_cut_back_to_whole_records)
{
	off_t whole, rec;

	write_log(3);
	whole = file_size();
	rec = whole / 3; /* same-sized records */
	/* Every cut inside the last record loses that record only, and
	 * leaves the file at the end of the one before. */
	for (off_t cut = whole - 1; cut > whole - rec; cut--) {
		struct kv_log l;
		struct seen s = { 0 };
		uint64_t dropped;

		ck_assert_int_eq(truncate(path, cut), 0);
		ck_assert_int_eq(kv_log_open(&l, path, record, &s, &dropped), 0);
		ck_assert_int_eq(s.n, 2);
		ck_assert_uint_eq(dropped, (uint64_t)(cut - (whole - rec)));
		ck_assert_int_eq(file_size(), whole - rec);
		/* ...and what comes next is appended after the good records. */
		ck_assert_int_eq(kv_log_append(&l, KV_OP_PUT, 3, "k2", 2, memset((char[100]){ 0 }, 'v', 100),
					       100), 0);
		kv_log_close(&l);
		ck_assert_int_eq(file_size(), whole);
	}
	cleanup();
}
END_TEST

START_TEST(bad_crc_ends_the_log)
{
	struct kv_log l;
	struct seen s = { 0 };
	uint64_t dropped;
	unsigned char b;
	off_t rec;
	int fd;

	write_log(4);
	rec = file_size() / 4;
	/* A flipped bit in the second record's value. */
	fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &b, 1, rec + rec - 3), 1);
	b ^= 0x10;
	ck_assert_int_eq(pwrite(fd, &b, 1, rec + rec - 3), 1);
	close(fd);
	ck_assert_int_eq(kv_log_open(&l, path, record, &s, &dropped), 0);
	ck_assert_int_eq(s.n, 1);
	ck_assert_str_eq(s.keys[0], "k0");
	ck_assert_uint_eq(dropped, (uint64_t)(3 * rec));
	kv_log_close(&l);
	cleanup();
}
END_TEST

static int count(void *arg, enum kv_op op, uint64_t seq, const void *key, size_t klen,
		 const void *val, size_t vlen)
{
	(void)seq, (void)key, (void)klen, (void)val, (void)vlen;
	if (op == KV_OP_PUT)
		(*(int *)arg)++;
	return 0;
}

START_TEST(snapshot_is_whole_or_refused)
{
	struct kv_snapshot snap;
	char spath[4200];
	int n = 0;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(spath, sizeof(spath), "%s/snapshot", dir);
	ck_assert_int_eq(kv_snapshot_read(spath, count, &n), -ENOENT);
	ck_assert_int_eq(kv_snapshot_begin(&snap, spath, 7), 0);
	ck_assert_int_eq(kv_snapshot_add(&snap, 3, "a", 1, "1", 1), 0);
	ck_assert_int_eq(kv_snapshot_add(&snap, 7, "b", 1, "2", 1), 0);
	/* Not committed: nothing there yet. */
	ck_assert_int_eq(kv_snapshot_read(spath, count, &n), -ENOENT);
	ck_assert_int_eq(kv_snapshot_commit(&snap), 0);
	ck_assert_int_eq(kv_snapshot_read(spath, count, &n), 0);
	ck_assert_int_eq(n, 2);
	/* One that is not whole is refused, not half read. */
	ck_assert_int_eq(truncate(spath, 30), 0);
	ck_assert_int_eq(kv_snapshot_read(spath, count, &n), -EBADMSG);
	cleanup();
}
END_TEST

/* The map against a model: an array of 512 possible keys. */
START_TEST(map_matches_a_model)
{
	static char model[512][8];
	static bool have[512];
	struct kv_map m;
	uint32_t r = 12345;
	const struct kv_entry *e;
	size_t n;

	ck_assert_int_eq(kv_map_init(&m), 0);
	for (int i = 0; i < 20000; i++) {
		int k;
		char key[8], val[8];

		r = r * 1103515245u + 12345u;
		k = (int)((r >> 8) % 512);
		snprintf(key, sizeof(key), "%03d", k);
		if ((r >> 4) & 3) {
			snprintf(val, sizeof(val), "%d", i % 1000);
			ck_assert_int_eq(kv_map_put(&m, key, 3, val, strlen(val), (uint64_t)i), 0);
			memcpy(model[k], val, sizeof(val));
			have[k] = true;
		} else {
			ck_assert(kv_map_del(&m, key, 3) == have[k]);
			have[k] = false;
		}
	}
	n = 0;
	for (int k = 0; k < 512; k++) {
		char key[8];

		snprintf(key, sizeof(key), "%03d", k);
		e = kv_map_get(&m, key, 3);
		ck_assert(!!e == have[k]);
		if (e) {
			ck_assert_str_eq((const char *)e->val, model[k]);
			n++;
		}
	}
	ck_assert_uint_eq(m.count, n);
	/* In order, from a key between two. */
	e = kv_map_seek(&m, "2555", 4);
	for (int k = 256; k < 512; k++) {
		if (!have[k])
			continue;
		ck_assert_ptr_nonnull(e);
		ck_assert_int_eq(atoi((const char *)e->key), k);
		e = kv_map_next(e);
	}
	ck_assert_ptr_null(e);
	kv_map_free(&m);
}
END_TEST

CHECK_MAIN("kv_files", 60,
	   log_is_cut_back_to_whole_records,
	   bad_crc_ends_the_log,
	   snapshot_is_whole_or_refused,
	   map_matches_a_model)
