/* SPDX-License-Identifier: MIT */
/*
 * A grpc.reflection.v1 client that fills a pbjson pool: the descriptors of
 * a server's services asked of the server itself over one
 * ServerReflectionInfo stream. Shared by the gateway (gw_backend.c) and
 * the lazyrpc tool (describe, call).
 *
 * Threading: one stream, used by one thread at a time; the pool it fills
 * is the caller's and follows pbjson.h's rules. Errors come back as a
 * status (code and message), never printed.
 */
#ifndef LRPC_PBJSON_REFL_H
#define LRPC_PBJSON_REFL_H

#include <lazyrpc/lazyrpc.h>

#include "pbjson.h"

typedef struct pbjson_refl pbjson_refl;

/* Opens a reflection stream on \p ch (the caller keeps it, and keeps it
 * open until pbjson_refl_close()) that lasts until \p deadline. On
 * LRPC_OK *out is the caller's to close; otherwise it is NULL and \p st
 * says why (UNIMPLEMENTED: the server serves no reflection, possibly
 * only seen at the first question). */
lrpc_code pbjson_refl_open(lrpc_channel *ch, lrpc_deadline deadline, pbjson_refl **out,
			   lrpc_status *st);

/* Asks for the file defining \p symbol ("pkg.Svc", "pkg.Msg", ...) and
 * what it imports, and adds them to \p pool (files already there are
 * skipped). \return LRPC_OK; NOT_FOUND (the server does not know the
 * symbol; \p st has the server's words); INTERNAL (a reply or a file
 * that does not decode); or the stream's end (UNIMPLEMENTED,
 * DEADLINE_EXCEEDED, ...).
 * After anything but LRPC_OK and NOT_FOUND the stream is over. */
lrpc_code pbjson_refl_symbol(pbjson_refl *r, pbjson_pool *pool, const char *symbol,
			     lrpc_status *st);

/* Asks for the services the server lists: on LRPC_OK *names is a
 * malloc()ed array of *n malloc()ed full names ("pkg.Svc") that the
 * caller frees with pbjson_refl_names_free(). Errors as above. */
lrpc_code pbjson_refl_services(pbjson_refl *r, char ***names, size_t *n, lrpc_status *st);
void pbjson_refl_names_free(char **names, size_t n);

/* Half-closes and frees the stream. NULL is allowed. */
void pbjson_refl_close(pbjson_refl *r);

/* One reply (\p len bytes of a ServerReflectionResponse: peer input,
 * every byte checked) taken as the answers above take it: its files
 * added to \p pool, or (pool NULL) the services it lists into *names as
 * pbjson_refl_services() does (names NULL: none expected). For them and
 * the fuzz harness (tests/fuzz/fuzz_pbjson_refl.c). \return as above. */
lrpc_code pbjson_refl__reply(pbjson_pool *pool, const uint8_t *buf, size_t len, char ***names,
			     size_t *n, lrpc_status *st);

#endif
