// SPDX-License-Identifier: MIT
/*
 * interop-client URI CASE [CA [CERT KEY]]: one of gRPC's interop cases
 * (doc/interop-test-descriptions.md in grpc/grpc) made by lazyrpc's
 * grpc:// client against another implementation's TestService at URI
 * (interop_cases.py starts gRPC C++'s or Python's). Exit 0: passed; 1:
 * failed (why, on stderr); 2: no such case; 77: the case needs what
 * lazyrpc's grpc:// client lacks (said on stdout). On a grpcs:// URI, CA
 * verifies the server and CERT and KEY are the client's certificate.
 * The case tls_refused is not gRPC's: a server that requires a client
 * certificate, called without one, fails the open or the first call
 * with UNAVAILABLE.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lazyrpc/async.h>

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

static const int req_sizes[] = { 27182, 8, 1828, 45904 };
static const int rep_sizes[] = { 31415, 9, 2653, 58979 };
static uint8_t zeros[314159];

static bool zero_payload(const Grpc__Testing__Payload *p, size_t n)
{
	return p && p->body.len == n && memcmp(p->body.data, zeros, n) == 0;
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
	static uint8_t body[271828];
	int ok;

	req.response_size = 314159;
	p.body.data = body;
	p.body.len = sizeof(body);
	req.payload = &p;
	CHECK(grpc__testing__test_service__unary_call__call(ch, &req, &rep, soon(), &st) ==
		      LRPC_OK, "UnaryCall: %s %s", lrpc_code_name(st.code), st.message);
	ok = zero_payload(rep->payload, sizeof(zeros));
	grpc__testing__simple_response__free_unpacked(rep, NULL);
	CHECK(ok, "UnaryCall: not %zu zero bytes back", sizeof(zeros));
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

static int client_streaming(void)
{
	Grpc__Testing__StreamingInputCallRequest req =
		GRPC__TESTING__STREAMING_INPUT_CALL_REQUEST__INIT;
	Grpc__Testing__Payload p = GRPC__TESTING__PAYLOAD__INIT;
	Grpc__Testing__StreamingInputCallResponse *rep = NULL;
	lrpc_status st = { 0 };
	lrpc_stream *s;
	lrpc_code code;
	int32_t got;

	CHECK(grpc__testing__test_service__streaming_input_call__open(ch, soon(), &s, &st) ==
		      LRPC_OK, "StreamingInputCall: %s", st.message);
	req.payload = &p;
	p.body.data = zeros;
	for (int i = 0; i < 4; i++) {
		p.body.len = (size_t)req_sizes[i];
		code = grpc__testing__test_service__streaming_input_call__write(s, &req, &st);
		CHECK(code == LRPC_OK, "write %d: %s %s", i, lrpc_code_name(code), st.message);
	}
	code = grpc__testing__test_service__streaming_input_call__close_and_recv(s, &rep, &st);
	lrpc_stream_free(s);
	CHECK(code == LRPC_OK, "close_and_recv: %s %s", lrpc_code_name(code), st.message);
	got = rep->aggregated_payload_size;
	grpc__testing__streaming_input_call_response__free_unpacked(rep, NULL);
	CHECK(got == 74922, "aggregated_payload_size %d, not 74922", got);
	return 0;
}

/* Read one reply of \p n zero bytes. */
static int read_one(lrpc_stream *s, size_t n)
{
	Grpc__Testing__StreamingOutputCallResponse *rep = NULL;
	lrpc_status st = { 0 };
	lrpc_code code = grpc__testing__test_service__full_duplex_call__read(s, &rep, &st);

	CHECK(code == LRPC_OK && rep, "read: %s %s", lrpc_code_name(code),
	      rep ? st.message : "the stream ended");
	CHECK(zero_payload(rep->payload, n), "not a reply of %zu zero bytes", n);
	return 0;
}

/* Read the end of \p s: \p want, with \p msg if not NULL. */
static int read_end(lrpc_stream *s, lrpc_code want, const char *msg)
{
	Grpc__Testing__StreamingOutputCallResponse *rep = NULL;
	lrpc_status st = { 0 };
	lrpc_code code = grpc__testing__test_service__full_duplex_call__read(s, &rep, &st);

	CHECK(!rep, "a reply where the end was due");
	CHECK(code == want, "the stream ended %s (%s), not %s", lrpc_code_name(code),
	      st.message, lrpc_code_name(want));
	CHECK(!msg || strcmp(st.message, msg) == 0, "message \"%s\", not \"%s\"",
	      st.message, msg);
	return 0;
}

/* Half-close \p s, read its end (as read_end) and free it. */
static int close_and_end(lrpc_stream *s, lrpc_code want, const char *msg)
{
	lrpc_status st = { 0 };
	lrpc_code code = grpc__testing__test_service__full_duplex_call__close_send(s, &st);
	int ret = 1;

	if (code != LRPC_OK)
		fprintf(stderr, "FAIL: close_send: %s %s\n", lrpc_code_name(code), st.message);
	else
		ret = read_end(s, want, msg);
	lrpc_stream_free(s);
	return ret;
}

static int server_streaming(void)
{
	Grpc__Testing__StreamingOutputCallRequest req =
		GRPC__TESTING__STREAMING_OUTPUT_CALL_REQUEST__INIT;
	Grpc__Testing__ResponseParameters rp[4], *rpp[4];
	lrpc_status st = { 0 };
	lrpc_stream *s;
	int ret = 0;

	for (int i = 0; i < 4; i++) {
		grpc__testing__response_parameters__init(&rp[i]);
		rp[i].size = rep_sizes[i];
		rpp[i] = &rp[i];
	}
	req.response_parameters = rpp;
	req.n_response_parameters = 4;
	CHECK(grpc__testing__test_service__streaming_output_call__open(ch, &req, soon(), &s,
								       &st) == LRPC_OK,
	      "StreamingOutputCall: %s", st.message);
	for (int i = 0; i < 4 && !ret; i++)
		ret = read_one(s, (size_t)rep_sizes[i]);
	if (!ret)
		ret = read_end(s, LRPC_OK, NULL);
	lrpc_stream_free(s);
	return ret;
}

/* Write a FullDuplexCall request asking for one reply of \p rep_size
 * bytes, carrying \p req_size bytes and the status \p es (or NULL). */
static lrpc_code write_dup(lrpc_stream *s, int rep_size, int req_size,
			   Grpc__Testing__EchoStatus *es, lrpc_status *st)
{
	Grpc__Testing__StreamingOutputCallRequest req =
		GRPC__TESTING__STREAMING_OUTPUT_CALL_REQUEST__INIT;
	Grpc__Testing__ResponseParameters rp = GRPC__TESTING__RESPONSE_PARAMETERS__INIT,
					  *rpp = &rp;
	Grpc__Testing__Payload p = GRPC__TESTING__PAYLOAD__INIT;

	rp.size = rep_size;
	if (rep_size >= 0) {
		req.response_parameters = &rpp;
		req.n_response_parameters = 1;
	}
	p.body.data = zeros;
	p.body.len = (size_t)req_size;
	req.payload = &p;
	req.response_status = es;
	return grpc__testing__test_service__full_duplex_call__write(s, &req, st);
}

static int ping_pong(void)
{
	lrpc_status st = { 0 };
	lrpc_stream *s;
	lrpc_code code;
	int ret = 0;

	CHECK(grpc__testing__test_service__full_duplex_call__open(ch, soon(), &s, &st) ==
		      LRPC_OK, "FullDuplexCall: %s", st.message);
	for (int i = 0; i < 4 && !ret; i++) {
		code = write_dup(s, rep_sizes[i], req_sizes[i], NULL, &st);
		if (code != LRPC_OK) {
			fprintf(stderr, "FAIL: write %d: %s %s\n", i, lrpc_code_name(code),
				st.message);
			ret = 1;
			break;
		}
		ret = read_one(s, (size_t)rep_sizes[i]);
	}
	if (ret) {
		lrpc_stream_free(s);
		return ret;
	}
	return close_and_end(s, LRPC_OK, NULL);
}

static int empty_stream(void)
{
	lrpc_status st = { 0 };
	lrpc_stream *s;

	CHECK(grpc__testing__test_service__full_duplex_call__open(ch, soon(), &s, &st) ==
		      LRPC_OK, "FullDuplexCall: %s", st.message);
	return close_and_end(s, LRPC_OK, NULL);
}

static int status_code_and_message(void)
{
	static const char msg[] = "test status message";
	Grpc__Testing__EchoStatus es = GRPC__TESTING__ECHO_STATUS__INIT;
	lrpc_status st = { 0 };
	lrpc_stream *s;
	int ret = unary_status(msg);

	if (ret)
		return ret;
	es.code = 2;
	es.message = (char *)msg;
	CHECK(grpc__testing__test_service__full_duplex_call__open(ch, soon(), &s, &st) ==
		      LRPC_OK, "FullDuplexCall: %s", st.message);
	if (write_dup(s, -1, 0, &es, &st) != LRPC_OK) {
		fprintf(stderr, "FAIL: FullDuplexCall write: %s\n", st.message);
		lrpc_stream_free(s);
		return 1;
	}
	return close_and_end(s, LRPC_UNKNOWN, msg);
}

static int timeout_on_sleeping_server(void)
{
	lrpc_status st = { 0 };
	lrpc_stream *s;
	lrpc_code code;
	int ret = 0;

	code = grpc__testing__test_service__full_duplex_call__open(
		ch, lrpc_deadline_after_ms(1), &s, &st);
	if (code == LRPC_DEADLINE_EXCEEDED)
		return 0; /* the deadline passed while connecting: as good */
	CHECK(code == LRPC_OK, "FullDuplexCall: %s %s", lrpc_code_name(code), st.message);
	code = write_dup(s, -1, 27182, NULL, &st);
	CHECK(code == LRPC_OK || code == LRPC_DEADLINE_EXCEEDED, "write: %s %s",
	      lrpc_code_name(code), st.message);
	ret = read_end(s, LRPC_DEADLINE_EXCEEDED, NULL);
	lrpc_stream_free(s);
	return ret;
}

static int cancel_after_begin(void)
{
	Grpc__Testing__StreamingInputCallResponse *rep = NULL;
	lrpc_status st = { 0 };
	lrpc_stream *s;
	lrpc_code code;

	CHECK(grpc__testing__test_service__streaming_input_call__open(ch, soon(), &s, &st) ==
		      LRPC_OK, "StreamingInputCall: %s", st.message);
	lrpc_stream_cancel(s);
	code = grpc__testing__test_service__streaming_input_call__close_and_recv(s, &rep, &st);
	lrpc_stream_free(s);
	CHECK(code == LRPC_CANCELLED, "after a cancel: %s %s", lrpc_code_name(code),
	      st.message);
	return 0;
}

static int cancel_after_first_response(void)
{
	lrpc_status st = { 0 };
	lrpc_stream *s;
	lrpc_code code;
	int ret;

	CHECK(grpc__testing__test_service__full_duplex_call__open(ch, soon(), &s, &st) ==
		      LRPC_OK, "FullDuplexCall: %s", st.message);
	code = write_dup(s, rep_sizes[0], req_sizes[0], NULL, &st);
	ret = code == LRPC_OK ? read_one(s, (size_t)rep_sizes[0]) : 1;
	if (code != LRPC_OK)
		fprintf(stderr, "FAIL: write: %s %s\n", lrpc_code_name(code), st.message);
	lrpc_stream_cancel(s);
	if (!ret)
		ret = read_end(s, LRPC_CANCELLED, NULL);
	lrpc_stream_free(s);
	return ret;
}

static const lrpc_method_desc *method_desc(const char *name)
{
	const lrpc_service_desc *d = &grpc__testing__test_service__service_desc;

	for (size_t i = 0; i < d->n_methods; i++)
		if (!strcmp(d->methods[i].name, name))
			return &d->methods[i];
	abort();
}

static const unsigned char echo_trailing[] = { 0xab, 0xab, 0xab };
static const lrpc_metadata echo_md[] = {
	{ "x-grpc-test-echo-initial", "test_initial_metadata_value", 27 },
	{ "x-grpc-test-echo-trailing-bin", echo_trailing, sizeof(echo_trailing) },
};

/* Fill empty call options \p o to send custom_metadata's two keys, with
 * lists for the headers and trailers that come back. */
static int echo_opts(lrpc_call_opts *o)
{
	CHECK(lrpc_metadata_list_new(&o->headers) == 0 &&
	      lrpc_metadata_list_new(&o->trailers) == 0, "out of memory");
	o->metadata = echo_md;
	o->n_metadata = 2;
	return 0;
}

/* Were both keys echoed, the first as a header, the second (binary) as a
 * trailer? */
static int echoed(const lrpc_call_opts *o, const char *call)
{
	const lrpc_metadata *h = lrpc_metadata_list_find(o->headers, "x-grpc-test-echo-initial");
	const lrpc_metadata *t = lrpc_metadata_list_find(o->trailers,
							 "x-grpc-test-echo-trailing-bin");

	CHECK(h && h->value_len == 27 && !memcmp(h->value, "test_initial_metadata_value", 27),
	      "%s: initial metadata not echoed", call);
	CHECK(t && t->value_len == 3 && !memcmp(t->value, echo_trailing, 3),
	      "%s: binary trailing metadata not echoed", call);
	return 0;
}

/* custom_metadata as grpc/grpc describes it: both keys on a UnaryCall and
 * on a FullDuplexCall (one request, then the half-close), each echoed
 * back, the first in the headers, the second in the trailers. */
static int custom_metadata(void)
{
	Grpc__Testing__SimpleRequest req = GRPC__TESTING__SIMPLE_REQUEST__INIT;
	Grpc__Testing__SimpleResponse *rep = NULL;
	Grpc__Testing__Payload p = GRPC__TESTING__PAYLOAD__INIT;
	static uint8_t body[271828];
	lrpc_call_opts u = LRPC_CALL_OPTS_INIT, d = LRPC_CALL_OPTS_INIT; /* unary, stream */
	lrpc_status st = { 0 };
	lrpc_stream *s;
	lrpc_code code;
	int ret = 1;

	if (echo_opts(&u) || echo_opts(&d))
		goto out;
	req.response_size = 314159;
	p.body.data = body;
	p.body.len = sizeof(body);
	req.payload = &p;
	code = lrpc_channel_call_opts(ch, method_desc("UnaryCall"), &req.base,
				      (ProtobufCMessage **)&rep, soon(), &u, &st);
	if (code != LRPC_OK || !zero_payload(rep->payload, 314159)) {
		fprintf(stderr, "FAIL: UnaryCall: %s %s\n", lrpc_code_name(code),
			code == LRPC_OK ? "not 314159 zero bytes back" : st.message);
		grpc__testing__simple_response__free_unpacked(rep, NULL);
		goto out;
	}
	grpc__testing__simple_response__free_unpacked(rep, NULL);
	if (echoed(&u, "UnaryCall"))
		goto out;
	code = lrpc_stream_open_opts(ch, method_desc("FullDuplexCall"), soon(), &d, &s, &st);
	if (code != LRPC_OK) {
		fprintf(stderr, "FAIL: FullDuplexCall: %s %s\n", lrpc_code_name(code), st.message);
		goto out;
	}
	code = write_dup(s, 314159, (int)sizeof(body), NULL, &st);
	if (code != LRPC_OK || read_one(s, 314159)) {
		if (code != LRPC_OK)
			fprintf(stderr, "FAIL: FullDuplexCall write: %s %s\n",
				lrpc_code_name(code), st.message);
		lrpc_stream_free(s);
		goto out;
	}
	/* The lists are filled at the stream's end, which this reads. */
	if (close_and_end(s, LRPC_OK, NULL))
		goto out;
	ret = echoed(&d, "FullDuplexCall");
out:
	lrpc_metadata_list_free(u.headers);
	lrpc_metadata_list_free(u.trailers);
	lrpc_metadata_list_free(d.headers);
	lrpc_metadata_list_free(d.trailers);
	return ret;
}

/* lazyrpc's own checks of what a caller may send: what may not be sent is
 * refused before anything is. */
static int metadata_refused(void)
{
	Grpc__Testing__SimpleRequest req = GRPC__TESTING__SIMPLE_REQUEST__INIT;
	Grpc__Testing__SimpleResponse *rep = NULL;
	lrpc_call_opts o = LRPC_CALL_OPTS_INIT;
	static char big[LRPC_METADATA_MAX];
	lrpc_status st = { 0 };
	lrpc_stream *s = NULL;
	lrpc_code code;

	o.metadata = (const lrpc_metadata[]){ { "Bad-Key", "v", 1 } };
	o.n_metadata = 1;
	code = lrpc_channel_call_opts(ch, method_desc("UnaryCall"),
				      &req.base, (ProtobufCMessage **)&rep, soon(), &o, &st);
	CHECK(code == LRPC_INVALID_ARGUMENT && strstr(st.message, "Bad-Key"),
	      "a bad key: %s %s", lrpc_code_name(code), st.message);
	memset(big, 'x', sizeof(big) - 1);
	o.metadata = (const lrpc_metadata[]){ { "big", big, sizeof(big) - 1 } };
	code = lrpc_channel_call_opts(ch, method_desc("UnaryCall"),
				      &req.base, (ProtobufCMessage **)&rep, soon(), &o, &st);
	CHECK(code == LRPC_RESOURCE_EXHAUSTED && strstr(st.message, "exceeds"),
	      "an oversized set: %s %s", lrpc_code_name(code), st.message);
	code = lrpc_stream_open_opts(ch, method_desc("FullDuplexCall"), soon(), &o, &s, &st);
	CHECK(code == LRPC_RESOURCE_EXHAUSTED && strstr(st.message, "exceeds") && !s,
	      "an oversized set on a stream: %s %s", lrpc_code_name(code), st.message);
	return 0;
}

static const struct {
	const char *name;
	int (*run)(void);
	const char *missing; /* what lazyrpc's client lacks for it, or NULL */
} cases[] = {
	{ "empty_unary", empty_unary, NULL },
	{ "large_unary", large_unary, NULL },
	{ "client_streaming", client_streaming, NULL },
	{ "server_streaming", server_streaming, NULL },
	{ "ping_pong", ping_pong, NULL },
	{ "empty_stream", empty_stream, NULL },
	{ "status_code_and_message", status_code_and_message, NULL },
	{ "special_status_message", special_status_message, NULL },
	{ "custom_metadata", custom_metadata, NULL },
	{ "metadata_refused", metadata_refused, NULL },
	{ "unimplemented_method", unimplemented_method, NULL },
	{ "unimplemented_service", unimplemented_service, NULL },
	{ "timeout_on_sleeping_server", timeout_on_sleeping_server, NULL },
	{ "cancel_after_begin", cancel_after_begin, NULL },
	{ "cancel_after_first_response", cancel_after_first_response, NULL },
};

struct async_tally {
	int done, ok;
};

static void async_done(void *arg, lrpc_code code, ProtobufCMessage *rep,
		       const lrpc_status *st, lrpc_async *handle)
{
	struct async_tally *t = arg;

	(void)handle;
	t->done++;
	if (code == LRPC_OK)
		t->ok++;
	else
		fprintf(stderr, "async EmptyCall: %s %s\n", lrpc_code_name(code), st->message);
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
}

/* Not a case: after each, a few asynchronous EmptyCalls on the channel
 * (grpc_async.c's connections; over grpcs:// their TLS). */
static int async_empty(void)
{
	Grpc__Testing__Empty req = GRPC__TESTING__EMPTY__INIT;
	struct async_tally t = { 0 };
	lrpc_deadline until = soon();
	lrpc_cq *cq;
	int n = 0;

	CHECK(lrpc_cq_new(&cq) == 0, "lrpc_cq_new");
	for (int i = 0; i < 3; i++)
		n += grpc__testing__test_service__empty_call__call_async(ch, &req, until, cq,
									 async_done, &t,
									 NULL) == 0;
	while (t.done < n && lrpc_cq_run(cq, until, 0) >= 0 && lrpc_now() < until)
		;
	while (t.done < n && lrpc_cq_run(cq, 0, 0) > 0)
		;
	lrpc_cq_free(cq);
	CHECK(n == 3 && t.ok == 3, "%d of 3 async EmptyCalls started, %d OK", n, t.ok);
	return 0;
}

static int tls_refused(void)
{
	Grpc__Testing__Empty req = GRPC__TESTING__EMPTY__INIT, *rep = NULL;
	lrpc_status st = { 0 };
	lrpc_code code;

	code = grpc__testing__test_service__empty_call__call(ch, &req, &rep, soon(), &st);
	CHECK(code == LRPC_UNAVAILABLE, "without a client certificate: %s %s",
	      lrpc_code_name(code), st.message);
	printf("refused: %s\n", st.message);
	return 0;
}

int main(int argc, char **argv)
{
	lrpc_tls_opts tls = { 0 };
	lrpc_status st = { 0 };
	lrpc_channel_opts o;
	int ret;

	if (argc != 3 && argc != 4 && argc != 6) {
		fprintf(stderr, "usage: interop-client URI CASE [CA [CERT KEY]]\n");
		return 2;
	}
	tls.ca_file = argc >= 4 ? argv[3] : NULL;
	tls.cert_file = argc == 6 ? argv[4] : NULL;
	tls.key_file = argc == 6 ? argv[5] : NULL;
	if (strcmp(argv[2], "tls_refused") == 0) {
		lrpc_channel_opts_init(&o);
		o.open_status = &st;
		o.tls = &tls;
		if (lrpc_channel_open(argv[1], &o, &ch) < 0) {
			CHECK(st.code == LRPC_UNAVAILABLE, "open: %s %s", lrpc_code_name(st.code),
			      st.message);
			printf("refused: %s\n", st.message);
			return 0;
		}
		ret = tls_refused();
		lrpc_channel_close(ch);
		return ret;
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
		o.tls = &tls;
		ret = lrpc_channel_open(argv[1], &o, &ch);
		CHECK(ret == 0, "open %s: %s", argv[1], st.message);
		ret = cases[i].run();
		if (ret == 0)
			ret = empty_unary(); /* the channel goes on working */
		if (ret == 0)
			ret = async_empty();
		lrpc_channel_close(ch);
		if (ret == 0)
			printf("PASS %s\n", argv[2]);
		return ret;
	}
	fprintf(stderr, "interop-client: no case %s\n", argv[2]);
	return 2;
}
