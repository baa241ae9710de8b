// SPDX-License-Identifier: MIT
/* What every talking subcommand shares: its arguments' connection
 * options and --json, and opening the channel. */
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

int tool_args_parse(struct tool_args *a, int argc, char **argv, int min, int max,
		    const char *usage, tool_opt_fn opt, void *arg)
{
	for (int i = 1; i < argc; i++) {
		int used = tool_conn_option(&a->conn, argc - i, argv + i);

		if (!used && opt)
			used = opt(arg, argc - i, argv + i);
		if (used < 0)
			return -1;
		if (used) {
			i += used - 1;
		} else if (!strcmp(argv[i], "--json")) {
			a->json = true;
		} else if ((argv[i][0] != '-' || !strcmp(argv[i], "-")) && a->n_words < max) {
			a->words[a->n_words++] = argv[i];
		} else {
			fputs(usage, stderr);
			return -1;
		}
	}
	if (a->n_words < min) {
		fputs(usage, stderr);
		return -1;
	}
	return 0;
}

int tool_conn_open(struct tool_conn *c, const char *target)
{
	char uri[512];
	lrpc_channel_opts o;
	/* Not every failure fills it in (a scheme nobody knows). */
	lrpc_status st = { 0 };
	int ret;

	/* A name as `lazyrpc list` shows it is served over lrpc://. */
	if ((size_t)snprintf(uri, sizeof(uri), "%s%s", strstr(target, "://") ? "" : "lrpc://",
			     target) >= sizeof(uri)) {
		fprintf(stderr, "lazyrpc: '%.40s...' is too long for a URI\n", target);
		return -1;
	}
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
		fprintf(stderr, "lazyrpc: %s: %s\n", uri,
			st.message[0] ? st.message : strerror(-ret));
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
