// SPDX-License-Identifier: MIT
/*
 * The server's side of a stream, whatever carries it: find a streaming
 * method, run its handler on the transport's stream, and give the handler
 * messages decoded once from where they lie.
 */
#include <stdio.h>
#include <string.h>

#include "serve/stream.h"
#include "wire/pbdecode.h"

lrpc_code lrpc__serve_stream(const struct lrpc__registry *reg,
			     struct lrpc__arena *arena, uint32_t method_id,
			     lrpc_deadline deadline,
			     const struct lrpc__origin *from,
			     struct lrpc_server_stream *s, char *message)
{
	const struct lrpc__method_entry *e = lrpc__registry_find(reg, method_id);
	struct lrpc_call call;
	lrpc_deadline start;
	lrpc_code code;
	size_t ran;

	lrpc__call_init(&call, arena, deadline, from);
	message[0] = '\0';
	s->md = (struct lrpc__md_out){ 0 };
	if (!e) {
		snprintf(message, LRPC_STATUS_MSG_MAX, "unknown method id 0x%08x",
			 method_id);
		return LRPC_UNIMPLEMENTED;
	}
	call.method = e->method;
	if (e->method->kind == LRPC_METHOD_UNARY) {
		snprintf(message, LRPC_STATUS_MSG_MAX,
			 "%s is a unary method, not a stream",
			 e->method->full_name);
		return LRPC_UNIMPLEMENTED;
	}
	if (deadline <= lrpc_now()) {
		snprintf(message, LRPC_STATUS_MSG_MAX,
			 "deadline passed before %s was served",
			 e->method->full_name);
		return LRPC_DEADLINE_EXCEEDED;
	}
	s->call = &call;
	atomic_store(&s->woken, 0);
	lrpc__arena_init(&s->msg_arena);
	/* A server without interceptors pays no clock read. */
	start = reg->chain.n ? lrpc_now() : 0;
	code = lrpc__intercept_before(&reg->chain, &call, &ran);
	if (code == LRPC_OK) {
		call.message[0] = '\0';
		code = e->method->stream_invoke(e->handlers, e->user, &call, s);
		if ((unsigned int)code >= LRPC_CODE_COUNT) {
			lrpc_call_set_message(&call, "handler of %s returned %d, not a status code",
					      e->method->full_name, (int)code);
			code = LRPC_UNKNOWN;
		}
	}
	lrpc__intercept_after(&reg->chain, &call, ran, code, start);
	if (call.note)
		lrpc__cancel_note_close(call.note);
	lrpc__arena_destroy(&s->msg_arena);
	s->md = call.out;
	s->call = NULL;
	if (code != LRPC_OK)
		memcpy(message, call.message, LRPC_STATUS_MSG_MAX);
	return code;
}

lrpc_code lrpc_server_stream_read(lrpc_server_stream *s, ProtobufCMessage **msg)
{
	const lrpc_method_desc *m = s->call->method;
	const unsigned char *bytes;
	bool end = false;
	size_t len = 0;
	lrpc_code code;

	*msg = NULL;
	lrpc__arena_reset(&s->msg_arena);
	code = s->ops->recv(s, s->call->deadline, &bytes, &len, &end);
	if (code != LRPC_OK || end)
		return code;
	/* Possibly in memory the client shares: the decoder reads it once. */
	*msg = lrpc__pb_decode(m->input, &s->msg_arena.pb, len, bytes);
	if (!*msg) {
		lrpc_call_set_message(s->call, "a message to %s does not decode as %s",
				      m->full_name, m->input->name);
		return LRPC_INVALID_ARGUMENT;
	}
	return LRPC_OK;
}

static void msg_put(const void *arg, unsigned char *buf)
{
	protobuf_c_message_pack(arg, buf);
}

lrpc_code lrpc_server_stream_write(lrpc_server_stream *s,
				   const ProtobufCMessage *msg)
{
	const lrpc_method_desc *m = s->call->method;
	size_t len, max = s->ops->max_msg(s);

	if (!msg || msg->descriptor != m->output) {
		lrpc_call_set_message(s->call, "%s writes %s, not %s",
				      m->full_name, m->output->name,
				      msg && msg->descriptor ?
					      msg->descriptor->name : "?");
		return LRPC_INTERNAL;
	}
	len = protobuf_c_message_get_packed_size(msg);
	if (len > max) {
		lrpc_call_set_message(s->call,
				      "message of %zu bytes exceeds the %zu-byte limit",
				      len, max);
		return LRPC_RESOURCE_EXHAUSTED;
	}
	/* Headers go before the first message: from now on they are fixed. */
	s->call->out.headers_sent = true;
	return s->ops->send(s, s->call->deadline, len, msg_put, msg);
}

lrpc_call *lrpc_server_stream_call(lrpc_server_stream *s)
{
	return s->call;
}

lrpc_code lrpc_server_stream_wait(lrpc_server_stream *s)
{
	if (atomic_exchange(&s->woken, 0))
		return LRPC_OK;
	return s->ops->wait(s, s->call->deadline);
}

void lrpc_server_stream_wake(lrpc_server_stream *s)
{
	/* Before the transport's wake: a wait that looks after it sees it. */
	atomic_store(&s->woken, 1);
	s->ops->wake(s);
}
