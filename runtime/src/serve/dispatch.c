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

static lrpc_code run(const struct lrpc__registry *reg,
		     struct lrpc__arena *arena, uint32_t method_id,
		     const void *req_bytes, size_t req_len,
		     lrpc_deadline deadline, const struct lrpc__origin *from,
		     ProtobufCMessage **rep_out, char *message,
		     struct lrpc__md_out *md_out)
{
	const struct lrpc__method_entry *e = lrpc__registry_find(reg, method_id);
	struct lrpc_call call;
	lrpc__call_init(&call, arena, deadline, from);
	const lrpc_method_desc *m;
	ProtobufCMessage *req, *rep;
	lrpc_code code;

	*rep_out = NULL;
	if (!e) {
		snprintf(message, LRPC_STATUS_MSG_MAX, "unknown method id 0x%08x",
			 method_id);
		return LRPC_UNIMPLEMENTED;
	}
	m = call.method = e->method;
	if (m->kind != LRPC_METHOD_UNARY) {
		snprintf(message, LRPC_STATUS_MSG_MAX,
			 "%s is a streaming method: open a stream to call it",
			 m->full_name);
		return LRPC_UNIMPLEMENTED;
	}
	if (deadline <= lrpc_now()) {
		snprintf(message, LRPC_STATUS_MSG_MAX,
			 "deadline passed before %s was served", m->full_name);
		return LRPC_DEADLINE_EXCEEDED;
	}
	req = lrpc__pb_decode(m->input, &arena->pb, req_len, req_bytes);
	if (!req) {
		snprintf(message, LRPC_STATUS_MSG_MAX,
			 "request to %s does not decode as %s", m->full_name,
			 m->input->name);
		return LRPC_INVALID_ARGUMENT;
	}
	rep = lrpc__arena_alloc(arena, m->output->sizeof_message);
	if (!rep) {
		snprintf(message, LRPC_STATUS_MSG_MAX, "out of memory");
		return LRPC_RESOURCE_EXHAUSTED;
	}
	m->output->message_init(rep);
	call.message[0] = '\0';
	code = m->invoke(e->handlers, e->user, &call, req, rep);
	*md_out = call.out;
	if ((unsigned int)code >= LRPC_CODE_COUNT) {
		snprintf(message, LRPC_STATUS_MSG_MAX,
			 "handler of %s returned %d, not a status code",
			 m->full_name, (int)code);
		return LRPC_UNKNOWN;
	}
	if (code != LRPC_OK) {
		memcpy(message, call.message, LRPC_STATUS_MSG_MAX);
		return code;
	}
	*rep_out = rep;
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
	ProtobufCMessage *rep;
	unsigned char *at;
	size_t n;

	out->len = 0;
	out->message[0] = '\0';
	out->md = (struct lrpc__md_out){ 0 };
	out->code = run(reg, arena, method_id, req, req_len, deadline, from,
			&rep, out->message, &out->md);
	if (out->code != LRPC_OK)
		return;
	n = protobuf_c_message_get_packed_size(rep);
	if (n > max_reply) {
		snprintf(out->message, sizeof(out->message),
			 "reply of %zu bytes exceeds the %zu-byte limit", n,
			 max_reply);
		out->code = LRPC_RESOURCE_EXHAUSTED;
		return;
	}
	at = room(ctx, n);
	if (!at) {
		snprintf(out->message, sizeof(out->message), "out of memory");
		out->code = LRPC_RESOURCE_EXHAUSTED;
		return;
	}
	protobuf_c_message_pack(rep, at);
	out->len = n;
}
