// SPDX-License-Identifier: MIT
/*
 * kv-server --dir DIR [--fsync always|never] [--snapshot-mib N]
 *           [--max-mib N] [--numa off|follow-client|interleave] URI...:
 *           lazyrpc.kv.KV (kv.proto) on every URI,
 * until SIGTERM or SIGINT, beside the standard health, reflection and
 * stats services (so `lazyrpc describe|call|health|stats` work on it).
 * Prints "listen URI" for each and "ready".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lazyrpc/std.h>

#include "kv.lrpc.h"
#include "kv_log.h"
#include "kv_store.h"

/* Entries one Scan returns at most. */
#define SCAN_MAX 10000u
#define SCAN_DEFAULT 1000u

static lrpc_server *server;
static struct kv_store *store;

static lrpc_code fail_errno(lrpc_call *call, int err, const char *what)
{
	switch (err) {
	case -E2BIG:
		lrpc_call_set_message(call, "%s: keys take at most %u bytes, values %u", what,
				      KV_KEY_MAX, KV_VALUE_MAX);
		return LRPC_INVALID_ARGUMENT;
	case -ENOSPC:
		lrpc_call_set_message(call, "%s: the store is full (--max-mib)", what);
		return LRPC_RESOURCE_EXHAUSTED;
	case -ENOMEM:
		lrpc_call_set_message(call, "%s: out of memory", what);
		return LRPC_RESOURCE_EXHAUSTED;
	default:
		lrpc_call_set_message(call, "%s: the log failed (%s): not written", what,
				      strerror(-err));
		return LRPC_UNAVAILABLE;
	}
}

struct get_ctx {
	lrpc_call *call;
	Lazyrpc__Kv__GetReply *rep;
	bool found, oom;
};

static void get_copy(void *arg, const struct kv_entry *e)
{
	struct get_ctx *g = arg;

	if (!e)
		return;
	g->found = true;
	g->rep->version = e->version;
	g->rep->value.len = e->vlen;
	g->rep->value.data = lrpc_call_alloc(g->call, e->vlen + 1);
	if (!g->rep->value.data)
		g->oom = true;
	else
		memcpy(g->rep->value.data, e->val, e->vlen);
}

static lrpc_code get(void *user, lrpc_call *call, const Lazyrpc__Kv__GetRequest *req,
		     Lazyrpc__Kv__GetReply *rep)
{
	struct get_ctx g = { .call = call, .rep = rep };

	(void)user;
	kv_store_read(store, req->key.data, req->key.len, get_copy, &g);
	if (g.oom)
		return LRPC_RESOURCE_EXHAUSTED;
	if (!g.found) {
		lrpc_call_set_message(call, "no such key");
		return LRPC_NOT_FOUND;
	}
	return LRPC_OK;
}

static lrpc_code put(void *user, lrpc_call *call, const Lazyrpc__Kv__PutRequest *req,
		     Lazyrpc__Kv__PutReply *rep)
{
	int ret = kv_store_write(store, false, req->key.data, req->key.len, req->value.data,
				 req->value.len, false, 0, &rep->version);

	(void)user;
	return ret ? fail_errno(call, ret, "Put") : LRPC_OK;
}

static lrpc_code del(void *user, lrpc_call *call, const Lazyrpc__Kv__DeleteRequest *req,
		     Lazyrpc__Kv__DeleteReply *rep)
{
	int ret = kv_store_write(store, true, req->key.data, req->key.len, NULL, 0, false, 0,
				 &rep->version);

	(void)user;
	if (ret == -ENOENT)
		return LRPC_OK; /* found stays false */
	if (ret)
		return fail_errno(call, ret, "Delete");
	rep->found = true;
	return LRPC_OK;
}

static lrpc_code cas(void *user, lrpc_call *call, const Lazyrpc__Kv__CasRequest *req,
		     Lazyrpc__Kv__CasReply *rep)
{
	int ret = kv_store_write(store, req->delete_, req->key.data, req->key.len,
				 req->value.data, req->value.len, true, req->expected_version,
				 &rep->version);

	(void)user;
	if (ret == -ECANCELED) {
		lrpc_call_set_message(call, "version is %llu, not %llu",
				      (unsigned long long)rep->version,
				      (unsigned long long)req->expected_version);
		return LRPC_FAILED_PRECONDITION;
	}
	if (ret == -ENOENT) {
		lrpc_call_set_message(call, "no such key");
		return LRPC_NOT_FOUND;
	}
	return ret ? fail_errno(call, ret, "CompareAndSet") : LRPC_OK;
}

struct scan_ctx {
	lrpc_call *call;
	Lazyrpc__Kv__ScanReply *rep;
	Lazyrpc__Kv__Entry *entries;
	bool oom;
};

static void scan_copy(void *arg, const struct kv_entry *e)
{
	struct scan_ctx *c = arg;
	Lazyrpc__Kv__Entry *out = &c->entries[c->rep->n_entries];
	unsigned char *mem = lrpc_call_alloc(c->call, e->klen + e->vlen + 2);

	if (!mem) {
		c->oom = true;
		return;
	}
	lazyrpc__kv__entry__init(out);
	memcpy(mem, e->key, e->klen);
	memcpy(mem + e->klen + 1, e->val, e->vlen);
	out->key.data = mem;
	out->key.len = e->klen;
	out->value.data = mem + e->klen + 1;
	out->value.len = e->vlen;
	out->version = e->version;
	c->rep->entries[c->rep->n_entries++] = out;
}

static lrpc_code scan(void *user, lrpc_call *call, const Lazyrpc__Kv__ScanRequest *req,
		      Lazyrpc__Kv__ScanReply *rep)
{
	unsigned int limit = req->limit ? req->limit : SCAN_DEFAULT;
	struct scan_ctx c = { .call = call, .rep = rep };

	(void)user;
	if (limit > SCAN_MAX) {
		lrpc_call_set_message(call, "limit %u: at most %u", limit, SCAN_MAX);
		return LRPC_INVALID_ARGUMENT;
	}
	c.entries = lrpc_call_alloc(call, limit * sizeof(*c.entries));
	rep->entries = lrpc_call_alloc(call, limit * sizeof(*rep->entries));
	if (!c.entries || !rep->entries)
		return LRPC_RESOURCE_EXHAUSTED;
	rep->more = kv_store_scan(store, req->start.data, req->start.len, req->end.data,
				  req->end.len, limit, scan_copy, &c);
	return c.oom ? LRPC_RESOURCE_EXHAUSTED : LRPC_OK;
}

static lrpc_code watch(void *user, lrpc_call *call, const Lazyrpc__Kv__WatchRequest *req,
		       lrpc_server_stream *stream)
{
	struct kv_watch *w;
	struct kv_event ev;
	lrpc_code code = LRPC_OK;
	int ret;

	(void)user;
	if (kv_watch_new(store, req->prefix.data, req->prefix.len, &w) < 0)
		return LRPC_RESOURCE_EXHAUSTED;
	{
		Lazyrpc__Kv__WatchEvent created = LAZYRPC__KV__WATCH_EVENT__INIT;

		created.kind = LAZYRPC__KV__WATCH_EVENT__KIND__CREATED;
		code = lazyrpc__kv__kv__watch__server_write(stream, &created);
	}
	/* Look at the cancellation (and the server stopping) every 100 ms. */
	while (code == LRPC_OK && !lrpc_call_cancelled(call)) {
		lrpc_deadline until = lrpc_deadline_after_ms(100);

		if (until > lrpc_call_deadline(call))
			until = lrpc_call_deadline(call);
		ret = kv_watch_next(w, until, &ev);
		if (ret == 1) {
			Lazyrpc__Kv__WatchEvent out = LAZYRPC__KV__WATCH_EVENT__INIT;

			out.kind = ev.del ? LAZYRPC__KV__WATCH_EVENT__KIND__DELETE :
					    LAZYRPC__KV__WATCH_EVENT__KIND__PUT;
			out.key.data = ev.key;
			out.key.len = ev.klen;
			out.value.data = ev.val;
			out.value.len = ev.vlen;
			out.version = ev.version;
			code = lazyrpc__kv__kv__watch__server_write(stream, &out);
		} else if (ret == -ENOBUFS) {
			lrpc_call_set_message(call, "the watcher fell %d events behind",
					      KV_WATCH_BACKLOG);
			code = LRPC_RESOURCE_EXHAUSTED;
		} else if (ret < 0) {
			code = LRPC_UNAVAILABLE;
		} else if (lrpc_now() >= lrpc_call_deadline(call)) {
			code = LRPC_DEADLINE_EXCEEDED;
		}
	}
	kv_watch_free(w);
	return code == LRPC_OK ? LRPC_CANCELLED : code;
}

static void on_signal(int sig)
{
	(void)sig;
	lrpc_server_stop(server);
}

static int usage(void)
{
	fprintf(stderr, "usage: kv-server --dir DIR [--fsync always|never] "
			"[--snapshot-mib N] [--max-mib N]\n"
			"                 [--numa off|follow-client|interleave] URI...\n");
	return 2;
}

int main(int argc, char **argv)
{
	static const Lazyrpc__Kv__KV_Handlers handlers = {
		.get = get, .put = put, .delete_ = del, .scan = scan,
		.compare_and_set = cas, .watch = watch,
	};
	struct kv_store_opts o = { .fsync = KV_FSYNC_ALWAYS };
	lrpc_numa_mode numa = LRPC_NUMA_OFF;
	char why[512] = "", real[300];
	int i, first, ret;

	for (i = 1; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		if (strcmp(argv[i], "--dir") == 0)
			o.dir = argv[i + 1];
		else if (strcmp(argv[i], "--fsync") == 0 && strcmp(argv[i + 1], "always") == 0)
			o.fsync = KV_FSYNC_ALWAYS;
		else if (strcmp(argv[i], "--fsync") == 0 && strcmp(argv[i + 1], "never") == 0)
			o.fsync = KV_FSYNC_NEVER;
		else if (strcmp(argv[i], "--snapshot-mib") == 0)
			o.snapshot_bytes = strtoull(argv[i + 1], NULL, 10) << 20;
		else if (strcmp(argv[i], "--max-mib") == 0)
			o.max_bytes = strtoull(argv[i + 1], NULL, 10) << 20;
		else if (strcmp(argv[i], "--numa") == 0 &&
			 lrpc_numa_mode_parse(argv[i + 1], &numa) == 0)
			continue;
		else
			return usage();
	}
	first = i;
	if (!o.dir || first >= argc)
		return usage();
	ret = kv_store_open(&o, &store, why, sizeof(why));
	if (why[0])
		fprintf(stderr, "kv-server: %s\n", why);
	if (ret < 0)
		return 1;
	ret = lrpc_server_new(NULL, &server);
	if (ret == 0)
		ret = lrpc_server_set_numa(server, numa);
	if (ret == 0)
		ret = lrpc_server_add_stats(server);
	if (ret == 0)
		ret = lrpc_server_add_reflection(server);
	if (ret == 0)
		ret = lrpc_server_add_health(server, NULL);
	if (ret == 0)
		ret = lazyrpc__kv__kv__register(server, &handlers, NULL);
	for (i = first; ret == 0 && i < argc; i++)
		ret = lrpc_server_listen(server, argv[i]);
	if (ret == 0)
		ret = lrpc_server_start(server);
	if (ret < 0) {
		fprintf(stderr, "kv-server: %s %s\n", strerror(-ret), lrpc_server_error(server));
		lrpc_server_free(server);
		kv_store_close(store);
		return 1;
	}
	for (i = first; i < argc; i++)
		if (lrpc_server_listener_uri(server, (unsigned int)(i - first), real,
					     sizeof(real)) == 0)
			printf("listen %s\n", real);
	printf("ready\n");
	fflush(stdout);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	lrpc_server_run(server);
	lrpc_server_free(server); /* streams (watchers) end first */
	kv_store_close(store);
	return 0;
}
