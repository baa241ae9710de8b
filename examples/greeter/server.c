// SPDX-License-Identifier: MIT
/* greeter-server [URI]: answers SayHello until SIGINT or SIGTERM. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "greeter.lrpc.h"

static lrpc_server *server;

static lrpc_code say_hello(void *user, lrpc_call *call,
			   const Greeter__HelloRequest *req,
			   Greeter__HelloReply *reply)
{
	size_t len = strlen(req->name) + sizeof("Hello, !");

	(void)user;
	if (!req->name[0]) {
		lrpc_call_set_message(call, "name must not be empty");
		return LRPC_INVALID_ARGUMENT;
	}
	/* Reply fields point into call memory, freed once the reply is sent. */
	reply->message = lrpc_call_alloc(call, len);
	if (!reply->message)
		return LRPC_RESOURCE_EXHAUSTED;
	snprintf(reply->message, len, "Hello, %s!", req->name);
	return LRPC_OK;
}

static void on_signal(int sig)
{
	(void)sig;
	lrpc_server_stop(server);
}

int main(int argc, char **argv)
{
	const char *uri = argc > 1 ? argv[1] : "lrpc://greeter";
	static const Greeter__Greeter_Handlers handlers = {
		.say_hello = say_hello,
	};
	char real[300];
	int ret;

	ret = lrpc_server_new(NULL, &server);
	if (ret == 0)
		ret = greeter__greeter__register(server, &handlers, NULL);
	if (ret == 0)
		ret = lrpc_server_listen(server, uri);
	/* As bound: "tcp://127.0.0.1:0" and "grpc://..." get their port. */
	if (ret == 0)
		ret = lrpc_server_listener_uri(server, 0, real, sizeof(real));
	if (ret == 0)
		ret = lrpc_server_start(server);
	if (ret < 0) {
		fprintf(stderr, "greeter-server: %s: %s\n", uri, strerror(-ret));
		lrpc_server_free(server);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("greeter-server: serving %s\n", real);
	fflush(stdout);
	lrpc_server_run(server);
	lrpc_server_free(server);
	return 0;
}
