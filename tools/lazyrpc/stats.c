// SPDX-License-Identifier: MIT
/*
 * `lazyrpc stats TARGET [--prefix P] [--json] [--deadline MS]`: a server's
 * per-method counts and latencies, from the lazyrpc.stats.v1.Stats service
 * it serves (lrpc_server_add_stats), over any transport.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lazyrpc/lazyrpc.h>

#include "lazyrpc/stats/v1/stats.lrpc.h"
#include "tool.h"

typedef Lazyrpc__Stats__V1__GetResponse stats_rep;

static void print_table(const char *uri, const stats_rep *rep)
{
	printf("%s: up %.1f s, %" PRIu64 " clients now, %" PRIu64 " accepted, %" PRIu64
	       " refused\n", uri, (double)rep->uptime_ns / 1e9, rep->clients_active,
	       rep->clients_accepted, rep->clients_rejected);
	printf("%-48s %10s %8s %12s %12s %12s\n", "METHOD", "CALLS", "ERRORS", "P50",
	       "P99", "MAX");
	for (size_t i = 0; i < rep->n_methods; i++) {
		const Lazyrpc__Stats__V1__MethodStats *m = rep->methods[i];

		printf("%-48s %10" PRIu64 " %8" PRIu64 " %10.1fus %10.1fus %10.1fus\n",
		       m->method, m->calls, m->errors, (double)m->p50_ns / 1e3,
		       (double)m->p99_ns / 1e3, (double)m->max_ns / 1e3);
		for (size_t c = 0; c < m->n_codes; c++)
			if (strcmp(m->codes[c]->code, "OK") != 0)
				printf("  %-46s %10" PRIu64 "\n", m->codes[c]->code,
				       m->codes[c]->count);
	}
}

static void print_json(const stats_rep *rep)
{
	printf("{\"uptime_ns\":%" PRIu64 ",\"clients_active\":%" PRIu64
	       ",\"clients_accepted\":%" PRIu64 ",\"clients_rejected\":%" PRIu64
	       ",\"methods\":[", rep->uptime_ns, rep->clients_active,
	       rep->clients_accepted, rep->clients_rejected);
	for (size_t i = 0; i < rep->n_methods; i++) {
		const Lazyrpc__Stats__V1__MethodStats *m = rep->methods[i];

		printf("%s{\"method\":", i ? "," : "");
		tool_json_string(stdout, m->method);
		printf(",\"calls\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"p50_ns\":%" PRIu64
		       ",\"p99_ns\":%" PRIu64 ",\"max_ns\":%" PRIu64 ",\"codes\":{",
		       m->calls, m->errors, m->p50_ns, m->p99_ns, m->max_ns);
		for (size_t c = 0; c < m->n_codes; c++) {
			printf("%s", c ? "," : "");
			tool_json_string(stdout, m->codes[c]->code);
			printf(":%" PRIu64, m->codes[c]->count);
		}
		printf("}}");
	}
	printf("]}\n");
}

#define USAGE "usage: lazyrpc stats TARGET [--prefix P] [--json] " TOOL_CONN_USAGE "\n"

/* --prefix P (a tool_opt_fn). */
static int prefix_option(void *arg, int argc, char **argv)
{
	Lazyrpc__Stats__V1__GetRequest *req = arg;

	if (strcmp(argv[0], "--prefix") != 0)
		return 0;
	if (argc < 2) {
		fputs(USAGE, stderr);
		return -1;
	}
	req->prefix = argv[1];
	return 2;
}

static int stats_main(int argc, char **argv)
{
	Lazyrpc__Stats__V1__GetRequest req = LAZYRPC__STATS__V1__GET_REQUEST__INIT;
	struct tool_args a = TOOL_ARGS_INIT;
	stats_rep *rep = NULL;
	const char *uri;
	lrpc_status st;
	lrpc_code code;

	if (tool_args_parse(&a, argc, argv, 1, 1, USAGE, prefix_option, &req) < 0)
		return TOOL_EXIT_USAGE;
	uri = a.words[0];
	if (tool_conn_open(&a.conn, uri) < 0)
		return 1;
	code = lazyrpc__stats__v1__stats__get__call(a.conn.ch, &req, &rep,
						    tool_conn_deadline(&a.conn), &st);
	tool_conn_close(&a.conn);
	if (code != LRPC_OK) {
		fprintf(stderr, "lazyrpc stats: %s: %s: %s%s\n", uri, lrpc_code_name(code),
			st.message,
			code == LRPC_UNIMPLEMENTED ?
				" (does the server call lrpc_server_add_stats()?)" : "");
		return 1;
	}
	if (a.json)
		print_json(rep);
	else
		print_table(uri, rep);
	lazyrpc__stats__v1__get_response__free_unpacked(rep, NULL);
	return 0;
}

const struct tool_cmd tool_cmd_stats = {
	.name = "stats",
	.summary = "per-method calls, errors and latency of a server (its Stats service)",
	.main = stats_main,
};
