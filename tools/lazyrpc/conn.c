// SPDX-License-Identifier: MIT
/* The connection options every talking subcommand shares. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

int tool_conn_option(struct tool_conn *c, int argc, char **argv)
{
	char *end;

	if (!strcmp(argv[0], "--handoff")) {
		if (argc < 2) {
			fprintf(stderr, "lazyrpc: --handoff needs a name (futex, rpal-kernel)\n");
			return -1;
		}
		c->handoff = argv[1];
		return 2;
	}
	if (strcmp(argv[0], "--deadline") != 0)
		return 0;
	if (argc < 2) {
		fprintf(stderr, "lazyrpc: --deadline needs milliseconds\n");
		return -1;
	}
	errno = 0;
	c->deadline_ms = strtoll(argv[1], &end, 10);
	if (errno || end == argv[1] || *end || c->deadline_ms <= 0) {
		fprintf(stderr, "lazyrpc: --deadline takes milliseconds > 0, not '%s'\n",
			argv[1]);
		return -1;
	}
	return 2;
}

int tool_conn_open(struct tool_conn *c, const char *uri)
{
	lrpc_channel_opts o;
	lrpc_status st;
	int ret;

	lrpc_channel_opts_init(&o);
	o.connect_timeout_ms = c->deadline_ms;
	o.default_timeout_ms = c->deadline_ms;
	o.handoff = c->handoff;
	o.open_status = &st;
	ret = lrpc_channel_open(uri, &o, &c->ch);
	if (ret == -ENOENT && !strncmp(uri, "lrpc://", 7)) {
		char dir[256] = "?";

		lrpc_runtime_dir(dir, sizeof(dir));
		fprintf(stderr, "lazyrpc: no service '%s' listens in %s (`lazyrpc list` "
			"shows those that do)\n", uri + 7, dir);
		return -1;
	}
	if (ret < 0) {
		fprintf(stderr, "lazyrpc: %s\n", st.message[0] ? st.message : strerror(-ret));
		return -1;
	}
	return 0;
}

lrpc_deadline tool_conn_deadline(const struct tool_conn *c)
{
	return lrpc_deadline_after_ms(c->deadline_ms);
}

void tool_conn_close(struct tool_conn *c)
{
	lrpc_channel_close(c->ch);
	c->ch = NULL;
}
