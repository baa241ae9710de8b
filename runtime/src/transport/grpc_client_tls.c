// SPDX-License-Identifier: MIT
/*
 * grpcs:// for the grpc:// client: TLS (tls.c, on memory buffers)
 * between a connection's socket and its nghttp2 session, for the
 * synchronous calls (grpc_client.c), the asynchronous ones (grpc_async.c)
 * and streams (grpc_stream_client.c). The handshake is made at once after
 * connecting, on the connecting thread, so that every path afterwards
 * only seals what nghttp2 sends and opens what the socket brings. On
 * grpc:// channels (no TLS session) the bytes pass as they are.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/grpc_client.h"
#include "transport/sock.h"
#include "transport/tls.h"

int lrpc__gchan_tls_init(struct gchan *g, lrpc_channel *ch,
			 const struct lrpc__addr *addr)
{
	const lrpc_tls_opts *o = ch->opts.tls;
	char why[200] = "";
	int ret;

	snprintf(g->server_name, sizeof(g->server_name), "%s",
		 o && o->server_name ? o->server_name : addr->host);
	ret = lrpc__tls_ctx_client(o, &g->tls, why, sizeof(why));
	if (ret < 0 && ch->opts.open_status)
		lrpc__status_set(ch->opts.open_status, LRPC_INVALID_ARGUMENT, "%s",
				 why[0] ? why : "no TLS context for the channel");
	return ret;
}

static void tls_failed(struct gchan *g, const char *why)
{
	pthread_mutex_lock(&g->lock);
	snprintf(g->tls_why, sizeof(g->tls_why), "TLS handshake with %.80s failed: %.90s",
		 g->server_name, why);
	pthread_mutex_unlock(&g->lock);
}

/* Send what TLS has for the peer. */
static int tls_flush(struct lrpc__tls *t, int fd, lrpc_deadline deadline)
{
	unsigned char buf[16384];
	size_t n;
	int ret;

	while ((n = lrpc__tls_take(t, buf, sizeof(buf))) > 0)
		if ((ret = lrpc__sock_write_all(fd, buf, n, deadline)) < 0)
			return ret;
	return 0;
}

int lrpc__gconn_input(struct lrpc__tls *t, nghttp2_session *ng,
		      const uint8_t *p, size_t n)
{
	static __thread uint8_t plain[16384]; /* one TLS record */
	ssize_t got;

	if (!t)
		return nghttp2_session_mem_recv(ng, p, n) < 0 ? -EPROTO : 0;
	if (lrpc__tls_feed(t, p, n) < 0)
		return -ENOMEM;
	while ((got = lrpc__tls_read(t, plain, sizeof(plain))) > 0)
		if (nghttp2_session_mem_recv(ng, plain, (size_t)got) < 0)
			return -EPROTO;
	/* A TLS alert (say, the server refused our certificate only after
	 * the handshake, as TLS 1.3 lets it) ends the connection. */
	return got < 0 ? -ECONNABORTED : 0;
}

int lrpc__gconn_tls_start(struct gchan *g, int fd, nghttp2_session *ng,
			  lrpc_deadline deadline, struct lrpc__tls **out)
{
	struct lrpc__tls *t;
	unsigned char buf[16384];
	int ret;

	*out = NULL;
	if (!g->tls)
		return 0;
	t = lrpc__tls_new(g->tls, false, g->server_name);
	if (!t)
		return -ENOMEM;
	for (;;) {
		ssize_t n = lrpc__tls_read(t, buf, sizeof(buf));

		if (n > 0 && nghttp2_session_mem_recv(ng, buf, (size_t)n) < 0) {
			tls_failed(g, "bad HTTP/2 from the server");
			ret = -EPROTO;
			break;
		}
		if (n > 0)
			continue;
		/* The alert that says why goes to the server too. */
		ret = tls_flush(t, fd, deadline);
		if (n < 0) {
			tls_failed(g, lrpc__tls_error(t));
			ret = -EPROTO;
			break;
		}
		if (ret < 0 || lrpc__tls_ready(t))
			break;
		n = lrpc__sock_read(fd, buf, 1, sizeof(buf), deadline);
		if (n < 0) {
			ret = (int)n;
			if (ret == -ECONNRESET)
				tls_failed(g, "the server closed the connection");
			break;
		}
		if (lrpc__tls_feed(t, buf, (size_t)n) < 0) {
			ret = -ENOMEM;
			break;
		}
	}
	if (ret < 0) {
		lrpc__tls_free(t);
		return ret;
	}
	*out = t;
	return 0;
}

int lrpc__gconn_seal(struct lrpc__tls *t, const uint8_t *p, size_t n,
		     unsigned char **buf, size_t *cap, size_t *len)
{
	size_t more;

	if (t && lrpc__tls_write(t, p, n) < 0)
		return -EPROTO;
	more = t ? lrpc__tls_pending(t) : n;
	if (lrpc__buf_reserve(buf, cap, *len + more) < 0)
		return -ENOMEM;
	if (t)
		*len += lrpc__tls_take(t, *buf + *len, more);
	else
		memcpy(*buf + *len, p, n), *len += n;
	return 0;
}

int lrpc__gconn_read(struct gcconn *k, lrpc_deadline deadline)
{
	ssize_t n;
	int ret;

	/* GCONN_RBUF a read: a 64 KiB reply in one wake-up rather than
	 * several; on the heap, since callers' stacks may be small. */
	if (!k->rbuf && !(k->rbuf = malloc(GCONN_RBUF)))
		return -ENOMEM;
	n = lrpc__sock_read(k->fd, k->rbuf, 1, GCONN_RBUF, deadline);
	if (n < 0)
		return (int)n;
	ret = lrpc__gconn_input(k->tls, k->ng, k->rbuf, (size_t)n);
	/* What TLS answers by itself (alerts, key updates) goes now. */
	if (!ret && k->tls)
		ret = tls_flush(k->tls, k->fd, deadline);
	return ret;
}
