// SPDX-License-Identifier: MIT
/* gRPC status -> HTTP, as grpc-gateway's runtime.HTTPStatusFromCode. */
#include "gw.h"

unsigned int gw_http_status(lrpc_code code)
{
	switch (code) {
	case LRPC_OK: return 200;
	case LRPC_CANCELLED: return 499;
	case LRPC_INVALID_ARGUMENT: case LRPC_FAILED_PRECONDITION:
	case LRPC_OUT_OF_RANGE: return 400;
	case LRPC_DEADLINE_EXCEEDED: return 504;
	case LRPC_NOT_FOUND: return 404;
	case LRPC_ALREADY_EXISTS: case LRPC_ABORTED: return 409;
	case LRPC_PERMISSION_DENIED: return 403;
	case LRPC_UNAUTHENTICATED: return 401;
	case LRPC_RESOURCE_EXHAUSTED: return 429;
	case LRPC_UNIMPLEMENTED: return 501;
	case LRPC_UNAVAILABLE: return 503;
	default: return 500; /* UNKNOWN, INTERNAL, DATA_LOSS */
	}
}

char *gw_error_body(lrpc_code code, const char *message)
{
	json_t *o = json_object(), *m = json_string(message ? message : "");
	char *s;

	if (!m) /* a message that is not UTF-8 */
		m = json_string(lrpc_code_name(code));
	if (!o || json_object_set_new(o, "code", json_integer(code)) ||
	    json_object_set_new(o, "message", m) ||
	    json_object_set_new(o, "details", json_array())) {
		json_decref(o);
		return NULL;
	}
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}
