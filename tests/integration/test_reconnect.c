// SPDX-License-Identifier: MIT
/*
 * Reconnect: a channel whose server went away connects again by itself
 * once the name (or address) is served again; calls in between fail fast
 * with UNAVAILABLE, or wait until their deadline with wait_for_ready.
 * Opening a stream follows the same rules.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "probe.lrpc.h"
#include "streams.h"

/* Start the probe server "NAME"; a restart over tcp:// or grpc:// takes
 * the port the first one got (\p old_uri). */
/* Serve the next server at \p old_uri's address. The environment is
 * changed only here, while no other thread of the test runs (setenv
 * races with any getenv). */
static void reuse_address(const char *old_uri)
{
	if (old_uri && !strncmp(old_uri, "tcp://", 6))
		setenv("LRPC_PROBE_TCP", old_uri, 1);
	if (old_uri && !strncmp(old_uri, "grpc://", 7))
		setenv("LRPC_PROBE_GRPC_URI", old_uri, 1);
}

static void start(struct peer *srv, const char *name, const char *old_uri)
{
	reuse_address(old_uri);
	h_probe_server(srv, name, "1", NULL);
}

START_TEST(reconnects_after_restart)
{
	char uri[300];
	struct peer srv;
	lrpc_channel *ch;
	lrpc_status st;
	lrpc_code code;
	lrpc_deadline give_up;

	h_dir_setup();
	start(&srv, "phoenix", NULL);
	memcpy(uri, srv.uri, sizeof(uri));
	ch = h_open(&srv);
	ck_assert_int_eq(h_echo(ch, 1, 5000, &st), LRPC_OK);
	h_kill(&srv, SIGKILL);

	/* Nobody serves the name: a long deadline still fails at once. */
	code = h_echo(ch, 2, 30000, &st);
	ck_assert_msg(code == LRPC_UNAVAILABLE, "%s: %s", lrpc_code_name(code),
		      st.message);

	start(&srv, "phoenix", uri);
	ck_assert_str_eq(srv.uri, uri);
	/* Back: a call soon goes through (a failed dial backs off a while). */
	give_up = lrpc_deadline_after_ms(10000);
	do
		code = h_echo(ch, 3, 1000, &st);
	while (code == LRPC_UNAVAILABLE && lrpc_now() < give_up);
	ck_assert_msg(code == LRPC_OK, "%s: %s", lrpc_code_name(code), st.message);
	ck_assert_int_eq(h_echo(ch, 4, 5000, &st), LRPC_OK);
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
}
END_TEST

struct waiter {
	lrpc_channel *ch;
	int ready[2];
	lrpc_code code;
	lrpc_status st;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	char b = 1;

	ck_assert_int_eq(write(w->ready[1], &b, 1), 1);
	w->code = h_echo(w->ch, 9, 20000, &w->st);
	return NULL;
}

START_TEST(wait_for_ready_waits_for_the_server)
{
	lrpc_channel_opts o;
	struct waiter w = { .code = LRPC_UNKNOWN };
	lrpc_deadline give_up;
	char uri[300], b;
	struct peer srv;
	pthread_t t;

	h_dir_setup();
	start(&srv, "patient", NULL);
	memcpy(uri, srv.uri, sizeof(uri));
	lrpc_channel_opts_init(&o);
	o.wait_for_ready = 1;
	w.ch = h_open_opts(&srv, &o);
	ck_assert_int_eq(h_echo(w.ch, 1, 5000, &w.st), LRPC_OK);
	h_kill(&srv, SIGKILL);

	/* Until the channel has noticed, a call is sent and fails as sent;
	 * once it has, a call waits (here until a short deadline). */
	while (h_echo(w.ch, 2, 300, &w.st) != LRPC_DEADLINE_EXCEEDED)
		;
	/* A call made while nobody serves waits, and succeeds once the
	 * server is back. */
	ck_assert_int_eq(pipe(w.ready), 0);
	ck_assert_int_eq(pthread_create(&t, NULL, waiter_main, &w), 0);
	ck_assert_int_eq(read(w.ready[0], &b, 1), 1);
	start(&srv, "patient", uri);
	pthread_join(t, NULL);
	ck_assert_msg(w.code == LRPC_OK, "%s: %s", lrpc_code_name(w.code), w.st.message);
	h_kill(&srv, SIGKILL);

	/* With nobody coming back, it fails at its deadline, saying so. (Calls
	 * sent before the death was noticed fail as sent: UNAVAILABLE, never
	 * retried; a kernel hand-off may refuse a few before the monitor
	 * sees the control socket close.) */
	give_up = lrpc_deadline_after_ms(10000);
	do
		w.code = h_echo(w.ch, 10, 300, &w.st);
	while (w.code == LRPC_UNAVAILABLE && lrpc_now() < give_up);
	ck_assert_int_eq(w.code, LRPC_DEADLINE_EXCEEDED);
	ck_assert_msg(strstr(w.st.message, "deadline"), "%s", w.st.message);
	lrpc_channel_close(w.ch);
	close(w.ready[0]);
	close(w.ready[1]);
}
END_TEST

struct opener {
	lrpc_channel *ch;
	int ready[2];
	lrpc_code code;
	lrpc_status st;
};

/* Open an Echo stream once the test says go, and round-trip one message. */
static void *opener_main(void *arg)
{
	Lrpctest__EchoMsg m = LRPCTEST__ECHO_MSG__INIT;
	struct opener *o = arg;
	ProtobufCMessage *got = NULL;
	lrpc_stream *s;
	char b = 1;

	/* No ck_assert here: check's macros are not for other threads. */
	if (write(o->ready[1], &b, 1) != 1) {
		o->code = LRPC_INTERNAL;
		return NULL;
	}
	o->code = lrpc_stream_open(o->ch, lrpctest_streams_echo, lrpc_deadline_after_ms(20000),
				   &s, &o->st);
	if (o->code != LRPC_OK)
		return NULL;
	m.seq = 5;
	o->code = lrpc_stream_write(s, &m.base, &o->st);
	if (o->code == LRPC_OK)
		o->code = lrpc_stream_read(s, &got, &o->st);
	if (o->code == LRPC_OK && !got)
		o->code = LRPC_INTERNAL;
	lrpc_stream_free(s);
	return NULL;
}

START_TEST(streams_reconnect_and_wait_for_ready)
{
	lrpc_channel_opts co;
	struct opener o = { .code = LRPC_UNKNOWN };
	char uri[300], b;
	struct peer srv;
	lrpc_channel *plain;
	lrpc_stream *s;
	pthread_t t;

	h_dir_setup();
	start(&srv, "stream-phoenix", NULL);
	memcpy(uri, srv.uri, sizeof(uri));
	ck_assert_int_eq(pipe(o.ready), 0);
	plain = h_open(&srv);
	lrpc_channel_opts_init(&co);
	co.wait_for_ready = 1;
	o.ch = h_open_opts(&srv, &co);
	ck_assert_int_eq(h_echo(plain, 1, 5000, &o.st), LRPC_OK);
	ck_assert_int_eq(h_echo(o.ch, 1, 5000, &o.st), LRPC_OK);
	h_kill(&srv, SIGKILL);
	/* Without wait_for_ready, a stream to nobody fails at once. */
	while (h_echo(plain, 2, 300, &o.st) != LRPC_UNAVAILABLE)
		;
	ck_assert_int_eq(lrpc_stream_open(plain, lrpctest_streams_echo,
					  lrpc_deadline_after_ms(30000), &s, &o.st),
			 LRPC_UNAVAILABLE);
	lrpc_channel_close(plain);

	/* With it, once the channel has noticed, an open waits (here until
	 * a short deadline, saying so), and one made while nobody serves
	 * goes through once the server is back. */
	while (h_echo(o.ch, 2, 300, &o.st) != LRPC_DEADLINE_EXCEEDED)
		;
	ck_assert_int_eq(lrpc_stream_open(o.ch, lrpctest_streams_echo,
					  lrpc_deadline_after_ms(300), &s, &o.st),
			 LRPC_DEADLINE_EXCEEDED);
	ck_assert_msg(strstr(o.st.message, "waiting for the server"), "%s", o.st.message);
	reuse_address(uri);
	ck_assert_int_eq(pthread_create(&t, NULL, opener_main, &o), 0);
	ck_assert_int_eq(read(o.ready[0], &b, 1), 1);
	h_probe_server(&srv, "stream-phoenix", "1", NULL);
	pthread_join(t, NULL);
	ck_assert_msg(o.code == LRPC_OK, "%s: %s", lrpc_code_name(o.code), o.st.message);
	lrpc_channel_close(o.ch);
	h_kill(&srv, SIGTERM);
	close(o.ready[0]);
	close(o.ready[1]);
}
END_TEST

H_MAIN("reconnect", 90, reconnects_after_restart, wait_for_ready_waits_for_the_server,
       streams_reconnect_and_wait_for_ready)
