/* SPDX-License-Identifier: MIT */
/* What the stand-ins of stand_ins.c saw, and what they answer. */
#ifndef RPCGEN_TEST_STAND_INS_H
#define RPCGEN_TEST_STAND_INS_H

#include <lazyrpc/lazyrpc.h>

struct stand_in_log {
	/* lrpc_server_add_service() */
	lrpc_server *srv;
	const lrpc_service_desc *desc;
	const void *handlers;
	void *user;
	int add_calls;
	int add_ret;
	/* lrpc_channel_call() */
	lrpc_channel *ch;
	const lrpc_method_desc *method;
	const ProtobufCMessage *req;
	lrpc_deadline deadline;
	lrpc_status *status;
	int call_calls;
	lrpc_code call_ret;
	ProtobufCMessage *reply;
	/* lrpc_channel_call_async() (also ch, method, req, deadline) */
	lrpc_cq *cq;
	lrpc_call_cb cb;
	void *arg;
	lrpc_async **handle;
	int async_calls;
};

extern struct stand_in_log stand_in_log;

/*
 * Streams, both sides: what was written (packed, so the test can decode
 * it after the writer's message is gone), and what reads return: the
 * scripted messages in order (not owned), then LRPC_OK with NULL, or
 * end_code if that is not LRPC_OK.
 */
#define STAND_IN_MAX_MSGS 8

struct stand_in_stream {
	/* lrpc_stream_open() / the server stream's call */
	int open_calls;
	const lrpc_method_desc *method;
	lrpc_deadline deadline;
	lrpc_code open_ret;
	lrpc_code write_ret;
	/* writes */
	int n_written;
	uint8_t *written[STAND_IN_MAX_MSGS];
	size_t written_len[STAND_IN_MAX_MSGS];
	/* reads */
	ProtobufCMessage *to_read[STAND_IN_MAX_MSGS];
	int n_to_read;
	int n_read;
	lrpc_code end_code;
	/* the rest */
	int close_send_calls;
	int cancel_calls;
	int free_calls;
	char call_message[LRPC_STATUS_MSG_MAX];
};

extern struct stand_in_stream stand_in_stream;

/* Forget everything and free what the stand-ins allocated. */
void stand_in_stream_reset(void);

#endif
