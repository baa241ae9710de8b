// SPDX-License-Identifier: MIT
/*
 * Serving one call, whatever carried it: find the method, check the
 * deadline, decode the request, run the handler, pack the reply where the
 * transport wants it. The request may still be in memory the client shares
 * and can rewrite: the single-pass decoder reads it once, into the call's
 * arena.
 */
#include <stdio.h>
#include <string.h>

#include "serve/dispatch.h"
#include "wire/pbdecode.h"

/* Decode, run the handler, pack the reply into room(ctx, len): the call's
 * part once it is let through. \return its code, the message in the call. */
static lrpc_code handle(const struct lrpc__method_entry *e, struct lrpc_call *call,
			const void *req_bytes, size_t req_len, size_t max_reply,
			lrpc__reply_room room, void *ctx, size_t *len)
{
	const lrpc_method_desc *m = e->method;
	ProtobufCMessage *req, *rep;
	lrpc_code code;
	unsigned char *at;
	size_t n;

	req = lrpc__pb_decode(m->input, &call->arena->pb, req_len, req_bytes);
	if (!req) {
		lrpc_call_set_message(call, "request to %s does not decode as %s",
				      m->full_name, m->input->name);
		return LRPC_INVALID_ARGUMENT;
	}
	rep = lrpc__arena_alloc(call->arena, m->output->sizeof_message);
	if (!rep) {
		lrpc_call_set_message(call, "out of memory");
		return LRPC_RESOURCE_EXHAUSTED;
	}
	m->output->message_init(rep);
	call->message[0] = '\0';
	code = m->invoke(e->handlers, e->user, call, req, rep);
	if ((unsigned int)code >= LRPC_CODE_COUNT) {
		lrpc_call_set_message(call, "handler of %s returned %d, not a status code",
				      m->full_name, (int)code);
		return LRPC_UNKNOWN;
	}
	if (code != LRPC_OK)
		return code;
	n = protobuf_c_message_get_packed_size(rep);
	if (n > max_reply) {
		lrpc_call_set_message(call, "reply of %zu bytes exceeds the %zu-byte limit", n,
				      max_reply);
		return LRPC_RESOURCE_EXHAUSTED;
	}
	at = room(ctx, n);
	if (!at) {
		lrpc_call_set_message(call, "out of memory");
		return LRPC_RESOURCE_EXHAUSTED;
	}
	protobuf_c_message_pack(rep, at);
	*len = n;
	return LRPC_OK;
}

void lrpc__serve(const struct lrpc__registry *reg, struct lrpc__arena *arena,
		 uint32_t method_id, const void *req, size_t req_len,
		 lrpc_deadline deadline, size_t max_reply,
		 lrpc__reply_room room, void *ctx, struct lrpc__reply *out)
{
	lrpc__serve_from(reg, arena, method_id, req, req_len, deadline,
			 max_reply, room, ctx, NULL, out);
}

const lrpc_peer *lrpc__origin_peer(const struct lrpc__origin *from)
{
	static const lrpc_peer unknown = { .transport = "" };

	return from && from->peer ? from->peer : &unknown;
}

void lrpc__call_init(struct lrpc_call *call, struct lrpc__arena *arena,
		     lrpc_deadline deadline, const struct lrpc__origin *from)
{
	*call = (struct lrpc_call){
		.deadline = deadline,
		.arena = arena,
		.cancel = from ? from->cancel : NULL,
		.stop = from ? from->stop : NULL,
		.note = from ? from->note : NULL,
		.peer = lrpc__origin_peer(from),
		.md = from ? from->md : NULL,
		.n_md = from ? from->n_md : 0,
	};
}

void lrpc__serve_from(const struct lrpc__registry *reg,
		      struct lrpc__arena *arena, uint32_t method_id,
		      const void *req, size_t req_len, lrpc_deadline deadline,
		      size_t max_reply, lrpc__reply_room room, void *ctx,
		      const struct lrpc__origin *from, struct lrpc__reply *out)
{
	const struct lrpc__method_entry *e = lrpc__registry_find(reg, method_id);
	struct lrpc_call call;
	lrpc_deadline start;
	size_t ran;

	lrpc__call_init(&call, arena, deadline, from);
	out->len = 0;
	out->md = (struct lrpc__md_out){ 0 };
	if (!e) {
		out->code = LRPC_UNIMPLEMENTED;
		snprintf(out->message, sizeof(out->message), "unknown method id 0x%08x",
			 method_id);
		return;
	}
	call.method = e->method;
	if (e->method->kind != LRPC_METHOD_UNARY) {
		out->code = LRPC_UNIMPLEMENTED;
		snprintf(out->message, sizeof(out->message),
			 "%s is a streaming method: open a stream to call it",
			 e->method->full_name);
		return;
	}
	if (deadline <= lrpc_now()) {
		out->code = LRPC_DEADLINE_EXCEEDED;
		snprintf(out->message, sizeof(out->message),
			 "deadline passed before %s was served", e->method->full_name);
		return;
	}
	/* A server without interceptors pays no clock read. */
	start = reg->chain.n ? lrpc_now() : 0;
	out->code = lrpc__intercept_before(&reg->chain, &call, &ran);
	if (out->code == LRPC_OK)
		out->code = handle(e, &call, req, req_len, max_reply, room, ctx, &out->len);
	lrpc__intercept_after(&reg->chain, &call, ran, out->code, start);
	if (call.note)
		lrpc__cancel_note_close(call.note);
	if (out->code == LRPC_OK) {
		out->message[0] = '\0';
	} else {
		memcpy(out->message, call.message, sizeof(out->message));
		out->len = 0;
	}
	out->md = call.out;
}
