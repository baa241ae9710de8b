// SPDX-License-Identifier: MIT
/*
 * grpc.testing.TestService (grpc/testing/test.proto) on a lazyrpc grpc://
 * server, as grpc/grpc's doc/interop-test-descriptions.md has the server
 * behave, for Debian's gRPC C++ to call (interop_client.cc):
 *
 *   interop_server    listen on grpc://127.0.0.1:0, print "listen URI"
 *                     and "ready", serve until SIGTERM.
 *
 * Payloads are zeros of the size asked for; response_status is returned
 * as asked. Not done: compression (lazyrpc has none), interval_us
 * (no case here asks for it), HalfDuplexCall and UnimplementedMethod
 * (UNIMPLEMENTED, the latter by design), echoing metadata (no API yet).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lazyrpc/lazyrpc.h>

#include "grpc/testing/test.lrpc.h"

typedef Grpc__Testing__StreamingOutputCallRequest out_req;
typedef Grpc__Testing__StreamingOutputCallResponse out_rep;

static lrpc_server *server;

static lrpc_code echo_status(lrpc_call *call, const Grpc__Testing__EchoStatus *s)
{
	if (!s || s->code == 0)
		return LRPC_OK;
	lrpc_call_set_message(call, "%s", s->message ? s->message : "");
	return (lrpc_code)s->code;
}

static lrpc_code empty_call(void *user, lrpc_call *call, const Grpc__Testing__Empty *req,
			    Grpc__Testing__Empty *reply)
{
	(void)user, (void)call, (void)req, (void)reply;
	return LRPC_OK;
}

static lrpc_code unary_call(void *user, lrpc_call *call, const Grpc__Testing__SimpleRequest *req,
			    Grpc__Testing__SimpleResponse *reply)
{
	Grpc__Testing__Payload *p;
	lrpc_code code = echo_status(call, req->response_status);

	(void)user;
	if (code != LRPC_OK)
		return code;
	if (req->response_size < 0)
		return LRPC_INVALID_ARGUMENT;
	p = lrpc_call_alloc(call, sizeof(*p));
	if (!p)
		return LRPC_RESOURCE_EXHAUSTED;
	grpc__testing__payload__init(p);
	p->body.len = (size_t)req->response_size;
	p->body.data = lrpc_call_alloc(call, p->body.len + 1);
	if (!p->body.data)
		return LRPC_RESOURCE_EXHAUSTED;
	memset(p->body.data, 0, p->body.len);
	reply->payload = p;
	return LRPC_OK;
}

/* The responses one request asks for, each of its size in zeros. */
static lrpc_code respond(lrpc_server_stream *stream, const out_req *req)
{
	for (size_t i = 0; i < req->n_response_parameters; i++) {
		Grpc__Testing__Payload p = GRPC__TESTING__PAYLOAD__INIT;
		out_rep rep = GRPC__TESTING__STREAMING_OUTPUT_CALL_RESPONSE__INIT;
		int32_t size = req->response_parameters[i]->size;
		lrpc_code code;

		if (size < 0)
			return LRPC_INVALID_ARGUMENT;
		p.body.len = (size_t)size;
		p.body.data = calloc(1, p.body.len + 1);
		if (!p.body.data)
			return LRPC_RESOURCE_EXHAUSTED;
		rep.payload = &p;
		code = grpc__testing__test_service__streaming_output_call__server_write(stream, &rep);
		free(p.body.data);
		if (code != LRPC_OK)
			return code;
	}
	return LRPC_OK;
}

static lrpc_code streaming_output_call(void *user, lrpc_call *call, const out_req *req,
				       lrpc_server_stream *stream)
{
	lrpc_code code = respond(stream, req);

	(void)user;
	return code != LRPC_OK ? code : echo_status(call, req->response_status);
}

static lrpc_code streaming_input_call(void *user, lrpc_call *call, lrpc_server_stream *stream,
				      Grpc__Testing__StreamingInputCallResponse *reply)
{
	Grpc__Testing__StreamingInputCallRequest *m;
	lrpc_code code;

	(void)user, (void)call;
	while ((code = grpc__testing__test_service__streaming_input_call__server_read(stream, &m)) ==
		       LRPC_OK && m)
		reply->aggregated_payload_size += m->payload ? (int32_t)m->payload->body.len : 0;
	return code;
}

static lrpc_code full_duplex_call(void *user, lrpc_call *call, lrpc_server_stream *stream)
{
	out_req *m;
	lrpc_code code;

	(void)user;
	while ((code = grpc__testing__test_service__full_duplex_call__server_read(stream, &m)) ==
		       LRPC_OK && m) {
		code = echo_status(call, m->response_status);
		if (code == LRPC_OK)
			code = respond(stream, m);
		if (code != LRPC_OK)
			return code;
	}
	return code;
}

static void on_term(int sig)
{
	(void)sig;
	lrpc_server_stop(server);
}

int main(void)
{
	static const Grpc__Testing__TestService_Handlers h = {
		.empty_call = empty_call,
		.unary_call = unary_call,
		.streaming_output_call = streaming_output_call,
		.streaming_input_call = streaming_input_call,
		.full_duplex_call = full_duplex_call,
	};
	char uri[300];
	int ret;

	ret = lrpc_server_new(NULL, &server);
	if (!ret)
		ret = grpc__testing__test_service__register(server, &h, NULL);
	if (!ret)
		ret = lrpc_server_listen(server, "grpc://127.0.0.1:0");
	if (!ret)
		ret = lrpc_server_start(server);
	if (!ret)
		ret = lrpc_server_listener_uri(server, 0, uri, sizeof(uri));
	if (ret) {
		fprintf(stderr, "interop_server: %s\n", strerror(-ret));
		return 1;
	}
	signal(SIGTERM, on_term);
	printf("listen %s\nready\n", uri);
	fflush(stdout);
	lrpc_server_run(server);
	lrpc_server_free(server);
	return 0;
}
