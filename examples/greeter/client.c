// SPDX-License-Identifier: MIT
/* greeter-client [URI] [NAME]: one SayHello call, answer on stdout. */
#include <stdio.h>
#include <string.h>

#include "greeter.lrpc.h"

int main(int argc, char **argv)
{
	const char *uri = argc > 1 ? argv[1] : "lrpc://greeter";
	Greeter__HelloRequest req = GREETER__HELLO_REQUEST__INIT;
	Greeter__HelloReply *reply;
	lrpc_channel *ch;
	lrpc_status st;
	int ret;

	req.name = argc > 2 ? argv[2] : "world";
	ret = lrpc_channel_open(uri, NULL, &ch);
	if (ret < 0) {
		fprintf(stderr, "greeter-client: %s: %s\n", uri, strerror(-ret));
		return 1;
	}
	if (greeter__greeter__say_hello__call(ch, &req, &reply,
					      lrpc_deadline_after_ms(1000),
					      &st) != LRPC_OK) {
		fprintf(stderr, "greeter-client: %s: %s\n",
			lrpc_code_name(st.code), st.message);
		lrpc_channel_close(ch);
		return 1;
	}
	printf("%s (over %s, hand-off %s)\n", reply->message, uri,
	       lrpc_channel_handoff(ch));
	greeter__hello_reply__free_unpacked(reply, NULL);
	lrpc_channel_close(ch);
	return 0;
}
