// SPDX-License-Identifier: MIT
/*
 * Asynchronous unary calls with call options (lrpc_channel_call_async_opts),
 * on the transport under test: request metadata (a -bin value too) reaches
 * the handler, response headers and trailers are in the caller's lists
 * when the callback runs (trailers on an error status too); a set over
 * LRPC_METADATA_MAX or with a reserved key fails in the callback with
 * nothing sent, and the calls beside it keep theirs; 1,000 calls in flight
 * from one thread each get their own metadata back; a cancelled or expired
 * call leaves its lists empty and frees what it held (the ASan build finds
 * leaks); what a client interceptor adds is sent too.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lazyrpc/async.h>

#include "harness.h"
#include "probe.lrpc.h"
#include "streams.h"

#define M_ECHO (&lrpctest__probe__service_desc.methods[0])
#define SEQ_FAIL 13
#define SEQ_HOLD 99 /* the handler waits for release() */

static const unsigned char blob[] = { 0, 1, 0xff, '\n', 0x80, 0 };
static _Atomic int handled;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int held;      /* handlers waiting in SEQ_HOLD */
static bool released; /* they may return */

/* Wait (under lock) until \p pred holds or 30 s pass: real events only,
 * the bound is a safety net. */
static bool wait_until(bool (*pred)(void))
{
	struct timespec ts;
	bool ok;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 30;
	pthread_mutex_lock(&lock);
	while (!pred())
		if (pthread_cond_timedwait(&cond, &lock, &ts))
			break;
	ok = pred();
	pthread_mutex_unlock(&lock);
	return ok;
}

static bool is_released(void)
{
	return released;
}

static int want_held;
static bool enough_held(void)
{
	return held >= want_held;
}

static void release(void)
{
	pthread_mutex_lock(&lock);
	released = true;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

static lrpc_code echo(void *user, lrpc_call *call, const Lrpctest__EchoMsg *req,
		      Lrpctest__EchoMsg *rep)
{
	(void)user;
	atomic_fetch_add(&handled, 1);
	rep->seq = req->seq;
	if (h_echo_metadata(call))
		return LRPC_INTERNAL;
	if (req->seq == SEQ_HOLD) {
		pthread_mutex_lock(&lock);
		held++;
		pthread_cond_broadcast(&cond);
		pthread_mutex_unlock(&lock);
		wait_until(is_released);
	}
	if (req->seq == SEQ_FAIL) {
		lrpc_call_set_message(call, "thirteen");
		return LRPC_NOT_FOUND;
	}
	return LRPC_OK;
}

static lrpc_server *start(char *uri, size_t len)
{
	static const Lrpctest__Probe_Handlers h = { .echo = echo };

	return h_server_start(uri, len, "amd", &h);
}

/* One call's slot: what it sent and what its callback saw. */
struct slot {
	uint64_t seq;
	char trace[32];
	lrpc_metadata md[2];
	lrpc_call_opts o;
	int done;
	lrpc_code code;
	char message[LRPC_STATUS_MSG_MAX];
	/* read in the callback */
	char hdr_echo[32];
	size_t n_headers, n_trailers;
	bool blob_ok;
};

static int outstanding;

static void on_reply(void *arg, lrpc_code code, ProtobufCMessage *rep,
		     const lrpc_status *st, lrpc_async *handle)
{
	struct slot *s = arg;
	const lrpc_metadata *e;

	(void)handle;
	s->done++;
	s->code = code;
	snprintf(s->message, sizeof(s->message), "%s", st->message);
	if (rep) {
		ck_assert_uint_eq(((Lrpctest__EchoMsg *)rep)->seq, s->seq);
		protobuf_c_message_free_unpacked(rep, NULL);
	}
	/* The lists are complete once the callback runs. */
	s->n_headers = lrpc_metadata_list_get(s->o.headers, NULL);
	s->n_trailers = lrpc_metadata_list_get(s->o.trailers, NULL);
	e = lrpc_metadata_list_find(s->o.headers, "x-trace-echo");
	if (e)
		snprintf(s->hdr_echo, sizeof(s->hdr_echo), "%.*s", (int)e->value_len,
			 (const char *)e->value);
	e = lrpc_metadata_list_find(s->o.trailers, "x-blob-echo-bin");
	s->blob_ok = e && e->value_len == sizeof(blob) &&
		     !memcmp(e->value, blob, sizeof(blob));
	outstanding--;
}

/* Give \p s a trace of its own, a -bin entry, and fresh lists. */
static void slot_init(struct slot *s, uint64_t seq)
{
	memset(s, 0, sizeof(*s));
	s->seq = seq;
	snprintf(s->trace, sizeof(s->trace), "trace-%llu", (unsigned long long)seq);
	s->md[0] = (lrpc_metadata){ "x-trace", s->trace, strlen(s->trace) };
	s->md[1] = (lrpc_metadata){ "x-blob-bin", blob, sizeof(blob) };
	s->o.metadata = s->md;
	s->o.n_metadata = 2;
	ck_assert_int_eq(lrpc_metadata_list_new(&s->o.headers), 0);
	ck_assert_int_eq(lrpc_metadata_list_new(&s->o.trailers), 0);
}

static void slot_free(struct slot *s)
{
	lrpc_metadata_list_free(s->o.headers);
	lrpc_metadata_list_free(s->o.trailers);
}

static void start_call(lrpc_channel *ch, lrpc_cq *cq, struct slot *s,
		       lrpc_deadline d, lrpc_async **handle)
{
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT;

	req.seq = s->seq;
	ck_assert_int_eq(lrpc_channel_call_async_opts(ch, M_ECHO, &req.base, d, &s->o, cq,
						      on_reply, s, handle),
			 0);
	outstanding++;
}

static void finish(lrpc_cq *cq, lrpc_channel *ch, lrpc_server *s)
{
	ck_assert_int_eq(lrpc_cq_free(cq), 0);
	lrpc_channel_close(ch); /* joins the pool: its calls have returned */
	lrpc_server_free(s);
}

static void run_all(lrpc_cq *cq)
{
	while (outstanding > 0)
		ck_assert_int_ge(lrpc_cq_run(cq, lrpc_deadline_after_ms(60000), 0), 0);
}

START_TEST(metadata_round_trip_async)
{
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT;
	struct slot ok, fail, plain = { .seq = 5 };
	lrpc_channel *ch;
	lrpc_cq *cq;
	char uri[300];
	lrpc_server *s = start(uri, sizeof(uri));

	ck_assert_int_eq(lrpc_channel_open(uri, NULL, &ch), 0);
	ck_assert_int_eq(lrpc_cq_new(&cq), 0);
	slot_init(&ok, 7);
	slot_init(&fail, SEQ_FAIL);
	/* The caller's array and strings may go once the start returns. */
	start_call(ch, cq, &ok, 0, NULL);
	memset(ok.md, 0, sizeof(ok.md));
	strcpy(ok.trace, "overwritten");
	start_call(ch, cq, &fail, 0, NULL);
	/* NULL opts: lrpc_channel_call_async() itself. */
	req.seq = plain.seq;
	ck_assert_int_eq(lrpc_channel_call_async_opts(ch, M_ECHO, &req.base, 0, NULL, cq,
						      on_reply, &plain, NULL),
			 0);
	outstanding++;
	run_all(cq);

	ck_assert_int_eq(ok.done, 1);
	ck_assert_int_eq(ok.code, LRPC_OK);
	ck_assert_str_eq(ok.hdr_echo, "trace-7");
	ck_assert(ok.blob_ok);
	ck_assert_uint_eq(ok.n_trailers, 2); /* x-blob-echo-bin, x-n */
	/* After the callback too, until the caller frees them. */
	ck_assert_ptr_nonnull(lrpc_metadata_list_find(ok.o.trailers, "x-n"));
	/* An error status brings its trailers as well (grpc:// answers it
	 * Trailers-Only, where the headers are trailers too). */
	ck_assert_int_eq(fail.done, 1);
	ck_assert_int_eq(fail.code, LRPC_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(fail.message, "thirteen"));
	ck_assert_ptr_nonnull(lrpc_metadata_list_find(fail.o.trailers, "x-n"));
	ck_assert(fail.blob_ok);
	ck_assert_int_eq(plain.done, 1);
	ck_assert_int_eq(plain.code, LRPC_OK);
	ck_assert_int_eq(atomic_load(&handled), 3);

	/* Bad arguments: -EINVAL, no callback. */
	ck_assert_int_eq(lrpc_channel_call_async_opts(NULL, M_ECHO, &req.base, 0, &ok.o, cq,
						      on_reply, &ok, NULL),
			 -EINVAL);
	ck_assert_int_eq(lrpc_channel_call_async_opts(ch, M_ECHO, &req.base, 0, &ok.o, NULL,
						      on_reply, &ok, NULL),
			 -EINVAL);
	ck_assert_int_eq(lrpc_cq_run(cq, 0, 0), 0);
	slot_free(&ok);
	slot_free(&fail);
	finish(cq, ch, s);
}
END_TEST

START_TEST(an_oversized_set_fails_alone_and_clearly)
{
	static char big[LRPC_METADATA_MAX];
	struct slot over, reserved, beside;
	lrpc_channel *ch;
	lrpc_cq *cq;
	char uri[300];
	lrpc_server *s = start(uri, sizeof(uri));

	memset(big, 'a', sizeof(big));
	ck_assert_int_eq(lrpc_channel_open(uri, NULL, &ch), 0);
	ck_assert_int_eq(lrpc_cq_new(&cq), 0);
	slot_init(&over, 1);
	over.md[1] = (lrpc_metadata){ "x-big", big, sizeof(big) };
	/* Stale entries in the lists: cleared at the start. */
	ck_assert_int_eq(lrpc_metadata_list_add(over.o.headers, "stale", "1", 1), 0);
	slot_init(&reserved, 2);
	reserved.md[1] = (lrpc_metadata){ "grpc-timeout", "1S", 2 };
	slot_init(&beside, 3);
	start_call(ch, cq, &over, 0, NULL);
	start_call(ch, cq, &reserved, 0, NULL);
	start_call(ch, cq, &beside, 0, NULL);
	ck_assert_uint_eq(lrpc_metadata_list_get(over.o.headers, NULL), 0);
	run_all(cq);

	ck_assert_int_eq(over.done, 1);
	ck_assert_int_eq(over.code, LRPC_RESOURCE_EXHAUSTED);
	ck_assert_msg(strstr(over.message, "exceeds 8192"), "%s", over.message);
	ck_assert_uint_eq(over.n_headers, 0);
	ck_assert_uint_eq(over.n_trailers, 0);
	ck_assert_int_eq(reserved.code, LRPC_INVALID_ARGUMENT);
	ck_assert_msg(strstr(reserved.message, "grpc-timeout"), "%s", reserved.message);
	/* Nothing of either was sent; the call beside them kept all of its. */
	ck_assert_int_eq(beside.code, LRPC_OK);
	ck_assert_str_eq(beside.hdr_echo, "trace-3");
	ck_assert(beside.blob_ok);
	ck_assert_int_eq(atomic_load(&handled), 1);
	slot_free(&over);
	slot_free(&reserved);
	slot_free(&beside);
	finish(cq, ch, s);
}
END_TEST

START_TEST(a_thousand_in_flight_each_with_its_own)
{
	enum { N = 1000 };
	struct slot *v = calloc(N, sizeof(*v));
	lrpc_channel *ch;
	lrpc_cq *cq;
	char uri[300];
	lrpc_server *s = start(uri, sizeof(uri));

	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(lrpc_channel_open(uri, NULL, &ch), 0);
	ck_assert_int_eq(lrpc_cq_new(&cq), 0);
	for (int i = 0; i < N; i++) {
		slot_init(&v[i], 1000 + (uint64_t)i);
		start_call(ch, cq, &v[i], lrpc_deadline_after_ms(120000), NULL);
	}
	run_all(cq);
	for (int i = 0; i < N; i++) {
		char want[32];

		snprintf(want, sizeof(want), "trace-%d", 1000 + i);
		ck_assert_int_eq(v[i].done, 1);
		ck_assert_msg(v[i].code == LRPC_OK, "%d: %s", i, v[i].message);
		ck_assert_str_eq(v[i].hdr_echo, want);
		ck_assert(v[i].blob_ok);
		ck_assert_uint_eq(v[i].n_headers, 1);
		slot_free(&v[i]);
	}
	ck_assert_int_eq(atomic_load(&handled), N);
	free(v);
	finish(cq, ch, s);
}
END_TEST

START_TEST(cancel_and_deadline_leave_the_lists_empty)
{
	struct slot cancelled, expired;
	lrpc_async *handle;
	lrpc_channel *ch;
	lrpc_cq *cq;
	char uri[300];
	lrpc_server *s = start(uri, sizeof(uri));

	ck_assert_int_eq(lrpc_channel_open(uri, NULL, &ch), 0);
	ck_assert_int_eq(lrpc_cq_new(&cq), 0);
	slot_init(&cancelled, SEQ_HOLD);
	slot_init(&expired, SEQ_HOLD);
	start_call(ch, cq, &cancelled, lrpc_deadline_after_ms(60000), &handle);
	/* In the handler, so in flight with its metadata. */
	want_held = 1;
	ck_assert(wait_until(enough_held));
	lrpc_async_cancel(handle);
	ck_assert_int_eq(lrpc_cq_run(cq, lrpc_deadline_after_ms(10000), 0), 1);
	ck_assert_int_eq(cancelled.code, LRPC_CANCELLED);
	ck_assert_uint_eq(cancelled.n_headers + cancelled.n_trailers, 0);

	start_call(ch, cq, &expired, lrpc_deadline_after_ms(300), NULL);
	want_held = 2;
	ck_assert(wait_until(enough_held));
	run_all(cq);
	ck_assert_int_eq(expired.code, LRPC_DEADLINE_EXCEEDED);
	ck_assert_uint_eq(expired.n_headers + expired.n_trailers, 0);

	/* The handlers' answers come after their calls ended: dropped, and
	 * nothing touches the lists the caller now frees. */
	slot_free(&cancelled);
	slot_free(&expired);
	release();
	finish(cq, ch, s);
}
END_TEST

/* A synchronous call with lists, then the lists freed, then an
 * asynchronous call without options on the call context it used: that
 * one must neither send the old metadata nor fill the freed lists (the
 * ASan build saw it write them). */
START_TEST(no_stale_metadata_after_a_synchronous_call)
{
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT, *rep = NULL;
	struct slot sync, plain = { .seq = 9 };
	lrpc_channel *ch;
	lrpc_cq *cq;
	char uri[300];
	lrpc_server *s = start(uri, sizeof(uri));

	ck_assert_int_eq(lrpc_channel_open(uri, NULL, &ch), 0);
	ck_assert_int_eq(lrpc_cq_new(&cq), 0);
	slot_init(&sync, 4);
	req.seq = 4;
	ck_assert_int_eq(lrpc_channel_call_opts(ch, M_ECHO, &req.base, (ProtobufCMessage **)&rep,
						0, &sync.o, NULL),
			 LRPC_OK);
	lrpctest__echo_msg__free_unpacked(rep, NULL);
	ck_assert_uint_eq(lrpc_metadata_list_get(sync.o.headers, NULL), 1);
	slot_free(&sync);
	req.seq = plain.seq;
	ck_assert_int_eq(lrpc_channel_call_async(ch, M_ECHO, &req.base, 0, cq, on_reply, &plain,
						 NULL),
			 0);
	outstanding++;
	run_all(cq);
	ck_assert_int_eq(plain.code, LRPC_OK);
	finish(cq, ch, s);
}
END_TEST

static lrpc_code add_trace(void *arg, const lrpc_client_call_info *info,
			   lrpc_metadata_list *add, lrpc_status *why)
{
	(void)arg, (void)info, (void)why;
	ck_assert_ptr_nonnull(add); /* a call with options carries metadata */
	ck_assert_int_eq(lrpc_metadata_list_add(add, "x-trace", "from-ic", 7), 0);
	return LRPC_OK;
}

START_TEST(interceptors_add_to_an_async_call)
{
	static const lrpc_client_interceptor ic = { .before = add_trace };
	struct slot sl;
	lrpc_channel *ch;
	lrpc_cq *cq;
	char uri[300];
	lrpc_server *s = start(uri, sizeof(uri));

	ck_assert_int_eq(lrpc_channel_open(uri, NULL, &ch), 0);
	ck_assert_int_eq(lrpc_channel_add_interceptor(ch, &ic), 0);
	ck_assert_int_eq(lrpc_cq_new(&cq), 0);
	slot_init(&sl, 8);
	sl.o.n_metadata = 0; /* only what the interceptor adds */
	start_call(ch, cq, &sl, 0, NULL);
	run_all(cq);
	ck_assert_int_eq(sl.code, LRPC_OK);
	ck_assert_str_eq(sl.hdr_echo, "from-ic");
	slot_free(&sl);
	finish(cq, ch, s);
}
END_TEST

H_MAIN("async_metadata", 240, metadata_round_trip_async,
	   an_oversized_set_fails_alone_and_clearly, a_thousand_in_flight_each_with_its_own,
	   cancel_and_deadline_leave_the_lists_empty, no_stale_metadata_after_a_synchronous_call,
	   interceptors_add_to_an_async_call)
