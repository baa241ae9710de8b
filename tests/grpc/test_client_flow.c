// SPDX-License-Identifier: MIT
/*
 * Flow control of lazyrpc's grpc:// client streams: a client that keeps
 * its connection busy (a write the server does not take) but reads
 * nothing must not open the server's window, so the server's handler
 * stays blocked after about a window of replies, until the deadline.
 * The server is lazyrpc's own, in this process, so that the handler can
 * count what it got to write.
 */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <lazyrpc/lazyrpc.h>

#include "check_main.h"
#include "grpc/testing/test.lrpc.h"
#include "self_server.h"

#define MSG (32 * 1024)
#define MSGS 128

static atomic_int written;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static bool handler_done;
static uint8_t zeros[64 * 1024];

/* Writes MSGS replies, never reads. */
static lrpc_code full_duplex(void *user, lrpc_call *call, lrpc_server_stream *stream)
{
	Grpc__Testing__StreamingOutputCallResponse rep =
		GRPC__TESTING__STREAMING_OUTPUT_CALL_RESPONSE__INIT;
	Grpc__Testing__Payload p = GRPC__TESTING__PAYLOAD__INIT;
	lrpc_code code = LRPC_OK;

	(void)user, (void)call;
	p.body.data = zeros;
	p.body.len = MSG;
	rep.payload = &p;
	for (int i = 0; i < MSGS && code == LRPC_OK; i++) {
		code = grpc__testing__test_service__full_duplex_call__server_write(stream, &rep);
		if (code == LRPC_OK)
			atomic_fetch_add(&written, 1);
	}
	pthread_mutex_lock(&mu);
	handler_done = true;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	return code;
}

START_TEST(a_reader_that_stops_makes_the_server_wait)
{
	Grpc__Testing__TestService_Handlers h = { .full_duplex_call = full_duplex };
	Grpc__Testing__StreamingOutputCallRequest req =
		GRPC__TESTING__STREAMING_OUTPUT_CALL_REQUEST__INIT;
	Grpc__Testing__Payload p = GRPC__TESTING__PAYLOAD__INIT;
	lrpc_status st = { 0 };
	lrpc_channel *ch;
	lrpc_server *s;
	lrpc_stream *str;
	lrpc_code code = LRPC_OK;
	int sent = 0;

	ch = self_serve(NULL, &h, &s);

	ck_assert_int_eq(grpc__testing__test_service__full_duplex_call__open(
				 ch, lrpc_deadline_after_ms(1000), &str, &st),
			 LRPC_OK);
	/* The handler reads nothing, so these writes end up waiting for the
	 * server's window, driving the connection, until the deadline. */
	p.body.data = zeros;
	p.body.len = sizeof(zeros);
	req.payload = &p;
	while (sent < 256 &&
	       (code = grpc__testing__test_service__full_duplex_call__write(str, &req, &st)) ==
		       LRPC_OK)
		sent++;
	ck_assert_msg(code == LRPC_DEADLINE_EXCEEDED,
		      "%d writes and then %s: the server took them all", sent,
		      lrpc_code_name(code));
	pthread_mutex_lock(&mu);
	while (!handler_done)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	/* One message held (whole, not taken) plus the client's 1 MiB
	 * window (16 replies) and what the server itself may buffer (1 MiB
	 * more, docs/api.md); far from all 128 (8 MiB). */
	ck_assert_msg(atomic_load(&written) < 40, "the handler wrote %d of %d replies",
		      atomic_load(&written), MSGS);
	lrpc_stream_free(str);
	lrpc_channel_close(ch);
	lrpc_server_free(s);
}
END_TEST

int main(void)
{
	const TTest *const t[] = { a_reader_that_stops_makes_the_server_wait };

	return check_run("client_flow", t, 1, 60);
}
