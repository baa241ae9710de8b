/* SPDX-License-Identifier: MIT */
/* The `lazyrpc` command's subcommands: one file each, one table entry. */
#ifndef LAZYRPC_TOOL_H
#define LAZYRPC_TOOL_H

#include <stdint.h>
#include <stdio.h>

#include <lazyrpc/lazyrpc.h>

struct tool_cmd {
	const char *name;
	const char *summary; /* one line for `lazyrpc help` */
	/* argv[0] is the subcommand's name. \return the exit status: 0, 1
	 * (it failed: said on stderr), 2 (bad usage). */
	int (*main)(int argc, char **argv);
};

extern const struct tool_cmd tool_cmd_up;
extern const struct tool_cmd tool_cmd_stats;
extern const struct tool_cmd tool_cmd_list;

/* conn.c: a channel to the server a subcommand talks to. */
struct tool_conn {
	lrpc_channel *ch;
	int64_t deadline_ms; /* --deadline; the call and the connect */
	const char *handoff; /* --handoff */
};
#define TOOL_CONN_INIT { .deadline_ms = 5000 }
#define TOOL_CONN_USAGE "[--deadline MS] [--handoff NAME]"

/* If argv[0] is one of the connection options, take it (and its value).
 * \return the words used (0: not one of ours), -1 after saying what is
 * wrong on stderr. */
int tool_conn_option(struct tool_conn *c, int argc, char **argv);
/* Open c->ch to \p uri. \return 0, or -1 after saying why on stderr. */
int tool_conn_open(struct tool_conn *c, const char *uri);
lrpc_deadline tool_conn_deadline(const struct tool_conn *c);
void tool_conn_close(struct tool_conn *c);

/* json.c: \p s as a JSON string, quoted and escaped. */
void tool_json_string(FILE *f, const char *s);

#endif
