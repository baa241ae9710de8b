// SPDX-License-Identifier: MIT
/*
 * The public client stream over any transport's stream: type checks,
 * encoding into the transport's window, decoding once from where a
 * message lies, and the rule that a stream, once ended, stays ended with
 * the same status.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lazyrpc/stream.h>

#include "client/call.h"
#include "client/intercept.h"
#include "client/metadata.h"
#include "client/pending.h"
#include "transport/transport.h"
#include "wire/pbdecode.h"

struct lrpc_stream {
	struct lrpc__cstream *t;
	lrpc_channel *ch;
	const lrpc_method_desc *method;
	struct lrpc__arena arena; /* the last message read */
	/* Set, after final, by the reading thread (or the free) once; the
	 * writing thread reads it, then final: release and acquire. */
	_Atomic bool ended;
	lrpc_status final; /* once ended */
	struct lrpc__cic *ic; /* through the client interceptors, or NULL */
};

/* The stream's end, for its interceptors' afters (once). */
static void intercepted_end(lrpc_stream *s)
{
	if (!s->ic)
		return;
	lrpc__cic_after(s->ic, s->final.code, &s->final);
	free(s->ic);
	s->ic = NULL;
}

static bool is_ended(lrpc_stream *s)
{
	return atomic_load_explicit(&s->ended, memory_order_acquire);
}

static lrpc_code ended(lrpc_stream *s, lrpc_status *st)
{
	if (st)
		*st = s->final;
	return s->final.code;
}

/* The transport reported the end: remember it for every later call. */
static lrpc_code end_with(lrpc_stream *s, lrpc_code code, lrpc_status *st)
{
	s->final.code = code;
	if (st)
		memcpy(s->final.message, st->message, sizeof(s->final.message));
	else
		s->final.message[0] = '\0';
	atomic_store_explicit(&s->ended, true, memory_order_release);
	intercepted_end(s);
	return code;
}

lrpc_code lrpc_stream_open(lrpc_channel *ch, const lrpc_method_desc *method,
			   lrpc_deadline deadline, lrpc_stream **out,
			   lrpc_status *st)
{
	return lrpc_stream_open_opts(ch, method, deadline, NULL, out, st);
}

/* The metadata of \p opts may go over \p ch's streams: checked as a
 * unary call's; the lists emptied. */
static lrpc_code opts_check(lrpc_channel *ch, const lrpc_call_opts *opts,
			    lrpc_status *st)
{
	lrpc_code code;

	if (!opts)
		return LRPC_OK;
	code = lrpc__md_check(opts->metadata, opts->n_metadata, st);
	if (code != LRPC_OK)
		return code;
	if (opts->n_metadata && !ch->ops->stream_metadata)
		return lrpc__status_fail(st, LRPC_UNIMPLEMENTED,
					 "stream metadata is not carried over %s yet",
					 lrpc_channel_handoff(ch));
	lrpc_metadata_list_clear(opts->headers);
	lrpc_metadata_list_clear(opts->trailers);
	return LRPC_OK;
}

lrpc_code lrpc_stream_open_opts(lrpc_channel *ch, const lrpc_method_desc *method,
				lrpc_deadline deadline, const lrpc_call_opts *opts,
				lrpc_stream **out, lrpc_status *st)
{
	lrpc_call_opts o;
	lrpc_stream *s;
	lrpc_code code;

	if (out)
		*out = NULL;
	if (!ch || !method || !out)
		return lrpc__status_fail(st, LRPC_INVALID_ARGUMENT,
					 "NULL channel, method or stream");
	if (method->kind == LRPC_METHOD_UNARY)
		return lrpc__status_fail(st, LRPC_INVALID_ARGUMENT,
					 "%s is unary: call it, not a stream",
					 method->full_name);
	if (!ch->ops->stream_open)
		return lrpc__status_fail(st, LRPC_UNIMPLEMENTED,
					 "streams are not carried over %s yet",
					 lrpc_channel_handoff(ch));
	s = calloc(1, sizeof(*s));
	if (!s)
		return lrpc__status_fail(st, LRPC_RESOURCE_EXHAUSTED,
					 "out of memory");
	s->ch = ch;
	s->method = method;
	lrpc__arena_init(&s->arena);
	o = opts ? *opts : (lrpc_call_opts)LRPC_CALL_OPTS_INIT;
	code = LRPC_OK;
	if (lrpc__cic_wanted(ch)) {
		s->ic = malloc(sizeof(*s->ic));
		code = s->ic ? lrpc__cic_before(ch, s->ic, method->full_name, true, o.metadata,
						o.n_metadata, ch->ops->stream_metadata, st) :
			       lrpc__status_fail(st, LRPC_RESOURCE_EXHAUSTED, "out of memory");
		if (code == LRPC_OK && s->ic->info.metadata != o.metadata) {
			/* Interceptors added some (kept in s->ic until the end). */
			o.metadata = s->ic->info.metadata;
			o.n_metadata = s->ic->info.n_metadata;
			opts = &o;
		}
	}
	if (code == LRPC_OK)
		code = opts_check(ch, opts, st);
	deadline = lrpc__channel_deadline(ch, deadline);
	for (unsigned int tries = 0; code == LRPC_OK; tries++) {
		code = ch->ops->stream_open(ch, method->id, method->full_name, deadline,
					    ch->ops->stream_metadata ? opts : NULL, &s->t, st);
		/* A server that is not there has seen nothing of the stream. */
		if (code != LRPC_UNAVAILABLE || !ch->opts.wait_for_ready)
			break;
		if (!lrpc__wait_ready(deadline, tries) || lrpc_now() >= deadline) {
			code = lrpc__status_fail(st, LRPC_DEADLINE_EXCEEDED,
						 "deadline exceeded waiting for the server: %s",
						 st ? st->message : "unavailable");
			break;
		}
		code = LRPC_OK;
	}
	if (code != LRPC_OK) {
		lrpc__status_name_method(st, code, method->full_name);
		end_with(s, code, st);
		lrpc__arena_destroy(&s->arena);
		free(s);
		return code;
	}
	lrpc__status_set(st, LRPC_OK, "%s", "");
	*out = s;
	return LRPC_OK;
}

static void msg_put(const void *arg, unsigned char *buf)
{
	protobuf_c_message_pack(arg, buf);
}

static void raw_put(const void *arg, unsigned char *buf)
{
	const struct { const void *p; size_t n; } *r = arg;

	if (r->n)
		memcpy(buf, r->p, r->n);
}

static lrpc_code stream_send(lrpc_stream *s, size_t len, lrpc__cput_fn put,
		      const void *arg, lrpc_status *st)
{
	size_t max = lrpc_channel_max_msg(s->ch);
	lrpc_code code;

	if (is_ended(s))
		return ended(s, st);
	if (len > max)
		return lrpc__status_fail(st, LRPC_RESOURCE_EXHAUSTED,
					 "message of %zu bytes exceeds the %zu-byte limit",
					 len, max);
	code = s->t->ops->send(s->t, len, put, arg, st);
	if (code == LRPC_OK)
		lrpc__status_set(st, LRPC_OK, "%s", "");
	/* A refused write (after close_send) does not end the stream. */
	return code;
}

lrpc_code lrpc_stream_write(lrpc_stream *s, const ProtobufCMessage *msg,
			    lrpc_status *st)
{
	if (!s || !msg)
		return lrpc__status_fail(st, LRPC_INVALID_ARGUMENT,
					 "NULL stream or message");
	if (msg->descriptor != s->method->input)
		return lrpc__status_fail(st, LRPC_INVALID_ARGUMENT,
					 "%s takes %s, not %s",
					 s->method->full_name,
					 s->method->input->name,
					 msg->descriptor ? msg->descriptor->name : "?");
	return stream_send(s, protobuf_c_message_get_packed_size(msg), msg_put, msg,
		    st);
}

lrpc_code lrpc_stream_write_raw(lrpc_stream *s, const void *buf, size_t len,
				lrpc_status *st)
{
	struct { const void *p; size_t n; } r = { buf, len };

	if (!s || (!buf && len))
		return lrpc__status_fail(st, LRPC_INVALID_ARGUMENT,
					 "NULL stream or buffer");
	return stream_send(s, len, raw_put, &r, st);
}

lrpc_code lrpc_stream_close_send(lrpc_stream *s, lrpc_status *st)
{
	if (!s)
		return lrpc__status_fail(st, LRPC_INVALID_ARGUMENT, "NULL stream");
	if (is_ended(s))
		return ended(s, st);
	return s->t->ops->close_send(s->t, st);
}

/* The next message's bytes, or the end (remembered). */
static lrpc_code stream_recv(lrpc_stream *s, const unsigned char **msg, size_t *len,
		      bool *end, lrpc_status *st)
{
	lrpc_status local;
	lrpc_code code;

	*end = false;
	if (is_ended(s)) {
		*end = true;
		return ended(s, st);
	}
	if (!st)
		st = &local;
	code = s->t->ops->recv(s->t, msg, len, end, st);
	if (*end || code != LRPC_OK) {
		*end = true;
		lrpc__status_name_method(st, code, s->method->full_name);
		return end_with(s, code, st);
	}
	return LRPC_OK;
}

/* The next message decoded with \p alloc (the stream's arena, or NULL:
 * the heap, for the caller to free). */
static lrpc_code stream_read(lrpc_stream *s, ProtobufCMessage **msg,
			     ProtobufCAllocator *alloc, lrpc_status *st)
{
	const unsigned char *bytes;
	size_t len = 0;
	bool end;
	lrpc_code code;

	if (msg)
		*msg = NULL;
	if (!s || !msg)
		return lrpc__status_fail(st, LRPC_INVALID_ARGUMENT,
					 "NULL stream or message");
	lrpc__arena_reset(&s->arena);
	code = stream_recv(s, &bytes, &len, &end, st);
	if (end)
		return code;
	/* Possibly in memory the server shares: the decoder reads it once. */
	*msg = lrpc__pb_decode(s->method->output, alloc, len, bytes);
	if (!*msg) {
		lrpc__status_set(st, LRPC_INTERNAL,
				 "a message from %s does not decode as %s",
				 s->method->full_name, s->method->output->name);
		s->t->ops->cancel(s->t);
		return end_with(s, LRPC_INTERNAL, st);
	}
	lrpc__status_set(st, LRPC_OK, "%s", "");
	return LRPC_OK;
}

lrpc_code lrpc_stream_read(lrpc_stream *s, ProtobufCMessage **msg,
			   lrpc_status *st)
{
	return stream_read(s, msg, s ? &s->arena.pb : NULL, st);
}

lrpc_code lrpc__stream_read_owned(lrpc_stream *s, ProtobufCMessage **msg,
				  lrpc_status *st)
{
	return stream_read(s, msg, NULL, st);
}

lrpc_channel *lrpc__stream_channel(const lrpc_stream *s)
{
	return s->ch;
}

lrpc_deadline lrpc__stream_deadline(const lrpc_stream *s)
{
	return s->t->deadline;
}

const lrpc_method_desc *lrpc__stream_method(const lrpc_stream *s)
{
	return s->method;
}

lrpc_code lrpc_stream_read_raw(lrpc_stream *s, void *buf, size_t cap,
			       size_t *len, int *end, lrpc_status *st)
{
	const unsigned char *bytes;
	size_t n = 0;
	bool done;
	lrpc_code code;

	if (!s || (!buf && cap) || !len || !end)
		return lrpc__status_fail(st, LRPC_INVALID_ARGUMENT,
					 "NULL stream, buffer or length");
	*len = 0;
	code = stream_recv(s, &bytes, &n, &done, st);
	*end = done;
	if (done)
		return code;
	if (n > cap) {
		lrpc__status_set(st, LRPC_RESOURCE_EXHAUSTED,
				 "message of %zu bytes exceeds the %zu-byte buffer",
				 n, cap);
		s->t->ops->cancel(s->t);
		*end = 1;
		return end_with(s, LRPC_RESOURCE_EXHAUSTED, st);
	}
	if (n)
		memcpy(buf, bytes, n);
	*len = n;
	lrpc__status_set(st, LRPC_OK, "%s", "");
	return LRPC_OK;
}

void lrpc_stream_cancel(lrpc_stream *s)
{
	if (s)
		s->t->ops->cancel(s->t);
}

void lrpc_stream_free(lrpc_stream *s)
{
	if (!s)
		return;
	if (!is_ended(s)) {
		lrpc_status st = { .code = LRPC_CANCELLED };

		snprintf(st.message, sizeof(st.message), "freed before it ended");
		end_with(s, LRPC_CANCELLED, &st);
	}
	s->t->ops->free(s->t);
	lrpc__arena_destroy(&s->arena);
	free(s);
}
