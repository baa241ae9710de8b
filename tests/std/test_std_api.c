// SPDX-License-Identifier: MIT
/*
 * lazyrpc-std's setup calls and the server hooks they stand on, in one
 * process: what each returns for bad arguments, twice, and after start;
 * lrpc_server_service(), lrpc_server_on_free() and lrpc_server_on_stop().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lazyrpc/std.h>

#include "catalog.lrpc.h"
#include "grpc/health/v1/health.lrpc.h"
#include "check_main.h"

START_TEST(health_arguments)
{
	char long_name[LRPC_HEALTH_NAME_MAX + 2];
	lrpc_health *h = (lrpc_health *)1, *again;
	lrpc_server *srv;

	ck_assert_int_eq(lrpc_server_add_health(NULL, &h), -EINVAL);
	ck_assert_ptr_null(h);
	ck_assert_int_eq(lrpc_server_new(NULL, &srv), 0);
	ck_assert_int_eq(lrpc_server_add_health(srv, &h), 0);
	ck_assert_int_eq(lrpc_server_add_health(srv, &again), -EEXIST);
	ck_assert_ptr_null(again);
	ck_assert_int_eq(lrpc_health_set(NULL, "a", LRPC_HEALTH_SERVING), -EINVAL);
	ck_assert_int_eq(lrpc_health_set(h, NULL, LRPC_HEALTH_SERVING), -EINVAL);
	ck_assert_int_eq(lrpc_health_set(h, "a", LRPC_HEALTH_SERVICE_UNKNOWN), -EINVAL);
	ck_assert_int_eq(lrpc_health_set(h, "a", (lrpc_health_status)7), -EINVAL);
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	ck_assert_int_eq(lrpc_health_set(h, long_name, LRPC_HEALTH_SERVING), -EINVAL);
	long_name[LRPC_HEALTH_NAME_MAX] = '\0';
	ck_assert_int_eq(lrpc_health_set(h, long_name, LRPC_HEALTH_SERVING), 0);
	ck_assert_int_eq(lrpc_health_set(h, "a", LRPC_HEALTH_UNKNOWN), 0);
	ck_assert_int_eq(lrpc_health_set(h, "a", LRPC_HEALTH_NOT_SERVING), 0);
	ck_assert_int_eq(lrpc_health_clear(h, "a"), 0);
	ck_assert_int_eq(lrpc_health_clear(h, "a"), -ENOENT);
	ck_assert_int_eq(lrpc_health_clear(NULL, "a"), -EINVAL);
	/* "" is there from the start. */
	ck_assert_int_eq(lrpc_health_clear(h, ""), 0);
	ck_assert_uint_eq(lrpc_health_watchers(h), 0);
	lrpc_server_free(srv);
}
END_TEST

START_TEST(reflection_twice)
{
	lrpc_server *srv;

	ck_assert_int_eq(lrpc_server_add_reflection(NULL), -EINVAL);
	ck_assert_int_eq(lrpc_server_new(NULL, &srv), 0);
	ck_assert_int_eq(lrpc_server_add_reflection(srv), 0);
	ck_assert_int_eq(lrpc_server_add_reflection(srv), -EEXIST);
	lrpc_server_free(srv);
}
END_TEST

START_TEST(stats_twice)
{
	lrpc_server *srv;

	ck_assert_int_eq(lrpc_server_add_stats(NULL), -EINVAL);
	ck_assert_int_eq(lrpc_server_new(NULL, &srv), 0);
	ck_assert_int_eq(lrpc_server_add_stats(srv), 0);
	ck_assert_int_eq(lrpc_server_add_stats(srv), -EEXIST);
	lrpc_server_free(srv);
}
END_TEST

static int freed[4], nfreed;

static void note_free(void *arg)
{
	freed[nfreed++] = (int)(intptr_t)arg;
}

/* Services in the order added; on_free last-in first-out, and refused
 * once the server has started, as are the std services. */
START_TEST(server_hooks)
{
	static const Lrpcstd__Catalog_Handlers catalog = { 0 };
	char uri[128], dir[] = "/tmp/lrpc-std-api-XXXXXX";
	lrpc_server *srv;
	lrpc_health *h;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(uri, sizeof(uri), "unix://%s/s.sock", dir);
	ck_assert_ptr_null(lrpc_server_service(NULL, 0));
	ck_assert_int_eq(lrpc_server_new(NULL, &srv), 0);
	ck_assert_ptr_null(lrpc_server_service(srv, 0));
	ck_assert_int_eq(lrpc_server_on_free(srv, NULL, NULL), -EINVAL);
	ck_assert_int_eq(lrpc_server_on_free(srv, note_free, (void *)1), 0);
	ck_assert_int_eq(lrpcstd__catalog__register(srv, &catalog, NULL), 0);
	ck_assert_int_eq(lrpc_server_add_health(srv, &h), 0);
	ck_assert_int_eq(lrpc_server_on_free(srv, note_free, (void *)2), 0);
	ck_assert_ptr_eq(lrpc_server_service(srv, 0), &lrpcstd__catalog__service_desc);
	ck_assert_str_eq(lrpc_server_service(srv, 1)->name, "grpc.health.v1.Health");
	ck_assert_ptr_null(lrpc_server_service(srv, 2));
	ck_assert_int_eq(lrpc_server_listen(srv, uri), 0);
	ck_assert_int_eq(lrpc_server_start(srv), 0);
	ck_assert_int_eq(lrpc_server_on_free(srv, note_free, (void *)3), -EBUSY);
	ck_assert_int_eq(lrpc_server_add_reflection(srv), -EBUSY);
	ck_assert_int_eq(lrpc_server_add_stats(srv), -EBUSY);
	/* The health is the application's to change while it runs. */
	ck_assert_int_eq(lrpc_health_set(h, "lrpcstd.Catalog", LRPC_HEALTH_SERVING), 0);
	lrpc_server_free(srv);
	ck_assert_int_eq(nfreed, 2);
	ck_assert_int_eq(freed[0], 2);
	ck_assert_int_eq(freed[1], 1);
	rmdir(dir);
}
END_TEST

/* What the on_stop hooks see: the server's connections still carry
 * calls; health answers NOT_SERVING from lrpc_server_stop() on, before its
 * own hook has set it so. */
struct stop_seen {
	lrpc_server *srv;
	lrpc_channel *ch;
	int order[3], n;
	bool stopping[2];
	int status[2];
};

static struct stop_seen seen;

static int check_now(lrpc_channel *ch)
{
	Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
	Grpc__Health__V1__HealthCheckResponse *rep = NULL;
	int status;

	req.service = (char *)"";
	if (grpc__health__v1__health__check__call(ch, &req, &rep,
						  lrpc_deadline_after_ms(30000), NULL) != LRPC_OK)
		return -1;
	status = rep->status;
	grpc__health__v1__health_check_response__free_unpacked(rep, NULL);
	return status;
}

static void note_stop(void *arg)
{
	int i = (int)(intptr_t)arg;

	seen.order[seen.n++] = i;
	seen.stopping[i] = lrpc_server_stopping(seen.srv);
	seen.status[i] = check_now(seen.ch);
}

static void note_stop_free(void *arg)
{
	seen.order[seen.n++] = (int)(intptr_t)arg;
}

START_TEST(stop_hooks)
{
	static const Lrpcstd__Catalog_Handlers catalog = { 0 };
	char uri[128], dir[] = "/tmp/lrpc-std-api-XXXXXX";
	lrpc_server *srv;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(uri, sizeof(uri), "unix://%s/s.sock", dir);
	ck_assert_int_eq(lrpc_server_on_stop(NULL, note_stop, NULL), -EINVAL);
	ck_assert(!lrpc_server_stopping(NULL));
	ck_assert_int_eq(lrpc_server_new(NULL, &srv), 0);
	seen.srv = srv;
	ck_assert_int_eq(lrpc_server_on_stop(srv, NULL, NULL), -EINVAL);
	ck_assert_int_eq(lrpc_server_on_free(srv, note_stop_free, (void *)2), 0);
	ck_assert_int_eq(lrpc_server_on_stop(srv, note_stop, (void *)0), 0);
	ck_assert_int_eq(lrpcstd__catalog__register(srv, &catalog, NULL), 0);
	ck_assert_int_eq(lrpc_server_add_health(srv, NULL), 0);
	ck_assert_int_eq(lrpc_server_on_stop(srv, note_stop, (void *)1), 0);
	ck_assert_int_eq(lrpc_server_listen(srv, uri), 0);
	ck_assert_int_eq(lrpc_server_start(srv), 0);
	ck_assert_int_eq(lrpc_server_on_stop(srv, note_stop, (void *)1), -EBUSY);
	ck_assert(!lrpc_server_stopping(srv));
	ck_assert_int_eq(lrpc_channel_open(uri, NULL, &seen.ch), 0);
	ck_assert_int_eq(check_now(seen.ch), LRPC_HEALTH_SERVING);
	lrpc_server_stop(srv);
	ck_assert(lrpc_server_stopping(srv));
	lrpc_server_run(srv);
	/* In order of registration, before the drain, and before on_free. */
	ck_assert_int_eq(seen.n, 2);
	ck_assert_int_eq(seen.order[0], 0);
	ck_assert_int_eq(seen.order[1], 1);
	ck_assert(seen.stopping[0] && seen.stopping[1]);
	ck_assert_int_eq(seen.status[0], LRPC_HEALTH_NOT_SERVING);
	ck_assert_int_eq(seen.status[1], LRPC_HEALTH_NOT_SERVING);
	/* Drained since: the connection no longer takes calls. */
	ck_assert_int_eq(check_now(seen.ch), -1);
	lrpc_server_free(srv);
	ck_assert_int_eq(seen.n, 3);
	ck_assert_int_eq(seen.order[2], 2);
	lrpc_channel_close(seen.ch);
	rmdir(dir);
}
END_TEST

CHECK_MAIN("std_api", 60, health_arguments, reflection_twice, stats_twice, server_hooks,
	   stop_hooks)
