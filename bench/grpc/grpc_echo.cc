// SPDX-License-Identifier: MIT
//
// gRPC C++ contender: unary echo with the synchronous API, over a Unix socket
// ("unix:/path") or TCP ("127.0.0.1:0" picks an ephemeral port; the server
// prints the one it got in its READY line). One channel per client thread,
// each with its own connection (local subchannel pool), as gRPC's own
// benchmarks do for multi-threaded clients.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include <unistd.h>

#include "bench.h"
#include "echo.grpc.pb.h"

namespace {

constexpr int kMaxMsg = 64 << 20;

class EchoImpl final : public benchgrpc::Echo::Service {
	grpc::Status Echo(grpc::ServerContext *, const benchgrpc::EchoMsg *req,
			  benchgrpc::EchoMsg *rep) override
	{
		rep->set_payload(req->payload());
		return grpc::Status::OK;
	}
};

int serve(const bench_opts *o)
{
	bench_pin(o);
	bench_block_signals();

	std::string addr = o->addr;
	bool tcp = addr.rfind("unix:", 0) != 0;
	if (!tcp)
		unlink(addr.c_str() + 5);
	EchoImpl service;
	grpc::ServerBuilder b;
	int port = 0;
	b.AddListeningPort(addr, grpc::InsecureServerCredentials(), tcp ? &port : nullptr);
	b.SetMaxReceiveMessageSize(kMaxMsg);
	b.SetMaxSendMessageSize(kMaxMsg);
	b.RegisterService(&service);
	std::unique_ptr<grpc::Server> srv = b.BuildAndStart();
	if (!srv || (tcp && port == 0))
		bench_die("cannot listen on %s", o->addr);
	if (tcp) {
		std::string host = addr.substr(0, addr.rfind(':'));
		addr = host + ":" + std::to_string(port);
	}
	bench_ready(addr.c_str());
	bench_wait_signal();
	srv->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
	if (!tcp)
		unlink(addr.c_str() + 5);
	return 0;
}

struct Client {
	std::unique_ptr<benchgrpc::Echo::Stub> stub;
	benchgrpc::EchoMsg req, rep;
};

void *cl_connect(const bench_opts *o, unsigned)
{
	grpc::ChannelArguments args;
	args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
	args.SetMaxReceiveMessageSize(kMaxMsg);
	args.SetMaxSendMessageSize(kMaxMsg);
	auto ch = grpc::CreateCustomChannel(o->addr, grpc::InsecureChannelCredentials(), args);
	if (!ch->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(5))) {
		std::fprintf(stderr, "grpc: cannot connect to %s\n", o->addr);
		return nullptr;
	}
	auto *c = new Client;
	c->stub = benchgrpc::Echo::NewStub(ch);
	return c;
}

int cl_call(void *ctx, const void *req, size_t len, const void **rep, size_t *rep_len)
{
	auto *c = static_cast<Client *>(ctx);
	grpc::ClientContext cc;

	c->req.set_payload(req, len);
	grpc::Status s = c->stub->Echo(&cc, c->req, &c->rep);
	if (!s.ok()) {
		std::fprintf(stderr, "grpc: %d %s\n", static_cast<int>(s.error_code()),
			     s.error_message().c_str());
		return -1;
	}
	*rep = c->rep.payload().data();
	*rep_len = c->rep.payload().size();
	return 0;
}

void cl_close(void *ctx)
{
	delete static_cast<Client *>(ctx);
}

} // namespace

int main(int argc, char **argv)
{
	bench_client_ops ops{};
	ops.name = "grpc";
	ops.connect = cl_connect;
	ops.call = cl_call;
	ops.close = cl_close;
	bench_opts o;

	bench_parse(argc, argv, &o);
	if (!std::strcmp(o.mode, "server"))
		return serve(&o);
	return bench_client_main(&o, &ops);
}
