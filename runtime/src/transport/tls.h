/* SPDX-License-Identifier: MIT */
/*
 * TLS for grpcs:// (tls.c), through OpenSSL, the TLS library Debian keeps
 * (libssl3): a context per server or channel, and a session per
 * connection that works on memory buffers, so that the transport keeps
 * its own sockets and event loop. ALPN offers and requires "h2", as gRPC
 * does. A session belongs to one thread at a time; a context may be
 * shared by the sessions of any threads once made.
 */
#ifndef LRPC_TRANSPORT_TLS_H
#define LRPC_TRANSPORT_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <lazyrpc/server.h>

struct lrpc__tls_ctx;
struct lrpc__tls;

/* A server's context from \p o (cert_file and key_file required;
 * ca_file: clients must present a certificate it verifies).
 * \return 0, -EINVAL (\p why says which file and why), -ENOMEM. */
int lrpc__tls_ctx_server(const lrpc_tls_opts *o, struct lrpc__tls_ctx **out,
			 char *why, size_t why_len);
/* A client's context: ca_file (NULL: the system's CAs) verifies the
 * server; cert_file and key_file, if set, are the client's certificate. */
int lrpc__tls_ctx_client(const lrpc_tls_opts *o, struct lrpc__tls_ctx **out,
			 char *why, size_t why_len);
void lrpc__tls_ctx_free(struct lrpc__tls_ctx *ctx);

/* A session of \p ctx; a client's checks the server's name \p host (and
 * sends it as SNI). \return NULL when out of memory. */
struct lrpc__tls *lrpc__tls_new(struct lrpc__tls_ctx *ctx, bool server,
				const char *host);
void lrpc__tls_free(struct lrpc__tls *t);

/* Bytes from the peer. \return 0, -ENOMEM. */
int lrpc__tls_feed(struct lrpc__tls *t, const void *buf, size_t len);
/* Plaintext the peer sent, after handshaking as needed. \return bytes
 * (> 0), 0 (nothing yet: feed more), -ECONNRESET (the peer closed the
 * session), -EPROTO (a TLS error; lrpc__tls_error() says which). */
ssize_t lrpc__tls_read(struct lrpc__tls *t, void *buf, size_t cap);
/* Plaintext to send; taken whole. \return 0, -EPROTO, -ENOMEM. */
int lrpc__tls_write(struct lrpc__tls *t, const void *buf, size_t len);
/* Bytes for the peer waiting to go (handshake, records, alerts): up to
 * \p cap into \p buf. \return how many. */
size_t lrpc__tls_take(struct lrpc__tls *t, void *buf, size_t cap);
size_t lrpc__tls_pending(const struct lrpc__tls *t);
/* Is the handshake done (and "h2" agreed)? */
bool lrpc__tls_ready(const struct lrpc__tls *t);
/* Why the last -EPROTO, in words. */
const char *lrpc__tls_error(const struct lrpc__tls *t);

#endif
