// SPDX-License-Identifier: MIT
/*
 * Client interceptors (channel.h): they run in order around every call a
 * channel makes (synchronous, asynchronous, streams), the afters in
 * reverse and also after a refusal; they see the method, the metadata
 * about to go, the code, the status and the duration; a before can add
 * request metadata that reaches the handler, and can refuse a call,
 * which then never leaves the client. The chain is fixed at the first
 * call.
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

#define M_ECHO (&lrpctest__probe__service_desc.methods[0])

static _Atomic int handled;
/* What the handler saw of x-trace; under lock. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char seen_trace[64];

static lrpc_code echo(void *user, lrpc_call *call, const Lrpctest__EchoMsg *req,
		      Lrpctest__EchoMsg *rep)
{
	const lrpc_metadata *t = lrpc_call_metadata_get(call, "x-trace");

	(void)user;
	atomic_fetch_add(&handled, 1);
	pthread_mutex_lock(&lock);
	snprintf(seen_trace, sizeof(seen_trace), "%s", t ? (const char *)t->value : "");
	pthread_mutex_unlock(&lock);
	rep->seq = req->seq;
	if (req->seq == 404) {
		lrpc_call_set_message(call, "no such thing");
		return LRPC_NOT_FOUND;
	}
	return LRPC_OK;
}

static lrpc_server *start(char *uri, size_t len)
{
	static const Lrpctest__Probe_Handlers h = { .echo = echo };

	return h_server_start(uri, len, "cicpt", &h);
}

/* What the interceptors saw. Synchronous calls and streams run them on
 * the test's thread, async ones on the cq's (the test's too). */
struct seen {
	char trace[256]; /* "A<", "B<", "B>", "A>" in order */
	lrpc_code code;
	char message[LRPC_STATUS_MSG_MAX];
	char method[128];
	int stream;
	int64_t ns;
	size_t n_md_at_b; /* what B's before saw about to go */
	char md_key_at_b[32];
	int refuse; /* B refuses the next call with PERMISSION_DENIED */
	int add;    /* A adds x-trace (where the call can carry it) */
};

static struct seen seen;

static lrpc_code before(void *arg, const lrpc_client_call_info *info,
			lrpc_metadata_list *add, lrpc_status *why)
{
	const char *who = arg;

	snprintf(seen.trace + strlen(seen.trace), sizeof(seen.trace) - strlen(seen.trace),
		 "%s<", who);
	if (*who == 'A' && seen.add && add)
		ck_assert_int_eq(lrpc_metadata_list_add(add, "x-trace", "t-1", 3), 0);
	if (*who == 'B') {
		seen.n_md_at_b = info->n_metadata;
		snprintf(seen.md_key_at_b, sizeof(seen.md_key_at_b), "%s",
			 info->n_metadata ? info->metadata[0].key : "");
		if (seen.refuse) {
			seen.refuse = 0;
			snprintf(why->message, sizeof(why->message), "B says no");
			return LRPC_PERMISSION_DENIED;
		}
	}
	return LRPC_OK;
}

static void after(void *arg, const lrpc_client_call_info *info, lrpc_code code,
		  const lrpc_status *st, int64_t ns)
{
	const char *who = arg;

	snprintf(seen.trace + strlen(seen.trace), sizeof(seen.trace) - strlen(seen.trace),
		 "%s>", who);
	if (*who == 'A') {
		seen.code = code;
		seen.ns = ns;
		seen.stream = info->stream;
		snprintf(seen.message, sizeof(seen.message), "%s", st->message);
		snprintf(seen.method, sizeof(seen.method), "%s",
			 info->method ? info->method : "(raw)");
	}
}

static const lrpc_client_interceptor ia = { .before = before, .after = after, .arg = "A" };
static const lrpc_client_interceptor ib = { .before = before, .after = after, .arg = "B" };

static lrpc_channel *open_intercepted(const char *uri)
{
	lrpc_channel *ch;

	ck_assert_int_eq(lrpc_channel_open(uri, NULL, &ch), 0);
	ck_assert_int_eq(lrpc_channel_add_interceptor(ch, &ia), 0);
	ck_assert_int_eq(lrpc_channel_add_interceptor(ch, &ib), 0);
	memset(&seen, 0, sizeof(seen));
	return ch;
}

START_TEST(the_chain_is_checked_and_fixed_at_the_first_call)
{
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT, *rep;
	const lrpc_client_interceptor none = { 0 };
	lrpc_channel *ch;
	lrpc_status st;
	char uri[300];
	lrpc_server *s = start(uri, sizeof(uri));

	ck_assert_int_eq(lrpc_channel_open(uri, NULL, &ch), 0);
	ck_assert_int_eq(lrpc_channel_add_interceptor(NULL, &ia), -EINVAL);
	ck_assert_int_eq(lrpc_channel_add_interceptor(ch, NULL), -EINVAL);
	ck_assert_int_eq(lrpc_channel_add_interceptor(ch, &none), -EINVAL);
	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(lrpc_channel_add_interceptor(ch, &ia), 0);
	ck_assert_int_eq(lrpc_channel_add_interceptor(ch, &ia), -ENOSPC);
	lrpc_channel_close(ch);

	ck_assert_int_eq(lrpc_channel_open(uri, NULL, &ch), 0);
	ck_assert_int_eq(lrpctest__probe__echo__call(ch, &req, &rep, 0, &st), LRPC_OK);
	lrpctest__echo_msg__free_unpacked(rep, NULL);
	ck_assert_int_eq(lrpc_channel_add_interceptor(ch, &ia), -EBUSY);
	ck_assert_int_eq(lrpc_metadata_list_add(NULL, "k", "v", 1), -EINVAL);
	lrpc_channel_close(ch);
	lrpc_server_free(s);
}
END_TEST

START_TEST(interceptors_wrap_unary_calls_and_add_metadata)
{
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT, *rep = NULL;
	lrpc_status st;
	char uri[300], out[8];
	size_t out_len;
	lrpc_server *s = start(uri, sizeof(uri));
	lrpc_channel *ch = open_intercepted(uri);
	lrpc_code code;

	seen.add = 1;
	req.seq = 7;
	code = lrpctest__probe__echo__call(ch, &req, &rep, 0, &st);
	ck_assert_str_eq(seen.trace, "A<B<B>A>");
	/* B saw A's entry about to go. */
	ck_assert_uint_eq(seen.n_md_at_b, 1);
	ck_assert_str_eq(seen.md_key_at_b, "x-trace");
	ck_assert_str_eq(seen.method, "/lrpctest.Probe/Echo");
	ck_assert_int_eq(seen.stream, 0);
	ck_assert_int_ge(seen.ns, 0);
	ck_assert_int_eq(seen.code, code);
	ck_assert_int_eq(code, LRPC_OK);
	ck_assert_uint_eq(rep->seq, 7);
	lrpctest__echo_msg__free_unpacked(rep, NULL);
	pthread_mutex_lock(&lock);
	ck_assert_str_eq(seen_trace, "t-1");
	pthread_mutex_unlock(&lock);

	/* A handler's error reaches the afters with its message. */
	seen.add = 0;
	seen.trace[0] = '\0';
	req.seq = 404;
	ck_assert_int_eq(lrpctest__probe__echo__call(ch, &req, &rep, 0, &st), LRPC_NOT_FOUND);
	ck_assert_str_eq(seen.trace, "A<B<B>A>");
	ck_assert_int_eq(seen.code, LRPC_NOT_FOUND);
	ck_assert_str_eq(seen.message, "no such thing");
	ck_assert_uint_eq(seen.n_md_at_b, 0);

	/* A raw call by id (grpc:// needs names): no method name to show. */
	seen.trace[0] = '\0';
	if (strcmp(h_transport(), "grpc")) {
		ck_assert_int_eq(lrpc_channel_call_raw(ch, M_ECHO->id, NULL, 0, out, sizeof(out),
						       &out_len, 0, NULL),
				 LRPC_OK);
		ck_assert_str_eq(seen.trace, "A<B<B>A>");
		ck_assert_str_eq(seen.method, "(raw)");
	}
	lrpc_channel_close(ch);
	lrpc_server_free(s);
}
END_TEST

START_TEST(a_refusal_sends_nothing_and_still_runs_the_afters)
{
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT, *rep = NULL;
	lrpc_status st;
	char uri[300];
	lrpc_server *s = start(uri, sizeof(uri));
	lrpc_channel *ch = open_intercepted(uri);
	int before_calls = atomic_load(&handled);

	seen.refuse = 1;
	ck_assert_int_eq(lrpctest__probe__echo__call(ch, &req, &rep, 0, &st),
			 LRPC_PERMISSION_DENIED);
	ck_assert_ptr_null(rep);
	ck_assert_str_eq(st.message, "B says no");
	ck_assert_str_eq(seen.trace, "A<B<B>A>");
	ck_assert_int_eq(seen.code, LRPC_PERMISSION_DENIED);
	ck_assert_int_eq(atomic_load(&handled), before_calls);
	/* The next one goes through. */
	ck_assert_int_eq(lrpctest__probe__echo__call(ch, &req, &rep, 0, &st), LRPC_OK);
	lrpctest__echo_msg__free_unpacked(rep, NULL);
	ck_assert_int_eq(atomic_load(&handled), before_calls + 1);
	lrpc_channel_close(ch);
	lrpc_server_free(s);
}
END_TEST

static void on_reply(void *arg, lrpc_code code, ProtobufCMessage *rep,
		     const lrpc_status *st, lrpc_async *h)
{
	lrpc_code *out = arg;

	(void)st, (void)h;
	/* The afters ran before the callback. */
	ck_assert_ptr_nonnull(strstr(seen.trace, "A>"));
	*out = code;
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
}

START_TEST(interceptors_wrap_async_calls)
{
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT;
	lrpc_code got = LRPC_UNKNOWN;
	lrpc_cq *cq;
	char uri[300];
	lrpc_server *s = start(uri, sizeof(uri));
	lrpc_channel *ch = open_intercepted(uri);

	ck_assert_int_eq(lrpc_cq_new(&cq), 0);
	seen.add = 1; /* asynchronous calls carry no metadata: add is NULL */
	req.seq = 404;
	ck_assert_int_eq(lrpc_channel_call_async(ch, M_ECHO, &req.base, 0, cq, on_reply, &got,
						 NULL),
			 0);
	ck_assert_str_eq(seen.trace, "A<B<");
	ck_assert_uint_eq(seen.n_md_at_b, 0);
	while (got == LRPC_UNKNOWN)
		ck_assert_int_ge(lrpc_cq_run(cq, lrpc_deadline_after_ms(10000), 1), 0);
	ck_assert_int_eq(got, LRPC_NOT_FOUND);
	ck_assert_str_eq(seen.trace, "A<B<B>A>");
	ck_assert_str_eq(seen.message, "no such thing");

	/* A refused one fails through its callback, unsent. */
	seen.trace[0] = '\0';
	seen.refuse = 1;
	got = LRPC_UNKNOWN;
	ck_assert_int_eq(lrpc_channel_call_async(ch, M_ECHO, &req.base, 0, cq, on_reply, &got,
						 NULL),
			 0);
	while (got == LRPC_UNKNOWN)
		ck_assert_int_ge(lrpc_cq_run(cq, lrpc_deadline_after_ms(10000), 1), 0);
	ck_assert_int_eq(got, LRPC_PERMISSION_DENIED);
	ck_assert_str_eq(seen.trace, "A<B<B>A>");
	ck_assert_int_eq(lrpc_cq_free(cq), 0);
	lrpc_channel_close(ch);
	lrpc_server_free(s);
}
END_TEST

START_TEST(interceptors_wrap_streams_from_open_to_end)
{
	Lrpctest__EchoMsg m = LRPCTEST__ECHO_MSG__INIT;
	ProtobufCMessage *got;
	lrpc_stream *str;
	lrpc_status st;
	char uri[300];
	lrpc_server *s = start(uri, sizeof(uri));
	lrpc_channel *ch = open_intercepted(uri);

	/* Streams carry metadata on every transport (lrpc:// since 0.6.0). */
	seen.add = 1;
	ck_assert_int_eq(lrpc_stream_open(ch, lrpctest_streams_echo, 0, &str, &st), LRPC_OK);
	ck_assert_str_eq(seen.trace, "A<B<");
	ck_assert_uint_eq(seen.n_md_at_b, 1);
	seen.add = 0;
	m.seq = 1;
	ck_assert_int_eq(lrpc_stream_write(str, &m.base, &st), LRPC_OK);
	ck_assert_int_eq(lrpc_stream_read(str, &got, &st), LRPC_OK);
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(seen.trace, "A<B<");
	ck_assert_int_eq(lrpc_stream_close_send(str, &st), LRPC_OK);
	ck_assert_int_eq(lrpc_stream_read(str, &got, &st), LRPC_OK);
	ck_assert_ptr_null(got);
	/* The end ran the afters, once. */
	ck_assert_str_eq(seen.trace, "A<B<B>A>");
	ck_assert_int_eq(seen.stream, 1);
	ck_assert_int_eq(seen.code, LRPC_OK);
	ck_assert_str_eq(seen.method, lrpctest_streams_echo->full_name);
	lrpc_stream_free(str);
	ck_assert_str_eq(seen.trace, "A<B<B>A>");

	/* A stream freed before its end ends CANCELLED for the afters. */
	seen.trace[0] = '\0';
	ck_assert_int_eq(lrpc_stream_open(ch, lrpctest_streams_echo, 0, &str, &st), LRPC_OK);
	lrpc_stream_free(str);
	ck_assert_str_eq(seen.trace, "A<B<B>A>");
	ck_assert_int_eq(seen.code, LRPC_CANCELLED);

	/* A refused one never opens. */
	seen.trace[0] = '\0';
	seen.refuse = 1;
	ck_assert_int_eq(lrpc_stream_open(ch, lrpctest_streams_echo, 0, &str, &st),
			 LRPC_PERMISSION_DENIED);
	ck_assert_ptr_null(str);
	ck_assert_str_eq(st.message, "B says no");
	ck_assert_str_eq(seen.trace, "A<B<B>A>");
	lrpc_channel_close(ch);
	lrpc_server_free(s);
}
END_TEST

H_MAIN("client_interceptors", 60, the_chain_is_checked_and_fixed_at_the_first_call,
       interceptors_wrap_unary_calls_and_add_metadata,
       a_refusal_sends_nothing_and_still_runs_the_afters, interceptors_wrap_async_calls,
       interceptors_wrap_streams_from_open_to_end)
