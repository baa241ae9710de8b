// SPDX-License-Identifier: MIT
/*
 * Call metadata round trip, unary, on the transport under test: ASCII and
 * -bin request entries reach the handler and its interceptor, response
 * headers and trailers reach the client (trailers on an error status
 * too), reserved keys and sets over LRPC_METADATA_MAX are refused with
 * nothing sent, and the channel serves the next call. Transports that do
 * not carry metadata yet (unix://, tcp://) must refuse it, saying so.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "probe.lrpc.h"

static const unsigned char blob[] = { 0, 1, 0xff, '\n', 0x80, 0 };
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char seen_by_interceptor[64];

static bool carried(void)
{
	return !strcmp(h_transport(), "lrpc") || !strcmp(h_transport(), "grpc");
}

static lrpc_code echo(void *user, lrpc_call *call, const Lrpctest__EchoMsg *req,
		      Lrpctest__EchoMsg *rep)
{
	const lrpc_metadata *t = lrpc_call_metadata_get(call, "x-trace");
	const lrpc_metadata *b = lrpc_call_metadata_get(call, "x-blob-bin");

	(void)user;
	rep->seq = req->seq;
	if (t && lrpc_call_add_header(call, "x-trace-echo", t->value, t->value_len))
		return LRPC_INTERNAL;
	if (b && lrpc_call_add_trailer(call, "x-blob-echo-bin", b->value, b->value_len))
		return LRPC_INTERNAL;
	if (lrpc_call_add_trailer(call, "x-n", "2", 1))
		return LRPC_INTERNAL;
	if (req->seq == 13) {
		lrpc_call_set_message(call, "thirteen");
		return LRPC_NOT_FOUND;
	}
	return LRPC_OK;
}

static lrpc_code before(void *arg, lrpc_call *call)
{
	const lrpc_metadata *t = lrpc_call_metadata_get(call, "x-trace");

	(void)arg;
	pthread_mutex_lock(&lock);
	snprintf(seen_by_interceptor, sizeof(seen_by_interceptor), "%s",
		 t ? (const char *)t->value : "");
	pthread_mutex_unlock(&lock);
	return LRPC_OK;
}

static lrpc_server *start(char *uri, size_t len)
{
	static const Lrpctest__Probe_Handlers h = { .echo = echo };
	static const lrpc_interceptor icpt = { .before = before };
	lrpc_server *s;

	h_dir_setup();
	ck_assert_int_eq(lrpc_server_new(NULL, &s), 0);
	ck_assert_int_eq(lrpctest__probe__register(s, &h, NULL), 0);
	ck_assert_int_eq(lrpc_server_add_interceptor(s, &icpt), 0);
	if (!strcmp(h_transport(), "lrpc"))
		snprintf(uri, len, "lrpc://md-%d", getpid());
	else if (!strcmp(h_transport(), "unix"))
		snprintf(uri, len, "unix://%s/md.sock", getenv("LAZYRPC_DIR"));
	else if (!strcmp(h_transport(), "grpc"))
		snprintf(uri, len, "grpc://127.0.0.1:0");
	else
		snprintf(uri, len, "tcp://127.0.0.1:0");
	ck_assert_int_eq(lrpc_server_listen(s, uri), 0);
	ck_assert_int_eq(lrpc_server_listener_uri(s, 0, uri, len), 0);
	ck_assert_int_eq(lrpc_server_start(s), 0);
	return s;
}

static lrpc_code call(lrpc_channel *ch, uint64_t seq, lrpc_call_opts *o,
		      lrpc_status *st)
{
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT, *rep = NULL;
	lrpc_code code;

	req.seq = seq;
	code = lrpc_channel_call_opts(ch, &lrpctest__probe__service_desc.methods[0],
				      &req.base, (ProtobufCMessage **)&rep, 0, o, st);
	if (code == LRPC_OK) {
		ck_assert_uint_eq(rep->seq, seq);
		lrpctest__echo_msg__free_unpacked(rep, NULL);
	}
	return code;
}

START_TEST(metadata_round_trip)
{
	const lrpc_metadata md[] = { { "x-trace", "abc-123", 7 },
				     { "x-blob-bin", blob, sizeof(blob) } };
	lrpc_call_opts o = LRPC_CALL_OPTS_INIT;
	const lrpc_metadata *e;
	lrpc_channel *ch;
	lrpc_status st;
	char uri[300];
	lrpc_server *s = start(uri, sizeof(uri));

	ck_assert_int_eq(lrpc_channel_open(uri, NULL, &ch), 0);
	ck_assert_int_eq(lrpc_metadata_list_new(&o.headers), 0);
	ck_assert_int_eq(lrpc_metadata_list_new(&o.trailers), 0);
	o.metadata = md;
	o.n_metadata = 2;
	if (!carried()) {
		ck_assert_int_eq(call(ch, 1, &o, &st), LRPC_UNIMPLEMENTED);
		ck_assert_ptr_nonnull(strstr(st.message, "metadata"));
	} else {
		ck_assert_int_eq(call(ch, 1, &o, &st), LRPC_OK);
		e = lrpc_metadata_list_find(o.headers, "x-trace-echo");
		ck_assert_ptr_nonnull(e);
		ck_assert_uint_eq(e->value_len, 7);
		ck_assert_mem_eq(e->value, "abc-123", 7);
		e = lrpc_metadata_list_find(o.trailers, "x-blob-echo-bin");
		ck_assert_ptr_nonnull(e);
		ck_assert_uint_eq(e->value_len, sizeof(blob));
		ck_assert_mem_eq(e->value, blob, sizeof(blob));
		pthread_mutex_lock(&lock);
		ck_assert_str_eq(seen_by_interceptor, "abc-123");
		pthread_mutex_unlock(&lock);
		/* An error status still brings the trailers. */
		ck_assert_int_eq(call(ch, 13, &o, &st), LRPC_NOT_FOUND);
		ck_assert_ptr_nonnull(strstr(st.message, "thirteen"));
		e = lrpc_metadata_list_find(o.trailers, "x-n");
		ck_assert_ptr_nonnull(e);
		ck_assert_mem_eq(e->value, "2", 1);
		ck_assert_ptr_nonnull(lrpc_metadata_list_find(o.trailers, "x-blob-echo-bin"));
	}
	/* Without metadata: no headers left over from the last call. */
	o.n_metadata = 0;
	ck_assert_int_eq(call(ch, 2, &o, &st), LRPC_OK);
	ck_assert_ptr_null(lrpc_metadata_list_find(o.headers, "x-trace-echo"));
	lrpc_metadata_list_free(o.headers);
	lrpc_metadata_list_free(o.trailers);
	lrpc_channel_close(ch);
	lrpc_server_free(s);
}
END_TEST

START_TEST(metadata_limits_and_reserved_keys)
{
	static char big[LRPC_METADATA_MAX];
	const lrpc_metadata reserved[] = { { "grpc-timeout", "1S", 2 } };
	const lrpc_metadata upper[] = { { "X-Trace", "1", 1 } };
	lrpc_metadata over[] = { { "x-big", big, LRPC_METADATA_MAX - 32 } };
	lrpc_call_opts o = LRPC_CALL_OPTS_INIT;
	lrpc_channel *ch;
	lrpc_status st;
	char uri[300];
	lrpc_server *s = start(uri, sizeof(uri));

	memset(big, 'a', sizeof(big));
	ck_assert_int_eq(lrpc_channel_open(uri, NULL, &ch), 0);
	o.metadata = reserved;
	o.n_metadata = 1;
	ck_assert_int_eq(call(ch, 1, &o, &st), LRPC_INVALID_ARGUMENT);
	ck_assert_ptr_nonnull(strstr(st.message, "grpc-timeout"));
	o.metadata = upper;
	ck_assert_int_eq(call(ch, 1, &o, &st), LRPC_INVALID_ARGUMENT);
	o.metadata = over;
	ck_assert_int_eq(call(ch, 1, &o, &st), LRPC_RESOURCE_EXHAUSTED);
	/* Half the limit goes where it is carried. (Exactly at the limit,
	 * grpc:// answers RESOURCE_EXHAUSTED: its peer counts its own
	 * headers in the same budget.) */
	over[0].value_len = LRPC_METADATA_MAX / 2;
	ck_assert_int_eq(call(ch, 3, &o, &st),
			 carried() ? LRPC_OK : LRPC_UNIMPLEMENTED);
	/* Nothing refused broke the channel. */
	o.n_metadata = 0;
	ck_assert_int_eq(call(ch, 4, &o, &st), LRPC_OK);
	lrpc_channel_close(ch);
	lrpc_server_free(s);
}
END_TEST

H_MAIN("metadata", 60, metadata_round_trip, metadata_limits_and_reserved_keys)
