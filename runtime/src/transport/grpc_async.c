// SPDX-License-Identifier: MIT
/*
 * Asynchronous calls over grpc://: HTTP/2 multiplexes, so these calls
 * share a few connections of their own (at most MAX_CONNS), each carrying
 * up to the peer's MAX_CONCURRENT_STREAMS (and at most MAX_STREAMS) calls
 * at once, all driven by one watcher thread per channel: nghttp2 sessions
 * are not thread-safe, so the watcher alone touches them. A start queues
 * the call and wakes the watcher (one thread hop per call, unlike lrpc://
 * and sockets, whose starts write the call themselves); the watcher opens
 * connections, submits, writes, reads and finishes calls as their streams
 * close. Calls beyond every connection's room wait in the channel's queue
 * (async_queue_max).
 *
 * A cancel or deadline (cq.c, then abandon) resets the call's stream with
 * CANCEL, as gRPC clients do; the server's handler sees it. Call options
 * (client/async_md.h) go as the synchronous call's do: the metadata as
 * headers, the response's into the call's private lists.
 *
 * The synchronous calls keep their pool of connections (grpc_client.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client/async_md.h"
#include "client/pending.h"
#include "transport/async_loop.h"
#include "transport/grpc_client.h"

#define MAX_CONNS 4
#define RETRY_MS 20 /* wait_for_ready: how often to try connecting again */
/* Streams per connection at most: below any peer's MAX_CONCURRENT_STREAMS
 * that lazyrpc servers send by default (max_pipelined, 64), so that calls
 * sent before the peer's SETTINGS arrive are rarely refused. */
#define MAX_STREAMS 64

struct gacall {
	struct gcall c; /* first: the stream's user data, as for sync calls */
	struct lrpc_async *p;
	struct gacall *next;
	bool cancel; /* abandoned: reset the stream */
	bool reset;  /* the reset is submitted */
};

struct gaconn {
	struct gcconn *k;
	struct gacall *calls;
	unsigned int n;
	unsigned char *pend; /* what nghttp2 gave that the socket did not take */
	size_t pend_off, pend_len, pend_cap;
	bool out_armed;
	struct gaconn *next;
};

struct lrpc__grpc_async {
	struct gchan *g;
	unsigned int queue_max;
	bool wait_ready; /* the channel's wait_for_ready */
	struct lrpc__aloop loop; /* its lock guards the rest */
	struct gaconn *conns;
	unsigned int nconns;
	struct lrpc__aqueue q;
};

static void gacall_free(struct gacall *gc)
{
	lrpc__gcall_md_free(&gc->c);
	lrpc__grpc_msgq_free(&gc->c.in);
	free(gc->c.mem);
	free(gc);
}

/* Take \p gc off \p ak; \return it. */
static struct gacall *unlink_call(struct gaconn *ak, struct gacall *gc)
{
	struct gacall **pp = &ak->calls;

	while (*pp != gc)
		pp = &(*pp)->next;
	*pp = gc->next;
	ak->n--;
	gc->p->tctx = NULL;
	return gc;
}

/* \p gc's stream closed: finish its call. */
static void finish(struct lrpc__grpc_async *ga, struct gaconn *ak,
		   struct gacall *gc)
{
	struct lrpc_async *p = gc->p;
	const unsigned char *rep = NULL;
	size_t len = 0;
	lrpc_status st;
	lrpc_code code;

	unlink_call(ak, gc);
	/* Refused before the server looked at it (more streams than its
	 * SETTINGS allow, sent before they came; a GOAWAY below its stream):
	 * safe to send again, once, as a synchronous call is (g_invoke); a
	 * second refusal is the call's end, with the server's reason. */
	if (lrpc__gcall_refused(&gc->c) && !p->resent && !lrpc__pending_finished(p)) {
		p->resent = true;
		lrpc__aqueue_requeue(&ga->q, p);
		gacall_free(gc);
		return;
	}
	code = lrpc__gcall_result(ga->g, &gc->c, p->deadline, &rep, &len, &st);
	lrpc__pending_done(p, code, rep, len, &st);
	gacall_free(gc);
	lrpc__pending_put(p);
}

/* Close \p ak; calls still on it end with \p code (unless ended). */
static void conn_fail(struct lrpc__grpc_async *ga, struct gaconn *ak,
		      lrpc_code code, const char *why)
{
	struct gaconn **pp = &ga->conns;

	while (*pp != ak)
		pp = &(*pp)->next;
	*pp = ak->next;
	ga->nconns--;
	while (ak->calls) {
		struct gacall *gc = unlink_call(ak, ak->calls);

		lrpc__pending_fail(gc->p, code, "%s", why);
		lrpc__pending_put(gc->p);
		gacall_free(gc);
	}
	lrpc__gconn_free(ak->k); /* its fd leaves the epoll set */
	free(ak->pend);
	free(ak);
}

static void arm(struct lrpc__grpc_async *ga, struct gaconn *ak, bool out)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | (out ? EPOLLOUT : 0),
				  .data.ptr = ak };

	if (ak->out_armed != out)
		epoll_ctl(ga->loop.ep, EPOLL_CTL_MOD, ak->k->fd, &ev);
	ak->out_armed = out;
}

/* A request's DATA frame (lrpc__gcall_send_data), as it goes on the wire,
 * after what is pending; past 64 KiB pending, after that has gone. */
static int async_put(struct gcconn *k, const uint8_t *hd, const uint8_t *p, size_t n)
{
	struct gaconn *ak = k->put_ctx;

	if (ak->pend_len >= 65536)
		return 1;
	if (lrpc__gconn_seal(k->tls, hd, 9, &ak->pend, &ak->pend_cap, &ak->pend_len) < 0 ||
	    lrpc__gconn_seal(k->tls, p, n, &ak->pend, &ak->pend_cap, &ak->pend_len) < 0)
		return -ENOMEM;
	return 0;
}

/* Write what nghttp2 has to send. \return false if the connection failed. */
static bool pump_out(struct lrpc__grpc_async *ga, struct gaconn *ak)
{
	for (;;) {
		const uint8_t *d;
		ssize_t n;

		while (ak->pend_off < ak->pend_len) {
			n = send(ak->k->fd, ak->pend + ak->pend_off,
				 ak->pend_len - ak->pend_off, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0)
				ak->pend_off += (size_t)n;
			else if (n < 0 && errno == EINTR)
				continue;
			else if (n < 0 && errno == EAGAIN) {
				arm(ga, ak, true);
				return true;
			} else {
				return false;
			}
		}
		ak->pend_off = ak->pend_len = 0;
		n = nghttp2_session_mem_send(ak->k->ng, &d);
		if (n < 0)
			return false;
		/* as it goes on the wire: sealed on grpcs:// */
		if (n > 0 && lrpc__gconn_seal(ak->k->tls, d, (size_t)n, &ak->pend,
					      &ak->pend_cap, &ak->pend_len) < 0)
			return false;
		/* 0 with DATA pending: async_put took frames, or wants room. */
		if (n == 0 && !ak->pend_len)
			break;
	}
	arm(ga, ak, false);
	return true;
}

/* Read what came and finish the calls whose streams closed. \return false
 * if the connection failed (it is closed then). */
static bool conn_read(struct lrpc__grpc_async *ga, struct gaconn *ak)
{
	unsigned char buf[16384];
	const char *why = NULL;

	for (;;) {
		ssize_t n = recv(ak->k->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			why = "server closed the connection";
			break;
		}
		if (lrpc__gconn_input(ak->k->tls, ak->k->ng, buf, (size_t)n) < 0) {
			why = "bad HTTP/2 from the server";
			break;
		}
	}
	for (struct gacall *gc = ak->calls, *next; gc; gc = next) {
		next = gc->next;
		if (gc->c.closed)
			finish(ga, ak, gc);
	}
	if (!why && !nghttp2_session_want_read(ak->k->ng) && !ak->n)
		why = "connection ended (GOAWAY)";
	if (why) {
		conn_fail(ga, ak, LRPC_UNAVAILABLE, why);
		return false;
	}
	return true;
}

static struct gaconn *with_room(struct lrpc__grpc_async *ga)
{
	for (struct gaconn *ak = ga->conns; ak; ak = ak->next) {
		uint32_t max = nghttp2_session_get_remote_settings(
			ak->k->ng, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);

		if (!ak->k->broken && nghttp2_session_check_request_allowed(ak->k->ng) &&
		    ak->n < (max < MAX_STREAMS ? max : MAX_STREAMS))
			return ak;
	}
	return NULL;
}

/* Lock held, released meanwhile: a new connection, for \p p. \return it,
 * or NULL with \p p ended. */
static struct gaconn *conn_open(struct lrpc__grpc_async *ga, struct lrpc_async *p,
				bool *retry)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
	struct gaconn *ak = calloc(1, sizeof(*ak));
	lrpc_status st;
	int ret = -ENOMEM;

	if (ak) {
		pthread_mutex_unlock(&ga->loop.lock);
		ret = lrpc__gconn_open(ga->g, p->deadline, &ak->k);
		pthread_mutex_lock(&ga->loop.lock);
	}
	if (ak && !ret) {
		ev.data.ptr = ak;
		ak->k->put_data = async_put;
		ak->k->put_ctx = ak;
		if (fcntl(ak->k->fd, F_SETFL, O_NONBLOCK) == 0 &&
		    epoll_ctl(ga->loop.ep, EPOLL_CTL_ADD, ak->k->fd, &ev) == 0) {
			ak->next = ga->conns;
			ga->conns = ak;
			ga->nconns++;
			return ak;
		}
		ret = -errno;
		lrpc__gconn_free(ak->k);
	}
	free(ak);
	lrpc__status_from_errno(&st, ret, p->deadline, "connecting");
	/* wait_for_ready: leave it queued, try again soon. */
	*retry = ga->wait_ready && st.code == LRPC_UNAVAILABLE;
	if (!*retry)
		lrpc__pending_done(p, st.code, NULL, 0, &st);
	return NULL;
}

/* Put \p p on \p ak as a new stream. */
static void submit(struct lrpc__grpc_async *ga, struct gaconn *ak,
		   struct lrpc_async *p)
{
	struct gacall *gc = calloc(1, sizeof(*gc));

	if (gc)
		gc->c.mem = malloc(LRPC__GRPC_PREFIX + p->req_len);
	if (!gc || !gc->c.mem) {
		free(gc);
		lrpc__pending_fail(p, LRPC_RESOURCE_EXHAUSTED, "out of memory");
		lrpc__pending_put(p);
		return;
	}
	if (p->req_len)
		memcpy(gc->c.mem + LRPC__GRPC_PREFIX, p->req, p->req_len);
	lrpc__grpc_msgq_init(&gc->c.in, ga->g->max_msg);
	gc->p = p;
	/* Call options (async_md.h): the call's copy of the request metadata
	 * goes as headers; the response's fill its private lists when the
	 * stream closes (lrpc__gcall_result), handed over by
	 * lrpc__pending_done(). */
	if (p->md)
		lrpc__gcall_md_use(&gc->c, &p->md->opts);
	if (lrpc__gcall_submit(ga->g, ak->k, &gc->c, p->full_name, p->req_len,
			       p->deadline) < 0) {
		lrpc__pending_fail(p, LRPC_UNAVAILABLE, "%s", nghttp2_strerror(gc->c.sid));
		lrpc__pending_put(p);
		gacall_free(gc);
		return;
	}
	gc->next = ak->calls;
	ak->calls = gc;
	ak->n++;
	p->tctx = gc;
}

/* Submit what waits while connections have room or may be opened.
 * \return true if the head waits for a server to connect to again. */
static bool dispatch(struct lrpc__grpc_async *ga)
{
	bool retry = false;

	while (ga->q.head && !ga->loop.stop) {
		struct lrpc_async *p = ga->q.head;
		struct gaconn *ak = NULL;

		if (p->tctx == &ga->q && p->deadline > lrpc_now()) {
			ak = with_room(ga);
			if (!ak && ga->nconns >= MAX_CONNS)
				return false;
			if (!ak)
				ak = conn_open(ga, p, &retry); /* NULL: p ended */
			if (retry)
				return true;
		}
		/* Only the watcher pops: p is still the head. */
		if (ak && p->tctx == &ga->q) {
			lrpc__aqueue_pop(&ga->q);
			submit(ga, ak, p);
		} else {
			/* Ended, or its deadline came: the cq says so. */
			lrpc__pending_put(lrpc__aqueue_pop(&ga->q));
		}
	}
	return false;
}

/* Reset the streams of abandoned calls, and write for every connection. */
static void pump_all(struct lrpc__grpc_async *ga)
{
	for (struct gaconn *ak = ga->conns, *next; ak; ak = next) {
		next = ak->next;
		for (struct gacall *gc = ak->calls; gc; gc = gc->next)
			if (gc->cancel && !gc->reset) {
				nghttp2_submit_rst_stream(ak->k->ng, NGHTTP2_FLAG_NONE,
							  gc->c.sid, NGHTTP2_CANCEL);
				gc->reset = true;
			}
		if (!pump_out(ga, ak)) {
			conn_fail(ga, ak, LRPC_UNAVAILABLE, "connection lost");
			continue;
		}
		/* Sending may close streams too (a reset). */
		for (struct gacall *gc = ak->calls, *gnext; gc; gc = gnext) {
			gnext = gc->next;
			if (gc->c.closed)
				finish(ga, ak, gc);
		}
	}
}

static void *watch(void *arg)
{
	struct lrpc__grpc_async *ga = arg;
	struct epoll_event ev[64];

	pthread_mutex_lock(&ga->loop.lock);
	while (!ga->loop.stop) {
		bool retry;
		int n;

		retry = dispatch(ga);
		pump_all(ga);
		n = lrpc__aloop_wait(&ga->loop, ev, 64, retry ? RETRY_MS : -1);
		for (int i = 0; i < n; i++) {
			struct gaconn *ak = ev[i].data.ptr;

			/* Reading first: it may close the connection. */
			if ((ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) &&
			    !conn_read(ga, ak))
				continue;
			if ((ev[i].events & EPOLLOUT) && !pump_out(ga, ak))
				conn_fail(ga, ak, LRPC_UNAVAILABLE, "connection lost");
		}
	}
	while (ga->conns)
		conn_fail(ga, ga->conns, LRPC_CANCELLED, "channel closed");
	lrpc__aqueue_cancel_all(&ga->q);
	pthread_mutex_unlock(&ga->loop.lock);
	return NULL;
}

static struct lrpc__grpc_async *ga_get(lrpc_channel *c)
{
	struct gchan *g = c->impl;
	struct lrpc__grpc_async *ga = atomic_load(&g->async), *none = NULL;

	if (ga)
		return ga;
	ga = calloc(1, sizeof(*ga));
	if (!ga)
		return NULL;
	ga->g = g;
	ga->queue_max = lrpc__async_queue_max(c);
	ga->wait_ready = c->opts.wait_for_ready;
	if (lrpc__aloop_start(&ga->loop, watch, ga) < 0) {
		free(ga);
		return NULL;
	}
	if (atomic_compare_exchange_strong(&g->async, &none, ga))
		return ga;
	lrpc__aloop_stop(&ga->loop); /* another thread made one first */
	free(ga);
	return none;
}

void lrpc__grpc_async_start(lrpc_channel *c, struct lrpc_async *p)
{
	struct lrpc__grpc_async *ga;

	if (!p->full_name) {
		lrpc__pending_fail(p, LRPC_INVALID_ARGUMENT,
				   "grpc:// calls methods by name, not by id");
		lrpc__pending_put(p);
		return;
	}
	ga = ga_get(c);
	if (!ga) {
		lrpc__async_pool_start(c, p);
		return;
	}
	pthread_mutex_lock(&ga->loop.lock);
	if (lrpc__aqueue_push(&ga->q, p, ga->queue_max))
		lrpc__aloop_kick(&ga->loop);
	pthread_mutex_unlock(&ga->loop.lock);
}

void lrpc__grpc_async_abandon(lrpc_channel *c, struct lrpc_async *p)
{
	struct gchan *g = c->impl;
	struct lrpc__grpc_async *ga = atomic_load(&g->async);

	if (!ga)
		return;
	pthread_mutex_lock(&ga->loop.lock);
	if (!lrpc__aqueue_abandon(&ga->q, p) && p->tctx) {
		((struct gacall *)p->tctx)->cancel = true;
		lrpc__aloop_kick(&ga->loop);
	}
	pthread_mutex_unlock(&ga->loop.lock);
}

void lrpc__grpc_async_close(lrpc_channel *c)
{
	struct gchan *g = c->impl;
	struct lrpc__grpc_async *ga = atomic_load(&g->async);

	if (!ga)
		return;
	lrpc__aloop_stop(&ga->loop);
	free(ga);
	atomic_store(&g->async, NULL);
}
