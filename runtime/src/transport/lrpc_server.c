// SPDX-License-Identifier: MIT
/*
 * The server side of lrpc://, on the server's libuv loop: the control
 * plane. Check each client's credentials, agree on a hand-off, hand the
 * client a fresh region with a receiver thread per lane, and notice when
 * it goes away so that its receivers and region can be reclaimed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "handoff/handoff.h"
#include "serve/receiver.h"
#include "transport/transport.h"
#include "wire/handshake.h"

#define HELLO_TIMEOUT_MS 5000

/* One connected client: its region and its receiver threads. */
struct conn {
	struct lrpc__peer peer; /* first: the host's list sees only this */
	uv_pipe_t pipe;
	uv_timer_t hello_timer; /* a client that never says hello is dropped */
	struct lrpc__host *host;
	int memfd;
	struct lrpc__receivers rs; /* the region (base, geom) and its receivers */
	_Atomic int refs; /* pipe + timer handles, + one per receiver thread */
	unsigned char hello[64];
	size_t hello_len;
	bool welcomed;
};

static void conn_unref(struct conn *conn)
{
	struct lrpc__host *h = conn->host;

	if (atomic_fetch_sub(&conn->refs, 1) != 1)
		return;
	if (conn->rs.base)
		munmap(conn->rs.base, conn->rs.geom.region_size);
	if (conn->memfd >= 0)
		close(conn->memfd);
	if (conn->welcomed) {
		atomic_fetch_sub(&h->stats.clients_active, 1);
		atomic_fetch_sub(&h->active[LRPC__SCHEME_LRPC], 1);
	}
	lrpc__receivers_destroy(&conn->rs);
	free(conn);
}

static void receiver_exited(struct lrpc__receivers *rs)
{
	conn_unref((struct conn *)((char *)rs - offsetof(struct conn, rs)));
}

static void on_conn_closed(uv_handle_t *handle)
{
	struct conn *conn = handle->data;
	struct lrpc__host *h = conn->host;

	conn_unref(conn);
	lrpc__host_reap(h);
}

static void conn_close(struct conn *conn)
{
	if (uv_is_closing((uv_handle_t *)&conn->pipe))
		return;
	lrpc__peer_remove(&conn->peer);
	lrpc__receivers_stop(&conn->rs);
	uv_close((uv_handle_t *)&conn->hello_timer, on_conn_closed);
	uv_close((uv_handle_t *)&conn->pipe, on_conn_closed);
}

static void on_hello_timeout(uv_timer_t *t)
{
	struct conn *conn = t->data;

	atomic_fetch_add(&conn->host->stats.clients_rejected, 1);
	conn_close(conn);
}

/* Receivers take no more calls; those in a call finish it first. */
static void peer_drain(struct lrpc__peer *p)
{
	lrpc__receivers_stop(&((struct conn *)p)->rs);
}

/* The control socket stays open until the receivers are done, so a client
 * sees the replies to its last calls before it sees us go. */
static void peer_close(struct lrpc__peer *p)
{
	struct conn *conn = (struct conn *)p;

	if (!atomic_load(&conn->rs.alive))
		conn_close(conn);
}

static const struct lrpc__peer_ops peer_ops = {
	.drain = peer_drain,
	.close = peer_close,
};

static int send_welcome(struct conn *conn, struct lrpc__welcome w,
			int status, const char *why)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov[2] = {
		{ .iov_base = &w, .iov_len = sizeof(w) },
		{ .iov_base = (char *)why, .iov_len = 0 },
	};
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 1 };
	uv_os_fd_t fd;

	w.magic = LRPC__WELCOME_MAGIC;
	w.version = LRPC__CTL_VERSION;
	w.status = (uint16_t)status;
	if (uv_fileno((uv_handle_t *)&conn->pipe, &fd) < 0)
		return -EBADF;
	if (status != 0) {
		/* A refusal says why and grants nothing. */
		w = (struct lrpc__welcome){ .magic = w.magic,
					    .version = w.version,
					    .status = w.status };
		iov[1].iov_len = strnlen(why, LRPC__REFUSAL_MAX - 1);
		msg.msg_iovlen = 2;
	} else {
		struct cmsghdr *c;

		w.service_id = conn->host->service_id;
		w.nlanes = conn->rs.geom.nlanes;
		w.nlanes_active = conn->rs.started;
		w.buf_size = conn->rs.geom.buf_size;
		w.lane_stride = conn->rs.geom.lane_stride;
		w.region_size = conn->rs.geom.region_size;
		memset(&cm, 0, sizeof(cm));
		msg.msg_control = cm.buf;
		msg.msg_controllen = sizeof(cm.buf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &conn->memfd, sizeof(int));
	}
	/* The socket's buffer is empty at this point, so one small message
	 * never blocks even though libuv made the socket non-blocking. */
	if (sendmsg(fd, &msg, MSG_NOSIGNAL) !=
	    (ssize_t)(sizeof(w) + iov[1].iov_len))
		return -errno ? -errno : -EIO;
	return 0;
}

static int region_create(struct conn *conn)
{
	struct lrpc__host *h = conn->host;
	struct lrpc__geom *g = &conn->rs.geom;
	void *base;
	int ret;

	/* Lanes for every receiver the client may grow to: the memfd is
	 * sparse, so a lane costs memory only once a receiver uses it. */
	ret = lrpc__geom_init(g, h->opts.max_receivers, h->opts.max_msg_size);
	if (ret < 0)
		return ret;
	conn->memfd = memfd_create("lazyrpc-lanes",
				   MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (conn->memfd < 0)
		return -errno;
	if (ftruncate(conn->memfd, (off_t)g->region_size) < 0)
		return -errno;
	/* A client that shrank the file would make the server fault on
	 * touching its own mapping; one that grew it would charge us for
	 * its memory. Only the contents stay writable: both sides write
	 * them. */
	if (fcntl(conn->memfd, F_ADD_SEALS,
		  F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		return -errno;
	base = mmap(NULL, g->region_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		    conn->memfd, 0);
	if (base == MAP_FAILED)
		return -errno;
	conn->rs.base = base;
	/* Before the first touch, below: pages go where the policy says. */
	ret = lrpc__numa_bind(&conn->rs.numa, base, g->region_size);
	if (ret < 0)
		return ret;
	for (uint32_t i = 0; i < g->nlanes; i++) {
		struct lrpc__lane *lane = lrpc__region_lane(base, g, i);

		/* Receivers start out callable; each thread's first look at
		 * the word picks up a call that arrived before it ran. */
		atomic_store(&lane->rx.state, LRPC__RX_WAIT);
		atomic_store(&lane->tx.state, LRPC__TX_RUNNING);
		atomic_store(&lane->rx.cpu, -1); /* unknown: spin */
		atomic_store(&lane->tx.cpu, -1);
	}
	return 0;
}

/* \return 0 or a positive errno for the welcome message, and in \p why
 * (LRPC__REFUSAL_MAX bytes) what the client is told. */
/* Give lanes [0, n) a receiver each; each holds the connection until it
 * exits. \return 0, -errno. */
static int receivers_add(struct conn *conn, uint32_t n)
{
	uint32_t before = conn->rs.started;
	int ret;

	atomic_fetch_add(&conn->refs, n - before);
	ret = lrpc__receivers_start(&conn->rs, n);
	atomic_fetch_sub(&conn->refs, n - conn->rs.started);
	return ret;
}

static int admit(struct conn *conn, struct lrpc__welcome *w, char *why)
{
	struct lrpc__host *host = conn->host;
	struct lrpc__hello h;
	int ret;

	memcpy(&h, conn->hello, sizeof(h));
	if (h.magic != LRPC__HELLO_MAGIC || h.version != LRPC__CTL_VERSION) {
		snprintf(why, LRPC__REFUSAL_MAX,
			 "not a lazyrpc hello of protocol version %u",
			 LRPC__CTL_VERSION);
		return EPROTO;
	}
	ret = lrpc__handoff_accept(&h, &conn->rs.hand, w);
	if (ret) {
		snprintf(why, LRPC__REFUSAL_MAX,
			 "no hand-off both sides offer (asked for '%.16s')",
			 h.handoff);
		return ret;
	}
	if (!lrpc__peer_allowed(host, (uv_handle_t *)&conn->pipe, why,
				LRPC__REFUSAL_MAX))
		return EACCES;
	lrpc__peer_creds((uv_handle_t *)&conn->pipe, &conn->rs.peer);
	conn->rs.peer.transport = "lrpc";
	/* lrpc:// clients only: socket peers have limits of their own. */
	if (atomic_load(&host->active[LRPC__SCHEME_LRPC]) >= host->opts.max_clients) {
		snprintf(why, LRPC__REFUSAL_MAX,
			 "server full: %u lrpc:// clients (max_clients)",
			 host->opts.max_clients);
		return EAGAIN;
	}
	lrpc__numa_decide(&conn->rs.numa, host->numa, h.cpu_plus1);
	ret = region_create(conn);
	if (ret < 0) {
		snprintf(why, LRPC__REFUSAL_MAX,
			 "the server could not make a region: %s", strerror(-ret));
		return -ret;
	}
	return -receivers_add(conn, host->opts.receivers);
}

/* A client asked for one more receiver: start it, then say so. */
static void grow(struct conn *conn)
{
	static char grown = LRPC__CTL_GROWN;
	uv_buf_t b = uv_buf_init(&grown, 1);

	if (conn->peer.draining)
		return; /* stopping: the client learns from the close */
	if (conn->rs.started >= conn->rs.geom.nlanes ||
	    receivers_add(conn, conn->rs.started + 1) < 0 ||
	    uv_try_write((uv_stream_t *)&conn->pipe, &b, 1) != 1) {
		/* Past nlanes the client broke the protocol; otherwise the
		 * client cannot be told, and would wait for nothing. */
		atomic_fetch_add(&conn->host->stats.protocol_errors,
				 conn->rs.started >= conn->rs.geom.nlanes);
		conn_close(conn);
	}
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct conn *conn = h->data;

	(void)hint;
	/* Until the hello is complete, read straight into it; afterwards the
	 * client only sends grow requests (handshake.h), a byte each. */
	if (!conn->welcomed)
		*buf = uv_buf_init((char *)conn->hello + conn->hello_len,
				   sizeof(struct lrpc__hello) - conn->hello_len);
	else
		*buf = uv_buf_init((char *)conn->hello, sizeof(conn->hello));
}

/* An admitted client in the counters, or (\p undo) one whose welcome
 * could not be sent after all. */
static void count_client(struct lrpc__host *host, bool undo)
{
	if (undo) {
		atomic_fetch_sub(&host->stats.clients_accepted, 1);
		atomic_fetch_sub(&host->stats.clients_active, 1);
		atomic_fetch_sub(&host->active[LRPC__SCHEME_LRPC], 1);
		return;
	}
	atomic_fetch_add(&host->stats.clients_accepted, 1);
	atomic_fetch_add(&host->stats.clients_active, 1);
	atomic_fetch_add(&host->active[LRPC__SCHEME_LRPC], 1);
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct conn *conn = s->data;
	struct lrpc__host *host = conn->host;
	struct lrpc__welcome w = { 0 };
	char why[LRPC__REFUSAL_MAX] = "";
	int status;

	if (n == 0)
		return;
	if (n < 0) {
		/* EOF: the client is gone, and so are its calls. */
		lrpc__receivers_cancel(&conn->rs);
		conn_close(conn);
		return;
	}
	if (conn->welcomed) {
		/* After the handshake the client only asks for receivers. */
		for (ssize_t i = 0; i < n; i++) {
			if (buf->base[i] != LRPC__CTL_GROW) {
				atomic_fetch_add(&host->stats.protocol_errors, 1);
				conn_close(conn);
				return;
			}
			if (uv_is_closing((uv_handle_t *)&conn->pipe))
				return;
			grow(conn);
		}
		return;
	}
	conn->hello_len += (size_t)n;
	if (conn->hello_len < sizeof(struct lrpc__hello))
		return;
	uv_timer_stop(&conn->hello_timer);
	status = admit(conn, &w, why);
	/* Counted before the welcome goes: a client's first call (a Stats
	 * call, say) may be served before this thread runs again. */
	if (status == 0)
		count_client(host, false);
	if (send_welcome(conn, w, status, why) < 0 && status == 0) {
		count_client(host, true);
		status = EPIPE;
	}
	if (status) {
		atomic_fetch_add(&host->stats.clients_rejected, 1);
		conn_close(conn);
		return;
	}
	conn->welcomed = true;
}

static void on_connection(uv_stream_t *listener, int status)
{
	struct lrpc__host *h = listener->data;
	struct conn *conn;

	if (status < 0)
		return;
	conn = calloc(1, sizeof(*conn));
	if (!conn)
		return; /* the listener reports the connection again */
	conn->host = h;
	conn->memfd = -1;
	lrpc__receivers_init(&conn->rs, h);
	conn->rs.exited = receiver_exited;
	atomic_init(&conn->refs, 2);
	uv_pipe_init(&h->loop, &conn->pipe, 0);
	uv_timer_init(&h->loop, &conn->hello_timer);
	conn->pipe.data = conn;
	conn->hello_timer.data = conn;
	uv_timer_start(&conn->hello_timer, on_hello_timeout, HELLO_TIMEOUT_MS, 0);
	lrpc__peer_add(h, &conn->peer, &peer_ops);
	if (uv_accept(listener, (uv_stream_t *)&conn->pipe) < 0 ||
	    uv_read_start((uv_stream_t *)&conn->pipe, alloc_cb, read_cb) < 0)
		conn_close(conn);
}

int lrpc__lrpc_listen(struct lrpc__host *h, struct lrpc__listener *l,
		      const struct lrpc__addr *addr)
{
	/*
	 * Each region must reach its own client only. Any process of our
	 * uid could otherwise open /proc/<us>/fd/N and map another client's
	 * region: the kernel allows that only to those that may ptrace us,
	 * and a task that is not dumpable may be ptraced by CAP_SYS_PTRACE
	 * alone. The price: no core dumps, and debuggers need that
	 * capability. It holds for the process's life (until an exec).
	 * A kernel hand-off whose peers must be able to ptrace each other
	 * rules it out: its peers may reach all of us anyway.
	 */
	if (!lrpc__handoff_needs_dumpable() &&
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -errno;
	/* The name lives in the runtime directory, made if need be. */
	return lrpc__listen_pipe(h, l, addr->path, true, on_connection);
}
