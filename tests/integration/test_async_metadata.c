// SPDX-License-Identifier: MIT
/*
 * Asynchronous unary calls with call options (lrpc_channel_call_async_opts),
 * on the transport under test: request metadata (a -bin value too) reaches
 * the handler, response headers and trailers are in the caller's lists
 * when the callback runs (trailers on an error status too); a set over
 * LRPC_METADATA_MAX or with a reserved key fails in the callback with
 * nothing sent, and the calls beside it keep theirs; a cancelled or
 * expired call leaves its lists empty and frees what it held (the ASan
 * build finds leaks); what a client interceptor adds is sent too. (1,000
 * in flight, and cancels reaching the handler: test_async_md_native.c.)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "async_md_calls.h"
#include "probe.lrpc.h"

#define M_ECHO (&lrpctest__probe__service_desc.methods[0])

static lrpc_server *start(char *uri, size_t len)
{
	return amd_start(uri, len, NULL);
}

START_TEST(metadata_round_trip_async)
{
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT;
	struct amd_slot ok, fail, plain = { .seq = 5 };
	lrpc_channel *ch;
	lrpc_cq *cq;
	char uri[300];
	lrpc_server *s = start(uri, sizeof(uri));

	ck_assert_int_eq(lrpc_channel_open(uri, NULL, &ch), 0);
	ck_assert_int_eq(lrpc_cq_new(&cq), 0);
	amd_slot_init(&ok, 7);
	amd_slot_init(&fail, AMD_SEQ_FAIL);
	/* The caller's array and strings may go once the start returns. */
	amd_call(ch, cq, &ok, 0, NULL);
	memset(ok.md, 0, sizeof(ok.md));
	strcpy(ok.trace, "overwritten");
	amd_call(ch, cq, &fail, 0, NULL);
	/* NULL opts: lrpc_channel_call_async() itself. */
	req.seq = plain.seq;
	ck_assert_int_eq(lrpc_channel_call_async_opts(ch, M_ECHO, &req.base, 0, NULL, cq,
						      amd_on_reply, &plain, NULL),
			 0);
	amd_outstanding++;
	amd_run_all(cq);

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
	ck_assert_int_eq(atomic_load(&amd_handled), 3);

	/* Bad arguments: -EINVAL, no callback. */
	ck_assert_int_eq(lrpc_channel_call_async_opts(NULL, M_ECHO, &req.base, 0, &ok.o, cq,
						      amd_on_reply, &ok, NULL),
			 -EINVAL);
	ck_assert_int_eq(lrpc_channel_call_async_opts(ch, M_ECHO, &req.base, 0, &ok.o, NULL,
						      amd_on_reply, &ok, NULL),
			 -EINVAL);
	ck_assert_int_eq(lrpc_cq_run(cq, 0, 0), 0);
	amd_slot_free(&ok);
	amd_slot_free(&fail);
	amd_finish(cq, ch, s);
}
END_TEST

START_TEST(an_oversized_set_fails_alone_and_clearly)
{
	static char big[LRPC_METADATA_MAX];
	struct amd_slot over, reserved, beside;
	lrpc_channel *ch;
	lrpc_cq *cq;
	char uri[300];
	lrpc_server *s = start(uri, sizeof(uri));

	memset(big, 'a', sizeof(big));
	ck_assert_int_eq(lrpc_channel_open(uri, NULL, &ch), 0);
	ck_assert_int_eq(lrpc_cq_new(&cq), 0);
	amd_slot_init(&over, 1);
	over.md[1] = (lrpc_metadata){ "x-big", big, sizeof(big) };
	/* Stale entries in the lists: cleared at the start. */
	ck_assert_int_eq(lrpc_metadata_list_add(over.o.headers, "stale", "1", 1), 0);
	amd_slot_init(&reserved, 2);
	reserved.md[1] = (lrpc_metadata){ "grpc-timeout", "1S", 2 };
	amd_slot_init(&beside, 3);
	amd_call(ch, cq, &over, 0, NULL);
	amd_call(ch, cq, &reserved, 0, NULL);
	amd_call(ch, cq, &beside, 0, NULL);
	ck_assert_uint_eq(lrpc_metadata_list_get(over.o.headers, NULL), 0);
	amd_run_all(cq);

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
	ck_assert_int_eq(atomic_load(&amd_handled), 1);
	amd_slot_free(&over);
	amd_slot_free(&reserved);
	amd_slot_free(&beside);
	amd_finish(cq, ch, s);
}
END_TEST

START_TEST(cancel_and_deadline_leave_the_lists_empty)
{
	struct amd_slot cancelled, expired;
	lrpc_async *handle;
	lrpc_channel *ch;
	lrpc_cq *cq;
	char uri[300];
	lrpc_server *s = start(uri, sizeof(uri));

	ck_assert_int_eq(lrpc_channel_open(uri, NULL, &ch), 0);
	ck_assert_int_eq(lrpc_cq_new(&cq), 0);
	amd_slot_init(&cancelled, AMD_SEQ_HOLD);
	amd_slot_init(&expired, AMD_SEQ_HOLD);
	amd_call(ch, cq, &cancelled, lrpc_deadline_after_ms(60000), &handle);
	/* In the handler, so in flight with its metadata. */
	ck_assert(amd_wait_held(1));
	lrpc_async_cancel(handle);
	ck_assert_int_eq(lrpc_cq_run(cq, lrpc_deadline_after_ms(10000), 0), 1);
	ck_assert_int_eq(cancelled.code, LRPC_CANCELLED);
	ck_assert_uint_eq(cancelled.n_headers + cancelled.n_trailers, 0);

	amd_call(ch, cq, &expired, lrpc_deadline_after_ms(300), NULL);
	ck_assert(amd_wait_held(2));
	amd_run_all(cq);
	ck_assert_int_eq(expired.code, LRPC_DEADLINE_EXCEEDED);
	ck_assert_uint_eq(expired.n_headers + expired.n_trailers, 0);

	/* The handlers' answers come after their calls ended: dropped, and
	 * nothing touches the lists the caller now frees. */
	amd_slot_free(&cancelled);
	amd_slot_free(&expired);
	amd_release();
	amd_finish(cq, ch, s);
}
END_TEST

/* A synchronous call with lists, then the lists freed, then an
 * asynchronous call without options on the call context it used: that
 * one must neither send the old metadata nor fill the freed lists (the
 * ASan build saw it write them). */
START_TEST(no_stale_metadata_after_a_synchronous_call)
{
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT, *rep = NULL;
	struct amd_slot sync, plain = { .seq = 9 };
	lrpc_channel *ch;
	lrpc_cq *cq;
	char uri[300];
	lrpc_server *s = start(uri, sizeof(uri));

	ck_assert_int_eq(lrpc_channel_open(uri, NULL, &ch), 0);
	ck_assert_int_eq(lrpc_cq_new(&cq), 0);
	amd_slot_init(&sync, 4);
	req.seq = 4;
	ck_assert_int_eq(lrpc_channel_call_opts(ch, M_ECHO, &req.base, (ProtobufCMessage **)&rep,
						0, &sync.o, NULL),
			 LRPC_OK);
	lrpctest__echo_msg__free_unpacked(rep, NULL);
	ck_assert_uint_eq(lrpc_metadata_list_get(sync.o.headers, NULL), 1);
	amd_slot_free(&sync);
	req.seq = plain.seq;
	ck_assert_int_eq(lrpc_channel_call_async(ch, M_ECHO, &req.base, 0, cq, amd_on_reply, &plain,
						 NULL),
			 0);
	amd_outstanding++;
	amd_run_all(cq);
	ck_assert_int_eq(plain.code, LRPC_OK);
	amd_finish(cq, ch, s);
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
	struct amd_slot sl;
	lrpc_channel *ch;
	lrpc_cq *cq;
	char uri[300];
	lrpc_server *s = start(uri, sizeof(uri));

	ck_assert_int_eq(lrpc_channel_open(uri, NULL, &ch), 0);
	ck_assert_int_eq(lrpc_channel_add_interceptor(ch, &ic), 0);
	ck_assert_int_eq(lrpc_cq_new(&cq), 0);
	amd_slot_init(&sl, 8);
	sl.o.n_metadata = 0; /* only what the interceptor adds */
	amd_call(ch, cq, &sl, 0, NULL);
	amd_run_all(cq);
	ck_assert_int_eq(sl.code, LRPC_OK);
	ck_assert_str_eq(sl.hdr_echo, "from-ic");
	amd_slot_free(&sl);
	amd_finish(cq, ch, s);
}
END_TEST

H_MAIN("async_metadata", 240, metadata_round_trip_async,
	   an_oversized_set_fails_alone_and_clearly,
	   cancel_and_deadline_leave_the_lists_empty, no_stale_metadata_after_a_synchronous_call,
	   interceptors_add_to_an_async_call)
