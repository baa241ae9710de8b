// SPDX-License-Identifier: MIT
/*
 * Stream metadata against fake lrpc:// servers that do the handshake by
 * hand and answer lane 0 over futex:
 *  - one before 0.6.0, which never heard of it: a stream open with
 *    LRPC__CALL_STREAM is answered and its stream ended at once; any
 *    other call whose request length passes the buffer is refused,
 *    INVALID_ARGUMENT, with stream_md left alone. The client must fail an
 *    open with metadata as UNIMPLEMENTED naming the version, having run
 *    nothing, open one that only wants lists the old way (they stay
 *    empty), and go on opening plain streams on the same lane, also
 *    after an open that gave up before the refusal came;
 *  - a hostile 0.6 one, which answers opens as read and then writes
 *    metadata records of its own making before the end: a good one fills
 *    the lists, and a malformed one, one on a stream that asked for none,
 *    anything after one (a message, a second one) or a record of an
 *    unknown kind each end the stream INTERNAL, saying so, and leave the
 *    lane to the next stream (the ASan build checks that nothing leaks).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
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
#include "wire/lane_ring.h"
#include "wire/md_block.h"

#define BUF 4096u
#define MAX_CALLS 16

/* A record the hostile server writes before a stream's end. */
struct rec {
	uint32_t kind;
	const void *bytes;
	size_t len;
};

struct fake {
	int lfd;
	bool old;   /* before 0.6.0; else hostile */
	bool late;  /* answer the first call only once the client gave up */
	int calls;  /* how many to answer */
	/* Hostile: for call i, the records (up to 3, len 0 ends them). */
	struct rec recs[MAX_CALLS][3];
	/* What each call's lane said. */
	uint32_t flags[MAX_CALLS];
	uint32_t req_len[MAX_CALLS];
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

/* Until the client gives up on the call (10 s at most): it stores the
 * cancel word when its deadline passes, and wakes nobody. */
static void wait_cancelled(struct lrpc__lane *l)
{
	lrpc_deadline until = lrpc_deadline_after_ms(10000);

	while (!atomic_load(&l->call.cancel) && lrpc_now() < until)
		sched_yield();
	ck_assert_int_ne(atomic_load(&l->call.cancel), 0);
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

static void rec_put(const void *arg, unsigned char *buf)
{
	const struct rec *r = arg;

	memcpy(buf, r->bytes, r->len);
}

/* An old server's answer to call \p i, or a hostile one's. */
static void serve_call(struct fake *o, struct lrpc__lane *l, int i)
{
	struct lrpc__stream_ctl *c = &l->stream;
	uint64_t seq = l->call.seq;
	char why[LRPC_STATUS_MSG_MAX];
	struct lrpc__ring out;
	bool stream;

	o->flags[i] = l->call.flags;
	o->req_len[i] = l->call.req_len;
	stream = o->flags[i] & (o->old ? LRPC__CALL_STREAM :
				LRPC__CALL_STREAM | LRPC__CALL_STREAM_MD);
	if (!stream) {
		ck_assert_uint_gt(o->req_len[i], BUF);
		snprintf(why, sizeof(why), "request length %u exceeds the %u-byte buffer",
			 o->req_len[i], BUF);
		answer(l, seq, LRPC_INVALID_ARGUMENT, why);
		return;
	}
	if (!o->old && (o->flags[i] & LRPC__CALL_STREAM_MD))
		l->reply.stream_md = LRPC__STREAM_MD_V1;
	atomic_store(&c->s2c_tail, 0);
	atomic_store(&c->c2s_head, 0);
	answer(l, seq, LRPC_OK, "");
	lrpc__ring_init(&out, lrpc__lane_buf(l), BUF, 1, &c->s2c_tail, &c->s2c_head);
	for (int k = 0; k < 3 && o->recs[i][k].len; k++) {
		ck_assert_int_eq(lrpc__ring_room(&out, o->recs[i][k].len), 1);
		ck_assert_int_eq(lrpc__ring_put(&out, o->recs[i][k].len, o->recs[i][k].kind,
						rec_put, &o->recs[i][k]), 0);
	}
	lrpc__ring_destroy(&out);
	/* Then the end: OK, whatever came before. */
	c->end_code = LRPC_OK;
	c->end_message[0] = '\0';
	atomic_store(&c->end_seq, seq);
	lrpc__bell_kick(&c->cli_bell);
}

static void *fake_server(void *arg)
{
	struct fake *o = arg;
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
	memfd = memfd_create("fake-server", MFD_CLOEXEC | MFD_ALLOW_SEALING);
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
	for (int i = 0; i < o->calls; i++) {
		wait_call(l);
		if (i == 0 && o->late)
			wait_cancelled(l);
		serve_call(o, l, i);
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

/* A fake server thread listening where lrpc://NAME resolves, and a
 * channel to it over futex (all the fake speaks). */
static lrpc_channel *fake_up(struct fake *f, const char *name, pthread_t *t)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	lrpc_channel_opts co;
	char uri[64];
	lrpc_channel *ch;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", h_dir_setup(), name);
	f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(f->lfd, 0);
	ck_assert_int_eq(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(f->lfd, 4), 0);
	ck_assert_int_eq(pthread_create(t, NULL, fake_server, f), 0);
	lrpc_channel_opts_init(&co);
	co.handoff = "futex";
	snprintf(uri, sizeof(uri), "lrpc://%s", name);
	ck_assert_int_eq(lrpc_channel_open(uri, &co, &ch), 0);
	return ch;
}

static void fake_down(struct fake *f, lrpc_channel *ch, pthread_t t)
{
	lrpc_channel_close(ch);
	pthread_join(t, NULL);
	close(f->lfd);
}

START_TEST(stream_metadata_old_lane_server)
{
	const lrpc_metadata md[] = { { "x-trace", "old", 3 } };
	lrpc_call_opts o = LRPC_CALL_OPTS_INIT;
	struct fake srv = { .old = true, .calls = 4 };
	lrpc_channel *ch;
	lrpc_status st;
	pthread_t t;

	ch = fake_up(&srv, "old-lane", &t);
	ck_assert_int_eq(lrpc_metadata_list_new(&o.trailers), 0);
	o.metadata = md;
	o.n_metadata = 1;
	ck_assert_int_eq(open_read(ch, &o, &st), LRPC_UNIMPLEMENTED);
	ck_assert_ptr_nonnull(strstr(st.message, "stream metadata"));
	ck_assert_ptr_nonnull(strstr(st.message, "0.6.0"));
	/* Lists alone: opened again without them, and they stay empty. */
	o.n_metadata = 0;
	ck_assert_int_eq(open_read(ch, &o, &st), LRPC_OK);
	ck_assert_uint_eq(lrpc_metadata_list_get(o.trailers, NULL), 0);
	ck_assert_msg(open_read(ch, NULL, &st) == LRPC_OK, "plain open: %s", st.message);
	lrpc_metadata_list_free(o.trailers);
	fake_down(&srv, ch, t);
	/* Refused as unary calls: no stream bit, a length past any buffer. */
	for (int i = 0; i < 2; i++) {
		ck_assert_uint_eq(srv.flags[i], LRPC__CALL_STREAM_MD);
		ck_assert_uint_eq(srv.req_len[i], LRPC__STREAM_MD_REQ_LEN);
	}
	ck_assert_uint_eq(srv.flags[2], LRPC__CALL_STREAM);
	ck_assert_uint_eq(srv.flags[3], LRPC__CALL_STREAM);
}
END_TEST

/*
 * An open with metadata that gave up before the old server refused it:
 * the lane is abandoned as a stream's, yet the refusal writes no end.
 * It must still come back (the only lane) for the next open.
 */
START_TEST(stream_metadata_old_lane_server_late)
{
	const lrpc_metadata md[] = { { "x-trace", "late", 4 } };
	lrpc_call_opts o = { .metadata = md, .n_metadata = 1 };
	struct fake srv = { .old = true, .late = true, .calls = 2 };
	lrpc_stream *s;
	lrpc_channel *ch;
	lrpc_status st;
	pthread_t t;

	ch = fake_up(&srv, "late-lane", &t);
	ck_assert_int_eq(lrpc_stream_open_opts(ch, lrpctest_streams_echo,
					       lrpc_deadline_after_ms(100), &o, &s, &st),
			 LRPC_DEADLINE_EXCEEDED);
	ck_assert_msg(open_read(ch, NULL, &st) == LRPC_OK, "next open: %s", st.message);
	fake_down(&srv, ch, t);
	ck_assert_uint_eq(srv.flags[0], LRPC__CALL_STREAM_MD);
	ck_assert_uint_eq(srv.flags[1], LRPC__CALL_STREAM);
}
END_TEST

/* A metadata record of one header and one trailer, into \p buf. */
static size_t good_rec(unsigned char *buf, const char *hkey)
{
	static const unsigned char bin[] = { 0, 1 };
	const lrpc_metadata h[] = { { hkey, "v", 1 } };
	const lrpc_metadata t[] = { { "x-t-bin", bin, sizeof(bin) } };

	lrpc__md_rec_write(buf, h, 1, t, 1);
	return LRPC__MD_REC_HDR + lrpc__md_block_size(h, 1) + lrpc__md_block_size(t, 1);
}

START_TEST(stream_metadata_hostile_lane_server)
{
	static unsigned char good[64], badkey[64], past[64];
	static const unsigned char msg[] = { 0x10, 0x01 }; /* EchoMsg seq 1 */
	lrpc_call_opts o = LRPC_CALL_OPTS_INIT;
	struct fake srv = { .calls = 8 };
	size_t gl = good_rec(good, "x-h"), bl = good_rec(badkey, "Bad");
	const lrpc_metadata *e;
	lrpc_channel *ch;
	lrpc_status st;
	pthread_t t;
	struct {
		bool lists;
		struct rec recs[3];
		const char *why; /* NULL: OK */
	} scene[] = {
		{ true, { { LRPC__RING_MD, good, gl } }, NULL },
		{ true, { { LRPC__RING_MD, past, gl } }, "malformed response metadata" },
		{ true, { { LRPC__RING_MD, badkey, bl } }, "malformed response metadata" },
		{ true, { { LRPC__RING_MD, good, gl }, { LRPC__RING_MSG, msg, sizeof(msg) } },
		  "after its metadata" },
		{ true, { { 7, msg, sizeof(msg) } }, "unknown kind" },
		{ true, { { LRPC__RING_MD, good, gl }, { LRPC__RING_MD, good, gl } },
		  "after its metadata" },
		{ false, { { LRPC__RING_MD, good, gl } }, "out of turn" },
		{ false, { { 0 } }, NULL },
	};

	_Static_assert(sizeof(scene) / sizeof(scene[0]) == 8, "one scene a call");
	memcpy(past, good, gl);
	past[0] = 0xff; /* hdr_len past the record */
	for (int i = 0; i < 8; i++)
		memcpy(srv.recs[i], scene[i].recs, sizeof(scene[i].recs));
	ch = fake_up(&srv, "hostile-lane", &t);
	ck_assert_int_eq(lrpc_metadata_list_new(&o.headers), 0);
	ck_assert_int_eq(lrpc_metadata_list_new(&o.trailers), 0);
	for (int i = 0; i < 8; i++) {
		lrpc_code code = open_read(ch, scene[i].lists ? &o : NULL, &st);

		if (!scene[i].why) {
			ck_assert_msg(code == LRPC_OK, "scene %d: %s", i, st.message);
		} else {
			ck_assert_msg(code == LRPC_INTERNAL, "scene %d: %d %s", i, code, st.message);
			ck_assert_msg(strstr(st.message, scene[i].why), "scene %d: %s", i,
				      st.message);
		}
		if (i == 0) {
			e = lrpc_metadata_list_find(o.headers, "x-h");
			ck_assert_ptr_nonnull(e);
			ck_assert_mem_eq(e->value, "v", 1);
			e = lrpc_metadata_list_find(o.trailers, "x-t-bin");
			ck_assert_ptr_nonnull(e);
			ck_assert_uint_eq(e->value_len, 2);
		}
	}
	lrpc_metadata_list_free(o.headers);
	lrpc_metadata_list_free(o.trailers);
	fake_down(&srv, ch, t);
	ck_assert_uint_eq(srv.flags[0], LRPC__CALL_STREAM_MD);
	ck_assert_uint_eq(srv.flags[7], LRPC__CALL_STREAM);
}
END_TEST

H_MAIN("lane_fake_server", 60, stream_metadata_old_lane_server,
       stream_metadata_old_lane_server_late, stream_metadata_hostile_lane_server)
