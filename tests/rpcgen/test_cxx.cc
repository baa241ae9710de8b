// SPDX-License-Identifier: MIT
// Generated headers must compile as C++ (extern "C" guards, no C-only
// syntax) and link against the C-compiled stubs.
#include <cstdio>
#include <cstring>

#include "cpackage.lrpc.h"
#include "greeter.lrpc.h"
#include "grpc/health/v1/health.lrpc.h"
#include "grpc/route_guide.lrpc.h"
#include "grpc_user.lrpc.h"
#include "messages_only.lrpc.h"
#include "store.lrpc.h"
#include "streaming/chat.lrpc.h"

static lrpc_code say_hello(void *, lrpc_call *, const Greeter__HelloRequest *,
			   Greeter__HelloReply *)
{
	return LRPC_OK;
}

// The streaming handler signatures, as a C++ user writes them.
static lrpc_code list_features(void *, lrpc_call *, const Routeguide__Rectangle *,
			       lrpc_server_stream *)
{
	return LRPC_OK;
}

static lrpc_code record_route(void *, lrpc_call *, lrpc_server_stream *,
			      Routeguide__RouteSummary *)
{
	return LRPC_OK;
}

static lrpc_code route_chat(void *, lrpc_call *, lrpc_server_stream *)
{
	return LRPC_OK;
}

int main()
{
	Routeguide__RouteGuide_Handlers rg = {};
	rg.list_features = list_features;
	rg.record_route = record_route;
	rg.route_chat = route_chat;
	if (routeguide__route_guide__service_desc.methods[3].kind != LRPC_METHOD_BIDI_STREAMING ||
	    routeguide__route_guide__service_desc.methods[3].stream_invoke(&rg, nullptr, nullptr,
									   nullptr) != LRPC_OK ||
	    grpc__health__v1__health__service_desc.file_descriptor_len == 0) {
		std::fprintf(stderr, "streaming descriptors seen from C++ are wrong\n");
		return 1;
	}

	Greeter__Greeter_Handlers h = {};
	h.say_hello = say_hello;
	const lrpc_method_desc &m = greeter__greeter__service_desc.methods[0];
	Greeter__HelloRequest req = GREETER__HELLO_REQUEST__INIT;
	Greeter__HelloReply rep = GREETER__HELLO_REPLY__INIT;

	if (std::strcmp(greeter__greeter__service_desc.name, "greeter.Greeter") != 0 ||
	    m.id != GREETER__GREETER__SAY_HELLO__ID ||
	    m.invoke(&h, nullptr, nullptr, &req.base, &rep.base) != LRPC_OK ||
	    acme__store__v1__inventory__service_desc.n_methods != 4 ||
	    cpkg__pinger__service_desc.methods[0].input != &cpkg__ping__descriptor) {
		std::fprintf(stderr, "generated descriptors seen from C++ are wrong\n");
		return 1;
	}
	// Referenced so that the C++ compiler checks their declarations.
	lrpc_code (*call)(lrpc_channel *, const Greeter__HelloRequest *,
			  Greeter__HelloReply **, lrpc_deadline, lrpc_status *) =
		greeter__greeter__say_hello__call;
	int (*reg)(lrpc_server *, const Greeter__Greeter_Handlers *, void *) =
		greeter__greeter__register;
	return call && reg ? 0 : 1;
}
