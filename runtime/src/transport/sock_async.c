// SPDX-License-Identifier: MIT
/*
 * Asynchronous calls over unix:// and tcp://: pipelined on a few
 * connections of their own (at most MAX_CONNS, each with at most PIPE
 * calls in flight, the server's default max_pipelined), matched to their
 * replies by call id. A call is written from the starting thread when a
 * connection has room (no thread hop); one watcher thread per channel
 * reads every connection with epoll, finishes the calls their replies
 * answer, writes what a full socket left over, opens connections, and
 * sends the calls that waited in the channel's queue (async_queue_max)
 * for room.
 *
 * A call with options (client/async_md.h) goes as a synchronous one does
 * (wire/frame.h): its metadata block after the payload and
 * LRPC__FRAME_CALL_MD; its reply's headers and trailers go into the
 * call's private lists, which lrpc__pending_done() hands over.
 *
 * The synchronous calls keep their own pool (sock_client.c): a connection
 * per call, no matching; these connections never carry them.
 *
 * Cancel and deadline (cq.c, then abandon here): a CANCEL frame with the
 * call's id goes after whatever is queued (wire/frame.h), and the call
 * keeps its slot until the one frame its request gets comes back (a bare
 * CANCELLED header from a server since 0.6.0, the whole reply from an
 * older one), which is dropped. The connection and its other calls go on.
 *
 * Lock order: the channel's async lock, then a cq's lock.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "client/async_md.h"
#include "client/pending.h"
#include "transport/async_loop.h"
#include "transport/sock.h"
#include "transport/sock_md.h"
#include "transport/sock_pool.h"
#include "wire/frame.h"

#define MAX_CONNS 8
#define PIPE 64
#define RETRY_MS 20 /* wait_for_ready: how often to try connecting again */

struct aconn {
	int fd;
	bool broken;   /* failed: the watcher closes it */
	unsigned int n; /* calls in flight, abandoned ones included */
	uint64_t next_id;
	struct lrpc_async *calls[PIPE];
	uint64_t ids[PIPE];
	bool gone[PIPE]; /* abandoned */
	unsigned char *out; /* what the socket did not take yet */
	size_t out_len, out_off, out_cap;
	bool out_armed;
	unsigned char *in; /* received, not yet a whole frame */
	size_t in_len, in_cap;
	struct aconn *next;
};

struct lrpc__sock_async {
	struct sock_chan *sc;
	unsigned int queue_max;
	bool wait_ready; /* the channel's wait_for_ready */
	struct lrpc__aloop loop; /* its lock guards the rest */
	struct aconn *conns;
	unsigned int nconns;
	struct lrpc__aqueue q;
};

static void arm(struct lrpc__sock_async *sa, struct aconn *k, bool out)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | (out ? EPOLLOUT : 0),
				  .data.ptr = k };

	if (k->out_armed != out)
		epoll_ctl(sa->loop.ep, EPOLL_CTL_MOD, k->fd, &ev);
	k->out_armed = out;
}

/* Write what is pending; \return false if the connection failed. */
static bool flush(struct lrpc__sock_async *sa, struct aconn *k)
{
	while (k->out_off < k->out_len) {
		ssize_t n = send(k->fd, k->out + k->out_off, k->out_len - k->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			k->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		return false;
	}
	if (k->out_off == k->out_len)
		k->out_off = k->out_len = 0;
	arm(sa, k, k->out_len != 0);
	return true;
}

/* Put \p p on \p k: its frame goes out now, or as soon as the socket
 * takes it. */
static void send_on(struct lrpc__sock_async *sa, struct aconn *k,
		    struct lrpc_async *p)
{
	lrpc_deadline left = p->deadline - lrpc_now();
	struct lrpc__frame f = {
		.body_len = (uint32_t)p->req_len,
		.call_id = ++k->next_id,
		.method_or_code = p->method_id,
		.timeout_ns = left > 0 ? left : 1,
	};
	/* With call options, the request's metadata block after its payload
	 * (wire/frame.h), and the flag that asks for the reply's. */
	const struct lrpc__async_md *m = lrpc__async_md_carried(p->md) ? p->md : NULL;
	size_t md_len = m ? lrpc__md_block_size(m->opts.metadata, m->opts.n_metadata) : 0;
	size_t need = k->out_len + LRPC__FRAME_HDR + p->req_len + md_len;
	unsigned char *at;

	if (lrpc__buf_reserve(&k->out, &k->out_cap, need) < 0) {
		lrpc__pending_fail(p, LRPC_RESOURCE_EXHAUSTED,
				   "out of memory for a %zu-byte request", p->req_len);
		lrpc__pending_put(p);
		return;
	}
	f.call_md = m != NULL;
	f.md_len = (uint32_t)md_len;
	f.body_len += (uint32_t)md_len;
	at = k->out + k->out_len;
	lrpc__frame_put(at, &f);
	if (p->req_len)
		memcpy(at + LRPC__FRAME_HDR, p->req, p->req_len);
	if (md_len)
		lrpc__md_block_write(at + LRPC__FRAME_HDR + p->req_len, m->opts.metadata,
				     m->opts.n_metadata);
	k->out_len = need;
	k->calls[k->n] = p;
	k->ids[k->n] = f.call_id;
	k->gone[k->n] = false;
	k->n++;
	p->tctx = k;
	if (!flush(sa, k)) {
		k->broken = true;
		lrpc__aloop_kick(&sa->loop);
	}
}

/* Tell the server that call \p id of \p k is given up on. Without memory
 * for the frame, the connection goes instead, which tells it too. */
static void send_cancel(struct lrpc__sock_async *sa, struct aconn *k, uint64_t id)
{
	struct lrpc__frame f = { .kind = LRPC__FRAME_CANCEL, .call_id = id };

	if (lrpc__buf_reserve(&k->out, &k->out_cap, k->out_len + LRPC__FRAME_HDR) < 0) {
		k->broken = true;
		lrpc__aloop_kick(&sa->loop);
		return;
	}
	lrpc__frame_put(k->out + k->out_len, &f);
	k->out_len += LRPC__FRAME_HDR;
	if (!flush(sa, k)) {
		k->broken = true;
		lrpc__aloop_kick(&sa->loop);
	}
}

static struct aconn *with_room(struct lrpc__sock_async *sa)
{
	for (struct aconn *k = sa->conns; k; k = k->next)
		if (!k->broken && k->n < PIPE)
			return k;
	return NULL;
}

/* Take slot \p i of \p k off the connection. */
static struct lrpc_async *unslot(struct aconn *k, unsigned int i)
{
	struct lrpc_async *p = k->calls[i];

	k->n--;
	k->calls[i] = k->calls[k->n];
	k->ids[i] = k->ids[k->n];
	k->gone[i] = k->gone[k->n];
	p->tctx = NULL;
	return p;
}

/* Close \p k; calls still on it end with \p code (if nothing ended them). */
static void conn_close(struct lrpc__sock_async *sa, struct aconn *k,
		       lrpc_code code, const char *why)
{
	struct aconn **pp = &sa->conns;

	while (*pp != k)
		pp = &(*pp)->next;
	*pp = k->next;
	sa->nconns--;
	while (k->n) {
		struct lrpc_async *p = unslot(k, k->n - 1);

		lrpc__pending_fail(p, code, "%s", why);
		lrpc__pending_put(p);
	}
	close(k->fd); /* leaves the epoll set with it */
	free(k->out);
	free(k->in);
	free(k);
}

/* The server refused a frame of \p k's unread (\p code, \p why) and hangs
 * up: every call on it ends so. Servers before 0.5.0 refuse a frame with
 * metadata as malformed; say so if one was sent (as sock_client.c does). */
static void conn_refused(struct lrpc__sock_async *sa, struct aconn *k,
			 lrpc_code code, const char *why)
{
	lrpc_status st;
	bool md = false;

	for (unsigned int i = 0; i < k->n; i++)
		md = md || lrpc__async_md_carried(k->calls[i]->md);
	lrpc__status_set(&st, code, "%s%s", why,
			 md && code == LRPC_INVALID_ARGUMENT ?
				 " (servers before 0.5.0 take no call metadata over "
				 "unix:// and tcp://)" : "");
	conn_close(sa, k, code, st.message);
}

/* One reply frame (header \p f, body \p body): finish its call. A call
 * sent with LRPC__FRAME_CALL_MD gets its response headers and trailers
 * into its private lists (async_md.h), handed over by
 * lrpc__pending_done(); the others' replies have none and must fit
 * max_msg. \return false for a frame that answers nothing we sent, or
 * is larger than the call allows. */
static bool reply(struct lrpc__sock_async *sa, struct aconn *k,
		  const struct lrpc__frame *f, const unsigned char *body)
{
	struct lrpc__async_md *m;
	struct lrpc_async *p;
	size_t payload;
	lrpc_status st;
	lrpc_code code = LRPC_OK;
	unsigned int i;

	for (i = 0; i < k->n && k->ids[i] != f->call_id; i++)
		;
	if (f->kind != LRPC__FRAME_CALL || i == k->n)
		return false;
	p = k->calls[i];
	m = lrpc__async_md_carried(p->md) ? p->md : NULL;
	if (!m && f->body_len > sa->sc->max_msg + LRPC_STATUS_MSG_MAX)
		return false;
	unslot(k, i);
	payload = f->body_len - f->msg_len;
	if (m)
		code = lrpc__sock_md_take_reply(f, body, m->opts.headers, m->opts.trailers,
						&payload, &st);
	if (code != LRPC_OK)
		k->broken = true; /* the stream of frames is not to be trusted */
	else
		code = lrpc__status_from_peer(&st, f->method_or_code, (const char *)body,
					      f->msg_len);
	lrpc__pending_done(p, code, body + f->msg_len, payload, &st);
	lrpc__pending_put(p);
	return true;
}

/* Read and answer what \p k has; a connection that failed is closed. */
static void conn_read(struct lrpc__sock_async *sa, struct aconn *k)
{
	/* Replies to calls with metadata may carry two blocks more; reply()
	 * holds the others to max_msg. */
	size_t max = sa->sc->max_msg + LRPC_STATUS_MSG_MAX + 2 * LRPC__MD_BLOCK_MAX;

	for (;;) {
		struct lrpc__frame f;
		ssize_t n;
		int ret;

		while (k->in_len >= LRPC__FRAME_HDR) {
			ret = lrpc__frame_get(k->in, max, &f);
			if (ret == 0 && k->in_len < LRPC__FRAME_HDR + f.body_len)
				break;
			if (ret == 0 && f.call_id == 0 && f.method_or_code != LRPC_OK) {
				/* The server could not read a frame of ours and
				 * hangs up: every call on it ends so. */
				lrpc_status st;
				lrpc_code code = lrpc__status_from_peer(
					&st, f.method_or_code,
					(const char *)k->in + LRPC__FRAME_HDR, f.msg_len);

				conn_refused(sa, k, code, st.message);
				return;
			}
			/* A request's metadata flag has no place in a reply. */
			if (ret < 0 || f.call_md || !reply(sa, k, &f, k->in + LRPC__FRAME_HDR)) {
				conn_close(sa, k, LRPC_INTERNAL, ret == -EMSGSIZE ?
					   "reply exceeds the size limit" :
					   "malformed reply frame");
				return;
			}
			k->in_len -= LRPC__FRAME_HDR + f.body_len;
			memmove(k->in, k->in + LRPC__FRAME_HDR + f.body_len, k->in_len);
		}
		if (lrpc__buf_reserve(&k->in, &k->in_cap, k->in_len + 16384) < 0) {
			conn_close(sa, k, LRPC_RESOURCE_EXHAUSTED, "out of memory");
			return;
		}
		n = recv(k->fd, k->in + k->in_len, k->in_cap - k->in_len, MSG_DONTWAIT);
		if (n > 0) {
			k->in_len += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		conn_close(sa, k, LRPC_UNAVAILABLE, "server closed the connection");
		return;
	}
}

/* Lock held, released meanwhile: a new connection for \p p (the queue's
 * head). \return it, or NULL with \p p ended. */
static struct aconn *conn_open(struct lrpc__sock_async *sa, struct lrpc_async *p,
			       bool *retry)
{
	lrpc_deadline until = lrpc_deadline_after_ms(sa->sc->connect_timeout_ms);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
	struct aconn *k = calloc(1, sizeof(*k));
	lrpc_status st;
	int fd;

	if (!k) {
		lrpc__pending_fail(p, LRPC_RESOURCE_EXHAUSTED, "out of memory");
		return NULL;
	}
	pthread_mutex_unlock(&sa->loop.lock);
	fd = lrpc__sock_connect(&sa->sc->addr, until < p->deadline ? until : p->deadline);
	pthread_mutex_lock(&sa->loop.lock);
	if (fd >= 0 && fcntl(fd, F_SETFL, O_NONBLOCK) == 0) {
		k->fd = fd;
		ev.data.ptr = k;
		if (epoll_ctl(sa->loop.ep, EPOLL_CTL_ADD, fd, &ev) == 0) {
			k->next = sa->conns;
			sa->conns = k;
			sa->nconns++;
			return k;
		}
		fd = -errno;
		close(k->fd);
	}
	free(k);
	lrpc__status_from_errno(&st, fd < 0 ? fd : -EIO, p->deadline, "connecting");
	if (st.code != LRPC_DEADLINE_EXCEEDED) {
		st.code = LRPC_UNAVAILABLE;
		/* wait_for_ready: leave it queued, try again soon. */
		*retry = sa->wait_ready;
		if (*retry)
			return NULL;
	}
	lrpc__pending_done(p, st.code, NULL, 0, &st);
	return NULL;
}

/* Send what waits, while connections have room or may be opened.
 * \return true if the head waits for a server to connect to again. */
static bool dispatch(struct lrpc__sock_async *sa)
{
	bool retry = false;

	while (sa->q.head && !sa->loop.stop) {
		struct lrpc_async *p = sa->q.head;
		struct aconn *k = NULL;

		if (p->tctx == &sa->q) {
			k = with_room(sa);
			if (!k && sa->nconns >= MAX_CONNS)
				return false;
			if (!k)
				k = conn_open(sa, p, &retry); /* NULL: p ended */
			if (retry)
				return true;
		}
		/* Only the watcher pops: p is still the head. */
		if (k && p->tctx == &sa->q) {
			lrpc__aqueue_pop(&sa->q);
			send_on(sa, k, p);
		} else {
			lrpc__pending_put(lrpc__aqueue_pop(&sa->q));
		}
	}
	return false;
}

static void *watch(void *arg)
{
	struct lrpc__sock_async *sa = arg;
	struct epoll_event ev[64];

	pthread_mutex_lock(&sa->loop.lock);
	while (!sa->loop.stop) {
		bool retry;
		int n;

		for (struct aconn *k = sa->conns, *next; k; k = next) {
			next = k->next;
			if (k->broken)
				conn_close(sa, k, LRPC_UNAVAILABLE, "connection lost");
		}
		retry = dispatch(sa);
		n = lrpc__aloop_wait(&sa->loop, ev, 64, retry ? RETRY_MS : -1);
		for (int i = 0; i < n; i++) {
			struct aconn *k = ev[i].data.ptr;

			if ((ev[i].events & EPOLLOUT) && !flush(sa, k))
				k->broken = true;
			if (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))
				conn_read(sa, k); /* may close it */
		}
	}
	while (sa->conns)
		conn_close(sa, sa->conns, LRPC_CANCELLED, "channel closed");
	lrpc__aqueue_cancel_all(&sa->q);
	pthread_mutex_unlock(&sa->loop.lock);
	return NULL;
}

static struct lrpc__sock_async *sa_get(lrpc_channel *c)
{
	struct sock_chan *sc = c->impl;
	struct lrpc__sock_async *sa = atomic_load(&sc->async), *none = NULL;

	if (sa)
		return sa;
	sa = calloc(1, sizeof(*sa));
	if (!sa)
		return NULL;
	sa->sc = sc;
	sa->queue_max = lrpc__async_queue_max(c);
	sa->wait_ready = c->opts.wait_for_ready;
	if (lrpc__aloop_start(&sa->loop, watch, sa) < 0) {
		free(sa);
		return NULL;
	}
	if (atomic_compare_exchange_strong(&sc->async, &none, sa))
		return sa;
	lrpc__aloop_stop(&sa->loop); /* another thread made one first */
	free(sa);
	return none;
}

void lrpc__sock_async_start(lrpc_channel *c, struct lrpc_async *p)
{
	struct lrpc__sock_async *sa = sa_get(c);
	struct aconn *k;

	if (!sa) {
		lrpc__async_pool_start(c, p);
		return;
	}
	pthread_mutex_lock(&sa->loop.lock);
	k = sa->q.head ? NULL : with_room(sa);
	if (k)
		send_on(sa, k, p);
	else if (lrpc__aqueue_push(&sa->q, p, sa->queue_max))
		lrpc__aloop_kick(&sa->loop);
	pthread_mutex_unlock(&sa->loop.lock);
}

void lrpc__sock_async_abandon(lrpc_channel *c, struct lrpc_async *p)
{
	struct sock_chan *sc = c->impl;
	struct lrpc__sock_async *sa = atomic_load(&sc->async);

	if (!sa)
		return;
	pthread_mutex_lock(&sa->loop.lock);
	if (lrpc__aqueue_abandon(&sa->q, p)) {
		/* Queued: dispatch drops it. */
	} else if (p->tctx) {
		struct aconn *k = p->tctx;

		for (unsigned int i = 0; i < k->n; i++)
			if (k->calls[i] == p && !k->gone[i]) {
				k->gone[i] = true;
				send_cancel(sa, k, k->ids[i]);
			}
	}
	pthread_mutex_unlock(&sa->loop.lock);
}

void lrpc__sock_async_close(lrpc_channel *c)
{
	struct sock_chan *sc = c->impl;
	struct lrpc__sock_async *sa = atomic_load(&sc->async);

	if (!sa)
		return;
	lrpc__aloop_stop(&sa->loop);
	free(sa);
	atomic_store(&sc->async, NULL);
}
