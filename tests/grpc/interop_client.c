// SPDX-License-Identifier: MIT
/*
 * interop-client URI CASE: one of gRPC's interop cases
 * (doc/interop-test-descriptions.md in grpc/grpc) made by lazyrpc's
 * grpc:// client against another implementation's TestService at URI
 * (interop_cases.py starts gRPC C++'s or Python's). Exit 0: passed; 1:
 * failed (why, on stderr); 2: no such case; 77: the case needs what
 * lazyrpc's grpc:// client lacks (said on stdout).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grpc/testing/test.lrpc.h"

static lrpc_channel *ch;

#define CHECK(cond, ...)                                          \
	do {                                                      \
		if (!(cond)) {                                    \
			fprintf(stderr, "FAIL: " __VA_ARGS__);    \
			fprintf(stderr, "\n");                    \
			return 1;                                 \
		}                                                 \
	} while (0)

static lrpc_deadline soon(void)
{
	return lrpc_deadline_after_ms(10000);
}

static int empty_unary(void)
{
	Grpc__Testing__Empty req = GRPC__TESTING__EMPTY__INIT, *rep = NULL;
	lrpc_status st = { 0 };

	CHECK(grpc__testing__test_service__empty_call__call(ch, &req, &rep, soon(), &st) ==
		      LRPC_OK, "EmptyCall: %s %s", lrpc_code_name(st.code), st.message);
	grpc__testing__empty__free_unpacked(rep, NULL);
	return 0;
}

static int large_unary(void)
{
	Grpc__Testing__SimpleRequest req = GRPC__TESTING__SIMPLE_REQUEST__INIT;
	Grpc__Testing__Payload p = GRPC__TESTING__PAYLOAD__INIT;
	Grpc__Testing__SimpleResponse *rep = NULL;
	lrpc_status st = { 0 };
	static uint8_t zeros[271828], want[314159];
	int ok;

	req.response_size = 314159;
	p.body.data = zeros;
	p.body.len = sizeof(zeros);
	req.payload = &p;
	CHECK(grpc__testing__test_service__unary_call__call(ch, &req, &rep, soon(), &st) ==
		      LRPC_OK, "UnaryCall: %s %s", lrpc_code_name(st.code), st.message);
	ok = rep->payload && rep->payload->body.len == sizeof(want) &&
	     memcmp(rep->payload->body.data, want, sizeof(want)) == 0;
	grpc__testing__simple_response__free_unpacked(rep, NULL);
	CHECK(ok, "UnaryCall: not %zu zero bytes back", sizeof(want));
	return 0;
}

static int unary_status(const char *msg)
{
	Grpc__Testing__SimpleRequest req = GRPC__TESTING__SIMPLE_REQUEST__INIT;
	Grpc__Testing__EchoStatus es = GRPC__TESTING__ECHO_STATUS__INIT;
	Grpc__Testing__SimpleResponse *rep = NULL;
	lrpc_status st = { 0 };
	lrpc_code code;

	es.code = 2;
	es.message = (char *)msg;
	req.response_status = &es;
	code = grpc__testing__test_service__unary_call__call(ch, &req, &rep, soon(), &st);
	CHECK(code == LRPC_UNKNOWN, "UnaryCall: %s, not UNKNOWN", lrpc_code_name(code));
	CHECK(strcmp(st.message, msg) == 0, "message \"%s\", not \"%s\"", st.message, msg);
	CHECK(!rep, "a reply with an error");
	return 0;
}

static int special_status_message(void)
{
	return unary_status("\t\ntest with whitespace\r\nand Unicode BMP \u263a and "
			    "non-BMP \U0001f608\t\n");
}

static int unimplemented_method(void)
{
	Grpc__Testing__Empty req = GRPC__TESTING__EMPTY__INIT, *rep = NULL;
	lrpc_code code;

	code = grpc__testing__test_service__unimplemented_call__call(ch, &req, &rep, soon(),
								     NULL);
	CHECK(code == LRPC_UNIMPLEMENTED, "UnimplementedCall: %s", lrpc_code_name(code));
	return 0;
}

static int unimplemented_service(void)
{
	Grpc__Testing__Empty req = GRPC__TESTING__EMPTY__INIT, *rep = NULL;
	lrpc_code code;

	code = grpc__testing__unimplemented_service__unimplemented_call__call(ch, &req, &rep,
									      soon(), NULL);
	CHECK(code == LRPC_UNIMPLEMENTED, "UnimplementedService: %s", lrpc_code_name(code));
	return 0;
}

static const lrpc_method_desc *unary_call_desc(void)
{
	const lrpc_service_desc *d = &grpc__testing__test_service__service_desc;

	for (size_t i = 0; i < d->n_methods; i++)
		if (!strcmp(d->methods[i].name, "UnaryCall"))
			return &d->methods[i];
	abort();
}

/* custom_metadata's unary half (its FullDuplexCall half needs metadata on
 * streams), with lazyrpc's own checks of what a caller may send. */
static int custom_metadata_unary(void)
{
	static const unsigned char trailing[] = { 0xab, 0xab, 0xab };
	const lrpc_metadata md[] = {
		{ "x-grpc-test-echo-initial", "test_initial_metadata_value", 27 },
		{ "x-grpc-test-echo-trailing-bin", trailing, sizeof(trailing) },
	};
	lrpc_call_opts o = LRPC_CALL_OPTS_INIT;
	Grpc__Testing__SimpleRequest req = GRPC__TESTING__SIMPLE_REQUEST__INIT;
	Grpc__Testing__SimpleResponse *rep = NULL;
	static char big[LRPC_METADATA_MAX];
	const lrpc_metadata *m;
	lrpc_status st = { 0 };
	lrpc_code code;

	CHECK(lrpc_metadata_list_new(&o.headers) == 0 && lrpc_metadata_list_new(&o.trailers) == 0,
	      "out of memory");
	o.metadata = md;
	o.n_metadata = 2;
	req.response_size = 314159;
	code = lrpc_channel_call_opts(ch, unary_call_desc(),
				      &req.base, (ProtobufCMessage **)&rep, soon(), &o, &st);
	CHECK(code == LRPC_OK, "UnaryCall: %s %s", lrpc_code_name(code), st.message);
	grpc__testing__simple_response__free_unpacked(rep, NULL);
	m = lrpc_metadata_list_find(o.headers, "x-grpc-test-echo-initial");
	CHECK(m && m->value_len == 27 && !memcmp(m->value, "test_initial_metadata_value", 27),
	      "initial metadata not echoed");
	m = lrpc_metadata_list_find(o.trailers, "x-grpc-test-echo-trailing-bin");
	CHECK(m && m->value_len == 3 && !memcmp(m->value, trailing, 3),
	      "binary trailing metadata not echoed");

	/* What may not be sent is refused before anything is. */
	o.metadata = (const lrpc_metadata[]){ { "Bad-Key", "v", 1 } };
	o.n_metadata = 1;
	code = lrpc_channel_call_opts(ch, unary_call_desc(),
				      &req.base, (ProtobufCMessage **)&rep, soon(), &o, &st);
	CHECK(code == LRPC_INVALID_ARGUMENT && strstr(st.message, "Bad-Key"),
	      "a bad key: %s %s", lrpc_code_name(code), st.message);
	memset(big, 'x', sizeof(big) - 1);
	o.metadata = (const lrpc_metadata[]){ { "big", big, sizeof(big) - 1 } };
	code = lrpc_channel_call_opts(ch, unary_call_desc(),
				      &req.base, (ProtobufCMessage **)&rep, soon(), &o, &st);
	CHECK(code == LRPC_RESOURCE_EXHAUSTED && strstr(st.message, "exceeds"),
	      "an oversized set: %s %s", lrpc_code_name(code), st.message);
	lrpc_metadata_list_free(o.headers);
	lrpc_metadata_list_free(o.trailers);
	return 0;
}

static const struct {
	const char *name;
	int (*run)(void);
	const char *missing; /* what lazyrpc's client lacks for it, or NULL */
} cases[] = {
	{ "empty_unary", empty_unary, NULL },
	{ "large_unary", large_unary, NULL },
	{ "client_streaming", NULL, "streams on grpc:// channels" },
	{ "server_streaming", NULL, "streams on grpc:// channels" },
	{ "ping_pong", NULL, "streams on grpc:// channels" },
	{ "empty_stream", NULL, "streams on grpc:// channels" },
	{ "status_code_and_message", NULL, "streams on grpc:// channels (its FullDuplexCall half)" },
	{ "special_status_message", special_status_message, NULL },
	{ "custom_metadata", NULL, "metadata on grpc:// streams (custom_metadata_unary runs the rest)" },
	{ "custom_metadata_unary", custom_metadata_unary, NULL },
	{ "unimplemented_method", unimplemented_method, NULL },
	{ "unimplemented_service", unimplemented_service, NULL },
	{ "timeout_on_sleeping_server", NULL, "streams on grpc:// channels" },
	{ "cancel_after_begin", NULL, "streams on grpc:// channels" },
	{ "cancel_after_first_response", NULL, "streams on grpc:// channels" },
};

int main(int argc, char **argv)
{
	lrpc_status st = { 0 };
	lrpc_channel_opts o;
	int ret;

	if (argc != 3) {
		fprintf(stderr, "usage: interop-client URI CASE\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (strcmp(cases[i].name, argv[2]) != 0)
			continue;
		if (cases[i].missing) {
			printf("SKIP %s: lazyrpc's client has no %s yet\n", argv[2],
			       cases[i].missing);
			return 77;
		}
		lrpc_channel_opts_init(&o);
		o.open_status = &st;
		ret = lrpc_channel_open(argv[1], &o, &ch);
		CHECK(ret == 0, "open %s: %s", argv[1], st.message);
		ret = cases[i].run();
		if (ret == 0)
			ret = empty_unary(); /* the channel goes on working */
		lrpc_channel_close(ch);
		if (ret == 0)
			printf("PASS %s\n", argv[2]);
		return ret;
	}
	fprintf(stderr, "interop-client: no case %s\n", argv[2]);
	return 2;
}
