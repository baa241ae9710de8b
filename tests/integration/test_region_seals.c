// SPDX-License-Identifier: MIT
/*
 * The region a client is handed can be written, not resized: the memfd
 * arrives sealed against shrinking (the server would fault), growing (the
 * server would pay for the client's memory) and further sealing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"
#include "wire/handshake.h"

/* The handshake by hand, to keep the region's fd. \return it. */
static int region_fd(const char *path, struct lrpc__welcome *w)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct lrpc__hello h = { .magic = LRPC__HELLO_MAGIC,
				 .version = LRPC__CTL_VERSION };
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = { .iov_base = w, .iov_len = sizeof(*w) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cm.buf,
			      .msg_controllen = sizeof(cm.buf) };
	struct cmsghdr *c;
	int s, fd;

	ck_assert_uint_lt(strlen(path), sizeof(sa.sun_path));
	strcpy(sa.sun_path, path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(connect(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(send(s, &h, sizeof(h), 0), sizeof(h));
	ck_assert_int_eq(recvmsg(s, &msg, MSG_WAITALL), sizeof(*w));
	ck_assert_uint_eq(w->status, 0);
	c = CMSG_FIRSTHDR(&msg);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->cmsg_type, SCM_RIGHTS);
	memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	return fd; /* the control socket stays open: we stay connected */
}

START_TEST(region_cannot_be_resized)
{
	struct lrpc__welcome w;
	const char *dir = h_dir_setup();
	char path[256];
	struct peer srv;
	struct stat st;
	int fd, seals;

	h_probe_server(&srv, "sealed", "1", NULL);
	snprintf(path, sizeof(path), "%s/sealed", dir);
	fd = region_fd(path, &w);
	seals = fcntl(fd, F_GET_SEALS);
	ck_assert_int_ge(seals, 0);
	ck_assert_msg((seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) ==
		      (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
		      "seals 0x%x", seals);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(ftruncate(fd, st.st_size * 2), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(ftruncate(fd, st.st_size / 2), -1);
	ck_assert_int_eq(errno, EPERM);
	/* The contents are the client's to write. */
	ck_assert_int_eq(pwrite(fd, "x", 1, 4096), 1);
	close(fd);
	h_kill(&srv, SIGTERM);
}
END_TEST

H_MAIN("region_seals", 60, region_cannot_be_resized)
