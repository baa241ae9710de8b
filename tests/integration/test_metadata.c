// SPDX-License-Identifier: MIT
/*
 * Call metadata round trip, unary, on the transport under test: ASCII and
 * -bin request entries reach the handler and its interceptor, response
 * headers and trailers reach the client (trailers on an error status
 * too), reserved keys and sets over LRPC_METADATA_MAX are refused with
 * nothing sent, and the channel serves the next call. Every transport
 * carries metadata (unix:// and tcp:// since 0.5.0). Streams: the same
 * through lrpc_stream_open_opts() on every transport (lrpc:// since
 * 0.6.0, through every hand-off); oversized or reserved sets refused
 * before the open; a stream cancelled or freed with its metadata on the
 * way frees it all (the ASan build's leak check) and its lane serves the
 * next.
 */
#include <pthread.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "probe.lrpc.h"
#include "rawframe.h"
#include "streams.h"

static const unsigned char blob[] = { 0, 1, 0xff, '\n', 0x80, 0 };
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char seen_by_interceptor[64];

static lrpc_code echo(void *user, lrpc_call *call, const Lrpctest__EchoMsg *req,
		      Lrpctest__EchoMsg *rep)
{
	(void)user;
	rep->seq = req->seq;
	if (h_echo_metadata(call))
		return LRPC_INTERNAL;
	if (req->seq == 13) {
		lrpc_call_set_message(call, "thirteen");
		return LRPC_NOT_FOUND;
	}
	return LRPC_OK;
}

static lrpc_code before(void *arg, lrpc_call *call)
{
	const lrpc_metadata *t = lrpc_call_metadata_get(call, "x-trace");

	(void)arg;
	pthread_mutex_lock(&lock);
	snprintf(seen_by_interceptor, sizeof(seen_by_interceptor), "%s",
		 t ? (const char *)t->value : "");
	pthread_mutex_unlock(&lock);
	return LRPC_OK;
}

static lrpc_server *start(char *uri, size_t len)
{
	static const Lrpctest__Probe_Handlers h = { .echo = echo };
	static const lrpc_interceptor icpt = { .before = before };
	lrpc_server *s;

	h_dir_setup();
	ck_assert_int_eq(lrpc_server_new(NULL, &s), 0);
	ck_assert_int_eq(lrpctest__probe__register(s, &h, NULL), 0);
	ck_assert_int_eq(lrpctest_streams_register(s), 0);
	ck_assert_int_eq(lrpc_server_add_interceptor(s, &icpt), 0);
	if (!strcmp(h_transport(), "lrpc"))
		snprintf(uri, len, "lrpc://md-%d", getpid());
	else if (!strcmp(h_transport(), "unix"))
		snprintf(uri, len, "unix://%s/md.sock", getenv("LAZYRPC_DIR"));
	else if (!strcmp(h_transport(), "grpc"))
		snprintf(uri, len, "grpc://127.0.0.1:0");
	else
		snprintf(uri, len, "tcp://127.0.0.1:0");
	ck_assert_int_eq(lrpc_server_listen(s, uri), 0);
	ck_assert_int_eq(lrpc_server_listener_uri(s, 0, uri, len), 0);
	ck_assert_int_eq(lrpc_server_start(s), 0);
	return s;
}

static lrpc_code call(lrpc_channel *ch, uint64_t seq, lrpc_call_opts *o,
		      lrpc_status *st)
{
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT, *rep = NULL;
	lrpc_code code;

	req.seq = seq;
	code = lrpc_channel_call_opts(ch, &lrpctest__probe__service_desc.methods[0],
				      &req.base, (ProtobufCMessage **)&rep, 0, o, st);
	if (code == LRPC_OK) {
		ck_assert_uint_eq(rep->seq, seq);
		lrpctest__echo_msg__free_unpacked(rep, NULL);
	}
	return code;
}

/* A server, a channel to it, and \p o sending the two entries of \p md
 * with lists for what comes back. */
static lrpc_server *start_with_lists(char *uri, size_t len, lrpc_channel **ch,
				     lrpc_call_opts *o, const lrpc_metadata *md)
{
	lrpc_server *s = start(uri, len);

	ck_assert_int_eq(lrpc_channel_open(uri, NULL, ch), 0);
	ck_assert_int_eq(lrpc_metadata_list_new(&o->headers), 0);
	ck_assert_int_eq(lrpc_metadata_list_new(&o->trailers), 0);
	o->metadata = md;
	o->n_metadata = 2;
	return s;
}

/* x-trace came back as a header, x-blob-bin as a trailer. */
static void check_echoed(const lrpc_call_opts *o, const char *trace)
{
	const lrpc_metadata *e = lrpc_metadata_list_find(o->headers, "x-trace-echo");

	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->value_len, strlen(trace));
	ck_assert_mem_eq(e->value, trace, strlen(trace));
	e = lrpc_metadata_list_find(o->trailers, "x-blob-echo-bin");
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->value_len, sizeof(blob));
	ck_assert_mem_eq(e->value, blob, sizeof(blob));
}

START_TEST(metadata_round_trip)
{
	const lrpc_metadata md[] = { { "x-trace", "abc-123", 7 },
				     { "x-blob-bin", blob, sizeof(blob) } };
	lrpc_call_opts o = LRPC_CALL_OPTS_INIT;
	const lrpc_metadata *e;
	lrpc_channel *ch;
	lrpc_status st;
	char uri[300];
	lrpc_server *s = start_with_lists(uri, sizeof(uri), &ch, &o, md);

	{
		ck_assert_int_eq(call(ch, 1, &o, &st), LRPC_OK);
		check_echoed(&o, "abc-123");
		pthread_mutex_lock(&lock);
		ck_assert_str_eq(seen_by_interceptor, "abc-123");
		pthread_mutex_unlock(&lock);
		/* An error status still brings the trailers. */
		ck_assert_int_eq(call(ch, 13, &o, &st), LRPC_NOT_FOUND);
		ck_assert_ptr_nonnull(strstr(st.message, "thirteen"));
		e = lrpc_metadata_list_find(o.trailers, "x-n");
		ck_assert_ptr_nonnull(e);
		ck_assert_mem_eq(e->value, "2", 1);
		ck_assert_ptr_nonnull(lrpc_metadata_list_find(o.trailers, "x-blob-echo-bin"));
	}
	/* Without metadata: no headers left over from the last call. */
	o.n_metadata = 0;
	ck_assert_int_eq(call(ch, 2, &o, &st), LRPC_OK);
	ck_assert_ptr_null(lrpc_metadata_list_find(o.headers, "x-trace-echo"));
	lrpc_metadata_list_free(o.headers);
	lrpc_metadata_list_free(o.trailers);
	lrpc_channel_close(ch);
	lrpc_server_free(s);
}
END_TEST

/* --- Streams (lrpc_stream_open_opts) -------------------------------------- */

/* Open Echo with \p o, send seq 1 then \p last, half-close, read to the
 * end. \return the stream's final code. */
static lrpc_code stream_echo(lrpc_channel *ch, lrpc_call_opts *o, uint64_t last,
			     lrpc_status *st)
{
	Lrpctest__EchoMsg m = LRPCTEST__ECHO_MSG__INIT;
	ProtobufCMessage *in;
	lrpc_stream *s;
	lrpc_code code;

	code = lrpc_stream_open_opts(ch, lrpctest_streams_echo, lrpc_deadline_after_ms(10000),
				     o, &s, st);
	if (code != LRPC_OK)
		return code;
	m.seq = 1;
	ck_assert_int_eq(lrpc_stream_write(s, &m.base, st), LRPC_OK);
	ck_assert_int_eq(lrpc_stream_read(s, &in, st), LRPC_OK);
	ck_assert_ptr_nonnull(in);
	ck_assert_uint_eq(((Lrpctest__EchoMsg *)in)->seq, 1);
	m.seq = last;
	ck_assert_int_eq(lrpc_stream_write(s, &m.base, st), LRPC_OK);
	ck_assert_int_eq(lrpc_stream_close_send(s, st), LRPC_OK);
	while ((code = lrpc_stream_read(s, &in, st)) == LRPC_OK && in)
		;
	lrpc_stream_free(s);
	return code;
}

START_TEST(metadata_limits_and_reserved_keys)
{
	static char big[LRPC_METADATA_MAX];
	const lrpc_metadata reserved[] = { { "grpc-timeout", "1S", 2 } };
	const lrpc_metadata upper[] = { { "X-Trace", "1", 1 } };
	lrpc_metadata over[] = { { "x-big", big, LRPC_METADATA_MAX - 32 } };
	lrpc_call_opts o = LRPC_CALL_OPTS_INIT;
	lrpc_stream *stream = NULL;
	lrpc_channel *ch;
	lrpc_status st;
	char uri[300];
	lrpc_server *s = start(uri, sizeof(uri));

	memset(big, 'a', sizeof(big));
	ck_assert_int_eq(lrpc_channel_open(uri, NULL, &ch), 0);
	o.metadata = reserved;
	o.n_metadata = 1;
	ck_assert_int_eq(call(ch, 1, &o, &st), LRPC_INVALID_ARGUMENT);
	ck_assert_ptr_nonnull(strstr(st.message, "grpc-timeout"));
	o.metadata = upper;
	ck_assert_int_eq(call(ch, 1, &o, &st), LRPC_INVALID_ARGUMENT);
	o.metadata = over;
	ck_assert_int_eq(call(ch, 1, &o, &st), LRPC_RESOURCE_EXHAUSTED);
	/* Half the limit goes where it is carried. (Exactly at the limit,
	 * grpc:// answers RESOURCE_EXHAUSTED: its peer counts its own
	 * headers in the same budget.) */
	over[0].value_len = LRPC_METADATA_MAX / 2;
	ck_assert_int_eq(call(ch, 3, &o, &st), LRPC_OK);
	/* Nothing refused broke the channel. */
	o.n_metadata = 0;
	ck_assert_int_eq(call(ch, 4, &o, &st), LRPC_OK);
	/* A stream's is refused as a call's, before anything opens. */
	over[0].value_len = LRPC_METADATA_MAX - 32;
	o.n_metadata = 1;
	ck_assert_int_eq(lrpc_stream_open_opts(ch, lrpctest_streams_echo, 0, &o, &stream, &st),
			 LRPC_RESOURCE_EXHAUSTED);
	ck_assert_ptr_null(stream);
	ck_assert_ptr_nonnull(strstr(st.message, "exceeds"));
	o.metadata = reserved;
	ck_assert_int_eq(lrpc_stream_open_opts(ch, lrpctest_streams_echo, 0, &o, &stream, &st),
			 LRPC_INVALID_ARGUMENT);
	ck_assert_ptr_null(stream);
	ck_assert_int_eq(stream_echo(ch, NULL, 2, &st), LRPC_OK);
	lrpc_channel_close(ch);
	lrpc_server_free(s);
}
END_TEST

/* --- unix:// and tcp:// frames, by hand (wire/frame.h) ----------------- */

#define MD_FLAG 0x80000000u

static bool sock_transport(void)
{
	return !strcmp(h_transport(), "unix") || !strcmp(h_transport(), "tcp");
}

/* One md_block entry: u32 value length, u8 key length, key, value. */
static size_t md_entry(unsigned char *p, const char *key, const void *v,
		       uint32_t vlen)
{
	size_t klen = strlen(key);

	raw_put32(p, vlen);
	p[4] = (unsigned char)klen;
	memcpy(p + 5, key, klen);
	memcpy(p + 5 + klen, v, vlen);
	return 5 + klen + vlen;
}

/* An Echo request of seq \p seq with \p md_len bytes of block \p md. */
static void md_echo(int fd, uint64_t id, uint8_t seq, uint32_t msg_len,
		    const unsigned char *md, size_t md_len)
{
	unsigned char f[RAW_HDR + 2 + 256];

	raw_header(f, (uint32_t)(2 + md_len), id, LRPCTEST__PROBE__ECHO__ID);
	raw_put32(f + 20, msg_len);
	f[RAW_HDR] = 0x10;
	f[RAW_HDR + 1] = seq;
	if (md_len)
		memcpy(f + RAW_HDR + 2, md, md_len);
	ck_assert_int_eq(write(fd, f, RAW_HDR + 2 + md_len),
			 (ssize_t)(RAW_HDR + 2 + md_len));
}

struct raw_rep {
	uint32_t code, msg_len, body_len;
	uint64_t id, md_lens;
	unsigned char body[1024];
};

static bool md_reply(int fd, struct raw_rep *r)
{
	unsigned char h[RAW_HDR];

	if (!raw_read_n(fd, h, RAW_HDR))
		return false;
	ck_assert_uint_eq(raw_get32(h), RAW_MAGIC);
	r->body_len = raw_get32(h + 4);
	r->id = raw_get64(h + 8);
	r->code = raw_get32(h + 16);
	r->msg_len = raw_get32(h + 20);
	r->md_lens = raw_get64(h + 24);
	ck_assert_uint_le(r->body_len, sizeof(r->body));
	ck_assert(raw_read_n(fd, r->body, r->body_len));
	return true;
}

/*
 * What each side puts on the wire: a request without the flag (a client
 * before 0.5.0) gets a reply as before, without the headers its handler
 * added; one with it gets them after the payload, lengths in timeout_ns;
 * a broken block fails its call alone; lengths past the body end the
 * connection.
 */
START_TEST(metadata_sock_frames)
{
	unsigned char md[64], hdrs[64], trls[64];
	size_t n = 0, hl, tl;
	struct raw_rep r;
	char uri[300];
	lrpc_server *s;
	int fd;

	if (!sock_transport())
		return;
	s = start(uri, sizeof(uri));
	fd = raw_connect(uri);
	/* Old client: nothing but the payload comes back. */
	md_echo(fd, 1, 5, 0, NULL, 0);
	ck_assert(md_reply(fd, &r));
	ck_assert_uint_eq(r.code, LRPC_OK);
	ck_assert_uint_eq(r.id, 1);
	ck_assert_uint_eq(r.md_lens, 0);
	ck_assert_uint_eq(r.body_len, 2);
	ck_assert_mem_eq(r.body, "\x10\x05", 2);
	/* New client: headers and trailers after the payload. */
	n = md_entry(md, "x-trace", "abc", 3);
	n += md_entry(md + n, "x-blob-bin", blob, sizeof(blob));
	md_echo(fd, 2, 6, MD_FLAG | (uint32_t)n, md, n);
	ck_assert(md_reply(fd, &r));
	ck_assert_uint_eq(r.code, LRPC_OK);
	ck_assert_uint_eq(r.id, 2);
	hl = md_entry(hdrs, "x-trace-echo", "abc", 3);
	tl = md_entry(trls, "x-blob-echo-bin", blob, sizeof(blob));
	tl += md_entry(trls + tl, "x-n", "2", 1);
	ck_assert_uint_eq(r.md_lens, (uint64_t)tl << 32 | hl);
	ck_assert_uint_eq(r.body_len, 2 + hl + tl);
	ck_assert_mem_eq(r.body, "\x10\x06", 2);
	ck_assert_mem_eq(r.body + 2, hdrs, hl);
	ck_assert_mem_eq(r.body + 2 + hl, trls, tl);
	/* The flag alone (an empty block): the client reads what comes. */
	md_echo(fd, 3, 7, MD_FLAG, NULL, 0);
	ck_assert(md_reply(fd, &r));
	ck_assert_uint_eq(r.code, LRPC_OK);
	tl = md_entry(trls, "x-n", "2", 1);
	ck_assert_uint_eq(r.md_lens, (uint64_t)tl << 32);
	ck_assert_uint_eq(r.body_len, 2 + tl);
	ck_assert_mem_eq(r.body + 2, trls, tl);
	/* A key of length 0, an upper-case key: that call fails, alone. */
	n = md_entry(md, "x", "1", 1);
	md[4] = 0;
	md_echo(fd, 4, 8, MD_FLAG | (uint32_t)n, md, n);
	ck_assert(md_reply(fd, &r));
	ck_assert_uint_eq(r.code, LRPC_INVALID_ARGUMENT);
	ck_assert_uint_eq(r.id, 4);
	n = md_entry(md, "X-Up", "1", 1);
	md_echo(fd, 5, 9, MD_FLAG | (uint32_t)n, md, n);
	ck_assert(md_reply(fd, &r));
	ck_assert_uint_eq(r.code, LRPC_INVALID_ARGUMENT);
	ck_assert_uint_eq(r.id, 5);
	md_echo(fd, 6, 10, 0, NULL, 0);
	ck_assert(md_reply(fd, &r));
	ck_assert_uint_eq(r.code, LRPC_OK);
	ck_assert_uint_eq(r.id, 6);
	/* A block longer than the body: the frame is malformed. */
	md_echo(fd, 7, 11, MD_FLAG | 3, NULL, 0);
	ck_assert(md_reply(fd, &r));
	ck_assert_uint_eq(r.code, LRPC_INVALID_ARGUMENT);
	ck_assert_uint_eq(r.id, 0);
	ck_assert(!md_reply(fd, &r));
	close(fd);
	lrpc_server_free(s);
}
END_TEST

/* A server before 0.5.0: any request with msg_len set is a malformed
 * frame; it says so with call id 0 and hangs up. */
static void *old_server(void *arg)
{
	int lfd = *(int *)arg, fd = accept(lfd, NULL, NULL);
	unsigned char h[RAW_HDR], out[RAW_HDR + 15];

	ck_assert_int_ge(fd, 0);
	ck_assert(raw_read_n(fd, h, RAW_HDR));
	ck_assert_uint_ne(raw_get32(h + 20), 0);
	raw_header(out, 15, 0, LRPC_INVALID_ARGUMENT);
	raw_put32(out + 20, 15);
	raw_put64(out + 24, 0);
	memcpy(out + RAW_HDR, "malformed frame", 15);
	ck_assert_int_eq(write(fd, out, sizeof(out)), (ssize_t)sizeof(out));
	close(fd);
	return NULL;
}

START_TEST(metadata_sock_old_server)
{
	const lrpc_metadata md[] = { { "x-trace", "abc", 3 } };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	lrpc_call_opts o = LRPC_CALL_OPTS_INIT;
	lrpc_channel *ch;
	lrpc_status st;
	pthread_t t;
	char uri[300];
	int lfd;

	if (strcmp(h_transport(), "unix"))
		return;
	h_dir_setup();
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/old.sock",
		 getenv("LAZYRPC_DIR"));
	snprintf(uri, sizeof(uri), "unix://%s", sa.sun_path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 4), 0);
	ck_assert_int_eq(pthread_create(&t, NULL, old_server, &lfd), 0);
	ck_assert_int_eq(lrpc_channel_open(uri, NULL, &ch), 0);
	o.metadata = md;
	o.n_metadata = 1;
	ck_assert_int_eq(call(ch, 1, &o, &st), LRPC_INVALID_ARGUMENT);
	ck_assert_ptr_nonnull(strstr(st.message, "malformed frame"));
	ck_assert_ptr_nonnull(strstr(st.message, "0.5.0"));
	pthread_join(t, NULL);
	lrpc_channel_close(ch);
	close(lfd);
}
END_TEST

/*
 * A stream's request metadata reaches its handler, whose header and
 * trailer (binary) reach the client at the end, with an error status too,
 * and a stream that only passes lists works and gets none.
 */
START_TEST(stream_metadata_round_trip)
{
	const lrpc_metadata md[] = { { "x-trace", "s-42", 4 },
				     { "x-blob-bin", blob, sizeof(blob) } };
	lrpc_call_opts o = LRPC_CALL_OPTS_INIT;
	lrpc_channel *ch;
	lrpc_status st;
	char uri[300];
	lrpc_server *s = start_with_lists(uri, sizeof(uri), &ch, &o, md);

	ck_assert_int_eq(stream_echo(ch, &o, 2, &st), LRPC_OK);
	check_echoed(&o, "s-42");
	/* Ended by the handler's error: the trailers come all the same. */
	ck_assert_int_eq(stream_echo(ch, &o, UINT64_MAX, &st), LRPC_ABORTED);
	ck_assert_ptr_nonnull(strstr(st.message, "asked to abort"));
	check_echoed(&o, "s-42");
	/* Lists only: works everywhere; nothing left from before. */
	o.n_metadata = 0;
	ck_assert_int_eq(stream_echo(ch, &o, 2, &st), LRPC_OK);
	ck_assert_ptr_null(lrpc_metadata_list_find(o.headers, "x-trace-echo"));
	ck_assert_ptr_null(lrpc_metadata_list_find(o.trailers, "x-blob-echo-bin"));
	lrpc_metadata_list_free(o.headers);
	lrpc_metadata_list_free(o.trailers);
	lrpc_channel_close(ch);
	lrpc_server_free(s);
}
END_TEST

/*
 * Streams given up on with their metadata on the way: cancelled after the
 * server wrote (so its headers and trailers wait behind unread messages),
 * and freed unread. Each frees everything on both sides (ASan's leak
 * check at exit) and the channel's next stream gets its own metadata.
 */
START_TEST(stream_metadata_cancelled)
{
	const lrpc_metadata md[] = { { "x-trace", "gone", 4 },
				     { "x-blob-bin", blob, sizeof(blob) } };
	Lrpctest__EchoMsg m = LRPCTEST__ECHO_MSG__INIT;
	lrpc_call_opts o = LRPC_CALL_OPTS_INIT;
	ProtobufCMessage *in;
	lrpc_channel *ch;
	lrpc_stream *str;
	lrpc_status st;
	lrpc_code code;
	char uri[300];
	lrpc_server *s = start_with_lists(uri, sizeof(uri), &ch, &o, md);

	for (int free_only = 0; free_only < 2; free_only++) {
		ck_assert_int_eq(lrpc_stream_open_opts(ch, lrpctest_streams_echo,
						       lrpc_deadline_after_ms(10000), &o,
						       &str, &st), LRPC_OK);
		for (m.seq = 1; m.seq <= 3; m.seq++)
			ck_assert_int_eq(lrpc_stream_write(str, &m.base, &st), LRPC_OK);
		ck_assert_int_eq(lrpc_stream_close_send(str, &st), LRPC_OK);
		/* One echo read: the server is past the handler's adds. */
		ck_assert_int_eq(lrpc_stream_read(str, &in, &st), LRPC_OK);
		ck_assert_ptr_nonnull(in);
		if (!free_only) {
			lrpc_stream_cancel(str);
			/* Whatever was in flight, the end is CANCELLED or
			 * (if the end came first) OK: never anything else. */
			while ((code = lrpc_stream_read(str, &in, &st)) == LRPC_OK && in)
				;
			ck_assert(code == LRPC_CANCELLED || code == LRPC_OK);
		}
		lrpc_stream_free(str);
	}
	ck_assert_int_eq(stream_echo(ch, &o, 2, &st), LRPC_OK);
	check_echoed(&o, "gone");
	lrpc_metadata_list_free(o.headers);
	lrpc_metadata_list_free(o.trailers);
	lrpc_channel_close(ch);
	lrpc_server_free(s);
}
END_TEST

/*
 * Over lrpc:// a stream's headers and trailers travel as one ring record,
 * which must fit the ring (half the lane buffer): a trailer that does not
 * ends the stream RESOURCE_EXHAUSTED, saying so, instead of being lost,
 * and the lane serves the next stream.
 */
START_TEST(stream_metadata_past_the_ring)
{
	static unsigned char big[6000];
	const lrpc_metadata md[] = { { "x-blob-bin", big, sizeof(big) } };
	lrpc_call_opts o = { .metadata = md, .n_metadata = 1 };
	lrpc_server_opts so;
	lrpc_channel *ch;
	lrpc_server *s;
	lrpc_status st;
	char uri[300];

	if (strcmp(h_transport(), "lrpc"))
		return;
	h_dir_setup();
	lrpc_server_opts_init(&so);
	so.max_msg_size = 8192; /* rings of 4 KiB */
	ck_assert_int_eq(lrpc_server_new(&so, &s), 0);
	ck_assert_int_eq(lrpctest_streams_register(s), 0);
	snprintf(uri, sizeof(uri), "lrpc://md-ring-%d", getpid());
	ck_assert_int_eq(lrpc_server_listen(s, uri), 0);
	ck_assert_int_eq(lrpc_server_start(s), 0);
	ck_assert_int_eq(lrpc_channel_open(uri, NULL, &ch), 0);
	ck_assert_int_eq(lrpc_metadata_list_new(&o.trailers), 0);
	ck_assert_int_eq(stream_echo(ch, &o, 2, &st), LRPC_RESOURCE_EXHAUSTED);
	ck_assert_ptr_nonnull(strstr(st.message, "response metadata"));
	ck_assert_ptr_nonnull(strstr(st.message, "ring"));
	o.n_metadata = 0;
	ck_assert_int_eq(stream_echo(ch, &o, 2, &st), LRPC_OK);
	lrpc_metadata_list_free(o.trailers);
	lrpc_channel_close(ch);
	lrpc_server_free(s);
}
END_TEST

H_MAIN("metadata", 60, metadata_round_trip, metadata_limits_and_reserved_keys,
       metadata_sock_frames, metadata_sock_old_server, stream_metadata_round_trip,
       stream_metadata_cancelled, stream_metadata_past_the_ring)
