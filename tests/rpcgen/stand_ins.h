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
};

extern struct stand_in_log stand_in_log;

#endif
