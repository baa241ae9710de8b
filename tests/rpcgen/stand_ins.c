/* SPDX-License-Identifier: MIT */
/*
 * Stand-ins for the two runtime entry points the generated stubs call, so
 * that test_stubs can see exactly what a stub passed on, with no server or
 * channel. Built only with RPCGEN_TEST_STAND_INS (see meson.build); delete
 * this file to test against the real runtime instead.
 */
#include <lazyrpc/lazyrpc.h>

#include "stand_ins.h"

struct stand_in_log stand_in_log;

int lrpc_server_add_service(lrpc_server *srv, const lrpc_service_desc *desc,
			    const void *handlers, void *user)
{
	stand_in_log.srv = srv;
	stand_in_log.desc = desc;
	stand_in_log.handlers = handlers;
	stand_in_log.user = user;
	stand_in_log.add_calls++;
	return stand_in_log.add_ret;
}

/* Replies with stand_in_log.reply (ownership passes to the caller) on OK. */
lrpc_code lrpc_channel_call(lrpc_channel *ch, const lrpc_method_desc *method,
			    const ProtobufCMessage *req, ProtobufCMessage **rep,
			    lrpc_deadline deadline, lrpc_status *status)
{
	stand_in_log.ch = ch;
	stand_in_log.method = method;
	stand_in_log.req = req;
	stand_in_log.deadline = deadline;
	stand_in_log.status = status;
	stand_in_log.call_calls++;
	*rep = stand_in_log.call_ret == LRPC_OK ? stand_in_log.reply : NULL;
	return stand_in_log.call_ret;
}
