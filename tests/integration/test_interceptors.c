// SPDX-License-Identifier: MIT
/*
 * Server interceptors: they run in order around every handler, unary and
 * streaming, see method, peer, code and duration, and can refuse a call
 * (which then never reaches its handler, and still gets every after).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "probe.lrpc.h"
#include "streams.h"

static _Atomic int handled;

static lrpc_code echo(void *user, lrpc_call *call, const Lrpctest__EchoMsg *req,
		      Lrpctest__EchoMsg *rep)
{
	(void)user, (void)call;
	atomic_fetch_add(&handled, 1);
	rep->seq = req->seq;
	return LRPC_OK;
}

/* What the interceptors saw, in order: "A<", "B<", "B>", "A>". Under
 * lock: they run on the server's threads, the checks on the test's. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char trace[256];
static lrpc_code last_code;
static int64_t last_ns;
static char last_method[128], last_transport[16];
static _Atomic int refuse_next;

static lrpc_code before(void *arg, lrpc_call *call)
{
	const char *who = arg;

	pthread_mutex_lock(&lock);
	snprintf(trace + strlen(trace), sizeof(trace) - strlen(trace), "%s<", who);
	pthread_mutex_unlock(&lock);
	if (*who == 'B' && atomic_exchange(&refuse_next, 0)) {
		lrpc_call_set_message(call, "B says no to %s", lrpc_call_method(call)->name);
		return LRPC_PERMISSION_DENIED;
	}
	return LRPC_OK;
}

static void after(void *arg, lrpc_call *call, lrpc_code code, int64_t ns)
{
	const char *who = arg;

	pthread_mutex_lock(&lock);
	snprintf(trace + strlen(trace), sizeof(trace) - strlen(trace), "%s>", who);
	if (*who == 'A') {
		last_code = code;
		last_ns = ns;
		snprintf(last_method, sizeof(last_method), "%s", lrpc_call_method(call)->full_name);
		snprintf(last_transport, sizeof(last_transport), "%s",
			 lrpc_call_peer(call)->transport);
	}
	pthread_mutex_unlock(&lock);
}

static lrpc_server *start(char *uri, size_t len)
{
	static const Lrpctest__Probe_Handlers h = { .echo = echo };
	static const lrpc_interceptor a = { .before = before, .after = after, .arg = "A" };
	static const lrpc_interceptor b = { .before = before, .after = after, .arg = "B" };
	lrpc_interceptor none = { 0 };
	lrpc_server *s;

	h_dir_setup();
	ck_assert_int_eq(lrpc_server_new(NULL, &s), 0);
	ck_assert_int_eq(lrpctest__probe__register(s, &h, NULL), 0);
	ck_assert_int_eq(lrpctest_streams_register(s), 0);
	ck_assert_int_eq(lrpc_server_add_interceptor(s, NULL), -EINVAL);
	ck_assert_int_eq(lrpc_server_add_interceptor(s, &none), -EINVAL);
	ck_assert_int_eq(lrpc_server_add_interceptor(s, &a), 0);
	ck_assert_int_eq(lrpc_server_add_interceptor(s, &b), 0);
	h_listen_uri(uri, len, "icpt");
	ck_assert_int_eq(lrpc_server_listen(s, uri), 0);
	ck_assert_int_eq(lrpc_server_listener_uri(s, 0, uri, len), 0);
	ck_assert_int_eq(lrpc_server_start(s), 0);
	ck_assert_int_eq(lrpc_server_add_interceptor(s, &a), -EBUSY);
	return s;
}

START_TEST(interceptors_wrap_unary_calls_in_order)
{
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT, *rep;
	lrpc_channel *ch;
	lrpc_status st;
	char uri[300];
	lrpc_server *s = start(uri, sizeof(uri));

	ck_assert_int_eq(lrpc_channel_open(uri, NULL, &ch), 0);
	req.seq = 7;
	ck_assert_int_eq(lrpctest__probe__echo__call(ch, &req, &rep, 0, &st), LRPC_OK);
	lrpctest__echo_msg__free_unpacked(rep, NULL);
	/* The after runs after the reply is packed, on the handler's thread:
	 * the trace is whole once the next call comes back. */
	ck_assert_int_eq(lrpctest__probe__echo__call(ch, &req, &rep, 0, &st), LRPC_OK);
	lrpctest__echo_msg__free_unpacked(rep, NULL);
	pthread_mutex_lock(&lock);
	ck_assert_str_eq(trace, "A<B<B>A>A<B<B>A>");
	ck_assert_int_eq(last_code, LRPC_OK);
	ck_assert_int_ge(last_ns, 0);
	ck_assert_str_eq(last_method, "/lrpctest.Probe/Echo");
	ck_assert_str_eq(last_transport, h_transport());
	ck_assert_int_eq(atomic_load(&handled), 2);

	/* B refuses: the handler never runs, the client gets B's status,
	 * A's after sees it. */
	trace[0] = '\0';
	pthread_mutex_unlock(&lock);
	atomic_store(&refuse_next, 1);
	ck_assert_int_eq(lrpctest__probe__echo__call(ch, &req, &rep, 0, &st),
			 LRPC_PERMISSION_DENIED);
	ck_assert_str_eq(st.message, "B says no to Echo");
	ck_assert_int_eq(atomic_load(&handled), 2);
	ck_assert_int_eq(lrpctest__probe__echo__call(ch, &req, &rep, 0, &st), LRPC_OK);
	lrpctest__echo_msg__free_unpacked(rep, NULL);
	pthread_mutex_lock(&lock);
	ck_assert_str_eq(trace, "A<B<B>A>A<B<B>A>");
	pthread_mutex_unlock(&lock);
	lrpc_channel_close(ch);
	lrpc_server_free(s);
}
END_TEST

START_TEST(interceptors_wrap_streams)
{
	Lrpctest__EchoMsg m = LRPCTEST__ECHO_MSG__INIT;
	ProtobufCMessage *got;
	lrpc_channel *ch;
	lrpc_stream *str;
	lrpc_status st;
	char uri[300];
	lrpc_server *s = start(uri, sizeof(uri));

	ck_assert_int_eq(lrpc_channel_open(uri, NULL, &ch), 0);
	ck_assert_int_eq(lrpc_stream_open(ch, lrpctest_streams_echo, 0, &str, &st), LRPC_OK);
	m.seq = 1;
	ck_assert_int_eq(lrpc_stream_write(str, &m.base, &st), LRPC_OK);
	ck_assert_int_eq(lrpc_stream_read(str, &got, &st), LRPC_OK);
	ck_assert_ptr_nonnull(got);
	ck_assert_int_eq(lrpc_stream_close_send(str, &st), LRPC_OK);
	ck_assert_int_eq(lrpc_stream_read(str, &got, &st), LRPC_OK);
	ck_assert_ptr_null(got);
	lrpc_stream_free(str);
	/* A refused stream ends with B's status at its first read. */
	atomic_store(&refuse_next, 1);
	if (lrpc_stream_open(ch, lrpctest_streams_echo, 0, &str, &st) == LRPC_OK) {
		ck_assert_int_eq(lrpc_stream_read(str, &got, &st), LRPC_PERMISSION_DENIED);
		lrpc_stream_free(str);
	} else {
		ck_assert_int_eq(st.code, LRPC_PERMISSION_DENIED);
	}
	ck_assert_str_eq(st.message, "B says no to Echo");
	/* Both streams' afters have run once a unary call after them has. */
	{
		Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT, *rep;

		ck_assert_int_eq(lrpctest__probe__echo__call(ch, &req, &rep, 0, &st), LRPC_OK);
		lrpctest__echo_msg__free_unpacked(rep, NULL);
	}
	pthread_mutex_lock(&lock);
	ck_assert_str_eq(trace, "A<B<B>A>A<B<B>A>A<B<B>A>");
	pthread_mutex_unlock(&lock);
	lrpc_channel_close(ch);
	lrpc_server_free(s);
}
END_TEST

H_MAIN("interceptors", 60, interceptors_wrap_unary_calls_in_order, interceptors_wrap_streams)
