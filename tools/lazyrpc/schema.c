// SPDX-License-Identifier: MIT
/*
 * A server's schema, asked of the server by grpc.reflection.v1 through
 * the gateway's reflection client (services/gateway/pbjson_refl.c) into a
 * pbjson pool: what describe prints and what call encodes with.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pbjson_refl.h"
#include "tool.h"

/* Says why reflection failed, in the words a user can act on. */
static void refl_error(const char *cmd, const char *target, const char *symbol,
		       lrpc_code code, const lrpc_status *st)
{
	if (code == LRPC_NOT_FOUND && symbol)
		fprintf(stderr, "lazyrpc %s: %s does not serve %s (`lazyrpc describe %s` "
			"lists what it does)\n", cmd, target, symbol, target);
	else if (code == LRPC_UNIMPLEMENTED)
		fprintf(stderr, "lazyrpc %s: %s serves no reflection (grpc.reflection.v1: "
			"lrpc_server_add_reflection())\n", cmd, target);
	else
		fprintf(stderr, "lazyrpc %s: %s: reflection: %s: %s\n", cmd, target,
			lrpc_code_name(code), st->message);
}

int tool_schema_load(struct tool_conn *c, const char *cmd, const char *target,
		     const char *symbol, pbjson_pool **out)
{
	pbjson_pool *pool = pbjson_pool_new();
	char **names = NULL, *sym = NULL;
	pbjson_refl *r = NULL;
	size_t n = 0;
	lrpc_status st = { 0 };
	lrpc_code code;

	*out = NULL;
	if (symbol) {
		/* "pkg.Svc/Method", as call takes it, is the symbol pkg.Svc.Method. */
		sym = strdup(symbol + (symbol[0] == '/'));
		for (char *p = sym ? strchr(sym, '/') : NULL; p; p = strchr(p, '/'))
			*p = '.';
	}
	if (!pool || (symbol && !sym)) {
		fprintf(stderr, "lazyrpc %s: out of memory\n", cmd);
		code = LRPC_RESOURCE_EXHAUSTED;
		goto out;
	}
	code = pbjson_refl_open(c->ch, tool_conn_deadline(c), &r, &st);
	if (code == LRPC_OK && sym)
		code = pbjson_refl_symbol(r, pool, sym, &st);
	else if (code == LRPC_OK)
		code = pbjson_refl_services(r, &names, &n, &st);
	for (size_t i = 0; code == LRPC_OK && i < n; i++)
		code = pbjson_refl_symbol(r, pool, names[i], &st);
	if (code != LRPC_OK)
		refl_error(cmd, target, sym, code, &st);
out:
	pbjson_refl_close(r);
	pbjson_refl_names_free(names, n);
	free(sym);
	if (code != LRPC_OK) {
		pbjson_pool_free(pool);
		return -1;
	}
	*out = pool;
	return 0;
}

const char *tool_method_split(const char *name, char service[256])
{
	const char *slash, *start = name + (name[0] == '/');
	size_t n;

	slash = strrchr(start, '/');
	if (!slash)
		slash = strrchr(start, '.');
	n = slash ? (size_t)(slash - start) : 0;
	if (!n || !slash[1] || n >= 256)
		return NULL;
	memcpy(service, start, n);
	service[n] = '\0';
	return slash + 1;
}

int tool_method_find(const pbjson_pool *pool, const char *name, struct tool_method *m)
{
	const char *method;

	memset(m, 0, sizeof(*m));
	method = tool_method_split(name, m->service);
	if (!method)
		return -EINVAL;
	m->desc = pbjson_find_method(pbjson_find_service(pool, m->service), method);
	if (!m->desc)
		return -ENOENT;
	snprintf(m->full_name, sizeof(m->full_name), "/%s/%s", m->service, m->desc->name);
	m->in = pbjson_find_msg(pool, m->desc->input_type ? m->desc->input_type : "");
	m->out = pbjson_find_msg(pool, m->desc->output_type ? m->desc->output_type : "");
	m->kind = (m->desc->client_streaming ? LRPC_METHOD_CLIENT_STREAMING : 0) |
		  (m->desc->server_streaming ? LRPC_METHOD_SERVER_STREAMING : 0);
	return m->in && m->out ? 0 : -EPROTO;
}

int tool_schema_method(const pbjson_pool *pool, const char *cmd, const char *target,
		       const char *name, struct tool_method *m)
{
	int ret = tool_method_find(pool, name, m);

	if (ret == -EINVAL)
		fprintf(stderr, "lazyrpc %s: '%s' is not SERVICE/METHOD (pkg.Svc/Method)\n",
			cmd, name);
	else if (ret == -ENOENT)
		fprintf(stderr, "lazyrpc %s: %s serves no method %s (`lazyrpc describe %s %s` "
			"lists its methods)\n", cmd, target, name, target, m->service);
	else if (ret < 0)
		fprintf(stderr, "lazyrpc %s: %s: the descriptors of %s are incomplete\n", cmd,
			target, m->full_name);
	return ret < 0 ? -1 : 0;
}

const char *tool_method_kind(uint32_t kind)
{
	switch (kind) {
	case LRPC_METHOD_UNARY:
		return "unary";
	case LRPC_METHOD_CLIENT_STREAMING:
		return "client_streaming";
	case LRPC_METHOD_SERVER_STREAMING:
		return "server_streaming";
	default:
		return "bidi_streaming";
	}
}
