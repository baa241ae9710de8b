/* SPDX-License-Identifier: MIT */
/*
 * lazyrpc-std: gRPC's standard services, one call each to add to a
 * server (since 0.3.0; link liblazyrpc-std, pkg-config lazyrpc-std).
 *
 *   lrpc_health *health;
 *   lrpc_server_add_health(srv, &health);     // "" is SERVING
 *   lrpc_server_add_reflection(srv);          // after or before the rest
 *   greeter__greeter__register(srv, &handlers, NULL);
 *   lrpc_health_set(health, "greeter.Greeter", LRPC_HEALTH_SERVING);
 *   lrpc_server_start(srv);
 *   ...
 *   lrpc_health_set(health, "greeter.Greeter", LRPC_HEALTH_NOT_SERVING);
 *
 * They are ordinary services of the server, so they answer on every
 * transport it listens on (lrpc://, unix://, tcp://, grpc://), and gRPC
 * clients find them under their usual names: grpc.health.v1.Health, and
 * grpc.reflection.v1.ServerReflection with its older name
 * grpc.reflection.v1alpha.ServerReflection.
 */
#ifndef LAZYRPC_STD_H
#define LAZYRPC_STD_H

#include "common.h"
#include "server.h"

#ifdef __cplusplus
extern "C" {
#endif

/* grpc.health.v1.HealthCheckResponse.ServingStatus, by number. */
typedef enum lrpc_health_status {
	LRPC_HEALTH_UNKNOWN = 0,
	LRPC_HEALTH_SERVING = 1,
	LRPC_HEALTH_NOT_SERVING = 2,
	/* What Watch sends for a name that has no status (never set, or
	 * cleared); Check answers NOT_FOUND instead. Not for lrpc_health_set. */
	LRPC_HEALTH_SERVICE_UNKNOWN = 3,
} lrpc_health_status;

/* The health service of one server; owned by the server. */
typedef struct lrpc_health lrpc_health;

/* Longest service name lrpc_health_set() takes, in bytes. */
#define LRPC_HEALTH_NAME_MAX 1024

/**
 * Serve grpc.health.v1.Health on \p srv: Check answers the status set for
 * the service named in the request (NOT_FOUND if none), Watch sends it at
 * once and again at each change until the client cancels, the call's
 * deadline passes or the server stops. The name "" (the server as a
 * whole) starts SERVING; every other name is unknown until set. From
 * lrpc_server_stop() on, every name that has a status is NOT_SERVING, and
 * the stop sends that to every Watch (waiting up to 2 s for it to go out)
 * before the connections drain and the Watches end (since 0.5.0). A Watch
 * holds a stream (a thread; over lrpc:// a lane) while it lasts.
 * Only before lrpc_server_start(). *out (may be NULL) is valid until
 * lrpc_server_free(), which frees it.
 * \return 0, -EINVAL (NULL srv), -EEXIST (health already added, or a
 * method of it registered), -EBUSY (started), -ENOMEM.
 */
LRPC_API int lrpc_server_add_health(lrpc_server *srv, lrpc_health **out);

/**
 * Set the status of \p service ("pkg.Svc", or "" for the server as a
 * whole; any name the application chooses). Every Watch of that name is
 * sent the new status if it differs from what it last sent. Thread-safe;
 * any time until lrpc_server_free(), handlers included; never blocks on
 * a client. \p service is copied.
 * \return 0, -EINVAL (NULL argument, name longer than LRPC_HEALTH_NAME_MAX,
 * status other than UNKNOWN, SERVING, NOT_SERVING), -ENOMEM.
 */
LRPC_API int lrpc_health_set(lrpc_health *h, const char *service,
			     lrpc_health_status status);

/**
 * Forget the status of \p service: Check answers NOT_FOUND again, Watch
 * sends SERVICE_UNKNOWN. Thread-safe, as lrpc_health_set().
 * \return 0, -EINVAL (NULL argument), -ENOENT (no status was set).
 */
LRPC_API int lrpc_health_clear(lrpc_health *h, const char *service);

/** Watch streams open now (for tests and monitoring). Thread-safe. */
LRPC_API unsigned int lrpc_health_watchers(lrpc_health *h);

/**
 * Serve grpc.reflection.v1.ServerReflection and
 * grpc.reflection.v1alpha.ServerReflection on \p srv: list the server's
 * services (all of them, added before or after this call), and give the
 * file descriptors protoc-gen-lazyrpc embeds in each
 * (lrpc_service_desc.file_descriptor and .dependencies) by file name, by
 * symbol (package-qualified service, method, message, enum or extension,
 * nested ones included) or by extension, each with the files it imports.
 * What it cannot find is an error_response NOT_FOUND on the stream,
 * which goes on. Services described by hand without a descriptor are
 * listed but not described. The index is built at the first request and
 * freed by lrpc_server_free(). Only before lrpc_server_start().
 * \return 0, -EINVAL (NULL srv), -EEXIST (already added), -EBUSY
 * (started), -ENOMEM.
 */
LRPC_API int lrpc_server_add_reflection(lrpc_server *srv);

/* The statistics of one server (lrpc_server_add_stats); owned by it. */
typedef struct lrpc_stats lrpc_stats;

/**
 * Serve lazyrpc.stats.v1.Stats on \p srv (since 0.4.0;
 * runtime/proto/lazyrpc/stats/v1/stats.proto): Get answers, per method
 * called since, the calls, errors and count by status, and p50, p99 and
 * maximum handler durations (within 12.5%), plus the server's client
 * counts; `lazyrpc stats URI` prints them. It counts through an
 * interceptor (lrpc_server_add_interceptor): calls refused by an
 * interceptor added before it are not counted, so add it first to count
 * everything. A call costs a few relaxed atomic increments; memory is
 * about 4 KiB per method called. Only before lrpc_server_start().
 * \return 0, -EINVAL (NULL), -EEXIST (already added), -ENOSPC (8
 * interceptors already), -EBUSY (started), -ENOMEM.
 */
LRPC_API int lrpc_server_add_stats(lrpc_server *srv);

#ifdef __cplusplus
}
#endif
#endif
