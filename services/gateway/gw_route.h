/* SPDX-License-Identifier: MIT */
/*
 * Routing an HTTP request to a method: POST /pkg.Service/Method, or a
 * route of the config ("GET /v1/kv/{key}") whose {name} segments fill
 * the request's fields of that name.
 */
#ifndef LRPC_GW_ROUTE_H
#define LRPC_GW_ROUTE_H

#include "gw.h"

enum { GW_ROUTE_OK = 0, GW_ROUTE_NONE = -1, GW_ROUTE_BAD_METHOD = -2 };

struct gw_target {
	char *service, *method; /* owned */
	bool has_route, body;   /* a config route; whether it takes a body */
	const struct gw_route *route;
	char *values[GW_MAX_PARAMS]; /* owned: the {name} segments' values */
	const char *names[GW_MAX_PARAMS];
	size_t n_params;
};

/* \return GW_ROUTE_OK with *t filled (free it with gw_target_free()),
 * GW_ROUTE_NONE or GW_ROUTE_BAD_METHOD (nothing to free). */
int gw_route_match(const struct gw_config *c, const char *method, const char *url,
		   struct gw_target *t);
void gw_target_free(struct gw_target *t);
/* Sets the route's parameters into \p body (a JSON object) as the
 * fields of \p in they name; bytes fields take the segment's bytes.
 * \return 0, or -1 with \p err set. */
int gw_route_params(const pbjson_pool *p, const pbjson_msg *in, const struct gw_target *t,
		    json_t *body, char err[PBJSON_ERR_MAX]);

#endif
