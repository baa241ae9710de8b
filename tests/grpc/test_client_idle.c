// SPDX-License-Identifier: MIT
/*
 * The grpc:// client's pool against a server that closes idle
 * connections (GOAWAY, then FIN): after the server closed every pooled
 * connection, each next call must go on a new one and succeed, not be
 * refused on a dead one. The server is lazyrpc's own, in this process,
 * with a short idle_timeout_ms; the test waits for the closes by watching
 * the server's connection count, never by sleeping for a time.
 */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include <lazyrpc/lazyrpc.h>

#include "check_main.h"
#include "grpc/testing/test.lrpc.h"
#include "self_server.h"

#define N 4 /* at most the server's worker threads (libuv's 4): all block at once */

static pthread_barrier_t all_in;
static atomic_int served;
static atomic_bool gather; /* handlers wait for N calls: N connections at once */

static lrpc_code empty_call(void *user, lrpc_call *call, const Grpc__Testing__Empty *req,
			    Grpc__Testing__Empty *reply)
{
	(void)user, (void)call, (void)req, (void)reply;
	if (atomic_load(&gather))
		pthread_barrier_wait(&all_in);
	atomic_fetch_add(&served, 1);
	return LRPC_OK;
}

static lrpc_code call_once(lrpc_channel *ch, lrpc_status *st)
{
	Grpc__Testing__Empty req = GRPC__TESTING__EMPTY__INIT, *rep = NULL;
	lrpc_code code = grpc__testing__test_service__empty_call__call(
		ch, &req, &rep, lrpc_deadline_after_ms(20000), st);

	if (rep)
		grpc__testing__empty__free_unpacked(rep, NULL);
	return code;
}

static void *caller(void *arg)
{
	static lrpc_status st[N];
	static atomic_int i;
	int me = atomic_fetch_add(&i, 1);

	return (void *)(intptr_t)(call_once(arg, &st[me]) == LRPC_OK);
}

static uint64_t conns(lrpc_server *s)
{
	lrpc_server_stats stats;

	lrpc_server_stats_get(s, &stats);
	return stats.clients_active;
}

START_TEST(pooled_connections_the_server_closed_are_not_used)
{
	Grpc__Testing__TestService_Handlers h = { .empty_call = empty_call };
	lrpc_status st = { 0 };
	lrpc_server_opts so;
	lrpc_channel *ch;
	lrpc_server *s;
	pthread_t t[N];

	lrpc_server_opts_init(&so);
	/* Short, so that the test waits little for the closes; long enough
	 * that a new connection carries its call before it (were it not,
	 * the refused call would go again, and the test still pass:
	 * test_client_goaway's IDLE case tells the two apart). */
	so.idle_timeout_ms = 300;
	ch = self_serve(&so, &h, &s);

	/* N calls in the handler at once: N pooled connections after. */
	pthread_barrier_init(&all_in, NULL, N);
	atomic_store(&gather, true);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, caller, ch), 0);
	for (int i = 0; i < N; i++) {
		void *ok;

		pthread_join(t[i], &ok);
		ck_assert_msg(ok, "concurrent call %d failed", i);
	}
	atomic_store(&gather, false);
	ck_assert_int_eq(atomic_load(&served), N);

	/* Every one of them closed by the server for idleness. */
	while (conns(s) > 0)
		sched_yield();

	for (int i = 0; i < 2 * N; i++) {
		lrpc_code code = call_once(ch, &st);

		ck_assert_msg(code == LRPC_OK, "call %d after the idle closes: %s %s", i,
			      lrpc_code_name(code), st.message);
	}
	ck_assert_int_eq(atomic_load(&served), 3 * N);
	lrpc_channel_close(ch);
	lrpc_server_free(s);
	pthread_barrier_destroy(&all_in);
}
END_TEST

CHECK_MAIN("grpc_client_idle", 60, pooled_connections_the_server_closed_are_not_used)
