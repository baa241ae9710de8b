/* SPDX-License-Identifier: MIT */
/*
 * The gateway's parts: its configuration (gw_config.c), the backends it
 * calls and their descriptors (gw_backend.c), gRPC status to HTTP
 * (gw_status.c) and the HTTP/1.1 front (gw_http.c, libmicrohttpd).
 */
#ifndef LRPC_GW_H
#define LRPC_GW_H

#include <lazyrpc/lazyrpc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "pbjson.h"

#define GW_MAX_BACKENDS 64
#define GW_MAX_ROUTES 256
#define GW_MAX_PARAMS 8
#define GW_REQUEST_ID_MAX 128

struct gw_backend {
	char *uri;
	char **services; /* full names, "pkg.Svc" */
	size_t n_services;
	char *descriptor_set; /* a protoc --descriptor_set_out file, or NULL */
	lrpc_channel *ch;
	pthread_mutex_t lock;   /* opening ch, filling pool */
	atomic_bool loaded;     /* pool filled; read-only from then on */
	atomic_bool no_metadata; /* the transport refused metadata once */
	pbjson_pool *pool;
};

/* A config-declared route: "GET /v1/kv/{key}" to "pkg.Svc/Method". */
struct gw_route {
	char *http_method;
	char **segments; /* path split at '/'; "{name}" is a parameter */
	size_t n_segments;
	char *service, *method;
	bool body; /* the JSON body fills the request too */
};

struct gw_config {
	char *listen_host;
	unsigned int listen_port;
	size_t max_body_bytes;
	size_t max_header_bytes;
	unsigned int max_connections;
	unsigned int max_inflight;
	unsigned int conn_timeout_s;
	int64_t default_deadline_ms, max_deadline_ms;
	bool ignore_unknown_fields;
	bool orig_names; /* reply fields by .proto name, not lowerCamelCase */
	struct gw_backend backends[GW_MAX_BACKENDS];
	size_t n_backends;
	struct gw_route routes[GW_MAX_ROUTES];
	size_t n_routes;
};

/* Reads the JSON config at \p path into \p c (zeroed first). \return 0,
 * or -1 with the reason in \p err. */
int gw_config_load(struct gw_config *c, const char *path, char *err, size_t err_len);
void gw_config_free(struct gw_config *c);
/* The backend that serves \p service, or NULL. */
struct gw_backend *gw_config_backend(struct gw_config *c, const char *service);

/* Opens the backend's channel and fills its pool (from its descriptor
 * set, else by reflection) if not yet done. Thread-safe. \return LRPC_OK
 * or why not (UNAVAILABLE when the backend is down), in \p st. */
lrpc_code gw_backend_ready(struct gw_backend *b, const struct gw_config *c, lrpc_status *st);

/* gRPC code -> HTTP status, as grpc-gateway maps them. */
unsigned int gw_http_status(lrpc_code code);
/* The error body: {"code":N,"message":"...","details":[]}, malloc()ed. */
char *gw_error_body(lrpc_code code, const char *message);

/* Runs the HTTP front until SIGINT/SIGTERM. \return 0, or -1 (message on
 * stderr: this is the program, not a library). */
int gw_http_run(struct gw_config *c);

#endif
