// SPDX-License-Identifier: MIT
/*
 * gRPC C++ (Debian's libgrpc++, an implementation nobody here wrote) calls
 * a lazyrpc grpc:// server with the cases of grpc/grpc's
 * doc/interop-test-descriptions.md that lazyrpc can serve:
 *
 *   interop_client SERVER    start SERVER (interop_server), run each case
 *                            against it, stop it (it must exit 0).
 *
 * Not run: custom_metadata (lazyrpc has no metadata API yet) and the
 * compression cases (no compression). Exit 0: all passed; 1: one failed.
 */
#include <grpcpp/grpcpp.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "grpc/testing/test.grpc.pb.h"

using grpc::ClientContext;
using grpc::Status;
using grpc::StatusCode;
using namespace grpc::testing;

namespace {

std::vector<std::string> failed;

#define EXPECT(cond)                                                          \
	do {                                                                  \
		if (!(cond))                                                  \
			throw std::string(#cond " at line ") +                \
				std::to_string(__LINE__);                     \
	} while (0)

void with_deadline(ClientContext &ctx, int ms = 10000)
{
	ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(ms));
}

Payload zeros(size_t n)
{
	Payload p;
	p.set_body(std::string(n, '\0'));
	return p;
}

void empty_unary(TestService::Stub &s, UnimplementedService::Stub &)
{
	ClientContext ctx;
	Empty req, rep;

	with_deadline(ctx);
	Status st = s.EmptyCall(&ctx, req, &rep);
	EXPECT(st.ok());
	EXPECT(rep.ByteSizeLong() == 0);
}

void large_unary(TestService::Stub &s, UnimplementedService::Stub &)
{
	ClientContext ctx;
	SimpleRequest req;
	SimpleResponse rep;

	with_deadline(ctx);
	req.set_response_size(314159);
	*req.mutable_payload() = zeros(271828);
	Status st = s.UnaryCall(&ctx, req, &rep);
	EXPECT(st.ok());
	EXPECT(rep.payload().body() == std::string(314159, '\0'));
}

void client_streaming(TestService::Stub &s, UnimplementedService::Stub &)
{
	ClientContext ctx;
	StreamingInputCallResponse rep;

	with_deadline(ctx);
	auto w = s.StreamingInputCall(&ctx, &rep);
	for (size_t n : { 27182, 8, 1828, 45904 }) {
		StreamingInputCallRequest req;
		*req.mutable_payload() = zeros(n);
		EXPECT(w->Write(req));
	}
	EXPECT(w->WritesDone());
	EXPECT(w->Finish().ok());
	EXPECT(rep.aggregated_payload_size() == 74922);
}

void server_streaming(TestService::Stub &s, UnimplementedService::Stub &)
{
	const std::vector<int> sizes = { 31415, 9, 2653, 58979 };
	ClientContext ctx;
	StreamingOutputCallRequest req;
	StreamingOutputCallResponse rep;
	size_t i = 0;

	with_deadline(ctx);
	for (int n : sizes)
		req.add_response_parameters()->set_size(n);
	auto r = s.StreamingOutputCall(&ctx, req);
	while (r->Read(&rep)) {
		EXPECT(i < sizes.size());
		EXPECT(rep.payload().body() == std::string(sizes[i++], '\0'));
	}
	EXPECT(i == sizes.size());
	EXPECT(r->Finish().ok());
}

void ping_pong(TestService::Stub &s, UnimplementedService::Stub &)
{
	const int req_sizes[] = { 27182, 8, 1828, 45904 };
	const int rep_sizes[] = { 31415, 9, 2653, 58979 };
	ClientContext ctx;
	StreamingOutputCallResponse rep;

	with_deadline(ctx);
	auto rw = s.FullDuplexCall(&ctx);
	for (int i = 0; i < 4; i++) {
		StreamingOutputCallRequest req;
		req.add_response_parameters()->set_size(rep_sizes[i]);
		*req.mutable_payload() = zeros(req_sizes[i]);
		EXPECT(rw->Write(req));
		EXPECT(rw->Read(&rep));
		EXPECT(rep.payload().body() == std::string(rep_sizes[i], '\0'));
	}
	EXPECT(rw->WritesDone());
	EXPECT(!rw->Read(&rep));
	EXPECT(rw->Finish().ok());
}

void empty_stream(TestService::Stub &s, UnimplementedService::Stub &)
{
	ClientContext ctx;
	StreamingOutputCallResponse rep;

	with_deadline(ctx);
	auto rw = s.FullDuplexCall(&ctx);
	EXPECT(rw->WritesDone());
	EXPECT(!rw->Read(&rep));
	EXPECT(rw->Finish().ok());
}

void expect_status(TestService::Stub &s, const std::string &message)
{
	{
		ClientContext ctx;
		SimpleRequest req;
		SimpleResponse rep;

		with_deadline(ctx);
		req.mutable_response_status()->set_code(2);
		req.mutable_response_status()->set_message(message);
		Status st = s.UnaryCall(&ctx, req, &rep);
		EXPECT(st.error_code() == StatusCode::UNKNOWN);
		EXPECT(st.error_message() == message);
	}
	ClientContext ctx;
	StreamingOutputCallRequest req;
	StreamingOutputCallResponse rep;

	with_deadline(ctx);
	req.mutable_response_status()->set_code(2);
	req.mutable_response_status()->set_message(message);
	auto rw = s.FullDuplexCall(&ctx);
	EXPECT(rw->Write(req));
	EXPECT(rw->WritesDone());
	EXPECT(!rw->Read(&rep));
	Status st = rw->Finish();
	EXPECT(st.error_code() == StatusCode::UNKNOWN);
	EXPECT(st.error_message() == message);
}

void status_code_and_message(TestService::Stub &s, UnimplementedService::Stub &)
{
	expect_status(s, "test status message");
}

void special_status_message(TestService::Stub &s, UnimplementedService::Stub &)
{
	expect_status(s, "\t\ntest with whitespace\r\nand Unicode BMP \u263A and non-BMP "
			 "\U0001F608\t\n");
}

void unimplemented_method(TestService::Stub &s, UnimplementedService::Stub &)
{
	ClientContext ctx;
	Empty req, rep;

	with_deadline(ctx);
	EXPECT(s.UnimplementedMethod(&ctx, req, &rep).error_code() == StatusCode::UNIMPLEMENTED);
}

void unimplemented_service(TestService::Stub &, UnimplementedService::Stub &u)
{
	ClientContext ctx;
	Empty req, rep;

	with_deadline(ctx);
	EXPECT(u.UnimplementedCall(&ctx, req, &rep).error_code() == StatusCode::UNIMPLEMENTED);
}

void timeout_on_sleeping_server(TestService::Stub &s, UnimplementedService::Stub &)
{
	ClientContext ctx;
	StreamingOutputCallRequest req;

	with_deadline(ctx, 1);
	*req.mutable_payload() = zeros(27182);
	auto rw = s.FullDuplexCall(&ctx);
	rw->Write(req); /* may fail: the deadline may have passed */
	Status st = rw->Finish();
	EXPECT(st.error_code() == StatusCode::DEADLINE_EXCEEDED);
}

void cancel_after_begin(TestService::Stub &s, UnimplementedService::Stub &)
{
	ClientContext ctx;
	StreamingInputCallResponse rep;

	with_deadline(ctx);
	auto w = s.StreamingInputCall(&ctx, &rep);
	ctx.TryCancel();
	EXPECT(w->Finish().error_code() == StatusCode::CANCELLED);
}

void cancel_after_first_response(TestService::Stub &s, UnimplementedService::Stub &)
{
	ClientContext ctx;
	StreamingOutputCallRequest req;
	StreamingOutputCallResponse rep;

	with_deadline(ctx);
	req.add_response_parameters()->set_size(31415);
	*req.mutable_payload() = zeros(27182);
	auto rw = s.FullDuplexCall(&ctx);
	EXPECT(rw->Write(req));
	EXPECT(rw->Read(&rep));
	EXPECT(rep.payload().body().size() == 31415);
	ctx.TryCancel();
	EXPECT(rw->Finish().error_code() == StatusCode::CANCELLED);
}

struct server {
	pid_t pid = -1;
	FILE *out = nullptr;
	std::string target;
};

bool start(server &srv, const char *path)
{
	int fd[2];

	if (pipe(fd) < 0)
		return false;
	srv.pid = fork();
	if (srv.pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		execl(path, path, (char *)nullptr);
		_exit(127);
	}
	close(fd[1]);
	srv.out = fdopen(fd[0], "r");
	char line[512];
	while (srv.out && fgets(line, sizeof(line), srv.out)) {
		if (!strncmp(line, "listen grpc://", 14)) {
			srv.target = line + 14;
			srv.target.erase(srv.target.find_last_not_of("\r\n") + 1);
		}
		if (!strcmp(line, "ready\n"))
			return !srv.target.empty();
	}
	return false;
}

} // namespace

int main(int argc, char **argv)
{
	typedef void (*case_fn)(TestService::Stub &, UnimplementedService::Stub &);
	static const struct {
		const char *name;
		case_fn fn;
	} cases[] = {
#define CASE(c) { #c, c }
		CASE(empty_unary), CASE(large_unary), CASE(client_streaming),
		CASE(server_streaming), CASE(ping_pong), CASE(empty_stream),
		CASE(status_code_and_message), CASE(special_status_message),
		CASE(unimplemented_method), CASE(unimplemented_service),
		CASE(timeout_on_sleeping_server), CASE(cancel_after_begin),
		CASE(cancel_after_first_response),
#undef CASE
	};
	server srv;
	int status = -1;

	if (argc != 2) {
		fprintf(stderr, "usage: interop_client SERVER\n");
		return 2;
	}
	if (!start(srv, argv[1])) {
		printf("FAIL: the server did not start\n");
		return 1;
	}
	auto ch = grpc::CreateChannel(srv.target, grpc::InsecureChannelCredentials());
	auto stub = TestService::NewStub(ch);
	auto unimpl = UnimplementedService::NewStub(ch);
	for (const auto &c : cases) {
		try {
			c.fn(*stub, *unimpl);
			printf("PASS %s\n", c.name);
		} catch (const std::string &why) {
			printf("FAIL %s: %s\n", c.name, why.c_str());
			failed.push_back(c.name);
		}
	}
	kill(srv.pid, SIGTERM);
	waitpid(srv.pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		printf("FAIL server_exit: status 0x%x\n", status);
		failed.push_back("server_exit");
	}
	fflush(stdout);
	return failed.empty() ? 0 : 1;
}
