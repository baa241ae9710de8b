// SPDX-License-Identifier: MIT
/*
 * The client side of unix:// and tcp:// channels. Synchronous and
 * thread-safe the simple way: each call borrows a connection of its own
 * from a pool (opening one when none is idle, waiting for one when
 * max_conns are open), so replies never need to be matched to waiting
 * threads. A call whose deadline passes while no byte of its reply has
 * come sends CANCEL (wire/frame.h) and leaves its connection in the pool
 * owing that call's one frame, which the next call on it reads and drops
 * (by id: ids only grow). A connection whose call failed midway (a
 * deadline within a frame, a broken frame) is closed rather than reused,
 * so a late reply can never reach a later call.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "transport/sock.h"
#include "transport/sock_md.h"
#include "transport/sock_pool.h"
#include "wire/frame.h"

static void conn_free(struct sock_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->mem);
	free(c);
}

static int conn_reserve(struct sock_conn *c, size_t len)
{
	if (lrpc__buf_reserve(&c->mem, &c->mem_cap, LRPC__FRAME_HDR + len) < 0)
		return -ENOMEM;
	c->rb.buf = c->mem + LRPC__FRAME_HDR;
	c->rb.cap = c->mem_cap - LRPC__FRAME_HDR;
	return 0;
}

static int conn_new(struct sock_chan *ch, lrpc_deadline deadline,
		    struct sock_conn **out)
{
	lrpc_deadline until = lrpc_deadline_after_ms(ch->connect_timeout_ms);
	struct sock_conn *c = calloc(1, sizeof(*c));
	int ret;

	if (!c)
		return -ENOMEM;
	c->fd = lrpc__sock_connect(&ch->addr, until < deadline ? until : deadline);
	if (c->fd < 0) {
		ret = c->fd;
		free(c);
		return ret;
	}
	*out = c;
	return 0;
}

/*
 * May an idle connection carry another call? The server closes connections
 * that stay idle too long (idle_timeout_ms): one it has closed is readable
 * (at its end) and is dropped here rather than failing the call. A
 * connection that has not carried a call yet is kept: what waits on it is
 * the server's refusal (max_conns, uid), for the call to report. One
 * that owes frames of cancelled calls is readable when they came: it is
 * dropped only once the server hung up.
 */
static bool conn_usable(const struct sock_conn *c)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN | POLLRDHUP };

	if (c->next_id == 0 || poll(&p, 1, 0) == 0)
		return true;
	return c->owed && !(p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static size_t sock_max_msg(const lrpc_channel *c)
{
	const struct sock_chan *ch = c->impl;

	return ch->max_msg;
}

/* \p c was one of the channel's connections: close it, make room. */
static void conn_drop(struct sock_chan *ch, struct sock_conn *c)
{
	conn_free(c);
	pthread_mutex_lock(&ch->lock);
	ch->open--;
	pthread_cond_signal(&ch->freed);
	pthread_mutex_unlock(&ch->lock);
}

/* Lock held: wait for a connection to be given back or closed.
 * \return false once \p deadline passed. */
static bool wait_freed(struct sock_chan *ch, lrpc_deadline deadline)
{
	struct timespec ts = { .tv_sec = deadline / 1000000000,
			       .tv_nsec = deadline % 1000000000 };

	if (lrpc_now() >= deadline)
		return false;
	if (deadline == INT64_MAX)
		pthread_cond_wait(&ch->freed, &ch->lock);
	else
		pthread_cond_timedwait(&ch->freed, &ch->lock, &ts);
	return true;
}

lrpc_code lrpc__sock_take(struct sock_chan *ch, lrpc_deadline deadline,
			  bool clean, struct sock_conn **out, lrpc_status *st)
{
	struct sock_conn *conn;
	int ret;

	pthread_mutex_lock(&ch->lock);
	for (;;) {
		conn = ch->idle;
		if (conn) {
			ch->idle = conn->next;
			pthread_mutex_unlock(&ch->lock);
			/* A stream never takes one owed frames. */
			if ((!clean || !conn->owed) && conn_usable(conn)) {
				*out = conn;
				return LRPC_OK;
			}
			conn_free(conn);
			pthread_mutex_lock(&ch->lock);
			ch->open--;
			continue;
		}
		if (ch->open < ch->max_conns)
			break;
		if (!wait_freed(ch, deadline)) {
			pthread_mutex_unlock(&ch->lock);
			return lrpc__status_fail(st, LRPC_DEADLINE_EXCEEDED,
						 "deadline exceeded waiting for one of the "
						 "channel's %u connections (max_conns)",
						 ch->max_conns);
		}
	}
	ch->open++;
	pthread_mutex_unlock(&ch->lock);
	ret = conn_new(ch, deadline, &conn);
	if (ret < 0) {
		pthread_mutex_lock(&ch->lock);
		ch->open--;
		pthread_cond_signal(&ch->freed);
		pthread_mutex_unlock(&ch->lock);
		return lrpc__status_from_errno(st, ret, deadline, "connecting");
	}
	*out = conn;
	return LRPC_OK;
}

static lrpc_code sock_acquire(lrpc_channel *c, size_t len, lrpc_deadline deadline,
			      struct lrpc__req_buf **out, lrpc_status *st)
{
	struct sock_conn *conn;
	lrpc_code code = lrpc__sock_take(c->impl, deadline, false, &conn, st);

	if (code != LRPC_OK)
		return code;
	if (conn_reserve(conn, len) < 0) {
		conn_drop(c->impl, conn);
		return lrpc__status_fail(st, LRPC_RESOURCE_EXHAUSTED,
					 "out of memory for a %zu-byte request", len);
	}
	*out = &conn->rb;
	return LRPC_OK;
}

static lrpc_code io_fail(struct sock_conn *conn, int err,
			 lrpc_deadline deadline, lrpc_status *st)
{
	conn->broken = true;
	return lrpc__status_from_errno(st, err, deadline, "waiting for the reply");
}

/* The deadline of call \p id passed with its reply not begun: say so to
 * the server and keep the connection, owing that call's frame. A CANCEL
 * the socket does not take at once costs the connection instead. */
static lrpc_code give_up(struct sock_conn *conn, uint64_t id, lrpc_status *st)
{
	struct lrpc__frame f = { .kind = LRPC__FRAME_CANCEL, .call_id = id };
	unsigned char hdr[LRPC__FRAME_HDR];

	lrpc__frame_put(hdr, &f);
	if (send(conn->fd, hdr, sizeof(hdr), MSG_NOSIGNAL | MSG_DONTWAIT) ==
	    (ssize_t)sizeof(hdr))
		conn->owed++;
	else
		conn->broken = true;
	return lrpc__status_fail(st, LRPC_DEADLINE_EXCEEDED,
				 "deadline exceeded waiting for the reply");
}

/* Read and drop \p len bytes (a cancelled call's frame body). */
static int drop(struct sock_conn *conn, size_t len, lrpc_deadline deadline)
{
	while (len) {
		size_t n = len < conn->mem_cap ? len : conn->mem_cap;
		ssize_t got = lrpc__sock_read(conn->fd, conn->mem, n, n, deadline);

		if (got < 0)
			return (int)got;
		len -= (size_t)got;
	}
	return 0;
}

/*
 * Read the start of call \p id's reply into conn->mem: at least its
 * header, and at most what fits. First the frames owed to cancelled calls
 * (each read exactly, so none of ours is taken with them) are dropped.
 * A frame that has begun is read on for up to a second past the
 * deadline (the server writes frames whole), so that a deadline passing
 * as one arrives does not cost the connection.
 * \return the bytes read; -ETIMEDOUT with the connection clean (nothing
 * of the reply came) or, within a frame, broken; -EPROTO, -errno.
 */
static ssize_t read_head(struct sock_conn *conn, uint64_t id, size_t max,
			 lrpc_deadline deadline)
{
	struct lrpc__frame f;
	lrpc_deadline grace;
	ssize_t got;
	int ret;

	for (;;) {
		ret = lrpc__sock_wait(conn->fd, POLLIN, deadline);
		if (ret < 0)
			return ret;
		grace = lrpc_deadline_after_ms(1000);
		grace = grace > deadline ? grace : deadline;
		if (!conn->owed)
			got = lrpc__sock_read(conn->fd, conn->mem, LRPC__FRAME_HDR,
					      conn->mem_cap, grace);
		else
			got = lrpc__sock_read(conn->fd, conn->mem, LRPC__FRAME_HDR,
					      LRPC__FRAME_HDR, grace);
		if (got < 0)
			conn->broken = true;
		if (got < 0 || !conn->owed)
			return got;
		/* Its body is dropped piecewise: any call's size will do. */
		ret = lrpc__frame_get(conn->mem, max + 2 * LRPC__MD_BLOCK_MAX, &f);
		if (ret < 0 || f.kind != LRPC__FRAME_CALL)
			return -EPROTO;
		if (f.call_id == id || f.call_id == 0)
			return got; /* ours, or a refusal: the caller reads on */
		if (f.call_id > id)
			return -EPROTO;
		ret = drop(conn, f.body_len, grace);
		if (ret < 0) {
			conn->broken = true;
			return ret;
		}
		conn->owed--;
	}
}

/* The request's metadata after its payload (wire/frame.h). */
static lrpc_code put_md(struct sock_conn *conn, struct lrpc__frame *f,
			lrpc_status *st)
{
	size_t n = lrpc__md_block_size(conn->rb.md, conn->rb.n_md);

	if (conn_reserve(conn, f->body_len + n) < 0)
		return lrpc__status_fail(st, LRPC_RESOURCE_EXHAUSTED,
					 "out of memory for the request metadata");
	lrpc__md_block_write(conn->rb.buf + f->body_len, conn->rb.md,
			     conn->rb.n_md);
	f->call_md = true;
	f->md_len = (uint32_t)n;
	f->body_len += (uint32_t)n;
	return LRPC_OK;
}

/* A server before 0.5.0 refuses a frame with metadata as malformed. */
static lrpc_code refused_md(const struct lrpc__frame *f, lrpc_status *st)
{
	char why[LRPC_STATUS_MSG_MAX];

	snprintf(why, sizeof(why), "%s", st ? st->message : "");
	return lrpc__status_fail(st, (lrpc_code)f->method_or_code,
				 "%s (servers before 0.5.0 take no call metadata "
				 "over unix:// and tcp://)", why);
}

static lrpc_code sock_invoke(lrpc_channel *c, struct lrpc__req_buf *rb,
			     uint32_t method_id, size_t req_len,
			     lrpc_deadline deadline, const unsigned char **rep,
			     size_t *rep_len, lrpc_status *st)
{
	struct sock_chan *ch = c->impl;
	struct sock_conn *conn = (struct sock_conn *)rb;
	lrpc_deadline now = lrpc_now();
	struct lrpc__frame f = {
		.body_len = (uint32_t)req_len,
		.call_id = ++conn->next_id,
		.method_or_code = method_id,
		.timeout_ns = deadline - now,
	};
	uint64_t id = f.call_id;
	bool md = lrpc__sock_md_wanted(rb);
	lrpc_code status;
	size_t early = 0; /* reply body bytes read with the header */
	size_t max = ch->max_msg + LRPC_STATUS_MSG_MAX, payload;
	ssize_t got = 0;
	int ret;

	if (now >= deadline)
		return lrpc__status_fail(st, LRPC_DEADLINE_EXCEEDED,
					 "deadline passed before the call was sent");
	if (md) {
		status = put_md(conn, &f, st);
		if (status != LRPC_OK)
			return status;
		max += 2 * LRPC__MD_BLOCK_MAX;
	}
	lrpc__frame_put(conn->mem, &f);
	ret = lrpc__sock_write_all(conn->fd, conn->mem, LRPC__FRAME_HDR + f.body_len,
				   deadline);
	/* A server that refuses a request (too big, say) answers with an
	 * error frame and hangs up, maybe while we are still writing: look
	 * for its answer before calling the connection lost. */
	if (ret == 0 || ret == -ECONNRESET) {
		got = read_head(conn, id, max, deadline);
		if (ret == 0 && got == -ETIMEDOUT && !conn->broken)
			return give_up(conn, id, st);
		if (ret == 0 || got >= 0)
			ret = got < 0 ? (int)got : 0;
	}
	if (ret == -EPROTO) {
		conn->broken = true;
		return lrpc__status_fail(st, LRPC_INTERNAL, "malformed frame before the reply");
	}
	if (ret < 0)
		return io_fail(conn, ret, deadline, st);
	ret = lrpc__frame_get(conn->mem, max, &f);
	if (ret == -EMSGSIZE) {
		conn->broken = true;
		return lrpc__status_fail(st, LRPC_RESOURCE_EXHAUSTED,
					 "reply of %u bytes exceeds the %zu-byte limit",
					 f.body_len, ch->max_msg);
	}
	/* Call id 0 with an error: the server could not read our frame's id. */
	if (ret < 0 || f.kind != LRPC__FRAME_CALL || f.call_md ||
	    (f.call_id != id && !(f.call_id == 0 && f.method_or_code != LRPC_OK))) {
		conn->broken = true;
		return lrpc__status_fail(st, LRPC_INTERNAL,
					 "malformed reply frame (%u bytes)", f.body_len);
	}
	/* One reply per request: bytes beyond it are not a server's. */
	early = (size_t)got - LRPC__FRAME_HDR;
	if (early > f.body_len) {
		conn->broken = true;
		return lrpc__status_fail(st, LRPC_INTERNAL,
					 "%zu bytes after a %u-byte reply", early - f.body_len,
					 f.body_len);
	}
	if (conn_reserve(conn, f.body_len) < 0) {
		conn->broken = true;
		return lrpc__status_fail(st, LRPC_RESOURCE_EXHAUSTED,
					 "out of memory for a %u-byte reply", f.body_len);
	}
	got = lrpc__sock_read(conn->fd, conn->rb.buf + early, f.body_len - early,
			      f.body_len - early, deadline);
	if (got < 0)
		return io_fail(conn, (int)got, deadline, st);
	payload = f.body_len - f.msg_len;
	/* The server's answer to a frame it could not read (id 0) has none. */
	if (md && f.call_id == id) {
		status = lrpc__sock_md_take_reply(&f, conn->rb.buf, rb->headers,
						  rb->trailers, &payload, st);
		if (status != LRPC_OK) {
			conn->broken = true;
			return status;
		}
	}
	status = lrpc__status_from_peer(st, f.method_or_code,
					(const char *)conn->rb.buf, f.msg_len);
	if (md && f.call_id == 0 && status == LRPC_INVALID_ARGUMENT)
		return refused_md(&f, st);
	if (status != LRPC_OK)
		return status;
	*rep = conn->rb.buf + f.msg_len;
	*rep_len = payload;
	return LRPC_OK;
}

void lrpc__sock_give(struct sock_chan *ch, struct sock_conn *conn)
{
	bool drop;

	pthread_mutex_lock(&ch->lock);
	/* Decided under the lock: once on the idle list the connection is
	 * another caller's, who may mark it broken. Over: the cap was
	 * lowered meanwhile. */
	drop = conn->broken || ch->open > ch->max_conns;
	if (!drop) {
		conn->next = ch->idle;
		ch->idle = conn;
		pthread_cond_signal(&ch->freed);
	}
	pthread_mutex_unlock(&ch->lock);
	if (drop)
		conn_drop(ch, conn);
}

static int sock_set_max_conns(lrpc_channel *c, unsigned int max_conns)
{
	struct sock_chan *ch = c->impl;

	pthread_mutex_lock(&ch->lock);
	ch->max_conns = max_conns;
	/* A higher cap: every waiting call may go now. */
	pthread_cond_broadcast(&ch->freed);
	pthread_mutex_unlock(&ch->lock);
	return 0;
}

static void sock_release(lrpc_channel *c, struct lrpc__req_buf *rb)
{
	lrpc__sock_give(c->impl, (struct sock_conn *)rb);
}

static void sock_close(lrpc_channel *c)
{
	struct sock_chan *ch = c->impl;

	if (!ch)
		return;
	lrpc__sock_async_close(c);
	while (ch->idle) {
		struct sock_conn *next = ch->idle->next;

		conn_free(ch->idle);
		ch->idle = next;
	}
	pthread_cond_destroy(&ch->freed);
	pthread_mutex_destroy(&ch->lock);
	free(ch);
	c->impl = NULL;
}

static const struct lrpc__chan_ops sock_ops = {
	.metadata = true,
	.max_msg = sock_max_msg,
	.acquire = sock_acquire,
	.invoke = sock_invoke,
	.release = sock_release,
	.stream_open = lrpc__sock_stream_open,
	.stream_metadata = true,
	.start = lrpc__sock_async_start,
	.abandon = lrpc__sock_async_abandon,
	.set_max_conns = sock_set_max_conns,
	.close = sock_close,
};

int lrpc__sock_dial(lrpc_channel *c, const struct lrpc__addr *addr)
{
	struct sock_chan *ch = calloc(1, sizeof(*ch));
	struct sock_conn *first;
	pthread_condattr_t ca;
	int ret;

	if (!ch)
		return -ENOMEM;
	ch->addr = *addr;
	ch->max_msg = c->opts.max_msg_size;
	ch->connect_timeout_ms = c->opts.connect_timeout_ms;
	ch->max_conns = LRPC_DEFAULT_CHANNEL_CONNS; /* lrpc_channel_set_max_conns() */
	pthread_mutex_init(&ch->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ch->freed, &ca);
	pthread_condattr_destroy(&ca);
	c->impl = ch;
	c->ops = &sock_ops;
	c->handoff = "socket";
	/* Connect once now, so that a wrong address fails here and not at
	 * the first call. */
	ret = conn_new(ch, INT64_MAX, &first);
	if (ret < 0)
		return ret;
	ch->idle = first;
	ch->open = 1;
	return 0;
}
