// SPDX-License-Identifier: MIT
/*
 * A grpc:// server connection fed raw bytes: the input is what a client
 * sends after connecting (the HTTP/2 preface and frames, or garbage),
 * followed by a PING and the end of the client's writing. Invariants:
 *  - the server closes the connection within FZ_HANG_MS of the client's
 *    end, whatever came before (nghttp2 on the loop: a connection error
 *    costs the connection, a bad request its stream);
 *  - what it sent back begins with its SETTINGS frame and is a sequence
 *    of whole HTTP/2 frames (ending mid-frame only if it hung up on us);
 *  - a well-formed Echo call on a fresh connection is then answered with
 *    its payload (the server is alive and unharmed).
 * The server serves lrpctest.Probe and lrpctest.Streams.
 * The seeds (gen-corpus) are valid calls of every kind and requests
 * wrong in one way each.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "streams.h"

static struct sockaddr_in addr;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	lrpc_server *srv;
	char uri[128];
	const char *colon;

	(void)argc, (void)argv;
	signal(SIGPIPE, SIG_IGN);
	fz_server_register = lrpctest_streams_register;
	srv = fz_server("grpc://127.0.0.1:0", false, 65536, 1);
	if (lrpc_server_listener_uri(srv, 0, uri, sizeof(uri)) < 0 ||
	    !(colon = strrchr(uri, ':')))
		fz_die("no grpc:// address");
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)atoi(colon + 1));
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return 0;
}

static int dial(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), err = 0;
	socklen_t len = sizeof(err);
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	if (fd < 0)
		fz_die("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
		return fd;
	/* A signal (libFuzzer's timers) interrupts the call, not the
	 * connect: it goes on, and its outcome is read once it is done. */
	if (errno != EINTR)
		fz_die("connect: %s", strerror(errno));
	if (fz_poll(&p, 1, FZ_HANG_MS) < 0 || !(p.revents & POLLOUT) ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err)
		fz_die("connect: %s", err ? strerror(err) : "no answer");
	return fd;
}

/* Write all of it, reading what comes back meanwhile (a server that
 * answers while we write must not deadlock us). */
static void send_all(int fd, const uint8_t *p, size_t n, unsigned char **in,
		     size_t *in_len, size_t *in_cap)
{
	while (n) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLOUT };
		ssize_t k;

		if (fz_poll(&pfd, 1, FZ_HANG_MS) <= 0)
			fz_die("the server neither reads nor writes");
		if (pfd.revents & POLLIN) {
			if (*in_len == *in_cap) {
				*in_cap = *in_cap ? *in_cap * 2 : 65536;
				*in = realloc(*in, *in_cap);
				if (!*in)
					fz_die("out of memory");
			}
			k = read(fd, *in + *in_len, *in_cap - *in_len);
			if (k <= 0)
				return; /* it hung up: the rest is moot */
			*in_len += (size_t)k;
		}
		if (pfd.revents & POLLOUT) {
			k = write(fd, p, n);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0)
				return;
			p += k;
			n -= (size_t)k;
		}
		if (pfd.revents & (POLLERR | POLLHUP))
			return;
	}
}

/* Read until the server closes; die if it does not in time. */
static void read_to_end(int fd, unsigned char **in, size_t *in_len,
			size_t *in_cap)
{
	lrpc_deadline until = lrpc_deadline_after_ms(FZ_HANG_MS);

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t k;

		if (lrpc_now() > until || fz_poll(&pfd, 1, FZ_HANG_MS) <= 0)
			fz_die("the server kept the connection open");
		if (*in_len == *in_cap) {
			*in_cap = *in_cap ? *in_cap * 2 : 65536;
			*in = realloc(*in, *in_cap);
			if (!*in)
				fz_die("out of memory");
		}
		k = read(fd, *in + *in_len, *in_cap - *in_len);
		if (k <= 0)
			return;
		*in_len += (size_t)k;
	}
}

/* Whole frames, SETTINGS first; the last may be cut short (a server
 * hanging up on unread input makes TCP reset the rest). */
static void frames_ok(const unsigned char *p, size_t n)
{
	size_t off = 0;

	if (n && (n < 9 || p[3] != 4 /* SETTINGS */))
		fz_die("the server's first frame is not SETTINGS");
	while (n - off >= 9) {
		size_t len = (size_t)p[off] << 16 | (size_t)p[off + 1] << 8 | p[off + 2];

		if (len > 16384)
			fz_die("the server sent a frame of %zu bytes", len);
		if (n - off - 9 < len)
			return;
		off += 9 + len;
	}
}

static const uint8_t preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

static size_t frame(uint8_t *out, uint8_t type, uint8_t flags, uint32_t id,
		    const void *payload, size_t len)
{
	out[0] = (uint8_t)(len >> 16);
	out[1] = (uint8_t)(len >> 8);
	out[2] = (uint8_t)len;
	out[3] = type;
	out[4] = flags;
	out[5] = (uint8_t)(id >> 24);
	out[6] = (uint8_t)(id >> 16);
	out[7] = (uint8_t)(id >> 8);
	out[8] = (uint8_t)id;
	if (len)
		memcpy(out + 9, payload, len);
	return 9 + len;
}

/* A literal header field without indexing, no Huffman. */
static size_t literal(uint8_t *out, const char *name, const char *value)
{
	size_t n = strlen(name), v = strlen(value);

	out[0] = 0;
	out[1] = (uint8_t)n;
	memcpy(out + 2, name, n);
	out[2 + n] = (uint8_t)v;
	memcpy(out + 3 + n, value, v);
	return 3 + n + v;
}

/* An Echo call on a fresh connection must come back with its payload. */
static void probe(void)
{
	static const uint8_t ping[8] = "fz-ping";
	static const uint8_t echo[] = { 0, 0, 0, 0, 9, 0x0a, 7, 'p', 'r', 'o',
					'b', 'e', '!', '!' };
	uint8_t out[512], hdr[256];
	unsigned char *in = NULL;
	size_t n = 0, h = 0, in_len = 0, in_cap = 0;
	int fd = dial();
	bool found = false;

	memcpy(out, preface, sizeof(preface) - 1);
	n = sizeof(preface) - 1;
	n += frame(out + n, 4, 0, 0, NULL, 0);
	h += literal(hdr + h, ":method", "POST");
	h += literal(hdr + h, ":scheme", "http");
	h += literal(hdr + h, ":path", "/lrpctest.Probe/Echo");
	h += literal(hdr + h, ":authority", "fuzz");
	h += literal(hdr + h, "te", "trailers");
	h += literal(hdr + h, "content-type", "application/grpc");
	n += frame(out + n, 1, 4 /* END_HEADERS */, 1, hdr, h);
	n += frame(out + n, 0, 1 /* END_STREAM */, 1, echo, sizeof(echo));
	n += frame(out + n, 6, 0, 0, ping, sizeof(ping));
	send_all(fd, out, n, &in, &in_len, &in_cap);
	/* The reply's DATA: prefix + field 1 = "probe!!". */
	for (lrpc_deadline until = lrpc_deadline_after_ms(FZ_HANG_MS); !found;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t k;

		if (lrpc_now() > until || fz_poll(&pfd, 1, FZ_HANG_MS) <= 0)
			fz_die("no answer to the probe call");
		if (in_len == in_cap) {
			in_cap = in_cap ? in_cap * 2 : 65536;
			in = realloc(in, in_cap);
			if (!in)
				fz_die("out of memory");
		}
		k = read(fd, in + in_len, in_cap - in_len);
		if (k <= 0)
			fz_die("the server hung up on the probe call");
		in_len += (size_t)k;
		found = memmem(in, in_len, echo + 5, sizeof(echo) - 5) != NULL;
	}
	free(in);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t ping[8] = "fz-last";
	uint8_t tail[32];
	unsigned char *in = NULL;
	size_t in_len = 0, in_cap = 0, t;
	int fd = dial();

	send_all(fd, data, size, &in, &in_len, &in_cap);
	t = frame(tail, 6, 0, 0, ping, sizeof(ping));
	send_all(fd, tail, t, &in, &in_len, &in_cap);
	shutdown(fd, SHUT_WR);
	read_to_end(fd, &in, &in_len, &in_cap);
	close(fd);
	frames_ok(in, in_len);
	free(in);
	probe();
	return 0;
}
