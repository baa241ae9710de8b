// SPDX-License-Identifier: MIT
/*
 * greeter-async-client [URI] [NAME...]: one SayHello per name, all in
 * flight at once from this one thread, their answers printed as they come,
 * driven by a libuv loop that waits on the completion queue's fd.
 */
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "greeter.lrpc.h"

static int outstanding, failed;

/* Runs inside lrpc_cq_run(), on the loop's thread: no locks needed. */
static void on_reply(void *arg, lrpc_code code, ProtobufCMessage *rep,
		     const lrpc_status *st, lrpc_async *handle)
{
	const char *name = arg;

	(void)handle;
	outstanding--;
	if (code != LRPC_OK) {
		fprintf(stderr, "greeter-async-client: %s: %s: %s\n", name,
			lrpc_code_name(code), st->message);
		failed = 1;
		return;
	}
	printf("%s\n", ((Greeter__HelloReply *)rep)->message);
	/* The reply is the callback's to keep or free. */
	protobuf_c_message_free_unpacked(rep, NULL);
}

/* The cq's fd is readable: run what finished, without waiting. */
static void on_readable(uv_poll_t *poll, int status, int events)
{
	lrpc_cq *cq = poll->data;

	(void)status, (void)events;
	lrpc_cq_run(cq, 0, 0);
	if (!outstanding)
		uv_close((uv_handle_t *)poll, NULL);
}

int main(int argc, char **argv)
{
	const char *uri = argc > 1 ? argv[1] : "lrpc://greeter";
	char *world[] = { "world" };
	char **names = argc > 2 ? argv + 2 : world;
	int n = argc > 2 ? argc - 2 : 1, ret;
	lrpc_channel *ch;
	uv_poll_t poll;
	lrpc_cq *cq;

	ret = lrpc_channel_open(uri, NULL, &ch);
	if (ret < 0 || (ret = lrpc_cq_new(&cq)) < 0) {
		fprintf(stderr, "greeter-async-client: %s: %s\n", uri, strerror(-ret));
		return 1;
	}
	for (int i = 0; i < n; i++) {
		Greeter__HelloRequest req = GREETER__HELLO_REQUEST__INIT;

		req.name = names[i];
		/* Encoded before it returns: req may go at once. Failures of
		 * the call come to on_reply, never from here. */
		if (greeter__greeter__say_hello__call_async(ch, &req,
							    lrpc_deadline_after_ms(1000),
							    cq, on_reply, names[i],
							    NULL) == 0)
			outstanding++;
	}
	if (outstanding) {
		uv_poll_init(uv_default_loop(), &poll, lrpc_cq_fd(cq));
		poll.data = cq;
		uv_poll_start(&poll, UV_READABLE, on_readable);
		uv_run(uv_default_loop(), UV_RUN_DEFAULT);
	}
	uv_loop_close(uv_default_loop());
	lrpc_cq_free(cq);
	lrpc_channel_close(ch);
	return failed || outstanding;
}
