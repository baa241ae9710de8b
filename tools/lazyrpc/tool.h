/* SPDX-License-Identifier: MIT */
/* The `lazyrpc` command's subcommands: one file each, one table entry. */
#ifndef LAZYRPC_TOOL_H
#define LAZYRPC_TOOL_H

struct tool_cmd {
	const char *name;
	const char *summary; /* one line for `lazyrpc help` */
	/* argv[0] is the subcommand's name. \return the exit status: 0, 1
	 * (it failed: said on stderr), 2 (bad usage). */
	int (*main)(int argc, char **argv);
};

extern const struct tool_cmd tool_cmd_up;

#endif
