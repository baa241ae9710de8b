// SPDX-License-Identifier: MIT
/*
 * Socket frames through a real server loop. Two servers run in this
 * process, on unix:// sockets: one hands calls to the worker pool, one runs
 * them inline on its I/O thread. Each input is written as it is on a fresh
 * connection to each, while the replies are read. Invariants:
 *  - every well-formed call (frames judged as the server judges them) gets
 *    exactly one reply with its call id and a valid header, and nothing
 *    else comes back but the one error frame for a malformed header, after
 *    which the server hangs up (with pooled handlers, the replies of calls
 *    still running then may be dropped with the connection);
 *  - a connection that ends mid-frame is kept open, its calls answered;
 *  - the server answers an Echo call on a channel of its own afterwards.
 * A well-formed CANCEL (wire/frame.h) is not a call: it gets no frame of
 * its own, and a call it names still gets exactly one (its reply, or a
 * bare CANCELLED header once the server took the cancel first); a CANCEL
 * for an id that is not a call in flight changes nothing.
 * From the first other stream frame on, what comes back depends
 * on threads (a stream's handler runs on its own), so the input is sent
 * whole, the write side shut, and only this is checked: every frame back
 * is well-formed and of a kind a server sends, and the server hangs up
 * (at our end of input) rather than hang.
 * Replies and ENDs with response metadata (to calls and OPENs with
 * LRPC__FRAME_CALL_MD) must
 * read as a client reads them; the input itself is also read as such a
 * reply, the client's parser of what a server sends.
 * Inputs are cut after MAX_CALLS frames, past the server's default
 * max_pipelined (64), so that pausing and resuming a connection's reads is
 * fuzzed too (it once stalled a connection for good: issue 10, defect 1).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuzz.h"

#define MAX_MSG 65536u
#define MAX_CALLS 160

enum tail { TAIL_NONE, TAIL_PARTIAL, TAIL_BAD, TAIL_STREAM };

struct side {
	const char *what;
	char path[108];
	bool inline_handlers;
	lrpc_channel *ch;
};

static struct side sides[2] = {
	{ .what = "pooled handlers" },
	{ .what = "inline handlers", .inline_handlers = true },
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char uri[128];

	(void)argc, (void)argv;
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < 2; i++) {
		struct side *s = &sides[i];

		fz_runtime_path(s->path, sizeof(s->path), "fuzz-frames",
				s->inline_handlers ? "-inline.sock" : ".sock");
		unlink(s->path);
		snprintf(uri, sizeof(uri), "unix://%s", s->path);
		fz_server(uri, s->inline_handlers, MAX_MSG, 1);
		s->ch = fz_channel(uri);
	}
	return 0;
}

struct expect {
	size_t send_len;       /* what is written: the input, maybe cut */
	size_t ncalls, nframes; /* calls; calls and cancels */
	uint64_t ids[MAX_CALLS];
	bool answered[MAX_CALLS];
	enum tail tail;
	uint64_t bad_id; /* the error frame's call id, for TAIL_BAD */
	bool spare_used;
};

/* The frames in data as the server will see them. */
static void judge(const uint8_t *data, size_t size, struct expect *e)
{
	size_t off = 0;

	memset(e, 0, sizeof(*e));
	while (off < size) {
		struct fz_frame f;
		int ret;

		if (size - off < fz_frame_hdr) {
			e->tail = TAIL_PARTIAL;
			break;
		}
		ret = fz_frame_get_request(data + off, MAX_MSG, &f);
		if (ret == 0 && f.kind == 'C') { /* no body: checked */
			off += fz_frame_hdr;
			if (++e->nframes == MAX_CALLS)
				break;
			continue;
		}
		if (ret == 0 && f.kind) {
			e->tail = TAIL_STREAM;
			off = size;
			break;
		}
		if (ret < 0 || f.msg_len) {
			e->tail = TAIL_BAD;
			e->bad_id = ret == -EMSGSIZE ? f.call_id : 0;
			off = size;
			break;
		}
		if (size - off - fz_frame_hdr < f.body_len) {
			e->tail = TAIL_PARTIAL;
			break;
		}
		off += fz_frame_hdr + f.body_len;
		e->ids[e->ncalls++] = f.call_id;
		if (++e->nframes == MAX_CALLS)
			break;
	}
	e->send_len = e->tail == TAIL_NONE ? off : size;
}

/* Take the reply frames at the start of buf[0, *len). \return how many
 * calls are still unanswered, or -1 once the error frame came. */
static long take_replies(const struct side *s, struct expect *e,
			 unsigned char *buf, size_t *len, bool *error_seen)
{
	size_t off = 0;
	long left = 0;

	while (*len - off >= fz_frame_hdr) {
		struct fz_frame f;
		size_t k;

		if (fz_frame_get(buf + off, MAX_MSG + LRPC_STATUS_MSG_MAX +
				 fz_frame_md_max, &f) || f.call_md)
			fz_die("%s: malformed reply header", s->what);
		if (*len - off - fz_frame_hdr < f.body_len)
			break;
		/* Response metadata (to calls that sent the flag: only
		 * replies carry lengths there) reads as a client reads it. */
		if ((!f.kind || f.kind == 'E') && f.timeout_ns &&
		    fz_reply_md(buf + off, fz_frame_hdr + f.body_len) < 0)
			fz_die("%s: malformed response metadata", s->what);
		if (f.kind && f.kind != 'E' && f.kind != 'M' && f.kind != 'W')
			fz_die("%s: a server sent a '%c' frame", s->what, f.kind);
		if ((!f.kind || f.kind == 'E') &&
		    f.method_or_code >= LRPC_CODE_COUNT)
			fz_die("%s: reply with code %u", s->what,
			       f.method_or_code);
		if (e->tail == TAIL_STREAM) { /* well-formed is all we know */
			off += fz_frame_hdr + f.body_len;
			continue;
		}
		/* Pooled, a call that ends while the error frame is being
		 * written may still be answered after it. */
		if (*error_seen && s->inline_handlers)
			fz_die("%s: a frame after the error frame", s->what);
		/* The error frame may carry the id of a call: then either
		 * may be which. */
		for (k = 0; k < e->ncalls; k++)
			if (!e->answered[k] && e->ids[k] == f.call_id)
				break;
		if (k < e->ncalls)
			e->answered[k] = true;
		else if (e->tail == TAIL_BAD && f.call_id == e->bad_id &&
			 (f.method_or_code == LRPC_INVALID_ARGUMENT ||
			  f.method_or_code == LRPC_RESOURCE_EXHAUSTED))
			*error_seen = true;
		else if (e->tail == TAIL_BAD && f.call_id == e->bad_id &&
			 !s->inline_handlers && !e->spare_used)
			e->spare_used = true; /* the error frame came first */
		else
			fz_die("%s: reply to call %llu, which was not made "
			       "(or was answered already)", s->what,
			       (unsigned long long)f.call_id);
		off += fz_frame_hdr + f.body_len;
	}
	memmove(buf, buf + off, *len - off);
	*len -= off;
	for (size_t k = 0; k < e->ncalls; k++)
		left += !e->answered[k];
	return left;
}

static void exchange(const struct side *s, const uint8_t *data,
		     struct expect *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t sent = 0, rlen = 0, rcap = 2 * (MAX_MSG + 256);
	unsigned char *rbuf = malloc(rcap);
	bool error_seen = false, eof = false, ambiguous = false, shut = false;
	long left = (long)e->ncalls;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(sa.sun_path, s->path);
	if (!rbuf || fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		fz_die("%s: cannot connect: %s", s->what, strerror(errno));
	fcntl(fd, F_SETFL, O_NONBLOCK);
	/* Write and read at once: a server that stops reading while we do
	 * not read its replies would otherwise look hung. */
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (sent < e->send_len)
			p.events |= POLLOUT;
		else if (e->tail == TAIL_STREAM && !shut)
			shut = shutdown(fd, SHUT_WR) == 0;
		else if (e->tail != TAIL_BAD && e->tail != TAIL_STREAM && !left)
			break; /* everything answered; the rest is ours */
		if (fz_poll(&p, 1, FZ_HANG_MS) == 0)
			fz_die("%s: no progress for %d ms (%ld calls "
			       "unanswered)", s->what, FZ_HANG_MS, left);
		if (p.revents & POLLOUT) {
			n = send(fd, data + sent, e->send_len - sent,
				 MSG_NOSIGNAL);
			if (n > 0)
				sent += (size_t)n;
			else if (errno != EAGAIN && e->tail != TAIL_BAD &&
				 e->tail != TAIL_STREAM)
				fz_die("%s: send: %s", s->what, strerror(errno));
			else if (errno != EAGAIN)
				sent = e->send_len; /* hung up on us */
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			n = recv(fd, rbuf + rlen, rcap - rlen, 0);
			if (n == 0 || (n < 0 && errno == ECONNRESET)) {
				eof = true;
				break;
			}
			if (n < 0 && errno != EAGAIN)
				fz_die("%s: recv: %s", s->what, strerror(errno));
			if (n > 0) {
				rlen += (size_t)n;
				left = take_replies(s, e, rbuf, &rlen,
						    &error_seen);
			}
		}
	}
	if (eof && e->tail != TAIL_BAD && e->tail != TAIL_STREAM)
		fz_die("%s: hung up with %ld well-formed calls unanswered",
		       s->what, left);
	if (rlen && e->tail != TAIL_BAD && e->tail != TAIL_STREAM)
		fz_die("%s: %zu bytes of a reply left over", s->what, rlen);
	/* Inline, the calls before the bad frame have run by the time it is
	 * seen; pooled, the hang-up may overtake them. */
	for (size_t k = 0; k < e->ncalls; k++)
		ambiguous |= e->ids[k] == e->bad_id;
	if (e->tail == TAIL_BAD && s->inline_handlers &&
	    left > (ambiguous && !error_seen))
		fz_die("%s: %ld calls before a malformed frame unanswered",
		       s->what, left);
	close(fd);
	free(rbuf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct expect e;

	/* The input as a reply, too, to a client that sent metadata. */
	(void)fz_reply_md(data, size);
	judge(data, size, &e);
	for (int i = 0; i < 2; i++) {
		struct expect mine = e;

		exchange(&sides[i], data, &mine);
		fz_probe(sides[i].ch, sides[i].what);
	}
	return 0;
}
