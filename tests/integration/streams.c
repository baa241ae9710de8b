// SPDX-License-Identifier: MIT
/* lrpctest.Streams, described by hand (see streams.h). */
#include <stdint.h>
#include <string.h>

#include "streams.h"

static lrpc_code sum(const void *handlers, void *user, lrpc_call *call,
		     lrpc_server_stream *s)
{
	Lrpctest__EchoMsg rep = LRPCTEST__ECHO_MSG__INIT;
	ProtobufCMessage *m;
	uint64_t n = 0;
	lrpc_code code;

	(void)handlers;
	(void)user;
	while ((code = lrpc_server_stream_read(s, &m)) == LRPC_OK && m) {
		Lrpctest__EchoMsg *e = (Lrpctest__EchoMsg *)m;

		if (e->seq != n) {
			lrpc_call_set_message(call, "message %llu has seq %llu",
					      (unsigned long long)n,
					      (unsigned long long)e->seq);
			return LRPC_DATA_LOSS;
		}
		n++;
		/* The message dies at the next read: keep a copy. */
		rep.payload.len = e->payload.len;
		rep.payload.data = lrpc_call_alloc(call, e->payload.len + 1);
		if (!rep.payload.data)
			return LRPC_RESOURCE_EXHAUSTED;
		if (e->payload.len) /* data may be NULL then */
			memcpy(rep.payload.data, e->payload.data, e->payload.len);
	}
	if (code != LRPC_OK)
		return code;
	rep.seq = n;
	return lrpc_server_stream_write(s, &rep.base);
}

static lrpc_code count(const void *handlers, void *user, lrpc_call *call,
		       lrpc_server_stream *s)
{
	Lrpctest__EchoMsg out = LRPCTEST__ECHO_MSG__INIT;
	ProtobufCMessage *m;
	uint64_t n;
	uint32_t size;
	lrpc_code code;

	(void)handlers;
	(void)user;
	code = lrpc_server_stream_read(s, &m);
	if (code != LRPC_OK)
		return code;
	if (!m) {
		lrpc_call_set_message(call, "Count needs one request");
		return LRPC_INVALID_ARGUMENT;
	}
	n = ((Lrpctest__EchoMsg *)m)->seq;
	size = ((Lrpctest__EchoMsg *)m)->reply_size;
	out.payload.len = size;
	out.payload.data = lrpc_call_alloc(call, size + 1u);
	if (!out.payload.data)
		return LRPC_RESOURCE_EXHAUSTED;
	memset(out.payload.data, 'c', size);
	for (uint64_t i = 0; i < n; i++) {
		out.seq = i;
		code = lrpc_server_stream_write(s, &out.base);
		if (code != LRPC_OK)
			return code;
	}
	return LRPC_OK;
}

void (*lrpctest_streams_on_cancel)(void *call);

static lrpc_code echo(const void *handlers, void *user, lrpc_call *call,
		      lrpc_server_stream *s)
{
	const lrpc_metadata *t = lrpc_call_metadata_get(call, "x-trace");
	const lrpc_metadata *b = lrpc_call_metadata_get(call, "x-blob-bin");
	ProtobufCMessage *m;
	lrpc_code code;

	(void)handlers;
	(void)user;
	if (t && lrpc_call_add_header(call, "x-trace-echo", t->value, t->value_len))
		return LRPC_INTERNAL;
	if (b && lrpc_call_add_trailer(call, "x-blob-echo-bin", b->value, b->value_len))
		return LRPC_INTERNAL;
	if (lrpctest_streams_on_cancel &&
	    lrpc_call_on_cancel(call, lrpctest_streams_on_cancel, call) < 0)
		return LRPC_INTERNAL;
	while ((code = lrpc_server_stream_read(s, &m)) == LRPC_OK && m) {
		if (((Lrpctest__EchoMsg *)m)->seq == UINT64_MAX) {
			lrpc_call_set_message(call, "asked to abort");
			return LRPC_ABORTED;
		}
		code = lrpc_server_stream_write(s, m);
		if (code != LRPC_OK)
			return code;
	}
	return code;
}

#define STREAM_METHOD(mname, mkind, fn)                                  \
	{                                                                \
		#mname, "/lrpctest.Streams/" #mname, 0, mkind,           \
		&lrpctest__echo_msg__descriptor,                         \
		&lrpctest__echo_msg__descriptor, NULL, fn, { NULL }      \
	}

/* Ids are filled in at registration: lrpc_method_id() is not constant. */
static lrpc_method_desc methods[] = {
	STREAM_METHOD(Sum, LRPC_METHOD_CLIENT_STREAMING, sum),
	STREAM_METHOD(Count, LRPC_METHOD_SERVER_STREAMING, count),
	STREAM_METHOD(Echo, LRPC_METHOD_BIDI_STREAMING, echo),
};

const lrpc_service_desc lrpctest_streams_desc = {
	LRPC_SERVICE_DESC_MAGIC, LRPC_SERVICE_ABI_VERSION, "lrpctest.Streams",
	"Streams", "lrpctest", "probe.proto", 3, methods, NULL, 0, NULL,
	{ NULL },
};

const lrpc_method_desc *const lrpctest_streams_sum = &methods[0];
const lrpc_method_desc *const lrpctest_streams_count = &methods[1];
const lrpc_method_desc *const lrpctest_streams_echo = &methods[2];

/* Both sides call this before use (the client through the accessors). */
__attribute__((constructor)) static void ids_init(void)
{
	for (size_t i = 0; i < 3; i++)
		methods[i].id = lrpc_method_id(methods[i].full_name);
}

int lrpctest_streams_register(lrpc_server *srv)
{
	return lrpc_server_add_service(srv, &lrpctest_streams_desc, methods,
				       NULL);
}
