// SPDX-License-Identifier: MIT
/*
 * grpcs://: the grpc:// server's connections with TLS between the socket
 * and nghttp2 (tls.c). Until the handshake is done (and "h2" agreed by
 * ALPN) the session's output stays in nghttp2, so that nothing is
 * written before the peer is known. Loop thread only. (The client's
 * side is grpc_client_tls.c; lrpc__grpcs_dial only leads there.)
 */
#include <errno.h>
#include <string.h>

#include "transport/grpc_server.h"
#include "transport/transport.h"

int lrpc__gconn_tls_recv(struct gconn *c, const uint8_t *p, size_t n)
{
	static __thread uint8_t plain[16384]; /* one TLS record */
	ssize_t got;

	if (lrpc__tls_feed(c->tls, p, n) < 0)
		return -ENOMEM;
	while ((got = lrpc__tls_read(c->tls, plain, sizeof(plain))) > 0) {
		if (lrpc__gconn_recv(c, plain, (size_t)got) < 0)
			return -EPROTO;
		if (c->closing)
			return 0;
	}
	if (got < 0) {
		/* A failed handshake or a bad record: nothing of HTTP/2 can
		 * follow. The alert TLS queued goes if the write is quick. */
		atomic_fetch_add(&c->host->stats.protocol_errors, 1);
		return (int)got;
	}
	return 0;
}

static int tls_put(struct gconn *c, const uint8_t *p, size_t n)
{
	return lrpc__tls_write(c->tls, p, n);
}

int lrpc__gconn_tls_fill(struct gconn *c, size_t batch)
{
	size_t n;
	int ret;

	if (lrpc__tls_ready(c->tls)) {
		ret = lrpc__gconn_pull(c, batch, tls_put);
		if (ret < 0)
			return ret;
	}
	n = lrpc__tls_pending(c->tls);
	if (!n)
		return 0;
	if (lrpc__buf_reserve(&c->wbuf, &c->wcap, c->wlen + n) < 0)
		return -ENOMEM;
	c->wlen += lrpc__tls_take(c->tls, c->wbuf + c->wlen, n);
	return 0;
}

int lrpc__grpcs_dial(lrpc_channel *ch, const struct lrpc__addr *addr)
{
	/* grpc_client.c, with TLS from grpc_client_tls.c */
	return lrpc__grpc_dial(ch, addr);
}
