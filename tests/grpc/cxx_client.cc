// SPDX-License-Identifier: MIT
/*
 * interop-client-cxx HOST:PORT CASE [CA [CERT KEY]]: one of gRPC's interop cases
 * (doc/interop-test-descriptions.md in grpc/grpc) made by gRPC C++
 * (Debian's libgrpc++) against a grpc.testing.TestService at HOST:PORT.
 * interop_cases.py starts lazyrpc's server and runs this with --client.
 * With CA, over TLS, verifying the server with CA (and presenting CERT,
 * KEY).
 * Exit 0: passed; 1: failed (why, on stderr); 2: no such case.
 */
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "grpc/testing/test.grpc.pb.h"

using grpc::ClientContext;
using grpc::Status;
using grpc::StatusCode;
using namespace grpc::testing;

namespace {

struct Failed {
	std::string why;
};

void check(bool ok, const std::string &why)
{
	if (!ok)
		throw Failed{ why };
}

void check_status(const Status &st, StatusCode code, const char *message = nullptr)
{
	check(st.error_code() == code,
	      "status " + std::to_string(st.error_code()) + " (" + st.error_message() +
		      "), want " + std::to_string(code));
	if (message)
		check(st.error_message() == message,
		      "message \"" + st.error_message() + "\", want \"" + message + "\"");
}

void deadline_in(ClientContext &ctx, int ms)
{
	ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(ms));
}

Payload zeros(size_t n)
{
	Payload p;
	p.set_body(std::string(n, '\0'));
	return p;
}

void empty_unary(TestService::Stub &stub)
{
	ClientContext ctx;
	Empty req, rep;

	deadline_in(ctx, 10000);
	check_status(stub.EmptyCall(&ctx, req, &rep), StatusCode::OK);
}

void large_unary(TestService::Stub &stub)
{
	ClientContext ctx;
	SimpleRequest req;
	SimpleResponse rep;

	deadline_in(ctx, 10000);
	req.set_response_size(314159);
	*req.mutable_payload() = zeros(271828);
	check_status(stub.UnaryCall(&ctx, req, &rep), StatusCode::OK);
	check(rep.payload().body() == std::string(314159, '\0'), "wrong reply payload");
}

void client_streaming(TestService::Stub &stub)
{
	ClientContext ctx;
	StreamingInputCallResponse rep;

	deadline_in(ctx, 10000);
	auto w = stub.StreamingInputCall(&ctx, &rep);
	for (size_t n : { 27182, 8, 1828, 45904 }) {
		StreamingInputCallRequest req;

		*req.mutable_payload() = zeros(n);
		check(w->Write(req), "write failed");
	}
	check(w->WritesDone(), "half-close failed");
	check_status(w->Finish(), StatusCode::OK);
	check(rep.aggregated_payload_size() == 74922,
	      "aggregated " + std::to_string(rep.aggregated_payload_size()));
}

void server_streaming(TestService::Stub &stub)
{
	const int sizes[] = { 31415, 9, 2653, 58979 };
	ClientContext ctx;
	StreamingOutputCallRequest req;
	StreamingOutputCallResponse rep;
	size_t i = 0;

	deadline_in(ctx, 10000);
	for (int n : sizes)
		req.add_response_parameters()->set_size(n);
	auto r = stub.StreamingOutputCall(&ctx, req);
	while (r->Read(&rep)) {
		check(i < 4, "more than 4 replies");
		check(rep.payload().body().size() == (size_t)sizes[i], "reply size");
		i++;
	}
	check(i == 4, std::to_string(i) + " replies");
	check_status(r->Finish(), StatusCode::OK);
}

void ping_pong(TestService::Stub &stub)
{
	const int want[] = { 31415, 9, 2653, 58979 }, send[] = { 27182, 8, 1828, 45904 };
	ClientContext ctx;
	StreamingOutputCallResponse rep;

	deadline_in(ctx, 10000);
	auto s = stub.FullDuplexCall(&ctx);
	for (int i = 0; i < 4; i++) {
		StreamingOutputCallRequest req;

		req.add_response_parameters()->set_size(want[i]);
		*req.mutable_payload() = zeros(send[i]);
		check(s->Write(req), "write failed");
		check(s->Read(&rep), "no reply");
		check(rep.payload().body().size() == (size_t)want[i], "reply size");
	}
	check(s->WritesDone(), "half-close failed");
	check(!s->Read(&rep), "a reply after the last");
	check_status(s->Finish(), StatusCode::OK);
}

void empty_stream(TestService::Stub &stub)
{
	ClientContext ctx;
	StreamingOutputCallResponse rep;

	deadline_in(ctx, 10000);
	auto s = stub.FullDuplexCall(&ctx);
	check(s->WritesDone(), "half-close failed");
	check(!s->Read(&rep), "a reply to nothing");
	check_status(s->Finish(), StatusCode::OK);
}

void unary_status(TestService::Stub &stub, const char *msg)
{
	ClientContext ctx;
	SimpleRequest req;
	SimpleResponse rep;

	deadline_in(ctx, 10000);
	req.mutable_response_status()->set_code(2);
	req.mutable_response_status()->set_message(msg);
	check_status(stub.UnaryCall(&ctx, req, &rep), StatusCode::UNKNOWN, msg);
}

void status_code_and_message(TestService::Stub &stub)
{
	const char *msg = "test status message";
	ClientContext ctx;
	StreamingOutputCallRequest req;
	StreamingOutputCallResponse rep;

	unary_status(stub, msg);
	deadline_in(ctx, 10000);
	auto s = stub.FullDuplexCall(&ctx);
	req.mutable_response_status()->set_code(2);
	req.mutable_response_status()->set_message(msg);
	check(s->Write(req), "write failed");
	s->WritesDone();
	while (s->Read(&rep))
		;
	check_status(s->Finish(), StatusCode::UNKNOWN, msg);
}

void special_status_message(TestService::Stub &stub)
{
	unary_status(stub, "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP "
			   "\U0001f608\t\n");
}

const char echo_initial_key[] = "x-grpc-test-echo-initial";
const char echo_initial[] = "test_initial_metadata_value";
const char echo_trailing_key[] = "x-grpc-test-echo-trailing-bin";
const std::string echo_trailing("\xab\xab\xab", 3);

void echo_ask(ClientContext &ctx)
{
	ctx.AddMetadata(echo_initial_key, echo_initial);
	ctx.AddMetadata(echo_trailing_key, echo_trailing);
}

void expect_echoed(const ClientContext &ctx)
{
	auto i = ctx.GetServerInitialMetadata().find(echo_initial_key);
	auto t = ctx.GetServerTrailingMetadata().find(echo_trailing_key);

	check(i != ctx.GetServerInitialMetadata().end() &&
		      std::string(i->second.data(), i->second.size()) == echo_initial,
	      "initial metadata not echoed");
	check(t != ctx.GetServerTrailingMetadata().end() &&
		      std::string(t->second.data(), t->second.size()) == echo_trailing,
	      "trailing binary metadata not echoed");
}

void custom_metadata(TestService::Stub &stub)
{
	{
		ClientContext ctx;
		SimpleRequest req;
		SimpleResponse rep;

		deadline_in(ctx, 10000);
		echo_ask(ctx);
		req.set_response_size(314159);
		*req.mutable_payload() = zeros(271828);
		check_status(stub.UnaryCall(&ctx, req, &rep), StatusCode::OK);
		check(rep.payload().body().size() == 314159, "reply size");
		expect_echoed(ctx);
	}
	ClientContext ctx;
	StreamingOutputCallRequest req;
	StreamingOutputCallResponse rep;

	deadline_in(ctx, 10000);
	echo_ask(ctx);
	auto s = stub.FullDuplexCall(&ctx);
	req.add_response_parameters()->set_size(314159);
	*req.mutable_payload() = zeros(271828);
	check(s->Write(req), "write failed");
	check(s->WritesDone(), "half-close failed");
	check(s->Read(&rep) && rep.payload().body().size() == 314159, "no reply");
	check(!s->Read(&rep), "a second reply");
	check_status(s->Finish(), StatusCode::OK);
	expect_echoed(ctx);
}

void unimplemented_method(TestService::Stub &stub)
{
	ClientContext ctx;
	Empty req, rep;

	deadline_in(ctx, 10000);
	check_status(stub.UnimplementedCall(&ctx, req, &rep), StatusCode::UNIMPLEMENTED);
}

void timeout_on_sleeping_server(TestService::Stub &stub)
{
	ClientContext ctx;
	StreamingOutputCallRequest req;
	StreamingOutputCallResponse rep;

	deadline_in(ctx, 1);
	auto s = stub.FullDuplexCall(&ctx);
	*req.mutable_payload() = zeros(27182);
	s->Write(req);
	while (s->Read(&rep))
		;
	check_status(s->Finish(), StatusCode::DEADLINE_EXCEEDED);
}

void cancel_after_begin(TestService::Stub &stub)
{
	ClientContext ctx;
	StreamingInputCallResponse rep;

	deadline_in(ctx, 10000);
	auto w = stub.StreamingInputCall(&ctx, &rep);
	ctx.TryCancel();
	check_status(w->Finish(), StatusCode::CANCELLED);
}

void cancel_after_first_response(TestService::Stub &stub)
{
	ClientContext ctx;
	StreamingOutputCallRequest req;
	StreamingOutputCallResponse rep;

	deadline_in(ctx, 10000);
	auto s = stub.FullDuplexCall(&ctx);
	req.add_response_parameters()->set_size(31415);
	*req.mutable_payload() = zeros(27182);
	check(s->Write(req), "write failed");
	check(s->Read(&rep), "no first reply");
	check(rep.payload().body().size() == 31415, "reply size");
	ctx.TryCancel();
	while (s->Read(&rep))
		;
	check_status(s->Finish(), StatusCode::CANCELLED);
}

std::string slurp(const char *path)
{
	std::ifstream f(path, std::ios::binary);

	return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

} // namespace

int main(int argc, char **argv)
{
	std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();

	if (argc != 3 && argc != 4 && argc != 6) {
		std::fprintf(stderr, "usage: interop-client-cxx HOST:PORT CASE [CA [CERT KEY]]\n");
		return 2;
	}
	if (argc >= 4) {
		grpc::SslCredentialsOptions o;

		o.pem_root_certs = slurp(argv[3]);
		if (argc == 6) {
			o.pem_cert_chain = slurp(argv[4]);
			o.pem_private_key = slurp(argv[5]);
		}
		creds = grpc::SslCredentials(o);
	}
	auto ch = grpc::CreateChannel(argv[1], creds);
	auto stub = TestService::NewStub(ch);
	auto unimpl = UnimplementedService::NewStub(ch);
	const std::map<std::string, std::function<void()>> cases = {
		{ "empty_unary", [&] { empty_unary(*stub); } },
		{ "large_unary", [&] { large_unary(*stub); } },
		{ "client_streaming", [&] { client_streaming(*stub); } },
		{ "server_streaming", [&] { server_streaming(*stub); } },
		{ "ping_pong", [&] { ping_pong(*stub); } },
		{ "empty_stream", [&] { empty_stream(*stub); } },
		{ "status_code_and_message", [&] { status_code_and_message(*stub); } },
		{ "special_status_message", [&] { special_status_message(*stub); } },
		{ "custom_metadata", [&] { custom_metadata(*stub); } },
		{ "unimplemented_method", [&] { unimplemented_method(*stub); } },
		{ "unimplemented_service",
		  [&] {
			  ClientContext ctx;
			  Empty req, rep;

			  deadline_in(ctx, 10000);
			  check_status(unimpl->UnimplementedCall(&ctx, req, &rep),
				       StatusCode::UNIMPLEMENTED);
		  } },
		{ "timeout_on_sleeping_server", [&] { timeout_on_sleeping_server(*stub); } },
		{ "cancel_after_begin", [&] { cancel_after_begin(*stub); } },
		{ "cancel_after_first_response", [&] { cancel_after_first_response(*stub); } },
	};
	auto c = cases.find(argv[2]);

	if (c == cases.end()) {
		std::fprintf(stderr, "interop-client-cxx: no case %s\n", argv[2]);
		return 2;
	}
	try {
		c->second();
		empty_unary(*stub); /* the server goes on serving */
	} catch (const Failed &f) {
		std::fprintf(stderr, "FAIL %s: %s\n", argv[2], f.why.c_str());
		return 1;
	}
	std::printf("PASS %s\n", argv[2]);
	return 0;
}
