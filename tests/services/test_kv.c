// SPDX-License-Identifier: MIT
/*
 * services/kv's server: every method's behaviour, and kill -9 in the
 * middle of a write load, again and again, with snapshots happening: after
 * each restart every acknowledged write is there and the log replays.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"
#include "kv.lrpc.h"

static char data_dir[300];

/* Start kv-server on the transport under test, over data_dir. */
static void kv_start(struct peer *p, const char *fsync)
{
	char uri[300], want[64];

	if (!strcmp(h_transport(), "lrpc"))
		snprintf(uri, sizeof(uri), "lrpc://kv-%d", getpid());
	else if (!strcmp(h_transport(), "unix"))
		snprintf(uri, sizeof(uri), "unix://%s/kv.sock", getenv("LAZYRPC_DIR"));
	else
		snprintf(uri, sizeof(uri), "tcp://127.0.0.1:0");
	char *argv[] = { (char *)h_bin("LRPC_KV_SERVER"), "--dir", data_dir, "--fsync",
			 (char *)fsync, "--snapshot-mib", "1", uri, NULL };
	h_spawn(p, argv);
	snprintf(want, sizeof(want), "listen %s://", h_transport());
	ck_assert_msg(h_expect_line(p, want, p->uri, sizeof(p->uri), 20000),
		      "kv-server did not listen");
	ck_assert(h_expect(p, "ready", 20000));
}

static void setup(void)
{
	snprintf(data_dir, sizeof(data_dir), "%s/data", h_dir_setup());
}

static ProtobufCBinaryData bytes(const char *s)
{
	return (ProtobufCBinaryData){ .len = strlen(s), .data = (uint8_t *)s };
}

static lrpc_code put(lrpc_channel *ch, const char *k, const char *v, uint64_t *version)
{
	Lazyrpc__Kv__PutRequest req = LAZYRPC__KV__PUT_REQUEST__INIT;
	Lazyrpc__Kv__PutReply *rep = NULL;
	lrpc_code code;

	req.key = bytes(k);
	req.value = bytes(v);
	code = lazyrpc__kv__kv__put__call(ch, &req, &rep, lrpc_deadline_after_ms(10000), NULL);
	if (code == LRPC_OK) {
		if (version)
			*version = rep->version;
		lazyrpc__kv__put_reply__free_unpacked(rep, NULL);
	}
	return code;
}

/* \return the code; on OK *v holds the value (NUL-terminated). */
static lrpc_code get(lrpc_channel *ch, const char *k, char *v, size_t cap, uint64_t *version)
{
	Lazyrpc__Kv__GetRequest req = LAZYRPC__KV__GET_REQUEST__INIT;
	Lazyrpc__Kv__GetReply *rep = NULL;
	lrpc_code code;

	req.key = bytes(k);
	code = lazyrpc__kv__kv__get__call(ch, &req, &rep, lrpc_deadline_after_ms(10000), NULL);
	if (code == LRPC_OK) {
		ck_assert_uint_lt(rep->value.len, cap);
		memcpy(v, rep->value.data, rep->value.len);
		v[rep->value.len] = 0;
		if (version)
			*version = rep->version;
		lazyrpc__kv__get_reply__free_unpacked(rep, NULL);
	}
	return code;
}

START_TEST(methods_behave)
{
	Lazyrpc__Kv__DeleteRequest dreq = LAZYRPC__KV__DELETE_REQUEST__INIT;
	Lazyrpc__Kv__DeleteReply *drep;
	Lazyrpc__Kv__CasRequest creq = LAZYRPC__KV__CAS_REQUEST__INIT;
	Lazyrpc__Kv__CasReply *crep;
	Lazyrpc__Kv__ScanRequest sreq = LAZYRPC__KV__SCAN_REQUEST__INIT;
	Lazyrpc__Kv__ScanReply *srep;
	uint64_t v1, v2, got;
	lrpc_status st;
	struct peer srv;
	lrpc_channel *ch;
	char val[64];

	setup();
	kv_start(&srv, "always");
	ch = h_open(&srv);
	ck_assert_int_eq(get(ch, "a", val, sizeof(val), NULL), LRPC_NOT_FOUND);
	ck_assert_int_eq(put(ch, "a", "1", &v1), LRPC_OK);
	ck_assert_int_eq(put(ch, "b", "2", NULL), LRPC_OK);
	ck_assert_int_eq(put(ch, "c", "3", NULL), LRPC_OK);
	ck_assert_int_eq(put(ch, "a", "one", &v2), LRPC_OK);
	ck_assert_uint_gt(v2, v1);
	ck_assert_int_eq(get(ch, "a", val, sizeof(val), &got), LRPC_OK);
	ck_assert_str_eq(val, "one");
	ck_assert_uint_eq(got, v2);

	/* Scan [a, c): a and b, in order; a limit of 1 says there is more. */
	sreq.start = bytes("a");
	sreq.end = bytes("c");
	ck_assert_int_eq(lazyrpc__kv__kv__scan__call(ch, &sreq, &srep, 0, NULL), LRPC_OK);
	ck_assert_uint_eq(srep->n_entries, 2);
	ck_assert_mem_eq(srep->entries[0]->key.data, "a", 1);
	ck_assert_mem_eq(srep->entries[1]->key.data, "b", 1);
	ck_assert(!srep->more);
	lazyrpc__kv__scan_reply__free_unpacked(srep, NULL);
	sreq.limit = 1;
	ck_assert_int_eq(lazyrpc__kv__kv__scan__call(ch, &sreq, &srep, 0, NULL), LRPC_OK);
	ck_assert_uint_eq(srep->n_entries, 1);
	ck_assert(srep->more);
	lazyrpc__kv__scan_reply__free_unpacked(srep, NULL);
	sreq.limit = 10001;
	ck_assert_int_eq(lazyrpc__kv__kv__scan__call(ch, &sreq, &srep, 0, NULL),
			 LRPC_INVALID_ARGUMENT);

	/* CAS: the right version wins, a stale one is refused with the
	 * current version, 0 means "only if absent". */
	creq.key = bytes("a");
	creq.value = bytes("cas");
	creq.expected_version = v1;
	ck_assert_int_eq(lazyrpc__kv__kv__compare_and_set__call(ch, &creq, &crep, 0, &st),
			 LRPC_FAILED_PRECONDITION);
	ck_assert_ptr_nonnull(strstr(st.message, "version is"));
	creq.expected_version = v2;
	ck_assert_int_eq(lazyrpc__kv__kv__compare_and_set__call(ch, &creq, &crep, 0, NULL),
			 LRPC_OK);
	lazyrpc__kv__cas_reply__free_unpacked(crep, NULL);
	creq.key = bytes("new");
	creq.expected_version = 0;
	ck_assert_int_eq(lazyrpc__kv__kv__compare_and_set__call(ch, &creq, &crep, 0, NULL),
			 LRPC_OK);
	lazyrpc__kv__cas_reply__free_unpacked(crep, NULL);
	ck_assert_int_eq(lazyrpc__kv__kv__compare_and_set__call(ch, &creq, &crep, 0, NULL),
			 LRPC_FAILED_PRECONDITION);
	ck_assert_int_eq(get(ch, "a", val, sizeof(val), NULL), LRPC_OK);
	ck_assert_str_eq(val, "cas");

	/* Delete says whether the key was there. */
	dreq.key = bytes("b");
	ck_assert_int_eq(lazyrpc__kv__kv__delete__call(ch, &dreq, &drep, 0, NULL), LRPC_OK);
	ck_assert(drep->found);
	lazyrpc__kv__delete_reply__free_unpacked(drep, NULL);
	ck_assert_int_eq(lazyrpc__kv__kv__delete__call(ch, &dreq, &drep, 0, NULL), LRPC_OK);
	ck_assert(!drep->found);
	lazyrpc__kv__delete_reply__free_unpacked(drep, NULL);
	ck_assert_int_eq(get(ch, "b", val, sizeof(val), NULL), LRPC_NOT_FOUND);

	/* A key past the limit is refused by name. */
	{
		static char big[5000];

		memset(big, 'k', sizeof(big) - 1);
		ck_assert_int_eq(put(ch, big, "x", NULL), LRPC_INVALID_ARGUMENT);
	}

	/* A clean restart keeps everything. */
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
	kv_start(&srv, "always");
	ch = h_open(&srv);
	ck_assert_int_eq(get(ch, "a", val, sizeof(val), NULL), LRPC_OK);
	ck_assert_str_eq(val, "cas");
	ck_assert_int_eq(get(ch, "new", val, sizeof(val), NULL), LRPC_OK);
	ck_assert_int_eq(get(ch, "b", val, sizeof(val), NULL), LRPC_NOT_FOUND);
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
}
END_TEST

START_TEST(watch_sees_changes_under_its_prefix)
{
	Lazyrpc__Kv__WatchRequest wreq = LAZYRPC__KV__WATCH_REQUEST__INIT;
	Lazyrpc__Kv__WatchEvent *ev;
	struct peer srv;
	lrpc_channel *ch;
	lrpc_stream *s;
	lrpc_status st;

	setup();
	kv_start(&srv, "never");
	ch = h_open(&srv);
	wreq.prefix = bytes("user/");
	ck_assert_int_eq(lazyrpc__kv__kv__watch__open(ch, &wreq, lrpc_deadline_after_ms(20000),
						      &s, &st), LRPC_OK);
	/* CREATED first: from then on every change is seen. */
	ck_assert_int_eq(lazyrpc__kv__kv__watch__read(s, &ev, &st), LRPC_OK);
	ck_assert_ptr_nonnull(ev);
	ck_assert_int_eq(ev->kind, LAZYRPC__KV__WATCH_EVENT__KIND__CREATED);
	ck_assert_int_eq(put(ch, "other/1", "x", NULL), LRPC_OK);
	ck_assert_int_eq(put(ch, "user/2", "bob", NULL), LRPC_OK);
	ck_assert_int_eq(lazyrpc__kv__kv__watch__read(s, &ev, &st), LRPC_OK);
	ck_assert_ptr_nonnull(ev);
	ck_assert_int_eq(ev->kind, LAZYRPC__KV__WATCH_EVENT__KIND__PUT);
	ck_assert_uint_eq(ev->key.len, 6);
	ck_assert_mem_eq(ev->key.data, "user/2", 6);
	ck_assert_mem_eq(ev->value.data, "bob", 3);
	{
		Lazyrpc__Kv__DeleteRequest dreq = LAZYRPC__KV__DELETE_REQUEST__INIT;
		Lazyrpc__Kv__DeleteReply *drep;

		dreq.key = bytes("user/2");
		ck_assert_int_eq(lazyrpc__kv__kv__delete__call(ch, &dreq, &drep, 0, NULL),
				 LRPC_OK);
		lazyrpc__kv__delete_reply__free_unpacked(drep, NULL);
	}
	ck_assert_int_eq(lazyrpc__kv__kv__watch__read(s, &ev, &st), LRPC_OK);
	ck_assert_ptr_nonnull(ev);
	ck_assert_int_eq(ev->kind, LAZYRPC__KV__WATCH_EVENT__KIND__DELETE);
	lrpc_stream_cancel(s);
	lrpc_stream_free(s);
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
}
END_TEST

/* The writers of the crash test: each puts w<n>-k<i> = its value until a
 * put fails (the server was killed), counting its acks; WRITERS at once,
 * so that --fsync always commits them in groups. */
#define WRITERS 3

struct load {
	lrpc_channel *ch;
	int id, first;
	_Atomic int acked; /* puts answered OK: first .. acked - 1 */
	pthread_mutex_t *lock;
	pthread_cond_t *cond;
};

static void key_of(int w, int i, char *k, size_t cap)
{
	snprintf(k, cap, "w%d-k%06d", w, i);
}

static void value_of(int w, int i, char *v, size_t cap)
{
	/* About 2 KiB, different for each key, so 1 MiB logs snapshot often. */
	size_t n = (size_t)snprintf(v, cap, "value-%d-%d-", w, i);

	while (n + 16 < cap && n < 2048)
		n += (size_t)snprintf(v + n, cap - n, "%08x",
				      (unsigned int)((unsigned int)i * 2654435761u + n + (size_t)w));
}

static void *writer(void *arg)
{
	struct load *l = arg;
	char key[32], val[2200];

	for (int i = l->first;; i++) {
		key_of(l->id, i, key, sizeof(key));
		value_of(l->id, i, val, sizeof(val));
		if (put(l->ch, key, val, NULL) != LRPC_OK)
			break;
		pthread_mutex_lock(l->lock);
		atomic_store(&l->acked, i + 1);
		pthread_cond_broadcast(l->cond);
		pthread_mutex_unlock(l->lock);
	}
	return NULL;
}

/* Every write acknowledged so far is there, intact. */
static void check_acked(lrpc_channel *ch, const int *acked, int round)
{
	char key[32], want[2200], got[2200];

	for (int w = 0; w < WRITERS; w++) {
		for (int i = 0; i < acked[w]; i++) {
			key_of(w, i, key, sizeof(key));
			value_of(w, i, want, sizeof(want));
			ck_assert_msg(get(ch, key, got, sizeof(got), NULL) == LRPC_OK,
				      "round %d: acknowledged %s is gone", round, key);
			ck_assert_str_eq(got, want);
		}
	}
}

START_TEST(kill_9_loses_no_acknowledged_write)
{
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
	struct load l[WRITERS];
	int acked[WRITERS] = { 0 };
	pthread_t t[WRITERS];
	struct peer srv;
	lrpc_channel *ch;

	setup();
	for (int round = 0; round < 5; round++) {
		/* Each round writes a few hundred more in all, a different number. */
		int total = 0, target = 150 + 97 * round;

		for (int w = 0; w < WRITERS; w++)
			total += acked[w];
		target += total;
		kv_start(&srv, "always");
		ch = h_open(&srv);
		check_acked(ch, acked, round);
		for (int w = 0; w < WRITERS; w++) {
			l[w] = (struct load){ .ch = ch, .id = w, .first = acked[w],
					      .lock = &lock, .cond = &cond };
			atomic_store(&l[w].acked, acked[w]);
			ck_assert_int_eq(pthread_create(&t[w], NULL, writer, &l[w]), 0);
		}
		pthread_mutex_lock(&lock);
		for (;;) {
			int sum = 0;

			for (int w = 0; w < WRITERS; w++)
				sum += atomic_load(&l[w].acked);
			if (sum >= target)
				break;
			pthread_cond_wait(&cond, &lock);
		}
		pthread_mutex_unlock(&lock);
		/* The writers are in the middle of their next puts. */
		h_kill(&srv, SIGKILL);
		for (int w = 0; w < WRITERS; w++) {
			pthread_join(t[w], NULL);
			acked[w] = atomic_load(&l[w].acked);
		}
		lrpc_channel_close(ch);
	}
	kv_start(&srv, "always");
	ch = h_open(&srv);
	check_acked(ch, acked, 5);
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
}
END_TEST

/* --numa takes the three modes (here, on any machine, each serves) and
 * refuses anything else before it starts. */
START_TEST(numa_flag)
{
	char *bad[] = { (char *)h_bin("LRPC_KV_SERVER"), "--dir", data_dir, "--numa",
			"sideways", "lrpc://kv-bad", NULL };
	struct peer srv;
	char v[16];
	int st;

	setup();
	h_spawn(&srv, bad);
	st = h_wait(&srv, 20000);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 2, "status %#x", st);
	for (int i = 0; i < 3; i++) {
		static const char *const modes[] = { "off", "follow-client", "interleave" };
		char uri[64], dir[320];
		lrpc_channel *ch;

		snprintf(uri, sizeof(uri), "lrpc://kv-%d-%d", getpid(), i);
		snprintf(dir, sizeof(dir), "%s%d", data_dir, i);
		char *argv[] = { (char *)h_bin("LRPC_KV_SERVER"), "--dir", dir, "--numa",
				 (char *)modes[i], uri, NULL };
		h_spawn(&srv, argv);
		ck_assert_msg(h_expect_line(&srv, "listen lrpc://", srv.uri, sizeof(srv.uri),
					    20000), "kv-server --numa %s did not listen", modes[i]);
		ck_assert(h_expect(&srv, "ready", 20000));
		ch = h_open(&srv);
		ck_assert_int_eq(put(ch, "k", modes[i], NULL), LRPC_OK);
		ck_assert_int_eq(get(ch, "k", v, sizeof(v), NULL), LRPC_OK);
		ck_assert_str_eq(v, modes[i]);
		lrpc_channel_close(ch);
		h_kill(&srv, SIGTERM);
	}
}
END_TEST

H_MAIN("kv", 300, methods_behave, watch_sees_changes_under_its_prefix,
       kill_9_loses_no_acknowledged_write, numa_flag)
