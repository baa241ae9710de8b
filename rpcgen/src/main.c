/* SPDX-License-Identifier: MIT */
/*
 * protoc-gen-lazyrpc: protoc runs it for --lazyrpc_out=DIR. Kept tiny, as
 * protoc-gen-c's main is: everything else lives in plugin.c and below.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rpcgen.h"

int main(int argc, char **argv)
{
	int rc;

	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("protoc-gen-lazyrpc %s (service ABI %u)\n", RPCGEN_VERSION,
		       RPCGEN_SERVICE_ABI);
		return 0;
	}
	if (argc > 1 || isatty(STDIN_FILENO)) {
		fprintf(stderr, "usage: protoc --lazyrpc_out=DIR [--c_out=DIR] x.proto\n"
				"protoc-gen-lazyrpc is a protoc plugin: it reads a "
				"CodeGeneratorRequest on stdin.\n");
		return 2;
	}
	rc = rpcgen_run(STDIN_FILENO, STDOUT_FILENO);
	rpcgen_arena_free();
	return rc;
}
