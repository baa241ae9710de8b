// SPDX-License-Identifier: MIT
/*
 * The grpc:// channel's pool of idle connections (grpc_client.c's
 * synchronous calls), and the one case in which a call goes again.
 *
 * A server closes a connection that stayed idle (lazyrpc's after
 * idle_timeout_ms, 60 s by default): GOAWAY, then FIN. Both wait unread
 * in the idle socket, so a call sent on it would be refused
 * (REFUSED_STREAM, its stream id being above GOAWAY's last-stream-id).
 * Borrowing therefore reads what an idle socket holds first, and drops a
 * connection that got GOAWAY or was closed: no byte of a call is ever
 * written to it. When the GOAWAY comes after the check, between the
 * borrow and the reply, the call is refused, provably unprocessed, and
 * goes again once on a new connection (gRPC's transparent retry).
 *
 * Threads: borrow and give back from any thread (the pool is under the
 * channel's lock); a borrowed connection is the borrower's alone.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "transport/grpc_client.h"

/* Is idle \p k still fit for a call? What the server sent it meanwhile
 * (GOAWAY, PING, SETTINGS) is fed to its session; the answers nghttp2
 * queues go out with the next call. */
static bool idle_usable(struct gcconn *k)
{
	struct pollfd p = { .fd = k->fd, .events = POLLIN | POLLRDHUP };

	while (poll(&p, 1, 0) == 1) {
		ssize_t n;

		if (p.revents & (POLLERR | POLLHUP | POLLNVAL))
			return false;
		if (!k->rbuf && !(k->rbuf = malloc(GCONN_RBUF)))
			return false;
		n = recv(k->fd, k->rbuf, GCONN_RBUF, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0 || lrpc__gconn_input(k->tls, k->ng, k->rbuf, (size_t)n) < 0)
			return false; /* closed, reset, or bad HTTP/2 */
	}
	return nghttp2_session_want_read(k->ng) &&
	       nghttp2_session_check_request_allowed(k->ng);
}

struct gcconn *lrpc__gchan_borrow(struct gchan *g)
{
	struct gcconn *k;

	for (;;) {
		pthread_mutex_lock(&g->lock);
		k = g->idle;
		if (k)
			g->idle = k->next;
		pthread_mutex_unlock(&g->lock);
		if (!k || idle_usable(k))
			return k;
		lrpc__gconn_free(k);
	}
}

void lrpc__gchan_give_back(struct gchan *g, struct gcconn *k)
{
	/* A GOAWAY or a failed call: not again. */
	if (k->broken || !nghttp2_session_want_read(k->ng) ||
	    !nghttp2_session_check_request_allowed(k->ng)) {
		lrpc__gconn_free(k);
		return;
	}
	pthread_mutex_lock(&g->lock);
	k->next = g->idle;
	g->idle = k;
	pthread_mutex_unlock(&g->lock);
}

bool lrpc__gcall_refused(const struct gcall *c)
{
	/* nghttp2 closes the streams a GOAWAY's last-stream-id excludes
	 * with REFUSED_STREAM, as a server's RST_STREAM refusal does; either
	 * way nothing of the response came. */
	return c->closed && c->rst == NGHTTP2_REFUSED_STREAM && !c->http &&
	       c->grpc_status < 0 && !c->hdr_in.n && !c->trl_in.n &&
	       !lrpc__grpc_msgq_len(&c->in);
}

void lrpc__gcall_rewind(struct gcall *c, size_t max_msg)
{
	lrpc__grpc_msgq_free(&c->in);
	lrpc__grpc_msgq_init(&c->in, max_msg);
	lrpc__gcall_md_free(c);
	c->sent = 0;
	c->sid = 0;
	c->http = 0;
	c->grpc_status = -1;
	c->message[0] = '\0';
	c->closed = c->bad = false;
	c->rst = 0;
}

int lrpc__gconn_on_frame(nghttp2_session *ng, const nghttp2_frame *f, void *user)
{
	struct gcconn *k = user;

	(void)ng;
	if (f->hd.type == NGHTTP2_GOAWAY && f->goaway.opaque_data_len)
		snprintf(k->goaway, sizeof(k->goaway), "%.*s",
			 (int)(f->goaway.opaque_data_len < sizeof(k->goaway) ?
			       f->goaway.opaque_data_len : sizeof(k->goaway) - 1),
			 (const char *)f->goaway.opaque_data);
	return 0;
}
