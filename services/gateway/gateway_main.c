// SPDX-License-Identifier: MIT
/*
 * lazyrpc-gateway CONFIG.json: HTTP/1.1 + JSON in front of lazyrpc
 * services (services/README.md, "gateway"). Prints the address it
 * listens on, serves until SIGINT or SIGTERM.
 */
#include <stdio.h>

#include "gw.h"

int main(int argc, char **argv)
{
	static struct gw_config c;
	char err[512];
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CONFIG.json\n", argv[0]);
		return 2;
	}
	if (gw_config_load(&c, argv[1], err, sizeof(err)) < 0) {
		fprintf(stderr, "gateway: %s\n", err);
		gw_config_free(&c);
		return 2;
	}
	ret = gw_http_run(&c);
	gw_config_free(&c);
	return ret ? 1 : 0;
}
