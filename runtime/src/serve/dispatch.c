// SPDX-License-Identifier: MIT
/*
 * Serving one call, whatever carried it: find the method, check the
 * deadline, decode the request, run the handler. The transport packs the
 * reply where it wants it (a lane buffer, a socket frame). The request may
 * still be in memory the client shares and can rewrite: the single-pass
 * decoder reads it once, into the call's arena.
 */
#include <stdio.h>
#include <string.h>

#include "wire/pbdecode.h"
#include "serve/host.h"

lrpc_code lrpc__dispatch(lrpc_server *srv, struct lrpc__arena *arena,
			 uint32_t method_id, const void *req_bytes,
			 size_t req_len, lrpc_deadline deadline,
			 ProtobufCMessage **rep_out, char *message)
{
	const struct lrpc__method_entry *e = lrpc__server_find(srv, method_id);
	struct lrpc_call call = {
		.srv = srv,
		.deadline = deadline,
		.arena = arena,
	};
	const lrpc_method_desc *m;
	ProtobufCMessage *req, *rep;
	lrpc_code code;

	*rep_out = NULL;
	message[0] = '\0';
	if (!e) {
		snprintf(message, LRPC_STATUS_MSG_MAX, "unknown method id 0x%08x",
			 method_id);
		return LRPC_UNIMPLEMENTED;
	}
	m = call.method = e->method;
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

void lrpc__count_call(lrpc_server *srv, lrpc_code code)
{
	atomic_fetch_add_explicit(code == LRPC_OK ? &srv->stats.calls_ok :
						    &srv->stats.calls_failed,
				  1, memory_order_relaxed);
}
