// SPDX-License-Identifier: MIT
/*
 * interop-server-cxx: grpc.testing.TestService in gRPC C++ (Debian's
 * libgrpc++), as the interop cases expect a server to behave, for
 * lazyrpc's grpc:// client to call (interop_cases.py --peer cxx). Listens
 * on 127.0.0.1 with a free port, prints "listen grpc://127.0.0.1:PORT"
 * and "ready", and serves until SIGTERM or SIGINT. With --tls CERT KEY
 * [CA]: grpcs:// with that certificate, requiring a client certificate
 * that CA verifies if CA is given.
 */
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "grpc/testing/test.grpc.pb.h"

using grpc::ServerContext;
using grpc::Status;
using grpc::StatusCode;
using namespace grpc::testing;

namespace {

// Largest payload answered: what one message may carry by default.
constexpr int payload_max = 4 << 20;

void echo_metadata(ServerContext *ctx)
{
	const auto &md = ctx->client_metadata();
	auto i = md.find("x-grpc-test-echo-initial");
	auto t = md.find("x-grpc-test-echo-trailing-bin");

	if (i != md.end())
		ctx->AddInitialMetadata("x-grpc-test-echo-initial",
					std::string(i->second.data(), i->second.size()));
	if (t != md.end())
		ctx->AddTrailingMetadata("x-grpc-test-echo-trailing-bin",
					 std::string(t->second.data(), t->second.size()));
}

bool echo_status(const EchoStatus &es, bool has, Status *out)
{
	if (!has || es.code() == 0)
		return false;
	*out = Status(static_cast<StatusCode>(es.code()), es.message());
	return true;
}

bool fill(int size, Payload *p)
{
	if (size < 0 || size > payload_max)
		return false;
	p->set_body(std::string(size, '\0'));
	return true;
}

class TestServiceImpl final : public TestService::Service {
	Status EmptyCall(ServerContext *, const Empty *, Empty *) override
	{
		return Status::OK;
	}

	Status UnaryCall(ServerContext *ctx, const SimpleRequest *req,
			 SimpleResponse *rep) override
	{
		Status st;

		echo_metadata(ctx);
		if (echo_status(req->response_status(), req->has_response_status(), &st))
			return st;
		if (!fill(req->response_size(), rep->mutable_payload()))
			return Status(StatusCode::INVALID_ARGUMENT, "response_size");
		return Status::OK;
	}

	template <class W>
	Status answer(ServerContext *ctx, const StreamingOutputCallRequest &req, W *w)
	{
		Status st;

		for (const auto &rp : req.response_parameters()) {
			StreamingOutputCallResponse rep;

			if (rp.interval_us() > 0)
				std::this_thread::sleep_for(
					std::chrono::microseconds(std::min(rp.interval_us(), 1000000)));
			if (ctx->IsCancelled())
				return Status::CANCELLED;
			if (!fill(rp.size(), rep.mutable_payload()))
				return Status(StatusCode::INVALID_ARGUMENT, "size");
			if (!w->Write(rep))
				return Status::CANCELLED;
		}
		if (echo_status(req.response_status(), req.has_response_status(), &st))
			return st;
		return Status::OK;
	}

	Status StreamingOutputCall(ServerContext *ctx, const StreamingOutputCallRequest *req,
				   grpc::ServerWriter<StreamingOutputCallResponse> *w) override
	{
		return answer(ctx, *req, w);
	}

	Status StreamingInputCall(ServerContext *, grpc::ServerReader<StreamingInputCallRequest> *r,
				  StreamingInputCallResponse *rep) override
	{
		StreamingInputCallRequest req;
		int total = 0;

		while (r->Read(&req))
			total += static_cast<int>(req.payload().body().size());
		rep->set_aggregated_payload_size(total);
		return Status::OK;
	}

	Status FullDuplexCall(ServerContext *ctx,
			      grpc::ServerReaderWriter<StreamingOutputCallResponse,
						       StreamingOutputCallRequest> *s) override
	{
		StreamingOutputCallRequest req;

		echo_metadata(ctx);
		while (s->Read(&req)) {
			Status st = answer(ctx, req, s);

			if (!st.ok())
				return st;
		}
		return Status::OK;
	}

	Status HalfDuplexCall(ServerContext *ctx,
			      grpc::ServerReaderWriter<StreamingOutputCallResponse,
						       StreamingOutputCallRequest> *s) override
	{
		std::vector<StreamingOutputCallRequest> held;
		StreamingOutputCallRequest req;

		while (s->Read(&req) && held.size() < 1024)
			held.push_back(req);
		for (const auto &r : held) {
			Status st = answer(ctx, r, s);

			if (!st.ok())
				return st;
		}
		return Status::OK;
	}
};

std::string slurp(const char *path)
{
	std::ifstream f(path, std::ios::binary);

	return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

} // namespace

int main(int argc, char **argv)
{
	std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
	const char *scheme = "grpc";
	TestServiceImpl svc;
	grpc::ServerBuilder b;
	int port = 0;
	sigset_t set;
	int sig;

	// Every thread gRPC starts inherits the mask: only sigwait sees them.
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, nullptr);
	if (argc == 4 || argc == 5) {
		grpc::SslServerCredentialsOptions o(
			argc == 5 ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY :
				    GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);

		o.pem_key_cert_pairs.push_back({ slurp(argv[3]), slurp(argv[2]) });
		if (argc == 5)
			o.pem_root_certs = slurp(argv[4]);
		creds = grpc::SslServerCredentials(o);
		scheme = "grpcs";
	} else if (argc != 1) {
		std::fprintf(stderr, "usage: interop-server-cxx [--tls CERT KEY [CA]]\n");
		return 2;
	}
	b.AddListeningPort("127.0.0.1:0", creds, &port);
	b.RegisterService(&svc);
	auto server = b.BuildAndStart();
	if (!server || !port) {
		std::fprintf(stderr, "interop-server-cxx: cannot listen\n");
		return 1;
	}
	std::printf("listen %s://127.0.0.1:%d\nready\n", scheme, port);
	std::fflush(stdout);
	sigwait(&set, &sig);
	server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
	return 0;
}
