// SPDX-License-Identifier: MIT
/*
 * A server with lazyrpc-std's health and reflection beside two services of
 * its own (catalog.proto), for test_std.c and tests/grpc/std_services.py:
 *
 *   std_server NAME    listen on lrpc://NAME, unix://DIR/NAME.sock,
 *                      tcp://127.0.0.1:0 and grpc://127.0.0.1:0; print
 *                      "listen URI" for each, then "ready"; serve until
 *                      SIGTERM, then print "stopped" and exit 0.
 *
 * lrpcstd.Control moves the health (lrpc_health_set/_clear) and reports
 * how many Watch streams are open.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <lazyrpc/lazyrpc.h>
#include <lazyrpc/std.h>

#include "catalog.lrpc.h"

static lrpc_server *server;
static lrpc_health *health;

static lrpc_code lookup(void *user, lrpc_call *call, const Lrpcstd__Item__Key *req,
			Lrpcstd__Item *reply)
{
	Lrpcstd__Item__Key *key = lrpc_call_alloc(call, sizeof(*key));

	(void)user;
	if (!key)
		return LRPC_RESOURCE_EXHAUSTED;
	lrpcstd__item__key__init(key);
	key->id = lrpc_call_strdup(call, req->id ? req->id : "");
	reply->key = key;
	reply->kind = LRPCSTD__KIND__BOOK;
	return key->id ? LRPC_OK : LRPC_RESOURCE_EXHAUSTED;
}

static lrpc_code ping(void *user, lrpc_call *call, const Google__Protobuf__Empty *req,
		      Google__Protobuf__Empty *reply)
{
	(void)user, (void)call, (void)req, (void)reply;
	return LRPC_OK;
}

static lrpc_code set_health(void *user, lrpc_call *call, const Lrpcstd__SetHealthReq *req,
			    Google__Protobuf__Empty *reply)
{
	int ret = lrpc_health_set(health, req->service ? req->service : "",
				  (lrpc_health_status)req->status);

	(void)user, (void)reply;
	if (ret < 0) {
		lrpc_call_set_message(call, "lrpc_health_set: %s", strerror(-ret));
		return LRPC_INVALID_ARGUMENT;
	}
	return LRPC_OK;
}

static lrpc_code clear_health(void *user, lrpc_call *call, const Lrpcstd__SetHealthReq *req,
			      Google__Protobuf__Empty *reply)
{
	int ret = lrpc_health_clear(health, req->service ? req->service : "");

	(void)user, (void)reply;
	if (ret < 0) {
		lrpc_call_set_message(call, "lrpc_health_clear: %s", strerror(-ret));
		return LRPC_NOT_FOUND;
	}
	return LRPC_OK;
}

static lrpc_code watchers(void *user, lrpc_call *call, const Google__Protobuf__Empty *req,
			  Lrpcstd__WatchersReply *reply)
{
	(void)user, (void)call, (void)req;
	reply->watchers = lrpc_health_watchers(health);
	return LRPC_OK;
}

static void on_term(int sig)
{
	(void)sig;
	lrpc_server_stop(server);
}

int main(int argc, char **argv)
{
	static const Lrpcstd__Catalog_Handlers catalog = { .lookup = lookup, .ping = ping };
	static const Lrpcstd__Control_Handlers control = {
		.set_health = set_health, .clear_health = clear_health,
		.watchers = watchers,
	};
	char uri[4][300], dir[200];
	lrpc_server_opts o;
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: std_server NAME\n");
		return 2;
	}
	lrpc_runtime_dir(dir, sizeof(dir));
	snprintf(uri[0], sizeof(uri[0]), "lrpc://%s", argv[1]);
	snprintf(uri[1], sizeof(uri[1]), "unix://%s/%s.sock", dir, argv[1]);
	snprintf(uri[2], sizeof(uri[2]), "tcp://127.0.0.1:0");
	snprintf(uri[3], sizeof(uri[3]), "grpc://127.0.0.1:0");
	lrpc_server_opts_init(&o);
	o.receivers = 2;
	ret = lrpc_server_new(&o, &server);
	/* Stats first, to count every call; reflection before the
	 * services: it must still list what is added after it. */
	if (!ret)
		ret = lrpc_server_add_stats(server);
	if (!ret)
		ret = lrpc_server_add_reflection(server);
	if (!ret)
		ret = lrpc_server_add_health(server, &health);
	if (!ret)
		ret = lrpcstd__catalog__register(server, &catalog, NULL);
	if (!ret)
		ret = lrpcstd__control__register(server, &control, NULL);
	if (!ret)
		ret = lrpc_health_set(health, "lrpcstd.Catalog", LRPC_HEALTH_SERVING);
	for (unsigned int i = 0; i < 4 && !ret; i++) {
		ret = lrpc_server_listen(server, uri[i]);
		/* A minimal kernel (the RPAL test guest) may have no IPv4. */
		if (ret == -EAFNOSUPPORT && i >= 2)
			ret = 0;
	}
	if (!ret)
		ret = lrpc_server_start(server);
	if (ret) {
		fprintf(stderr, "std_server: %s\n", strerror(-ret));
		return 1;
	}
	signal(SIGTERM, on_term);
	for (unsigned int i = 0; i < 4; i++)
		if (lrpc_server_listener_uri(server, i, uri[i], sizeof(uri[i])) == 0)
			printf("listen %s\n", uri[i]);
	printf("ready\n");
	fflush(stdout);
	lrpc_server_run(server);
	lrpc_server_free(server);
	printf("stopped\n");
	return 0;
}
