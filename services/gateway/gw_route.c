// SPDX-License-Identifier: MIT
/* Routes: the config's templates first, then POST /pkg.Service/Method. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_route.h"
#include "pbjson_wire.h"

void gw_target_free(struct gw_target *t)
{
	free(t->service);
	free(t->method);
	for (size_t i = 0; i < t->n_params; i++)
		free(t->values[i]);
	memset(t, 0, sizeof(*t));
}

/* Whether \p url's segments fit route \p r; fills the parameters. */
static bool template_match(const struct gw_route *r, const char *url, struct gw_target *t)
{
	const char *p = url;
	size_t i = 0;

	t->n_params = 0;
	while (*p == '/')
		p++;
	for (; i < r->n_segments; i++) {
		const char *seg = r->segments[i];
		size_t n = strcspn(p, "/"), sl = strlen(seg);

		if (!n)
			break;
		if (seg[0] == '{' && seg[sl - 1] == '}') {
			if (t->n_params == GW_MAX_PARAMS)
				break;
			t->values[t->n_params] = strndup(p, n);
			t->names[t->n_params] = seg;
			if (!t->values[t->n_params])
				break;
			t->n_params++;
		} else if (n != sl || memcmp(p, seg, n)) {
			break;
		}
		p += n;
		while (*p == '/')
			p++;
	}
	if (i == r->n_segments && !*p)
		return true;
	for (size_t j = 0; j < t->n_params; j++)
		free(t->values[j]);
	t->n_params = 0;
	return false;
}

int gw_route_match(const struct gw_config *c, const char *method, const char *url,
		   struct gw_target *t)
{
	const char *slash;

	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < c->n_routes; i++) {
		const struct gw_route *r = &c->routes[i];

		if (strcmp(r->http_method, method) || !template_match(r, url, t))
			continue;
		t->service = strdup(r->service);
		t->method = strdup(r->method);
		t->has_route = true;
		t->body = r->body;
		t->route = r;
		if (!t->service || !t->method) {
			gw_target_free(t);
			return GW_ROUTE_NONE;
		}
		return GW_ROUTE_OK;
	}
	/* /pkg.Service/Method: one '/' inside, a dot in the service. */
	if (url[0] != '/' || !(slash = strchr(url + 1, '/')) || strchr(slash + 1, '/') ||
	    !slash[1] || !memchr(url + 1, '.', (size_t)(slash - url - 1)))
		return GW_ROUTE_NONE;
	if (strcmp(method, "POST"))
		return GW_ROUTE_BAD_METHOD;
	t->service = strndup(url + 1, (size_t)(slash - url - 1));
	t->method = strdup(slash + 1);
	if (!t->service || !t->method) {
		gw_target_free(t);
		return GW_ROUTE_NONE;
	}
	return GW_ROUTE_OK;
}

int gw_route_params(const pbjson_pool *p, const pbjson_msg *in, const struct gw_target *t,
		    json_t *body, char err[PBJSON_ERR_MAX])
{
	(void)p;
	for (size_t i = 0; i < t->n_params; i++) {
		const char *name = t->names[i] + 1;
		size_t nl = strlen(name) - 1;
		const Google__Protobuf__FieldDescriptorProto *f = NULL;
		char key[256];
		json_t *v;

		for (size_t j = 0; j < in->n_field && !f; j++)
			if (strlen(in->field[j]->name) == nl && !memcmp(in->field[j]->name, name, nl))
				f = in->field[j];
		if (!f || f->label == PBW_LABEL_REPEATED || f->type == PBW_MESSAGE) {
			snprintf(err, PBJSON_ERR_MAX, "route parameter {%.*s} names no scalar "
				 "field of %s", (int)nl, name, in->name);
			return -1;
		}
		if (f->type == PBW_BYTES) {
			size_t n = strlen(t->values[i]);
			char *b64 = malloc(n / 3 * 4 + 5);

			if (!b64)
				return -1;
			pbw_b64_encode((const uint8_t *)t->values[i], n, b64);
			v = json_string(b64);
			free(b64);
		} else if (f->type == PBW_BOOL) {
			v = !strcmp(t->values[i], "true") ? json_true() :
			    !strcmp(t->values[i], "false") ? json_false() : json_string(t->values[i]);
		} else {
			v = json_string(t->values[i]);
		}
		if (!v) {
			snprintf(err, PBJSON_ERR_MAX, "route parameter {%.*s} is not UTF-8",
				 (int)nl, name);
			return -1;
		}
		snprintf(key, sizeof(key), "%s", f->name);
		/* The path wins over the body, and the body's spelling of the
		 * field (lowerCamelCase) goes so that the field is set once. */
		json_object_del(body, pbjson__json_name(f, key, sizeof(key)));
		json_object_set_new(body, f->name, v);
	}
	return 0;
}
