/* SPDX-License-Identifier: MIT */
/* Private umbrella header of liblazyrpc; nothing here is installed. */
#ifndef LRPC_INTERNAL_H
#define LRPC_INTERNAL_H

#include <stdarg.h>
#include <pthread.h>
#include <stdbool.h>

#include <lazyrpc/lazyrpc.h>

#include "callctx.h"

/* A word of shared memory the peer may change at any time: read it exactly
 * once into a local, then validate the local. */
#define LRPC__READ_ONCE(x) (*(const volatile __typeof__(x) *)&(x))

/* server.c: start a thread with every signal blocked. \return 0, -errno. */
int lrpc__thread_start(pthread_t *t, void *(*fn)(void *), void *arg,
		       bool detached);

/* status.c */
void lrpc__status_set(lrpc_status *st, lrpc_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
lrpc_code lrpc__status_fail(lrpc_status *st, lrpc_code code, const char *fmt,
			    ...) __attribute__((format(printf, 3, 4)));

/* uri.c: "lrpc://NAME" -> control socket path. */
enum lrpc__scheme { LRPC__SCHEME_LRPC = 1 };
int lrpc__uri_parse(const char *uri, enum lrpc__scheme *scheme,
		    char *path, size_t path_len);

/* arena.c: memory for one call, released all at once. */
struct lrpc__arena {
	struct lrpc__arena_chunk *chunks;
	ProtobufCAllocator pb; /* allocate from the arena, free is a no-op */
};
void lrpc__arena_init(struct lrpc__arena *a);
void *lrpc__arena_alloc(struct lrpc__arena *a, size_t size);
void lrpc__arena_reset(struct lrpc__arena *a);
void lrpc__arena_destroy(struct lrpc__arena *a);

#endif
