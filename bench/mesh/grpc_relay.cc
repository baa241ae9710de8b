// SPDX-License-Identifier: MIT
//
// bench-mesh-grpc-relay: the mesh bench's relay (relay.proto) in gRPC C++,
// for the chain built the way gRPC users build it (bench/run-mesh).
//
//   bench-mesh-grpc-relay --listen HOST:PORT [--next HOST:PORT]
//
// The synchronous server (gRPC's thread pool) and, with --next, one
// channel to the next relay whose synchronous stub each handler calls
// with the caller's deadline propagated (ClientContext::FromServerContext).
// Port 0 picks one; "READY HOST:PORT" names it. Runs until SIGTERM/SIGINT.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include <pthread.h>

#include "relay.grpc.pb.h"

namespace {

class RelayImpl final : public benchmesh::Relay::Service {
public:
	explicit RelayImpl(std::shared_ptr<grpc::Channel> next)
		: next_(next ? benchmesh::Relay::NewStub(next) : nullptr)
	{
	}

	grpc::Status Forward(grpc::ServerContext *ctx, const benchmesh::Msg *req,
			     benchmesh::Msg *rep) override
	{
		if (!next_) {
			*rep = *req;
			rep->set_hops(req->hops() + 1);
			return grpc::Status::OK;
		}
		benchmesh::Msg fwd = *req;
		fwd.set_hops(req->hops() + 1);
		auto cc = grpc::ClientContext::FromServerContext(*ctx);
		return next_->Forward(cc.get(), fwd, rep);
	}

private:
	std::unique_ptr<benchmesh::Relay::Stub> next_;
};

[[noreturn]] void usage(const char *argv0)
{
	std::fprintf(stderr, "usage: %s --listen HOST:PORT [--next HOST:PORT]\n", argv0);
	std::exit(2);
}

} // namespace

int main(int argc, char **argv)
{
	std::string listen, next;

	for (int i = 1; i < argc; i++) {
		if (i + 1 < argc && !std::strcmp(argv[i], "--listen"))
			listen = argv[++i];
		else if (i + 1 < argc && !std::strcmp(argv[i], "--next"))
			next = argv[++i];
		else
			usage(argv[0]);
	}
	if (listen.empty())
		usage(argv[0]);
	// gRPC's threads start below and inherit the mask; main waits.
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, nullptr);

	std::shared_ptr<grpc::Channel> ch;
	if (!next.empty()) {
		ch = grpc::CreateChannel(next, grpc::InsecureChannelCredentials());
		if (!ch->WaitForConnected(std::chrono::system_clock::now() +
					  std::chrono::seconds(10))) {
			std::fprintf(stderr, "grpc-relay: cannot connect to %s\n", next.c_str());
			return 1;
		}
	}
	RelayImpl service(ch);
	grpc::ServerBuilder b;
	int port = 0;
	b.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
	b.RegisterService(&service);
	std::unique_ptr<grpc::Server> srv = b.BuildAndStart();
	if (!srv || port == 0) {
		std::fprintf(stderr, "grpc-relay: cannot listen on %s\n", listen.c_str());
		return 1;
	}
	std::printf("READY %s:%d\n", listen.substr(0, listen.rfind(':')).c_str(), port);
	std::fflush(stdout);
	int sig;
	while (sigwait(&set, &sig) != 0)
		;
	srv->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
	return 0;
}
