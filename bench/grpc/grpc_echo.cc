// SPDX-License-Identifier: MIT
//
// gRPC C++ contender: unary echo (and, for --workload stream, a server
// stream that pours messages) over a Unix socket ("unix:/path") or TCP
// ("127.0.0.1:0" picks an ephemeral port; the server prints the one it got
// in its READY line). The server uses the synchronous API, or with
// --opt callback the callback API (the one gRPC recommends for new C++
// servers: handlers run on gRPC's own threads, no thread pool of the
// application's). The client is the synchronous stub either way, one
// channel per client thread, each with its own connection (local
// subchannel pool), as gRPC's own benchmarks do for multi-threaded
// clients.
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

	// Default write options: each Write is sent as it is made, as an
	// application streaming events would; the client's reads keep up.
	grpc::Status Pour(grpc::ServerContext *ctx, const benchgrpc::PourReq *req,
			  grpc::ServerWriter<benchgrpc::EchoMsg> *w) override
	{
		std::string buf(req->size(), 'p');
		benchgrpc::EchoMsg m;

		for (uint64_t seq = 0; !ctx->IsCancelled(); seq++) {
			bench_pour_stamp(reinterpret_cast<unsigned char *>(&buf[0]),
					 buf.size(), seq);
			m.set_payload(buf);
			if (!w->Write(m))
				break;
		}
		return grpc::Status::OK;
	}
};

// The callback API: the reply is made on the thread that read the
// request; Pour writes the next message from OnWriteDone.
class EchoCallback final : public benchgrpc::Echo::CallbackService {
	grpc::ServerUnaryReactor *Echo(grpc::CallbackServerContext *ctx,
				       const benchgrpc::EchoMsg *req,
				       benchgrpc::EchoMsg *rep) override
	{
		rep->set_payload(req->payload());
		grpc::ServerUnaryReactor *r = ctx->DefaultReactor();
		r->Finish(grpc::Status::OK);
		return r;
	}

	class Pourer final : public grpc::ServerWriteReactor<benchgrpc::EchoMsg> {
	public:
		explicit Pourer(uint32_t size) : buf_(size, 'p') { Next(); }

		void OnWriteDone(bool ok) override
		{
			if (!ok) {
				Finish(grpc::Status::OK);
				return;
			}
			Next();
		}
		void OnDone() override { delete this; }

	private:
		void Next()
		{
			bench_pour_stamp(reinterpret_cast<unsigned char *>(&buf_[0]),
					 buf_.size(), seq_++);
			m_.set_payload(buf_);
			StartWrite(&m_);
		}

		std::string buf_;
		benchgrpc::EchoMsg m_;
		uint64_t seq_ = 0;
	};

	grpc::ServerWriteReactor<benchgrpc::EchoMsg> *Pour(grpc::CallbackServerContext *,
							   const benchgrpc::PourReq *req) override
	{
		return new Pourer(req->size());
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
	bool callback = o->opt && !std::strcmp(o->opt, "callback");
	EchoImpl sync_service;
	EchoCallback callback_service;
	grpc::ServerBuilder b;
	int port = 0;
	b.AddListeningPort(addr, grpc::InsecureServerCredentials(), tcp ? &port : nullptr);
	b.SetMaxReceiveMessageSize(kMaxMsg);
	b.SetMaxSendMessageSize(kMaxMsg);
	if (callback)
		b.RegisterService(&callback_service);
	else
		b.RegisterService(&sync_service);
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

struct Pour {
	grpc::ClientContext cc;
	std::unique_ptr<grpc::ClientReader<benchgrpc::EchoMsg>> r;
	benchgrpc::EchoMsg m;
};

void *pour_open(void *ctx, size_t size)
{
	auto *c = static_cast<Client *>(ctx);
	auto *p = new Pour;
	benchgrpc::PourReq req;

	req.set_size(static_cast<uint32_t>(size));
	p->r = c->stub->Pour(&p->cc, req);
	return p;
}

int pour_next(void *stream, const void **msg, size_t *len)
{
	auto *p = static_cast<Pour *>(stream);

	if (!p->r->Read(&p->m)) {
		grpc::Status s = p->r->Finish();
		std::fprintf(stderr, "grpc: stream ended: %d %s\n",
			     static_cast<int>(s.error_code()), s.error_message().c_str());
		return -1;
	}
	*msg = p->m.payload().data();
	*len = p->m.payload().size();
	return 0;
}

void pour_close(void *stream)
{
	auto *p = static_cast<Pour *>(stream);

	p->cc.TryCancel();
	while (p->r->Read(&p->m))
		;
	p->r->Finish();
	delete p;
}

} // namespace

int main(int argc, char **argv)
{
	bench_client_ops ops{};
	ops.name = "grpc";
	ops.connect = cl_connect;
	ops.call = cl_call;
	ops.close = cl_close;
	ops.pour_open = pour_open;
	ops.pour_next = pour_next;
	ops.pour_close = pour_close;
	bench_opts o;

	bench_parse(argc, argv, &o);
	if (!std::strcmp(o.mode, "server"))
		return serve(&o);
	return bench_client_main(&o, &ops);
}
