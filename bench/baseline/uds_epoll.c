/* SPDX-License-Identifier: MIT */
/*
 * Raw baseline: Unix domain stream socket ping-pong, the RPAL paper's
 * baseline. Frames are a 4-byte native-endian length and the payload.
 *
 * Server: epoll event loops (one per --threads; connections are dealt to
 * them in turn), non-blocking sockets, level-triggered; each frame is
 * written back unchanged. Client: blocking sendmsg() of header + payload,
 * blocking recv() until the whole echo is in.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define HDR 4u

static size_t max_size;

static int sock_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -1;
	strcpy(sa->sun_path, path);
	return 0;
}

/* --- server -------------------------------------------------------------- */

typedef struct conn {
	int fd;
	int writing;
	size_t got;  /* bytes in buf */
	size_t sent; /* bytes of the current frame written back */
	unsigned char *buf;
} conn;

typedef struct worker {
	int ep;
	pthread_t tid;
} worker;

static size_t frame_len(const conn *c)
{
	uint32_t len;

	if (c->got < HDR)
		return 0;
	memcpy(&len, c->buf, HDR);
	return HDR + (size_t)len;
}

static void conn_close(int ep, conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->buf);
	free(c);
}

/* Returns -1 when the connection must be closed. */
static int conn_step(int ep, conn *c)
{
	for (;;) {
		size_t fl = frame_len(c);

		if (fl && fl - HDR > max_size)
			return -1;
		if (!c->writing) {
			if (fl && c->got >= fl) {
				c->writing = 1;
				c->sent = 0;
				continue;
			}
			ssize_t n = read(c->fd, c->buf + c->got, HDR + max_size - c->got);
			if (n == 0)
				return -1;
			if (n < 0)
				return errno == EAGAIN || errno == EINTR ? 0 : -1;
			c->got += (size_t)n;
			continue;
		}
		while (c->sent < fl) {
			ssize_t n = write(c->fd, c->buf + c->sent, fl - c->sent);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				if (errno != EAGAIN)
					return -1;
				struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
				return 0;
			}
			c->sent += (size_t)n;
		}
		/* Frame done: keep any bytes of the next one, listen again. */
		memmove(c->buf, c->buf + fl, c->got - fl);
		c->got -= fl;
		if (c->writing == 2) {
			struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
			epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
		}
		c->writing = 0;
	}
}

static void *worker_main(void *arg)
{
	worker *w = arg;
	struct epoll_event evs[64];

	for (;;) {
		int n = epoll_wait(w->ep, evs, 64, -1);
		for (int i = 0; i < n; i++) {
			conn *c = evs[i].data.ptr;
			if (evs[i].events & EPOLLOUT)
				c->writing = 2; /* re-arm EPOLLIN when done */
			if (conn_step(w->ep, c))
				conn_close(w->ep, c);
		}
	}
	return NULL;
}

typedef struct acceptor {
	int lfd;
	unsigned nworkers;
	worker *workers;
} acceptor;

static void *acceptor_main(void *arg)
{
	acceptor *a = arg;

	for (unsigned next = 0;; next = (next + 1) % a->nworkers) {
		int fd = accept4(a->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		conn *c;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			bench_die("accept: %s", strerror(errno));
		}
		c = calloc(1, sizeof(*c));
		if (!c || !(c->buf = malloc(HDR + max_size)))
			bench_die("out of memory");
		c->fd = fd;
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		if (epoll_ctl(a->workers[next].ep, EPOLL_CTL_ADD, fd, &ev))
			bench_die("epoll_ctl: %s", strerror(errno));
	}
	return NULL;
}

static int server(const bench_opts *o)
{
	struct sockaddr_un sa;
	acceptor a = { .nworkers = o->threads };
	pthread_t at;

	if (sock_addr(o->addr, &sa))
		bench_die("path too long: %s", o->addr);
	bench_pin(o);
	bench_block_signals();
	a.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unlink(o->addr);
	if (a.lfd < 0 || bind(a.lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(a.lfd, 128))
		bench_die("listen on %s: %s", o->addr, strerror(errno));
	a.workers = calloc(a.nworkers, sizeof(*a.workers));
	if (!a.workers)
		bench_die("out of memory");
	for (unsigned i = 0; i < a.nworkers; i++) {
		a.workers[i].ep = epoll_create1(EPOLL_CLOEXEC);
		if (a.workers[i].ep < 0 ||
		    pthread_create(&a.workers[i].tid, NULL, worker_main, &a.workers[i]))
			bench_die("worker setup failed");
	}
	if (pthread_create(&at, NULL, acceptor_main, &a))
		bench_die("pthread_create failed");
	bench_ready(o->addr);
	bench_wait_signal();
	unlink(o->addr);
	exit(0);
}

/* --- client -------------------------------------------------------------- */

typedef struct client {
	int fd;
	unsigned char *buf;
} client;

static void *cl_connect(const bench_opts *o, unsigned idx)
{
	struct sockaddr_un sa;
	client *c = calloc(1, sizeof(*c));

	(void)idx;
	if (!c || !(c->buf = malloc(HDR + o->size)))
		return NULL;
	if (sock_addr(o->addr, &sa))
		return NULL;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "connect %s: %s\n", o->addr, strerror(errno));
		return NULL;
	}
	return c;
}

static int cl_call(void *ctx, const void *req, size_t len, const void **rep,
		   size_t *rep_len)
{
	client *c = ctx;
	uint32_t l32 = (uint32_t)len;
	struct iovec iov[2] = { { &l32, HDR }, { (void *)req, len } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	size_t want = HDR + len, got = 0;

	while (mh.msg_iovlen) {
		ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		while (mh.msg_iovlen && (size_t)n >= mh.msg_iov->iov_len) {
			n -= (ssize_t)mh.msg_iov->iov_len;
			mh.msg_iov++;
			mh.msg_iovlen--;
		}
		if (mh.msg_iovlen) {
			mh.msg_iov->iov_base = (char *)mh.msg_iov->iov_base + n;
			mh.msg_iov->iov_len -= (size_t)n;
		}
	}
	while (got < want) {
		ssize_t n = recv(c->fd, c->buf + got, want - got, 0);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return n ? -errno : -EPIPE;
		}
		got += (size_t)n;
		if (got >= HDR) {
			uint32_t l;
			memcpy(&l, c->buf, HDR);
			if (l != len)
				return -EPROTO;
		}
	}
	*rep = c->buf + HDR;
	*rep_len = len;
	return 0;
}

static void cl_close(void *ctx)
{
	client *c = ctx;

	close(c->fd);
	free(c->buf);
	free(c);
}

int main(int argc, char **argv)
{
	static const bench_client_ops ops = {
		.name = "uds-epoll",
		.connect = cl_connect,
		.call = cl_call,
		.close = cl_close,
	};
	bench_opts o;

	bench_parse(argc, argv, &o);
	max_size = o.max_size;
	if (!strcmp(o.mode, "server"))
		return server(&o);
	return bench_client_main(&o, &ops);
}
