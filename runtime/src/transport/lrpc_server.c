// SPDX-License-Identifier: MIT
/*
 * The lrpc:// control plane, on the server's libuv loop: check each
 * client's credentials, hand it a fresh region, and notice when it goes
 * away so that its receivers and region can be reclaimed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wire/handshake.h"
#include "handoff/handoff.h"
#include "serve/host.h"

#define HELLO_TIMEOUT_MS 5000

void lrpc__conn_unref(struct lrpc__conn *conn)
{
	lrpc_server *srv = conn->srv;

	if (atomic_fetch_sub(&conn->refs, 1) != 1)
		return;
	if (conn->base)
		munmap(conn->base, conn->geom.region_size);
	if (conn->memfd >= 0)
		close(conn->memfd);
	if (conn->welcomed)
		atomic_fetch_sub(&srv->stats.clients_active, 1);
	pthread_mutex_destroy(&conn->start_lock);
	pthread_cond_destroy(&conn->start_cond);
	free(conn);
}

static void conn_close(struct lrpc__conn *conn);

/* Receivers take no more calls; those in a call finish it first. */
static void conn_stop(struct lrpc__conn *conn)
{
	atomic_store(&conn->stop, 1);
	if (conn->base)
		for (uint32_t i = 0; i < conn->geom.nlanes; i++)
			conn->hand.ops->kick(
				lrpc__region_lane(conn->base, &conn->geom, i));
}

static void on_conn_closed(uv_handle_t *h)
{
	struct lrpc__conn *conn = h->data;
	lrpc_server *srv = conn->srv;

	lrpc__conn_unref(conn);
	lrpc__server_reap(srv);
}

static void on_hello_timeout(uv_timer_t *t)
{
	struct lrpc__conn *conn = t->data;

	atomic_fetch_add(&conn->srv->stats.clients_rejected, 1);
	conn_close(conn);
}

static void conn_close(struct lrpc__conn *conn)
{
	lrpc_server *srv = conn->srv;

	if (uv_is_closing((uv_handle_t *)&conn->pipe))
		return;
	if (conn->prev)
		conn->prev->next = conn->next;
	else
		srv->conns = conn->next;
	if (conn->next)
		conn->next->prev = conn->prev;
	conn_stop(conn);
	uv_close((uv_handle_t *)&conn->hello_timer, on_conn_closed);
	uv_close((uv_handle_t *)&conn->pipe, on_conn_closed);
}

void lrpc__conn_drain_all(lrpc_server *srv)
{
	for (struct lrpc__conn *c = srv->conns; c; c = c->next)
		conn_stop(c);
}

void lrpc__conn_close_drained(lrpc_server *srv)
{
	struct lrpc__conn *c = srv->conns, *next;

	/* The control socket stays open until the receivers are done, so a
	 * client sees the replies to its last calls before it sees us go. */
	for (; c; c = next) {
		next = c->next;
		if (atomic_load(&c->stop) && !atomic_load(&c->receivers_alive))
			conn_close(c);
	}
}

/* \p w holds the hand-off's part of the welcome, the rest is ours. */
static int send_welcome(struct lrpc__conn *conn, struct lrpc__welcome w,
			int status)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = { .iov_base = &w, .iov_len = sizeof(w) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
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
	} else {
		struct cmsghdr *c;

		w.service_id = conn->srv->service_id;
		w.nlanes = conn->geom.nlanes;
		w.buf_size = conn->geom.buf_size;
		w.lane_stride = conn->geom.lane_stride;
		w.region_size = conn->geom.region_size;
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
	if (sendmsg(fd, &msg, MSG_NOSIGNAL) != (ssize_t)sizeof(w))
		return -errno ? -errno : -EIO;
	return 0;
}

static int region_create(struct lrpc__conn *conn)
{
	lrpc_server *srv = conn->srv;
	int ret;

	ret = lrpc__geom_init(&conn->geom, srv->opts.receivers,
			      srv->opts.max_msg_size);
	if (ret < 0)
		return ret;
	conn->memfd = memfd_create("lazyrpc-lanes",
				   MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (conn->memfd < 0)
		return -errno;
	if (ftruncate(conn->memfd, (off_t)conn->geom.region_size) < 0)
		return -errno;
	/* A client that shrank the file would make the server fault on
	 * touching its own mapping. */
	if (fcntl(conn->memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_SEAL) < 0)
		return -errno;
	conn->base = mmap(NULL, conn->geom.region_size, PROT_READ | PROT_WRITE,
			  MAP_SHARED, conn->memfd, 0);
	if (conn->base == MAP_FAILED) {
		conn->base = NULL;
		return -errno;
	}
	for (uint32_t i = 0; i < conn->geom.nlanes; i++) {
		struct lrpc__lane *lane =
			lrpc__region_lane(conn->base, &conn->geom, i);

		/* Receivers start out callable; each thread's first look at
		 * the word picks up a call that arrived before it ran. */
		atomic_store(&lane->rx.state, LRPC__RX_WAIT);
		atomic_store(&lane->tx.state, LRPC__TX_RUNNING);
		atomic_store(&lane->rx.cpu, -1); /* unknown: spin */
		atomic_store(&lane->tx.cpu, -1);
	}
	return 0;
}

/* \return 0 or a positive errno for the welcome message. */
static int admit(struct lrpc__conn *conn, struct lrpc__welcome *w)
{
	lrpc_server *srv = conn->srv;
	struct lrpc__hello h;
	int ret;

	memcpy(&h, conn->hello, sizeof(h));
	if (h.magic != LRPC__HELLO_MAGIC || h.version != LRPC__CTL_VERSION)
		return EPROTO;
	conn->hand.stop = &conn->stop;
	conn->hand.service_id = srv->service_id;
	ret = lrpc__handoff_accept(&h, &conn->hand, w);
	if (ret)
		return ret;
	if (!lrpc__peer_allowed(srv, (uv_handle_t *)&conn->pipe))
		return EACCES;
	if (atomic_load(&srv->stats.clients_active) >= srv->opts.max_clients)
		return EAGAIN;
	ret = region_create(conn);
	if (ret == 0)
		ret = lrpc__receivers_start(conn);
	return -ret;
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct lrpc__conn *conn = h->data;

	(void)hint;
	/* Until the hello is complete, read straight into it; afterwards the
	 * client has nothing to say, and a byte is enough to notice that. */
	if (!conn->welcomed)
		*buf = uv_buf_init((char *)conn->hello + conn->hello_len,
				   sizeof(struct lrpc__hello) - conn->hello_len);
	else
		*buf = uv_buf_init((char *)conn->hello, 1);
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct lrpc__conn *conn = s->data;
	lrpc_server *srv = conn->srv;
	struct lrpc__welcome w = { 0 };
	int status;

	(void)buf;
	if (n == 0)
		return;
	if (n < 0 || conn->welcomed) {
		/* EOF: the client is gone. Data after the handshake: it is
		 * not speaking our protocol. Either way the client is done. */
		if (n > 0)
			atomic_fetch_add(&srv->stats.protocol_errors, 1);
		conn_close(conn);
		return;
	}
	conn->hello_len += (size_t)n;
	if (conn->hello_len < sizeof(struct lrpc__hello))
		return;
	uv_timer_stop(&conn->hello_timer);
	status = admit(conn, &w);
	if (send_welcome(conn, w, status) < 0 && status == 0)
		status = EPIPE;
	if (status) {
		atomic_fetch_add(&srv->stats.clients_rejected, 1);
		conn_close(conn);
		return;
	}
	conn->welcomed = true;
	atomic_fetch_add(&srv->stats.clients_accepted, 1);
	atomic_fetch_add(&srv->stats.clients_active, 1);
}

void lrpc__shm_on_connection(uv_stream_t *server, int status)
{
	lrpc_server *srv = server->data;
	struct lrpc__conn *conn;

	if (status < 0)
		return;
	conn = calloc(1, sizeof(*conn));
	if (!conn)
		return; /* the listener reports the connection again */
	conn->srv = srv;
	conn->memfd = -1;
	pthread_mutex_init(&conn->start_lock, NULL);
	pthread_cond_init(&conn->start_cond, NULL);
	atomic_init(&conn->refs, 2);
	uv_pipe_init(&srv->loop, &conn->pipe, 0);
	uv_timer_init(&srv->loop, &conn->hello_timer);
	conn->pipe.data = conn;
	conn->hello_timer.data = conn;
	uv_timer_start(&conn->hello_timer, on_hello_timeout, HELLO_TIMEOUT_MS, 0);
	conn->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = conn;
	srv->conns = conn;
	if (uv_accept(server, (uv_stream_t *)&conn->pipe) < 0 ||
	    uv_read_start((uv_stream_t *)&conn->pipe, alloc_cb, read_cb) < 0)
		conn_close(conn);
}
