// SPDX-License-Identifier: MIT
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "probe.lrpc.h"
#include "rawframe.h"

void raw_put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

void raw_put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

uint32_t raw_get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

uint64_t raw_get64(const unsigned char *p)
{
	return raw_get32(p) | (uint64_t)raw_get32(p + 4) << 32;
}

void raw_header(unsigned char *h, uint32_t body, uint64_t id, uint32_t method)
{
	memset(h, 0, RAW_HDR);
	raw_put32(h, RAW_MAGIC);
	raw_put32(h + 4, body);
	raw_put64(h + 8, id);
	raw_put32(h + 16, method);
	raw_put64(h + 24, 5000000000ull);
}

int raw_connect(const char *uri)
{
	int fd;

	if (!strncmp(uri, "unix://", 7)) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		ck_assert_uint_lt(strlen(uri + 7), sizeof(sa.sun_path));
		strcpy(sa.sun_path, uri + 7);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	} else {
		char host[300];
		char *colon;
		struct addrinfo *ai;

		ck_assert_msg(!strncmp(uri, "tcp://", 6), "uri %s", uri);
		snprintf(host, sizeof(host), "%s", uri + 6);
		colon = strrchr(host, ':');
		ck_assert_ptr_nonnull(colon);
		*colon = '\0';
		ck_assert_int_eq(getaddrinfo(host, colon + 1, NULL, &ai), 0);
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ck_assert_int_eq(connect(fd, ai->ai_addr, ai->ai_addrlen), 0);
		freeaddrinfo(ai);
	}
	return fd;
}

bool raw_read_n(int fd, unsigned char *buf, size_t n)
{
	while (n) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		ck_assert_msg(poll(&p, 1, 10000) == 1, "no reply within 10 s");
		r = read(fd, buf, n);
		if (r <= 0)
			return false;
		buf += r;
		n -= (size_t)r;
	}
	return true;
}

bool raw_reply(int fd, uint32_t *code, uint64_t *id, unsigned char *body,
	       size_t cap, uint32_t *len)
{
	unsigned char h[RAW_HDR];

	if (!raw_read_n(fd, h, RAW_HDR))
		return false;
	ck_assert_uint_eq(raw_get32(h), RAW_MAGIC);
	*code = raw_get32(h + 16);
	*id = raw_get64(h + 8);
	*len = raw_get32(h + 4);
	ck_assert_uint_le(*len, cap);
	ck_assert(raw_read_n(fd, body, *len));
	return true;
}

void raw_echo(int fd, uint64_t id, uint8_t seq)
{
	unsigned char f[RAW_HDR + 2];

	raw_header(f, 2, id, LRPCTEST__PROBE__ECHO__ID);
	f[RAW_HDR] = 0x10; /* field 2 (seq), varint */
	f[RAW_HDR + 1] = seq & 0x7f;
	ck_assert_int_eq(write(fd, f, sizeof(f)), (ssize_t)sizeof(f));
}

int raw_fd_count(int pid)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}
