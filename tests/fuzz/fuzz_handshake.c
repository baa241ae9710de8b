// SPDX-License-Identifier: MIT
/*
 * The lrpc:// handshake, server side: each input is written as it is to a
 * fresh connection to a real server's control socket, then our side of the
 * connection is shut for writing. Invariants:
 *  - fewer bytes than a hello get no answer, only the hang-up;
 *  - a hello gets exactly one welcome with the right magic and version,
 *    and the status the hello calls for (fz_hello_expect()); a welcome of
 *    status 0 carries the region's descriptor and the server's geometry,
 *    any other none;
 *  - the server hangs up afterwards (our end is shut), and answers an Echo
 *    call over lrpc:// on a channel of its own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuzz.h"

#define RECEIVERS 1u
#define MAX_MSG 4096u

static char ctl_path[108];
static lrpc_channel *probe_ch;

/* The hello's cpu_plus1 is read by the NUMA placement: have the server
 * follow its clients (which does nothing on a machine of one node). */
static int follow_clients(lrpc_server *srv)
{
	return lrpc_server_set_numa(srv, LRPC_NUMA_FOLLOW_CLIENT);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char name[64], dir[200], uri[128];

	(void)argc, (void)argv;
	signal(SIGPIPE, SIG_IGN);
	fz_server_register = follow_clients;
	snprintf(name, sizeof(name), "fuzz-handshake-%d", (int)getpid());
	snprintf(uri, sizeof(uri), "lrpc://%s", name);
	fz_server(uri, false, MAX_MSG, RECEIVERS);
	if (lrpc_runtime_dir(dir, sizeof(dir)) < 0 ||
	    (size_t)snprintf(ctl_path, sizeof(ctl_path), "%s/%s", dir, name) >=
		    sizeof(ctl_path))
		fz_die("no control socket path");
	probe_ch = fz_channel(uri);
	return 0;
}

/* Read what the server sends until it hangs up: at most one welcome,
 * with the descriptor it carries (-1 without). \return bytes read. */
static size_t read_all(int fd, unsigned char *buf, size_t cap, int *memfd)
{
	size_t got = 0;

	*memfd = -1;
	for (;;) {
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(int) * 4)];
		} cm;
		struct iovec iov = { .iov_base = buf + got,
				     .iov_len = cap - got };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
				      .msg_control = cm.buf,
				      .msg_controllen = sizeof(cm.buf) };
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (got == cap)
			fz_die("the server sent more than a welcome");
		if (fz_poll(&p, 1, FZ_HANG_MS) == 0)
			fz_die("no answer nor hang-up for %d ms", FZ_HANG_MS);
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return got;
		if (n < 0)
			fz_die("recvmsg: %s", strerror(errno));
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c;
		     c = CMSG_NXTHDR(&msg, c)) {
			int fds[4];
			size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			if (c->cmsg_level != SOL_SOCKET ||
			    c->cmsg_type != SCM_RIGHTS || nfd != 1 ||
			    *memfd >= 0)
				fz_die("unexpected control message");
			memcpy(fds, CMSG_DATA(c), nfd * sizeof(int));
			*memfd = fds[0];
		}
		got += (size_t)n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	unsigned char reply[512]; /* a welcome and a refusal's reason */
	uint64_t region_size = 0;
	uint32_t nlanes = 0;
	int fd, memfd, status, want;
	size_t got, sent = 0;
	struct stat st;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	strcpy(sa.sun_path, ctl_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		fz_die("cannot connect: %s", strerror(errno));
	/* The server reads a hello and at most a byte after it: a long
	 * input may meet a closed socket, which is fine. */
	while (sent < size) {
		ssize_t n = send(fd, data + sent, size - sent, MSG_NOSIGNAL);

		if (n <= 0)
			break;
		sent += (size_t)n;
	}
	shutdown(fd, SHUT_WR);
	got = read_all(fd, reply, sizeof(reply), &memfd);
	close(fd);

	if (size < fz_hello_size) {
		if (got || memfd >= 0)
			fz_die("answered %zu bytes to a partial hello", got);
		goto probe;
	}
	if (got < fz_welcome_size)
		fz_die("answered %zu bytes to a hello, not one welcome", got);
	status = fz_welcome_get(reply, &nlanes, &region_size);
	/* A refusal is followed by its reason, in text; a welcome by nothing. */
	if (!status && got != fz_welcome_size)
		fz_die("%zu bytes after a welcome", got - fz_welcome_size);
	if (status && got - fz_welcome_size >= fz_refusal_max)
		fz_die("a refusal's reason of %zu bytes", got - fz_welcome_size);
	want = fz_hello_expect(data);
	if (status < 0)
		fz_die("the welcome has a bad magic or version");
	if (want >= 0 ? status != want : status && status != EPROTONOSUPPORT)
		fz_die("welcome status %d where the hello asks for %d", status,
		       want);
	if (status && memfd >= 0)
		fz_die("a refusal (%d) came with a descriptor", status);
	if (!status) {
		if (memfd < 0)
			fz_die("a welcome without the region's descriptor");
		if (nlanes != RECEIVERS || fstat(memfd, &st) ||
		    (uint64_t)st.st_size != region_size)
			fz_die("a welcome whose geometry is not the region's");
		close(memfd);
	}
probe:
	fz_probe(probe_ch, "handshake");
	return 0;
}
