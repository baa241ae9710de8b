/* SPDX-License-Identifier: MIT */
/*
 * Stand-ins for the runtime entry points the generated stubs call, so
 * that test_stubs can see exactly what a stub passed on, with no server or
 * channel. Built only with RPCGEN_TEST_STAND_INS (see meson.build); delete
 * this file to test against the real runtime instead.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lazyrpc/lazyrpc.h>

#include "stand_ins.h"

struct stand_in_log stand_in_log;

int lrpc_server_add_service(lrpc_server *srv, const lrpc_service_desc *desc,
			    const void *handlers, void *user)
{
	stand_in_log.srv = srv;
	stand_in_log.desc = desc;
	stand_in_log.handlers = handlers;
	stand_in_log.user = user;
	stand_in_log.add_calls++;
	return stand_in_log.add_ret;
}

/* Replies with stand_in_log.reply (ownership passes to the caller) on OK. */
lrpc_code lrpc_channel_call(lrpc_channel *ch, const lrpc_method_desc *method,
			    const ProtobufCMessage *req, ProtobufCMessage **rep,
			    lrpc_deadline deadline, lrpc_status *status)
{
	stand_in_log.ch = ch;
	stand_in_log.method = method;
	stand_in_log.req = req;
	stand_in_log.deadline = deadline;
	stand_in_log.status = status;
	stand_in_log.call_calls++;
	*rep = stand_in_log.call_ret == LRPC_OK ? stand_in_log.reply : NULL;
	return stand_in_log.call_ret;
}

/* Records what it was given; 0, as if the call started. */
int lrpc_channel_call_async(lrpc_channel *ch, const lrpc_method_desc *method,
			    const ProtobufCMessage *req, lrpc_deadline deadline,
			    lrpc_cq *cq, lrpc_call_cb cb, void *arg,
			    lrpc_async **handle)
{
	stand_in_log.ch = ch;
	stand_in_log.method = method;
	stand_in_log.req = req;
	stand_in_log.deadline = deadline;
	stand_in_log.cq = cq;
	stand_in_log.cb = cb;
	stand_in_log.arg = arg;
	stand_in_log.handle = handle;
	stand_in_log.async_calls++;
	return 0;
}

/* --- streams ----------------------------------------------------------- */

struct stand_in_stream stand_in_stream;

/* The one stream both fakes hand out; only its address is used. */
struct lrpc_stream {
	int unused;
};
static struct lrpc_stream the_stream;

#define MAX_CALL_ALLOCS 16
static void *call_allocs[MAX_CALL_ALLOCS];
static int n_call_allocs;

void stand_in_stream_reset(void)
{
	for (int i = 0; i < stand_in_stream.n_written; i++)
		free(stand_in_stream.written[i]);
	for (int i = 0; i < n_call_allocs; i++)
		free(call_allocs[i]);
	n_call_allocs = 0;
	memset(&stand_in_stream, 0, sizeof(stand_in_stream));
}

static lrpc_code record_write(const ProtobufCMessage *msg)
{
	struct stand_in_stream *s = &stand_in_stream;
	size_t len = protobuf_c_message_get_packed_size(msg);

	if (s->write_ret != LRPC_OK)
		return s->write_ret;
	if (s->n_written == STAND_IN_MAX_MSGS)
		return LRPC_RESOURCE_EXHAUSTED;
	s->written[s->n_written] = malloc(len ? len : 1);
	if (!s->written[s->n_written])
		return LRPC_RESOURCE_EXHAUSTED;
	protobuf_c_message_pack(msg, s->written[s->n_written]);
	s->written_len[s->n_written++] = len;
	return LRPC_OK;
}

static lrpc_code next_read(ProtobufCMessage **msg)
{
	struct stand_in_stream *s = &stand_in_stream;

	*msg = NULL;
	if (s->n_read < s->n_to_read) {
		*msg = s->to_read[s->n_read++];
		return LRPC_OK;
	}
	return s->end_code;
}

static void fill(lrpc_status *st, lrpc_code code)
{
	if (st) {
		st->code = code;
		snprintf(st->message, sizeof(st->message), "stand-in status %d", (int)code);
	}
}

lrpc_code lrpc_stream_open(lrpc_channel *ch, const lrpc_method_desc *method,
			   lrpc_deadline deadline, lrpc_stream **out, lrpc_status *st)
{
	stand_in_log.ch = ch;
	stand_in_stream.open_calls++;
	stand_in_stream.method = method;
	stand_in_stream.deadline = deadline;
	fill(st, stand_in_stream.open_ret);
	*out = stand_in_stream.open_ret == LRPC_OK ? &the_stream : NULL;
	return stand_in_stream.open_ret;
}

lrpc_code lrpc_stream_write(lrpc_stream *s, const ProtobufCMessage *msg, lrpc_status *st)
{
	lrpc_code code = s == &the_stream ? record_write(msg) : LRPC_INVALID_ARGUMENT;

	fill(st, code);
	return code;
}

lrpc_code lrpc_stream_close_send(lrpc_stream *s, lrpc_status *st)
{
	(void)s;
	stand_in_stream.close_send_calls++;
	fill(st, LRPC_OK);
	return LRPC_OK;
}

lrpc_code lrpc_stream_read(lrpc_stream *s, ProtobufCMessage **msg, lrpc_status *st)
{
	lrpc_code code = s == &the_stream ? next_read(msg) : LRPC_INVALID_ARGUMENT;

	fill(st, code);
	return code;
}

void lrpc_stream_cancel(lrpc_stream *s)
{
	(void)s;
	stand_in_stream.cancel_calls++;
}

void lrpc_stream_free(lrpc_stream *s)
{
	if (s)
		stand_in_stream.free_calls++;
}

lrpc_code lrpc_server_stream_read(lrpc_server_stream *s, ProtobufCMessage **msg)
{
	(void)s;
	return next_read(msg);
}

lrpc_code lrpc_server_stream_write(lrpc_server_stream *s, const ProtobufCMessage *msg)
{
	(void)s;
	return record_write(msg);
}

void *lrpc_call_alloc(lrpc_call *call, size_t size)
{
	(void)call;
	if (n_call_allocs == MAX_CALL_ALLOCS)
		return NULL;
	call_allocs[n_call_allocs] = calloc(1, size ? size : 1);
	return call_allocs[n_call_allocs++];
}

void lrpc_call_set_message(lrpc_call *call, const char *fmt, ...)
{
	va_list ap;

	(void)call;
	va_start(ap, fmt);
	vsnprintf(stand_in_stream.call_message, sizeof(stand_in_stream.call_message), fmt, ap);
	va_end(ap);
}
