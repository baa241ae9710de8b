// SPDX-License-Identifier: MIT
/*
 * Stream metadata against an lrpc:// server before 0.5.0, which never
 * heard of it: a fake one here does the handshake by hand and answers
 * lane 0 over futex as such a server does (a stream open with
 * LRPC__CALL_STREAM is answered and its stream ended at once; any other
 * call whose request length passes the buffer is refused,
 * INVALID_ARGUMENT, with stream_md left alone). The client must fail an
 * open with metadata as UNIMPLEMENTED naming the version, having run
 * nothing, open one that only wants lists the old way (they stay empty),
 * and go on opening plain streams on the same lane.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"
#include "handoff/bell.h"
#include "streams.h"
#include "wire/handshake.h"
#include "wire/lane.h"

#define BUF 4096u
#define CALLS 4 /* md refused, lists refused, lists again plain, plain */

struct old {
	int lfd;
	uint32_t flags[CALLS]; /* what each call's lane said */
	uint32_t req_len[CALLS];
};

static void send_welcome(int fd, const struct lrpc__welcome *w, int memfd)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm = { 0 };
	struct iovec iov = { .iov_base = (void *)w, .iov_len = sizeof(*w) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cm.buf, .msg_controllen = sizeof(cm.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &memfd, sizeof(int));
	ck_assert_int_eq(sendmsg(fd, &msg, 0), (ssize_t)sizeof(*w));
}

/* Wait (10 s at most) for a call on \p l. */
static void wait_call(struct lrpc__lane *l)
{
	lrpc_deadline until = lrpc_deadline_after_ms(10000);
	uint32_t w;

	atomic_fetch_add(&l->rx.sleepers, 1);
	while ((w = atomic_load(&l->rx.state)) == LRPC__RX_WAIT && lrpc_now() < until) {
		struct timespec ts = { .tv_sec = until / 1000000000,
				       .tv_nsec = until % 1000000000 };

		syscall(SYS_futex, &l->rx.state, FUTEX_WAIT_BITSET, LRPC__RX_WAIT, &ts,
			NULL, FUTEX_BITSET_MATCH_ANY);
	}
	atomic_fetch_sub(&l->rx.sleepers, 1);
	ck_assert_uint_eq(lrpc__word_state(w), LRPC__RX_CALL);
}

/* Hand the lane back with the reply written (handoff/futex.c's order). */
static void answer(struct lrpc__lane *l, uint64_t seq, lrpc_code code, const char *msg)
{
	l->reply.seq = seq;
	l->reply.code = (uint32_t)code;
	l->reply.rep_len = 0;
	l->reply.hdr_len = l->reply.trl_len = 0;
	snprintf(l->reply.message, sizeof(l->reply.message), "%s", msg);
	atomic_store(&l->rx.state, LRPC__RX_WAIT);
	atomic_store(&l->tx.state, LRPC__TX_RUNNING);
	syscall(SYS_futex, &l->tx.state, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

static void *old_server(void *arg)
{
	struct old *o = arg;
	struct lrpc__welcome w = { .magic = LRPC__WELCOME_MAGIC,
				   .version = LRPC__CTL_VERSION, .service_id = 1,
				   .nlanes_active = 1 };
	struct lrpc__hello h;
	struct lrpc__geom g;
	struct lrpc__lane *l;
	char why_end[16];
	int fd = accept(o->lfd, NULL, NULL), memfd;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(recv(fd, &h, sizeof(h), MSG_WAITALL), (ssize_t)sizeof(h));
	ck_assert_int_eq(lrpc__geom_init(&g, 1, BUF), 0);
	memfd = memfd_create("old-server", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	ck_assert_int_ge(memfd, 0);
	ck_assert_int_eq(ftruncate(memfd, (off_t)g.region_size), 0);
	ck_assert_int_eq(fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
	l = mmap(NULL, g.region_size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	ck_assert_ptr_ne(l, MAP_FAILED);
	atomic_store(&l->rx.state, LRPC__RX_WAIT);
	atomic_store(&l->rx.cpu, -1);
	atomic_store(&l->tx.cpu, -1);
	w.nlanes = g.nlanes;
	w.buf_size = g.buf_size;
	w.lane_stride = g.lane_stride;
	w.region_size = g.region_size;
	strcpy(w.handoff, "futex");
	send_welcome(fd, &w, memfd);
	close(memfd);
	for (int i = 0; i < CALLS; i++) {
		uint64_t seq;
		char why[LRPC_STATUS_MSG_MAX];

		wait_call(l);
		seq = l->call.seq;
		o->flags[i] = l->call.flags;
		o->req_len[i] = l->call.req_len;
		if (o->flags[i] & LRPC__CALL_STREAM) {
			/* Answered, and ended at once: an empty stream. */
			answer(l, seq, LRPC_OK, "");
			l->stream.end_code = LRPC_OK;
			l->stream.end_message[0] = '\0';
			atomic_store(&l->stream.end_seq, seq);
			lrpc__bell_kick(&l->stream.cli_bell);
		} else {
			ck_assert_uint_gt(o->req_len[i], BUF);
			snprintf(why, sizeof(why), "request length %u exceeds the %u-byte buffer",
				 o->req_len[i], BUF);
			answer(l, seq, LRPC_INVALID_ARGUMENT, why);
		}
	}
	/* Until the client hangs up: a server that goes at once would fail
	 * the last open it answered (the server went away). */
	while (recv(fd, why_end, sizeof(why_end), 0) > 0)
		;
	munmap(l, g.region_size);
	close(fd);
	return NULL;
}

/* Open Echo with \p opts (may be NULL) and read it to its end. */
static lrpc_code open_read(lrpc_channel *ch, const lrpc_call_opts *opts, lrpc_status *st)
{
	ProtobufCMessage *in;
	lrpc_stream *s;
	lrpc_code code;

	code = lrpc_stream_open_opts(ch, lrpctest_streams_echo, lrpc_deadline_after_ms(10000),
				     opts, &s, st);
	if (code != LRPC_OK) {
		ck_assert_ptr_null(s);
		return code;
	}
	code = lrpc_stream_read(s, &in, st);
	ck_assert_ptr_null(in);
	lrpc_stream_free(s);
	return code;
}

START_TEST(stream_metadata_old_lane_server)
{
	const lrpc_metadata md[] = { { "x-trace", "old", 3 } };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	lrpc_channel_opts co;
	lrpc_call_opts o = LRPC_CALL_OPTS_INIT;
	struct old srv = { 0 };
	lrpc_channel *ch;
	lrpc_status st;
	pthread_t t;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/old-lane", h_dir_setup());
	srv.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(srv.lfd, 0);
	ck_assert_int_eq(bind(srv.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(srv.lfd, 4), 0);
	ck_assert_int_eq(pthread_create(&t, NULL, old_server, &srv), 0);
	lrpc_channel_opts_init(&co);
	co.handoff = "futex"; /* the fake speaks only futex */
	ck_assert_int_eq(lrpc_channel_open("lrpc://old-lane", &co, &ch), 0);
	ck_assert_int_eq(lrpc_metadata_list_new(&o.trailers), 0);
	o.metadata = md;
	o.n_metadata = 1;
	ck_assert_int_eq(open_read(ch, &o, &st), LRPC_UNIMPLEMENTED);
	ck_assert_ptr_nonnull(strstr(st.message, "stream metadata"));
	ck_assert_ptr_nonnull(strstr(st.message, "0.5.0"));
	/* Lists alone: opened again without them, and they stay empty. */
	o.n_metadata = 0;
	ck_assert_int_eq(open_read(ch, &o, &st), LRPC_OK);
	ck_assert_uint_eq(lrpc_metadata_list_get(o.trailers, NULL), 0);
	ck_assert_msg(open_read(ch, NULL, &st) == LRPC_OK, "plain open: %s", st.message);
	lrpc_metadata_list_free(o.trailers);
	lrpc_channel_close(ch);
	pthread_join(t, NULL);
	/* Refused as unary calls: no stream bit, a length past any buffer. */
	for (int i = 0; i < 2; i++) {
		ck_assert_uint_eq(srv.flags[i], LRPC__CALL_STREAM_MD);
		ck_assert_uint_eq(srv.req_len[i], LRPC__STREAM_MD_REQ_LEN);
	}
	ck_assert_uint_eq(srv.flags[2], LRPC__CALL_STREAM);
	ck_assert_uint_eq(srv.flags[3], LRPC__CALL_STREAM);
	close(srv.lfd);
}
END_TEST

H_MAIN("lane_old_server", 60, stream_metadata_old_lane_server)
