// SPDX-License-Identifier: MIT
/*
 * lazyrpc-std's setup calls and the server hooks they stand on, in one
 * process: what each returns for bad arguments, twice, and after start;
 * lrpc_server_service() and lrpc_server_on_free().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lazyrpc/std.h>

#include "catalog.lrpc.h"
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

CHECK_MAIN("std_api", 60, health_arguments, reflection_twice, stats_twice, server_hooks)
