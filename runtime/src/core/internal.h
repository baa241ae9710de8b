/* SPDX-License-Identifier: MIT */
/* Private umbrella header of liblazyrpc; nothing here is installed. */
#ifndef LRPC_INTERNAL_H
#define LRPC_INTERNAL_H

#include <stdarg.h>
#include <pthread.h>
#include <stdbool.h>

#include <lazyrpc/lazyrpc.h>

/* A word of shared memory the peer may change at any time: read it exactly
 * once into a local, then validate the local. */
#define LRPC__READ_ONCE(x) (*(const volatile __typeof__(x) *)&(x))

/* thread.c: start a thread with every signal blocked. \return 0, -errno. */
int lrpc__thread_start(pthread_t *t, void *(*fn)(void *), void *arg,
		       bool detached);

/* status.c: statuses. */
void lrpc__status_set(lrpc_status *st, lrpc_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
lrpc_code lrpc__status_fail(lrpc_status *st, lrpc_code code, const char *fmt,
			    ...) __attribute__((format(printf, 3, 4)));
/* The status a server sent: \p code (checked) and its message (\p msg_len
 * bytes, not terminated). \return LRPC_OK with *st untouched, or the code. */
lrpc_code lrpc__status_from_peer(lrpc_status *st, uint32_t code,
				 const char *msg, size_t msg_len);
/* The one errno -> status mapping of a call that failed while \p what
 * (e.g. "waiting for the reply"): -ETIMEDOUT at \p deadline is
 * DEADLINE_EXCEEDED, -ENOMEM RESOURCE_EXHAUSTED, and the rest (the server,
 * or the way to it, is gone) UNAVAILABLE. \return the code. */
lrpc_code lrpc__status_from_errno(lrpc_status *st, int err,
				  lrpc_deadline deadline, const char *what);

/* status.c: a server answers an id it does not know with UNIMPLEMENTED
 * "unknown method id 0x..."; a client that knows the method's name says
 * it instead. */
void lrpc__status_name_method(lrpc_status *st, lrpc_code code,
			      const char *full_name);

/* uri.c: "lrpc://NAME", "unix://PATH", "tcp://HOST:PORT", "grpc://HOST:PORT". */
enum lrpc__scheme {
	LRPC__SCHEME_LRPC = 1, /* path: the control socket in the runtime dir */
	LRPC__SCHEME_UNIX,     /* path: the socket */
	LRPC__SCHEME_TCP,      /* host, port */
	LRPC__SCHEME_GRPC,     /* host, port: gRPC over HTTP/2 (h2c) */
	LRPC__SCHEME_GRPCS,    /* host, port: the same over TLS */
	LRPC__SCHEME_GRPC_UNIX, /* path: gRPC over HTTP/2 on a Unix socket */
	LRPC__SCHEME_COUNT
};

struct lrpc__addr {
	enum lrpc__scheme scheme;
	char path[108]; /* sizeof(sun_path) */
	char host[256];
	char port[8];
};

/* \return 0, -EINVAL, -ENAMETOOLONG, -EPROTONOSUPPORT. */
int lrpc__uri_parse(const char *uri, struct lrpc__addr *addr);

/* buf.c: grow *buf (capacity *cap, doubling from 4 KiB) to hold \p need
 * bytes. \return 0, -ENOMEM (the old buffer is kept). */
int lrpc__buf_reserve(unsigned char **buf, size_t *cap, size_t need);

/* arena.c: memory for one call, released all at once. */
struct lrpc__arena {
	struct lrpc__arena_chunk *chunks;
	ProtobufCAllocator pb; /* allocate from the arena, free is a no-op */
};
void lrpc__arena_init(struct lrpc__arena *a);
void *lrpc__arena_alloc(struct lrpc__arena *a, size_t size);
void lrpc__arena_reset(struct lrpc__arena *a);
/* Reset for an arena used call after call: one that took more than one
 * chunk (at most \p max bytes in all) keeps one chunk that holds as
 * much, so the same calls again neither malloc nor free (and glibc does
 * not trim and fault back) their large pieces each time. */
void lrpc__arena_recycle(struct lrpc__arena *a, size_t max);
void lrpc__arena_destroy(struct lrpc__arena *a);

#endif
