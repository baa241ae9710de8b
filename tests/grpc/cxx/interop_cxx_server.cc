// SPDX-License-Identifier: MIT
/*
 * grpc.testing.TestService's unary methods in gRPC C++ (Debian's
 * libgrpc++), for lazyrpc's grpc:// client to call (interop_lrpc_client.c):
 *
 *   interop_cxx_server    listen on 127.0.0.1, a free port; print
 *                         "listen grpc://127.0.0.1:PORT" and "ready";
 *                         serve until SIGTERM, then shut down and exit 0.
 *
 * EmptyCall and UnaryCall as doc/interop-test-descriptions.md has them
 * (zeros of response_size, response_status echoed); the rest is gRPC's
 * UNIMPLEMENTED.
 */
#include <grpcpp/grpcpp.h>

#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>

#include "grpc/testing/test.grpc.pb.h"

using grpc::ServerContext;
using grpc::Status;
using namespace grpc::testing;

namespace {

class TestServiceImpl final : public TestService::Service {
	Status EmptyCall(ServerContext *, const Empty *, Empty *) override
	{
		return Status::OK;
	}

	Status UnaryCall(ServerContext *, const SimpleRequest *req, SimpleResponse *rep) override
	{
		if (req->has_response_status() && req->response_status().code() != 0)
			return Status(static_cast<grpc::StatusCode>(req->response_status().code()),
				      req->response_status().message());
		if (req->response_size() < 0)
			return Status(grpc::StatusCode::INVALID_ARGUMENT, "negative size");
		rep->mutable_payload()->set_body(std::string(req->response_size(), '\0'));
		return Status::OK;
	}
};

} // namespace

int main()
{
	TestServiceImpl service;
	grpc::ServerBuilder builder;
	sigset_t term;
	int port = 0, sig;

	/* SIGTERM is taken by sigwait below, in this thread; gRPC's threads
	 * start after the mask, so they inherit it. */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &term, nullptr);
	builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
	builder.RegisterService(&service);
	builder.SetMaxReceiveMessageSize(4 << 20);
	std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
	if (!server || !port) {
		fprintf(stderr, "interop_cxx_server: could not listen\n");
		return 1;
	}
	printf("listen grpc://127.0.0.1:%d\nready\n", port);
	fflush(stdout);
	sigwait(&term, &sig);
	server->Shutdown();
	return 0;
}
