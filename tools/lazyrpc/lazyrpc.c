// SPDX-License-Identifier: MIT
/* `lazyrpc SUBCOMMAND ...`: find the subcommand in the table, run it. */
#include <stdio.h>
#include <string.h>

#include "tool.h"

static const struct tool_cmd *const cmds[] = {
	&tool_cmd_call,
	&tool_cmd_describe,
	&tool_cmd_health,
	&tool_cmd_list,
	&tool_cmd_stats,
	&tool_cmd_up,
};

static int usage(FILE *f)
{
	fprintf(f, "usage: lazyrpc SUBCOMMAND [ARGS...]\n\nsubcommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-10s %s\n", cmds[i]->name, cmds[i]->summary);
	return f == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage(stderr);
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "-h"))
		return usage(stdout);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i]->name))
			return cmds[i]->main(argc - 1, argv + 1);
	fprintf(stderr, "lazyrpc: unknown subcommand '%s'\n", argv[1]);
	return usage(stderr);
}
