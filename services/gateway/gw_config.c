// SPDX-License-Identifier: MIT
/*
 * The gateway's config file: one JSON object (README.md, "gateway"),
 * read with jansson. Every limit has a default and a stated bound.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw.h"

__attribute__((format(printf, 3, 4)))
static int bad(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

/* An integer member in [lo, hi], or \p def when absent. */
static int get_int(json_t *o, const char *key, long long def, long long lo, long long hi,
		   long long *out, char *err, size_t len)
{
	json_t *v = json_object_get(o, key);

	if (!v) {
		*out = def;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return bad(err, len, "\"%s\" must be an integer in [%lld, %lld]", key, lo, hi);
	*out = json_integer_value(v);
	return 0;
}

static int parse_route(struct gw_route *r, json_t *o, char *err, size_t len)
{
	const char *m = json_string_value(json_object_get(o, "method"));
	const char *path = json_string_value(json_object_get(o, "path"));
	const char *call = json_string_value(json_object_get(o, "call"));
	const char *slash;
	char *dup, *save, *seg;

	if (!m || !path || !call || path[0] != '/' || !(slash = strchr(call, '/')))
		return bad(err, len, "a route needs \"method\", \"path\" (starting '/') and "
			   "\"call\" (\"pkg.Service/Method\")");
	r->http_method = strdup(m);
	r->service = strndup(call, (size_t)(slash - call));
	r->method = strdup(slash + 1);
	r->body = json_is_true(json_object_get(o, "body"));
	dup = strdup(path);
	if (!r->http_method || !r->service || !r->method || !dup) {
		free(dup);
		return bad(err, len, "out of memory");
	}
	for (seg = strtok_r(dup, "/", &save); seg; seg = strtok_r(NULL, "/", &save)) {
		char **s = realloc(r->segments, (r->n_segments + 1) * sizeof(*s));

		if (!s || !(s[r->n_segments] = strdup(seg))) {
			free(s ? s : r->segments);
			r->segments = NULL;
			free(dup);
			return bad(err, len, "out of memory");
		}
		r->segments = s;
		r->n_segments++;
	}
	free(dup);
	return 0;
}

static int parse_backend(struct gw_backend *b, json_t *o, char *err, size_t len)
{
	const char *uri = json_string_value(json_object_get(o, "uri"));
	const char *ds = json_string_value(json_object_get(o, "descriptor_set"));
	json_t *svcs = json_object_get(o, "services"), *v;
	size_t i;

	if (!uri || !json_is_array(svcs) || !json_array_size(svcs))
		return bad(err, len, "a backend needs \"uri\" and \"services\" (a non-empty "
			   "array of \"pkg.Service\" names)");
	b->uri = strdup(uri);
	b->descriptor_set = ds ? strdup(ds) : NULL;
	b->services = calloc(json_array_size(svcs), sizeof(char *));
	if (!b->uri || !b->services || (ds && !b->descriptor_set))
		return bad(err, len, "out of memory");
	json_array_foreach(svcs, i, v) {
		if (!json_is_string(v) || !(b->services[i] = strdup(json_string_value(v))))
			return bad(err, len, "\"services\" must hold strings");
		b->n_services++;
	}
	pthread_mutex_init(&b->lock, NULL);
	b->pool = pbjson_pool_new();
	return b->pool ? 0 : bad(err, len, "out of memory");
}

int gw_config_load(struct gw_config *c, const char *path, char *err, size_t len)
{
	json_error_t je;
	json_t *root, *arr, *v;
	const char *listen, *colon;
	long long n;
	size_t i;
	int ret = -1;

	memset(c, 0, sizeof(*c));
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return bad(err, len, "%s:%d:%d: %s", path, je.line, je.column, je.text);
	if (!json_is_object(root)) {
		bad(err, len, "%s: the config is a JSON object", path);
		goto out;
	}
	listen = json_string_value(json_object_get(root, "listen"));
	if (!listen || !(colon = strrchr(listen, ':'))) {
		bad(err, len, "\"listen\" must be \"HOST:PORT\"");
		goto out;
	}
	c->listen_host = strndup(listen, (size_t)(colon - listen));
	n = strtoll(colon + 1, NULL, 10);
	if (!c->listen_host || n < 0 || n > 65535) {
		bad(err, len, "\"listen\" port must be 0..65535");
		goto out;
	}
	c->listen_port = (unsigned int)n;
	if (get_int(root, "max_body_bytes", 1 << 20, 0, 64 << 20, &n, err, len))
		goto out;
	c->max_body_bytes = (size_t)n;
	if (get_int(root, "max_header_bytes", 16384, 4096, 1 << 20, &n, err, len))
		goto out;
	c->max_header_bytes = (size_t)n;
	if (get_int(root, "max_connections", 256, 1, 65536, &n, err, len))
		goto out;
	c->max_connections = (unsigned int)n;
	if (get_int(root, "max_inflight", 64, 1, 65536, &n, err, len))
		goto out;
	c->max_inflight = (unsigned int)n;
	if (get_int(root, "connection_timeout_s", 30, 1, 3600, &n, err, len))
		goto out;
	c->conn_timeout_s = (unsigned int)n;
	if (get_int(root, "max_deadline_ms", 30000, 1, 86400000, &n, err, len))
		goto out;
	c->max_deadline_ms = n;
	if (get_int(root, "default_deadline_ms", 10000, 1, c->max_deadline_ms, &n, err, len))
		goto out;
	c->default_deadline_ms = n;
	c->ignore_unknown_fields = json_is_true(json_object_get(root, "ignore_unknown_fields"));
	c->orig_names = json_is_true(json_object_get(root, "proto_names"));
	arr = json_object_get(root, "backends");
	if (!json_is_array(arr) || !json_array_size(arr) ||
	    json_array_size(arr) > GW_MAX_BACKENDS) {
		bad(err, len, "\"backends\" must be an array of 1 to %d backends", GW_MAX_BACKENDS);
		goto out;
	}
	json_array_foreach(arr, i, v) {
		if (parse_backend(&c->backends[c->n_backends++], v, err, len))
			goto out;
	}
	arr = json_object_get(root, "routes");
	if (arr && (!json_is_array(arr) || json_array_size(arr) > GW_MAX_ROUTES)) {
		bad(err, len, "\"routes\" must be an array of at most %d routes", GW_MAX_ROUTES);
		goto out;
	}
	json_array_foreach(arr, i, v) {
		if (parse_route(&c->routes[c->n_routes++], v, err, len))
			goto out;
	}
	ret = 0;
out:
	json_decref(root);
	return ret;
}

void gw_config_free(struct gw_config *c)
{
	for (size_t i = 0; i < c->n_backends; i++) {
		struct gw_backend *b = &c->backends[i];

		for (size_t j = 0; j < b->n_services; j++)
			free(b->services[j]);
		free(b->services);
		free(b->uri);
		free(b->descriptor_set);
		lrpc_channel_close(b->ch);
		pbjson_pool_free(b->pool);
	}
	for (size_t i = 0; i < c->n_routes; i++) {
		struct gw_route *r = &c->routes[i];

		for (size_t j = 0; j < r->n_segments; j++)
			free(r->segments[j]);
		free(r->segments);
		free(r->http_method);
		free(r->service);
		free(r->method);
	}
	free(c->listen_host);
	memset(c, 0, sizeof(*c));
}

struct gw_backend *gw_config_backend(struct gw_config *c, const char *service)
{
	for (size_t i = 0; i < c->n_backends; i++)
		for (size_t j = 0; j < c->backends[i].n_services; j++)
			if (!strcmp(c->backends[i].services[j], service))
				return &c->backends[i];
	return NULL;
}
