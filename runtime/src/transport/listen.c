// SPDX-License-Identifier: MIT
/* Listening sockets on a server's loop, for the transports to build on. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/peer_acl.h"
#include "serve/host.h"
#include "transport/transport.h"

/* mkdir -p with mode 0700 for what it creates. */
static int make_dir(const char *path)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* The lock of socket file PATH: DIR/.BASE.lock, which no lrpc:// name
 * can be (names do not start with a dot). */
static int lock_path(const char *path, char *buf, size_t len)
{
	const char *base = strrchr(path, '/');
	int n;

	base = base ? base + 1 : path;
	n = snprintf(buf, len, "%.*s.%s.lock", (int)(base - path), path, base);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/*
 * A socket file belongs to whoever holds an exclusive flock on its lock
 * file, for as long as that process lives: two servers starting at once
 * cannot both see the name free, and a killed server's lock goes with it.
 * \return the lock's fd, -EADDRINUSE (held), -errno.
 */
static int lock_name(const char *path)
{
	char lock[sizeof(((struct lrpc__listener *)0)->path) + 16];
	struct stat held, named;
	int fd, ret = lock_path(path, lock, sizeof(lock));

	if (ret < 0)
		return ret;
	for (;;) {
		fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0)
			return -errno;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			ret = errno == EWOULDBLOCK ? -EADDRINUSE : -errno;
			close(fd);
			return ret;
		}
		/* The owner before us removes the file as it leaves: if it
		 * did after our open, we hold a lock nobody else will look
		 * at. Only the file still under the name counts. */
		if (fstat(fd, &held) == 0 && stat(lock, &named) == 0 &&
		    held.st_dev == named.st_dev && held.st_ino == named.st_ino)
			return fd;
		close(fd);
	}
}

void lrpc__listen_unclaim(struct lrpc__listener *l)
{
	char lock[sizeof(l->path) + 16];

	if (l->lock_fd < 0)
		return;
	/* The socket first: once the lock file is gone, the next owner may
	 * bind at once. */
	if (l->path[0])
		unlink(l->path);
	if (lock_path(l->path, lock, sizeof(lock)) == 0)
		unlink(lock);
	close(l->lock_fd);
	l->lock_fd = -1;
	l->path[0] = '\0';
}

/* With the name's lock held, a socket file there is a dead server's (or
 * one from a version without locks, still alive: then it stays). */
static int claim_path(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, ret = 0;

	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		ret = -EADDRINUSE;
	else if (errno == ECONNREFUSED)
		unlink(path);
	close(fd);
	return ret;
}

/*
 * Whoever may write the runtime directory may replace every name in it:
 * it must be a directory of ours (or root's) that nobody else can write.
 * In the shared /tmp fallback another user could have made it first, so
 * there it must be ours, closed to all, and not a symlink. A server that
 * admits other users (\p acl) may also share a directory with them that
 * is sticky (no one removes another's socket) and writable by one of its
 * groups but not by others. On refusal \p why says what to do.
 */
static int check_runtime_dir(const char *dir, const lrpc_peer_acl *acl,
			     char *why, size_t why_len)
{
	char fallback[64];
	struct stat st;
	bool tmp;

	snprintf(fallback, sizeof(fallback), "/tmp/lazyrpc-%u",
		 (unsigned int)getuid());
	tmp = strcmp(dir, fallback) == 0;
	if ((tmp ? lstat(dir, &st) : stat(dir, &st)) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode) &&
	    (st.st_uid == geteuid() || (!tmp && st.st_uid == 0)) &&
	    !(st.st_mode & (tmp ? 077 : 022)))
		return 0;
	if (!tmp && S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX) &&
	    !(st.st_mode & S_IWOTH) && lrpc__peer_acl_has_gid(acl, st.st_gid))
		return 0;
	snprintf(why, why_len,
		 "runtime directory %s is not private to uid %u (owner %u, "
		 "mode %03o%s): remove it if someone else made it, or set "
		 "LAZYRPC_DIR or XDG_RUNTIME_DIR to a directory only you can write",
		 dir, (unsigned int)geteuid(), (unsigned int)st.st_uid,
		 (unsigned int)(st.st_mode & 07777),
		 S_ISDIR(st.st_mode) ? "" : ", not a directory");
	return -EACCES;
}

int lrpc__listen_pipe(struct lrpc__host *h, struct lrpc__listener *l,
		      const char *path, bool make_dirs, uv_connection_cb cb)
{
	struct stat st;
	int ret;

	if (strlen(path) >= sizeof(l->path))
		return -ENAMETOOLONG;
	strcpy(l->path, path);
	if (make_dirs) {
		char dir[sizeof(l->path)];
		char *slash;

		strcpy(dir, l->path);
		slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = '\0';
			ret = make_dir(dir);
			if (ret == 0)
				ret = check_runtime_dir(dir, h->acl, h->error,
							sizeof(h->error));
			if (ret < 0)
				return ret;
		}
	}
	ret = lock_name(l->path);
	if (ret < 0)
		return ret;
	l->lock_fd = ret;
	ret = claim_path(l->path);
	if (ret == 0 && lstat(l->path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
		/* bind() would say only EADDRINUSE, as for a live server. */
		snprintf(h->error, sizeof(h->error),
			 "%s exists and is not a socket: remove it or choose "
			 "another name", l->path);
		ret = -EEXIST;
	}
	if (ret == 0)
		ret = uv_pipe_init(&h->loop, &l->h.pipe, 0);
	if (ret < 0) {
		l->path[0] = '\0'; /* a live server's, or none */
		lrpc__listen_unclaim(l);
		return ret;
	}
	l->h.handle.data = h;
	ret = uv_pipe_bind(&l->h.pipe, l->path);
	if (ret == 0)
		ret = uv_listen(&l->h.stream, 128, cb);
	if (ret == 0) {
		chmod(l->path, h->acl ? 0666 : 0600);
	} else {
		l->path[0] = '\0'; /* not ours to unlink */
		lrpc__listen_unclaim(l);
	}
	return ret;
}

int lrpc__listen_tcp(struct lrpc__host *h, struct lrpc__listener *l,
		     const struct lrpc__addr *addr, uv_connection_cb cb)
{
	struct addrinfo hints = {
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICSERV | AI_PASSIVE,
	}, *res;
	struct sockaddr_storage ss;
	int len = sizeof(ss), ret;
	char host[64];
	unsigned int port;

	if (getaddrinfo(addr->host, addr->port, &hints, &res) != 0)
		return -EADDRNOTAVAIL;
	ret = uv_tcp_init(&h->loop, &l->h.tcp);
	if (ret < 0) {
		freeaddrinfo(res);
		return ret;
	}
	l->h.handle.data = h;
	uv_tcp_nodelay(&l->h.tcp, 1);
	ret = uv_tcp_bind(&l->h.tcp, res->ai_addr, 0);
	freeaddrinfo(res);
	if (ret == 0)
		ret = uv_listen(&l->h.stream, 128, cb);
	if (ret == 0)
		ret = uv_tcp_getsockname(&l->h.tcp, (struct sockaddr *)&ss, &len);
	if (ret < 0)
		return ret;
	/* Report the port the kernel picked when asked for port 0. */
	if (ss.ss_family == AF_INET6) {
		uv_ip6_name((struct sockaddr_in6 *)&ss, host, sizeof(host));
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		snprintf(l->uri, sizeof(l->uri), "tcp://[%s]:%u", host, port);
	} else {
		uv_ip4_name((struct sockaddr_in *)&ss, host, sizeof(host));
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		snprintf(l->uri, sizeof(l->uri), "tcp://%s:%u", host, port);
	}
	return 0;
}

bool lrpc__peer_allowed(const struct lrpc__host *h, uv_handle_t *handle,
			char *why, size_t why_len)
{
	struct ucred cred;
	uv_os_fd_t fd;
	int ret;

	if (h->opts.allow_any_uid)
		return true;
	ret = uv_fileno(handle, &fd) < 0 ? -EBADF :
		lrpc__peer_acl_check(h->acl, fd, false, &cred);
	if (ret == 0)
		return true;
	if (ret != -EACCES)
		snprintf(why, why_len, "the server could not learn the peer's "
			 "credentials: %s", strerror(-ret));
	else if (h->acl)
		snprintf(why, why_len,
			 "uid %u may not connect: neither it nor its groups are "
			 "in this server's peer ACL (lrpc_server_set_peer_acl)",
			 (unsigned int)cred.uid);
	else
		snprintf(why, why_len,
			 "uid %u may not connect: this server admits uid %u only "
			 "(lrpc_server_set_peer_acl, allow_any_uid)",
			 (unsigned int)cred.uid, (unsigned int)geteuid());
	return false;
}
