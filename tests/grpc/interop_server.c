// SPDX-License-Identifier: MIT
/*
 * interop-server [--tls CERT KEY [CLIENT_CA]] [--auth TOKEN] [--keepalive MS]
 * URI...:
 * grpc.testing.TestService,
 * as gRPC's interop cases
 * (doc/interop-test-descriptions.md in grpc/grpc) expect a server to
 * behave, on every URI given (grpc://127.0.0.1:0 for the clients of other
 * implementations); prints "listen URI" for each, then "ready", and runs
 * until SIGINT or SIGTERM. UnimplementedCall and UnimplementedService are
 * left unserved on purpose. With --tls, grpcs:// URIs use CERT and KEY
 * (and require client certificates CLIENT_CA verifies, if given). With
 * --auth, an interceptor refuses calls without "authorization: Bearer
 * TOKEN" (UNAUTHENTICATED) and adds a trailer "x-served-by: lazyrpc".
 * With --keepalive, a silent client gets a PING after MS and is dropped
 * MS later.
 *
 * Sizes a client asks for are bounded by what one message may carry, and
 * a HalfDuplexCall keeps at most HALF_DUPLEX_MAX requests: past either,
 * the call fails with a status, never by growing without bound.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "grpc/testing/test.lrpc.h"

/* Largest payload a reply carries: below the server's message limit. */
#define PAYLOAD_MAX (LRPC_DEFAULT_MAX_MSG - 1024)
/* Longest pause between two streamed replies a client may ask for. */
#define INTERVAL_MAX_US 1000000
/* Requests a HalfDuplexCall holds until the client half-closes. */
#define HALF_DUPLEX_MAX 1024

static lrpc_server *server;
/* What every payload is made of: gRPC's COMPRESSABLE type is zeros. */
static uint8_t zeros[PAYLOAD_MAX];

/* \p status asks for a status other than OK: set its message, return it. */
static bool echo_status(lrpc_call *call, const Grpc__Testing__EchoStatus *status,
			lrpc_code *code)
{
	if (!status || !status->code)
		return false;
	if (status->code < 0 || status->code >= LRPC_CODE_COUNT) {
		lrpc_call_set_message(call, "response_status.code %d is no status code",
				      status->code);
		*code = LRPC_INVALID_ARGUMENT;
		return true;
	}
	lrpc_call_set_message(call, "%s", status->message ? status->message : "");
	*code = (lrpc_code)status->code;
	return true;
}

/* custom_metadata: what the client sends under these keys comes back as
 * a header and a trailer. */
static void echo_metadata(lrpc_call *call)
{
	const lrpc_metadata *m = lrpc_call_metadata_get(call, "x-grpc-test-echo-initial");

	if (m)
		lrpc_call_add_header(call, m->key, m->value, m->value_len);
	m = lrpc_call_metadata_get(call, "x-grpc-test-echo-trailing-bin");
	if (m)
		lrpc_call_add_trailer(call, m->key, m->value, m->value_len);
}

/* Point \p p at \p size zero bytes. */
static bool payload_fill(lrpc_call *call, Grpc__Testing__Payload *p, int32_t size)
{
	if (size < 0 || (size_t)size > PAYLOAD_MAX) {
		lrpc_call_set_message(call, "payload size %d outside 0..%zu", size,
				      (size_t)PAYLOAD_MAX);
		return false;
	}
	p->type = GRPC__TESTING__PAYLOAD_TYPE__COMPRESSABLE;
	p->body.data = zeros;
	p->body.len = (size_t)size;
	return true;
}

static lrpc_code empty_call(void *user, lrpc_call *call, const Grpc__Testing__Empty *req,
			    Grpc__Testing__Empty *reply)
{
	(void)user;
	(void)call;
	(void)req;
	(void)reply;
	return LRPC_OK;
}

static lrpc_code unary_call(void *user, lrpc_call *call, const Grpc__Testing__SimpleRequest *req,
			    Grpc__Testing__SimpleResponse *reply)
{
	Grpc__Testing__Payload *p;
	lrpc_code code;

	(void)user;
	echo_metadata(call);
	if (echo_status(call, req->response_status, &code))
		return code;
	p = lrpc_call_alloc(call, sizeof(*p));
	if (!p)
		return LRPC_RESOURCE_EXHAUSTED;
	grpc__testing__payload__init(p);
	if (!payload_fill(call, p, req->response_size))
		return LRPC_INVALID_ARGUMENT;
	reply->payload = p;
	return LRPC_OK;
}

/* Pause \p us microseconds before a streamed reply, unless the call has
 * been given up on meanwhile. */
static void pause_us(const lrpc_call *call, int32_t us)
{
	if (us <= 0)
		return;
	if (us > INTERVAL_MAX_US)
		us = INTERVAL_MAX_US;
	for (int32_t left = us; left > 0 && !lrpc_call_cancelled(call); left -= 10000) {
		int32_t step = left < 10000 ? left : 10000;
		struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)step * 1000 };

		nanosleep(&ts, NULL);
	}
}

/* One streamed reply of \p size bytes, \p interval_us after the last. */
static lrpc_code answer(lrpc_call *call, lrpc_server_stream *stream, int32_t size,
			int32_t interval_us)
{
	Grpc__Testing__StreamingOutputCallResponse r =
		GRPC__TESTING__STREAMING_OUTPUT_CALL_RESPONSE__INIT;
	Grpc__Testing__Payload p = GRPC__TESTING__PAYLOAD__INIT;

	pause_us(call, interval_us);
	if (lrpc_call_cancelled(call))
		return LRPC_CANCELLED;
	if (!payload_fill(call, &p, size))
		return LRPC_INVALID_ARGUMENT;
	r.payload = &p;
	return lrpc_server_stream_write(stream, &r.base);
}

/* The replies \p req asks for, then the status it asks for. */
static lrpc_code answer_all(lrpc_call *call, lrpc_server_stream *stream,
			    const Grpc__Testing__StreamingOutputCallRequest *req)
{
	lrpc_code code;

	for (size_t i = 0; i < req->n_response_parameters; i++) {
		const Grpc__Testing__ResponseParameters *rp = req->response_parameters[i];

		code = answer(call, stream, rp->size, rp->interval_us);
		if (code != LRPC_OK)
			return code;
	}
	return echo_status(call, req->response_status, &code) ? code : LRPC_OK;
}

static lrpc_code streaming_output_call(void *user, lrpc_call *call,
				       const Grpc__Testing__StreamingOutputCallRequest *req,
				       lrpc_server_stream *stream)
{
	(void)user;
	return answer_all(call, stream, req);
}

static lrpc_code streaming_input_call(void *user, lrpc_call *call, lrpc_server_stream *stream,
				      Grpc__Testing__StreamingInputCallResponse *reply)
{
	Grpc__Testing__StreamingInputCallRequest *req;
	uint64_t total = 0;
	lrpc_code code;

	(void)user;
	while ((code = grpc__testing__test_service__streaming_input_call__server_read(
			stream, &req)) == LRPC_OK && req) {
		if (req->payload)
			total += req->payload->body.len;
		if (total > INT32_MAX) {
			lrpc_call_set_message(call, "aggregated payload size passes INT32_MAX");
			return LRPC_OUT_OF_RANGE;
		}
	}
	if (code != LRPC_OK)
		return code;
	reply->aggregated_payload_size = (int32_t)total;
	return LRPC_OK;
}

static lrpc_code full_duplex_call(void *user, lrpc_call *call, lrpc_server_stream *stream)
{
	Grpc__Testing__StreamingOutputCallRequest *req;
	lrpc_code code;

	(void)user;
	echo_metadata(call);
	while ((code = grpc__testing__test_service__full_duplex_call__server_read(
			stream, &req)) == LRPC_OK && req) {
		code = answer_all(call, stream, req);
		if (code != LRPC_OK)
			return code;
	}
	return code;
}

/* What a HalfDuplexCall keeps of a request until the half-close. */
struct held {
	int32_t size, interval_us;
};

static lrpc_code half_duplex_call(void *user, lrpc_call *call, lrpc_server_stream *stream)
{
	struct held *held = lrpc_call_alloc(call, HALF_DUPLEX_MAX * sizeof(*held));
	Grpc__Testing__StreamingOutputCallRequest *req;
	size_t n = 0;
	lrpc_code code;

	(void)user;
	if (!held)
		return LRPC_RESOURCE_EXHAUSTED;
	while ((code = grpc__testing__test_service__half_duplex_call__server_read(
			stream, &req)) == LRPC_OK && req) {
		if (echo_status(call, req->response_status, &code))
			return code;
		for (size_t i = 0; i < req->n_response_parameters; i++) {
			if (n == HALF_DUPLEX_MAX) {
				lrpc_call_set_message(call, "a HalfDuplexCall holds at most %d replies",
						      HALF_DUPLEX_MAX);
				return LRPC_RESOURCE_EXHAUSTED;
			}
			held[n].size = req->response_parameters[i]->size;
			held[n].interval_us = req->response_parameters[i]->interval_us;
			n++;
		}
	}
	if (code != LRPC_OK)
		return code;
	for (size_t i = 0; i < n; i++) {
		code = answer(call, stream, held[i].size, held[i].interval_us);
		if (code != LRPC_OK)
			return code;
	}
	return LRPC_OK;
}

static const char *token;
static unsigned int keepalive_ms;

/* --auth: an interceptor, not a handler, checks every call. */
static lrpc_code auth_before(void *arg, lrpc_call *call)
{
	const lrpc_metadata *m = lrpc_call_metadata_get(call, "authorization");

	(void)arg;
	if (!m || m->value_len != 7 + strlen(token) || memcmp(m->value, "Bearer ", 7) ||
	    memcmp((const char *)m->value + 7, token, strlen(token))) {
		lrpc_call_set_message(call, "%s needs a bearer token", lrpc_call_method(call)->name);
		return LRPC_UNAUTHENTICATED;
	}
	return LRPC_OK;
}

static void auth_after(void *arg, lrpc_call *call, lrpc_code code, int64_t ns)
{
	(void)arg, (void)code, (void)ns;
	lrpc_call_add_trailer(call, "x-served-by", "lazyrpc", 7);
}

static void on_signal(int sig)
{
	(void)sig;
	lrpc_server_stop(server);
}

int main(int argc, char **argv)
{
	static const Grpc__Testing__TestService_Handlers handlers = {
		.empty_call = empty_call,
		.unary_call = unary_call,
		.streaming_output_call = streaming_output_call,
		.streaming_input_call = streaming_input_call,
		.full_duplex_call = full_duplex_call,
		.half_duplex_call = half_duplex_call,
		/* .unimplemented_call left NULL: UNIMPLEMENTED */
	};
	lrpc_tls_opts tls = { 0 };
	char real[300];
	int first = 1, ret;

	if (argc > 3 && strcmp(argv[1], "--tls") == 0) {
		tls.cert_file = argv[2];
		tls.key_file = argv[3];
		first = 4;
		if (argc > 4 && !strstr(argv[4], "://")) {
			tls.ca_file = argv[4];
			first = 5;
		}
	}
	if (argc > first + 1 && strcmp(argv[first], "--auth") == 0) {
		token = argv[first + 1];
		first += 2;
	}
	if (argc > first + 1 && strcmp(argv[first], "--keepalive") == 0) {
		keepalive_ms = (unsigned int)atoi(argv[first + 1]);
		first += 2;
	}
	if (argc <= first) {
		fprintf(stderr, "usage: interop-server [--tls CERT KEY [CLIENT_CA]] [--auth TOKEN] URI...\n");
		return 2;
	}
	ret = lrpc_server_new(NULL, &server);
	if (ret == 0)
		ret = grpc__testing__test_service__register(server, &handlers, NULL);
	if (ret == 0 && tls.cert_file)
		ret = lrpc_server_set_tls(server, &tls);
	if (ret == 0 && keepalive_ms)
		ret = lrpc_server_set_keepalive(server, keepalive_ms, keepalive_ms);
	if (ret == 0 && token) {
		static const lrpc_interceptor auth = { .before = auth_before, .after = auth_after };

		ret = lrpc_server_add_interceptor(server, &auth);
	}
	for (int i = first; ret == 0 && i < argc; i++)
		ret = lrpc_server_listen(server, argv[i]);
	if (ret == 0)
		ret = lrpc_server_start(server);
	if (ret < 0) {
		fprintf(stderr, "interop-server: %s %s\n", strerror(-ret), lrpc_server_error(server));
		lrpc_server_free(server);
		return 1;
	}
	for (int i = first; i < argc; i++) {
		if (lrpc_server_listener_uri(server, (unsigned int)(i - first), real,
					     sizeof(real)) == 0)
			printf("listen %s\n", real);
	}
	printf("ready\n");
	fflush(stdout);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	lrpc_server_run(server);
	lrpc_server_free(server);
	return 0;
}
