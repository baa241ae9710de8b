/* SPDX-License-Identifier: MIT */
/* The `lazyrpc` command's subcommands: one file each, one table entry. */
#ifndef LAZYRPC_TOOL_H
#define LAZYRPC_TOOL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <lazyrpc/lazyrpc.h>

/* Exit statuses (lazyrpc.1, EXIT STATUS). */
#define TOOL_EXIT_FAILED 1       /* said on stderr */
#define TOOL_EXIT_USAGE 2        /* bad usage or bad input */
#define TOOL_EXIT_NOT_SERVING 3  /* health: anything but SERVING */
#define TOOL_EXIT_STATUS 64      /* + the status code a call ended with */

struct tool_cmd {
	const char *name;
	const char *summary; /* one line for `lazyrpc help` */
	/* argv[0] is the subcommand's name. \return the exit status. */
	int (*main)(int argc, char **argv);
};

extern const struct tool_cmd tool_cmd_call;
extern const struct tool_cmd tool_cmd_describe;
extern const struct tool_cmd tool_cmd_health;
extern const struct tool_cmd tool_cmd_list;
extern const struct tool_cmd tool_cmd_stats;
extern const struct tool_cmd tool_cmd_up;

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
/* A talking subcommand's arguments. */
struct tool_args {
	struct tool_conn conn;
	bool json;            /* --json */
	const char *words[3]; /* TARGET and what follows, in argv */
	int n_words;
};
#define TOOL_ARGS_INIT { .conn = TOOL_CONN_INIT }
/* A subcommand's own option at argv[0]: \return the words used, 0 (not
 * its), -1 after saying what is wrong. */
typedef int (*tool_opt_fn)(void *arg, int argc, char **argv);
/* Parses argv[1...]: the connection options, --json, options \p opt
 * (may be NULL) takes, and between \p min and \p max (at most 3) words
 * ("-" is one). \return 0, or -1 after printing \p usage or what is
 * wrong on stderr (exit TOOL_EXIT_USAGE). */
int tool_args_parse(struct tool_args *a, int argc, char **argv, int min, int max,
		    const char *usage, tool_opt_fn opt, void *arg);

/* Open c->ch to \p target: a URI, or a bare NAME for lrpc://NAME.
 * \return 0, or -1 after saying why on stderr. */
int tool_conn_open(struct tool_conn *c, const char *target);
lrpc_deadline tool_conn_deadline(const struct tool_conn *c);
void tool_conn_close(struct tool_conn *c);

/* schema.c: a server's schema, by reflection (pbjson_refl.h). */
#include "pbjson.h"

/* A pool with the file that defines \p symbol ("pkg.Svc",
 * "pkg.Svc/Method", "pkg.Msg", ...) and what it imports, or (NULL) the
 * files of every service the server lists, asked over c->ch (open).
 * The caller frees *out. \return 0, or -1 after saying why on stderr as
 * "lazyrpc CMD: TARGET ...". */
int tool_schema_load(struct tool_conn *c, const char *cmd, const char *target,
		     const char *symbol, pbjson_pool **out);

/* A method as the schema has it; valid as long as its pool. */
struct tool_method {
	const pbjson_method *desc;
	const pbjson_msg *in, *out;
	uint32_t kind;       /* lrpc_method_kind */
	char service[256];   /* "pkg.Svc" */
	char full_name[512]; /* "/pkg.Svc/Method" */
};
/* Splits \p name ("pkg.Svc/Method", "/pkg.Svc/Method" or
 * "pkg.Svc.Method"): the service into \p service. \return the method's
 * name (in \p name), or NULL if \p name is not such a name. */
const char *tool_method_split(const char *name, char service[256]);
/* Finds \p name ("pkg.Svc/Method", "/pkg.Svc/Method" or
 * "pkg.Svc.Method") in \p pool. \return 0; -EINVAL (not such a name),
 * -ENOENT (no such method), -EPROTO (its messages are not in the pool). */
int tool_method_find(const pbjson_pool *pool, const char *name, struct tool_method *m);
/* The same, saying what is wrong on stderr. \return 0, -1. */
int tool_schema_method(const pbjson_pool *pool, const char *cmd, const char *target,
		       const char *name, struct tool_method *m);
/* "unary", "client_streaming", "server_streaming", "bidi_streaming". */
const char *tool_method_kind(uint32_t kind);

/* json.c: \p s as a JSON string, quoted and escaped. */
void tool_json_string(FILE *f, const char *s);

#endif
