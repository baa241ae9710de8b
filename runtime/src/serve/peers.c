// SPDX-License-Identifier: MIT
/* One peer list for every transport, and the server's stop through it. */
#include "serve/host.h"

void lrpc__peer_add(struct lrpc__host *h, struct lrpc__peer *p,
		    const struct lrpc__peer_ops *ops)
{
	p->ops = ops;
	p->host = h;
	p->prev = NULL;
	p->next = h->peers;
	if (h->peers)
		h->peers->prev = p;
	h->peers = p;
	p->listed = true;
}

void lrpc__peer_remove(struct lrpc__peer *p)
{
	if (!p->listed)
		return;
	if (p->prev)
		p->prev->next = p->next;
	else
		p->host->peers = p->next;
	if (p->next)
		p->next->prev = p->prev;
	p->listed = false;
}

void lrpc__host_drain(struct lrpc__host *h)
{
	struct lrpc__peer *p = h->peers, *next;

	/* A drain may close its peer at once. */
	for (; p; p = next) {
		next = p->next;
		p->draining = true;
		p->ops->drain(p);
	}
}

void lrpc__host_reap(struct lrpc__host *h)
{
	struct lrpc__peer *p = h->peers, *next;

	if (!atomic_load(&h->stop_requested))
		return;
	for (; p; p = next) {
		next = p->next;
		if (p->draining)
			p->ops->close(p);
	}
	if (!h->peers && !uv_is_closing((uv_handle_t *)&h->reap_async))
		uv_close((uv_handle_t *)&h->reap_async, NULL);
}
