// SPDX-License-Identifier: MIT
/* Connecting, reading and writing sockets by a deadline. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "transport/sock.h"

int lrpc__sock_wait(int fd, short events, lrpc_deadline deadline)
{
	struct pollfd p = { .fd = fd, .events = events };

	for (;;) {
		int64_t ms = (deadline - lrpc_now() + 999999) / 1000000;
		int r;

		if (ms <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, ms > 1000000 ? 1000000 : (int)ms);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

/* A Unix connect waits only for room in the listener's backlog: it blocks,
 * bounded by the deadline, and the socket becomes non-blocking after. */
static int connect_unix(const char *path, lrpc_deadline deadline)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int64_t left = deadline - lrpc_now();
	struct timeval tv;
	int fd, ret;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	if (left < 1000)
		left = 1000; /* a zero timeout would mean none at all */
	tv.tv_sec = left / 1000000000;
	tv.tv_usec = left % 1000000000 / 1000;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = errno == EAGAIN || errno == EINPROGRESS ? -ETIMEDOUT : -errno;
		close(fd);
		return ret;
	}
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

static int connect_one(int family, const struct sockaddr *sa, socklen_t len,
		       lrpc_deadline deadline)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int err = 0, ret;
	socklen_t elen = sizeof(err);

	if (fd < 0)
		return -errno;
	if (connect(fd, sa, len) == 0)
		goto connected;
	if (errno != EINPROGRESS && errno != EAGAIN) {
		ret = -errno;
		goto fail;
	}
	ret = lrpc__sock_wait(fd, POLLOUT, deadline);
	if (ret < 0)
		goto fail;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err) {
		ret = err ? -err : -errno;
		goto fail;
	}
connected:
	/* Calls are small request/reply exchanges: no Nagle delay. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	return fd;
fail:
	close(fd);
	return ret;
}

int lrpc__sock_connect(const struct lrpc__addr *addr, lrpc_deadline deadline)
{
	struct addrinfo hints = {
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICSERV,
	}, *res, *ai;
	int ret = -EHOSTUNREACH;

	if (addr->scheme != LRPC__SCHEME_TCP)
		return connect_unix(addr->path, deadline);
	if (getaddrinfo(addr->host, addr->port, &hints, &res) != 0)
		return -EHOSTUNREACH;
	for (ai = res; ai; ai = ai->ai_next) {
		ret = connect_one(ai->ai_family, ai->ai_addr, ai->ai_addrlen,
				  deadline);
		if (ret >= 0)
			break;
	}
	freeaddrinfo(res);
	return ret;
}

int lrpc__sock_write_all(int fd, const void *buf, size_t len,
			 lrpc_deadline deadline)
{
	const unsigned char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			return errno == EPIPE ? -ECONNRESET : -errno;
		n = lrpc__sock_wait(fd, POLLOUT, deadline);
		if (n < 0)
			return (int)n;
	}
	return 0;
}

ssize_t lrpc__sock_read(int fd, void *buf, size_t min, size_t cap,
			lrpc_deadline deadline)
{
	unsigned char *p = buf;
	size_t got = 0;

	while (got < min) {
		/* Wait first: a reply is rarely there the moment its request
		 * has gone, nor the rest of one the moment its start came. */
		int ret = lrpc__sock_wait(fd, POLLIN, deadline);
		ssize_t n;

		if (ret < 0)
			return ret;
		n = recv(fd, p + got, cap - got, 0);
		if (n > 0)
			got += (size_t)n;
		else if (n == 0)
			return -ECONNRESET;
		else if (errno != EINTR && errno != EAGAIN)
			return -errno;
	}
	return (ssize_t)got;
}
