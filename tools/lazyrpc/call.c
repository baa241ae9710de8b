// SPDX-License-Identifier: MIT
/*
 * `lazyrpc call TARGET SERVICE/METHOD [JSON|-] [--json] [-H KEY:VALUE]...
 * [--deadline MS]`: one call to any method of any server, the request in
 * proto3 JSON (the argument, stdin with "-", else {}), the reply printed
 * as JSON. The method's types come from the server's reflection service
 * and the JSON mapping from the gateway's codec (pbjson). Streaming
 * methods are call_stream.c's. -H sends request metadata, on streams too. A status other than OK is printed with its
 * name and message and ends the command with 64 + its code.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"

#define USAGE "usage: lazyrpc call TARGET SERVICE/METHOD [JSON|-] [--json] " \
	      "[-H KEY:VALUE]... " TOOL_CONN_USAGE "\n"

int call_encode(const struct call_ctx *c, const json_t *j, const char *where, uint8_t **out,
		size_t *out_len)
{
	char err[PBJSON_ERR_MAX] = "";
	pbjson_opts po = { 0 };
	int ret;

	if (!json_is_object(j)) {
		fprintf(stderr, "lazyrpc call: %s must be a JSON object (%s)\n", where,
			pbjson_msg_name(c->pool, c->m.in));
		return -1;
	}
	ret = pbjson_encode(c->pool, c->m.in, j, &po, out, out_len, err);
	if (ret < 0)
		fprintf(stderr, "lazyrpc call: %s does not fit %s: %s\n", where,
			pbjson_msg_name(c->pool, c->m.in), ret == -ENOMEM ? "out of memory" : err);
	return ret < 0 ? -1 : 0;
}

int call_print_reply(const struct call_ctx *c, const void *buf, size_t len, bool compact)
{
	char err[PBJSON_ERR_MAX] = "";
	json_t *j;

	if (pbjson_decode(c->pool, c->m.out, buf, len, 0, &j, err) < 0) {
		fprintf(stderr, "lazyrpc call: %s: the reply of %s does not decode as %s: %s\n",
			c->target, c->m.full_name, pbjson_msg_name(c->pool, c->m.out), err);
		return -1;
	}
	json_dumpf(j, stdout, (compact ? JSON_COMPACT : JSON_INDENT(2)) |
		   JSON_REAL_PRECISION(17));
	putchar('\n');
	fflush(stdout);
	json_decref(j);
	return 0;
}

int call_end(const struct call_ctx *c, lrpc_code code, const lrpc_status *st,
	     lrpc_deadline deadline)
{
	if (code == LRPC_CANCELLED && lrpc_now() >= deadline)
		code = LRPC_DEADLINE_EXCEEDED;
	if (code == LRPC_OK)
		return 0;
	fprintf(stderr, "lazyrpc call: %s %s: %s%s%s\n", c->target, c->m.full_name,
		lrpc_code_name(code), st->message[0] ? ": " : "", st->message);
	return TOOL_EXIT_STATUS + (int)code;
}

static int call_unary(const struct call_ctx *c, const lrpc_metadata *md, size_t n_md)
{
	lrpc_call_opts opts = LRPC_CALL_OPTS_INIT;
	lrpc_deadline dl = tool_conn_deadline(c->conn);
	lrpc_status st = { 0 };
	void *rep = NULL;
	size_t rep_len = 0;
	lrpc_code code;
	int ret;

	opts.metadata = md;
	opts.n_metadata = n_md;
	code = lrpc_channel_call_bytes(c->conn->ch, c->m.full_name, c->req, c->req_len, &rep,
				       &rep_len, dl, &opts, &st);
	if (code != LRPC_OK)
		return call_end(c, code, &st, dl);
	ret = call_print_reply(c, rep, rep_len, c->compact);
	free(rep);
	return ret < 0 ? TOOL_EXIT_FAILED : 0;
}

struct headers {
	lrpc_metadata *md;
	size_t n;
};

/* -H "key: value" (curl's spelling) or "key:value" (a tool_opt_fn). */
static int add_header(void *arg, int argc, char **argv)
{
	struct headers *h = arg;
	char *colon;
	lrpc_metadata *m;

	if (strcmp(argv[0], "-H") != 0)
		return 0;
	colon = argc > 1 ? strchr(argv[1], ':') : NULL;
	if (!colon || colon == argv[1]) {
		fprintf(stderr, "lazyrpc call: -H takes KEY:VALUE, not '%s'\n",
			argc > 1 ? argv[1] : "");
		return -1;
	}
	m = realloc(h->md, (h->n + 1) * sizeof(*m));
	if (!m) {
		fprintf(stderr, "lazyrpc call: out of memory\n");
		return -1;
	}
	h->md = m;
	*colon++ = '\0';
	colon += *colon == ' ';
	m[h->n++] = (lrpc_metadata){ .key = argv[1], .value = colon, .value_len = strlen(colon) };
	return 2;
}

/* The request: \p arg, stdin ("-") or (NULL) the empty object. */
static json_t *parse_request(const char *arg)
{
	json_error_t je;
	json_t *j;

	j = !arg ? json_object() :
	    !strcmp(arg, "-") ? json_loadf(stdin, JSON_REJECT_DUPLICATES, &je) :
	    json_loads(arg, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		fprintf(stderr, "lazyrpc call: the request is not JSON: line %d column %d: %s\n",
			je.line, je.column, je.text);
	return j;
}

static int call_main(int argc, char **argv)
{
	struct tool_args a = TOOL_ARGS_INIT;
	struct call_ctx c = { .conn = &a.conn };
	struct headers h = { 0 };
	const char *method, *request;
	pbjson_pool *pool = NULL;
	uint8_t *req = NULL;
	json_t *j = NULL;
	int ret = TOOL_EXIT_USAGE;

	if (tool_args_parse(&a, argc, argv, 2, 3, USAGE, add_header, &h) < 0)
		goto out;
	c.compact = a.json;
	c.target = a.words[0];
	method = a.words[1];
	request = a.words[2];
	if (!strcmp(c.target, "-") || !strcmp(method, "-")) {
		fprintf(stderr, USAGE);
		goto out;
	}
	/* Bad JSON is the user's to fix, before anything is asked of the
	 * server (stdin waits: whether it is one request or lines depends
	 * on the method). */
	if (request && strcmp(request, "-") && !(j = parse_request(request)))
		goto out;
	if (!tool_method_split(method, c.m.service)) {
		fprintf(stderr, "lazyrpc call: '%s' is not SERVICE/METHOD (pkg.Svc/Method)\n",
			method);
		goto out;
	}
	ret = TOOL_EXIT_FAILED;
	if (tool_conn_open(&a.conn, c.target) < 0)
		goto out;
	/* The service's file, so that a wrong method is told from a wrong
	 * service. */
	if (tool_schema_load(&a.conn, "call", c.target, c.m.service, &pool) < 0 ||
	    tool_schema_method(pool, "call", c.target, method, &c.m) < 0)
		goto out;
	c.pool = pool;
	ret = TOOL_EXIT_USAGE;
	/* A method that streams requests reads them from stdin, one line
	 * each, unless the argument is its one request. */
	c.lines = (c.m.kind & LRPC_METHOD_CLIENT_STREAMING) && !j;
	if (!c.lines) {
		if (!j && !(j = parse_request(request)))
			goto out;
		if (call_encode(&c, j, "the request", &req, &c.req_len) < 0)
			goto out;
		c.req = req;
	}
	ret = c.m.kind == LRPC_METHOD_UNARY ? call_unary(&c, h.md, h.n) :
					      call_stream(&c, h.md, h.n);
out:
	if (a.conn.ch)
		tool_conn_close(&a.conn);
	json_decref(j);
	free(req);
	free(h.md);
	pbjson_pool_free(pool);
	return ret;
}

const struct tool_cmd tool_cmd_call = {
	.name = "call",
	.summary = "call any method with a JSON request (streams too), print the reply",
	.main = call_main,
};
