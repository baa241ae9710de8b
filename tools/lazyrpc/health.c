// SPDX-License-Identifier: MIT
/*
 * `lazyrpc health TARGET [SERVICE] [--json] [--deadline MS]`: one
 * grpc.health.v1.Health/Check of the server (SERVICE "": the server as a
 * whole), its answer printed (SERVING, NOT_SERVING, ...) and in the exit
 * status: 0 for SERVING only, so that scripts and probes can use it.
 */
#include <string.h>

#include "grpc/health/v1/health.lrpc.h"
#include "tool.h"

#define USAGE "usage: lazyrpc health TARGET [SERVICE] [--json] " TOOL_CONN_USAGE "\n"

static int health_main(int argc, char **argv)
{
	Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
	Grpc__Health__V1__HealthCheckResponse *rep = NULL;
	struct tool_args a = TOOL_ARGS_INIT;
	const ProtobufCEnumValue *v;
	const char *target, *service;
	lrpc_status st = { 0 };
	lrpc_code code;
	int ret;

	if (tool_args_parse(&a, argc, argv, 1, 2, USAGE, NULL, NULL) < 0)
		return TOOL_EXIT_USAGE;
	target = a.words[0];
	service = a.words[1];
	if (tool_conn_open(&a.conn, target) < 0)
		return TOOL_EXIT_FAILED;
	req.service = (char *)(service ? service : "");
	code = grpc__health__v1__health__check__call(a.conn.ch, &req, &rep,
						     tool_conn_deadline(&a.conn), &st);
	tool_conn_close(&a.conn);
	if (code != LRPC_OK) {
		fprintf(stderr, "lazyrpc health: %s%s%s: %s: %s%s\n", target, service ? " " : "",
			service ? service : "", lrpc_code_name(code), st.message,
			code == LRPC_UNIMPLEMENTED ?
				" (does the server call lrpc_server_add_health()?)" : "");
		return TOOL_EXIT_STATUS + (int)code;
	}
	v = protobuf_c_enum_descriptor_get_value(
		&grpc__health__v1__health_check_response__serving_status__descriptor,
		(int)rep->status);
	if (a.json) {
		printf("{\"service\":");
		tool_json_string(stdout, req.service);
		printf(",\"status\":");
		tool_json_string(stdout, v ? v->name : "UNKNOWN");
		printf("}\n");
	} else {
		printf("%s\n", v ? v->name : "UNKNOWN");
	}
	ret = rep->status == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING ?
		      0 : TOOL_EXIT_NOT_SERVING;
	grpc__health__v1__health_check_response__free_unpacked(rep, NULL);
	return ret;
}

const struct tool_cmd tool_cmd_health = {
	.name = "health",
	.summary = "a server's health (grpc.health.v1 Check): SERVING, NOT_SERVING, ...",
	.main = health_main,
};
