// SPDX-License-Identifier: MIT
/*
 * Streams over unix:// and tcp:// against the probe server's
 * lrpctest.Streams (streams.h): each kind with 100,000 messages checked one
 * by one, half-close, cancellation, a handler's error, deadlines, either
 * side killed, a reader that stops reading (the writer blocks, memory stays
 * within its stated bound), unary calls after a stream, and the limit on
 * streams.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "probe.lrpc.h"
#include "rawframe.h"
#include "streams.h"

#define N 100000u
/* The probe's max_msg_size here, and what the server may hold for one
 * stream by lrpc_server_opts (server.h): 2 x (max(max_msg, 64 KiB) + 4 KiB). */
#define MAX_MSG 65536u
#define STREAM_BOUND (2u * (65536u + 4096u))

static struct peer srv;

static lrpc_channel *start(void)
{
	h_dir_setup();
	h_probe_server(&srv, "streams", "1", "65536");
	return h_open(&srv);
}

/* The payload of message @seq: its length and bytes follow from seq, so
 * that a message delivered out of order or mangled cannot pass. */
static size_t fill(unsigned char *buf, uint64_t seq)
{
	size_t n = seq % 23;

	for (size_t k = 0; k < n; k++)
		buf[k] = (unsigned char)(seq * 7 + k);
	return n;
}

static void check_payload(const Lrpctest__EchoMsg *m, uint64_t seq)
{
	unsigned char want[32];
	size_t n = fill(want, seq);

	ck_assert_uint_eq(m->payload.len, n);
	ck_assert_msg(n == 0 || memcmp(m->payload.data, want, n) == 0,
		      "payload of message %llu differs", (unsigned long long)seq);
}

static lrpc_code write_seq(lrpc_stream *s, uint64_t seq, lrpc_status *st)
{
	Lrpctest__EchoMsg m = LRPCTEST__ECHO_MSG__INIT;
	unsigned char buf[32];

	m.seq = seq;
	m.payload.data = buf;
	m.payload.len = fill(buf, seq);
	return lrpc_stream_write(s, &m.base, st);
}

static Lrpctest__EchoMsg *read_msg(lrpc_stream *s, lrpc_code *code,
				   lrpc_status *st)
{
	ProtobufCMessage *m = NULL;

	*code = lrpc_stream_read(s, &m, st);
	return (Lrpctest__EchoMsg *)m;
}

static lrpc_stream *open_stream(lrpc_channel *ch, const lrpc_method_desc *m,
				int64_t ms)
{
	lrpc_stream *s = NULL;
	lrpc_status st;

	ck_assert_msg(lrpc_stream_open(ch, m, lrpc_deadline_after_ms(ms), &s,
				       &st) == LRPC_OK, "open: %s", st.message);
	return s;
}

/* Wait (bounded) until the server has @n streams open. */
static void wait_streams(lrpc_channel *ch, uint64_t n)
{
	lrpc_deadline until = lrpc_deadline_after_ms(10000);
	uint64_t now;

	for (;;) {
		Lrpctest__StatsReply *r = h_stats(ch);

		now = r->streams_active;
		lrpctest__stats_reply__free_unpacked(r, NULL);
		if (now == n || lrpc_now() >= until)
			break;
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
	ck_assert_msg(now == n, "server has %llu streams open, not %llu",
		      (unsigned long long)now, (unsigned long long)n);
}

/* What the server held for one connection stays within the bound for a
 * stream (and a concurrent Stats call's own connection, max_msg + 96 KiB). */
static void check_held(lrpc_channel *ch)
{
	Lrpctest__StatsReply *r = h_stats(ch);

	ck_assert_msg(r->conn_held_peak <= STREAM_BOUND + MAX_MSG + 98304,
		      "server held %llu bytes for one connection",
		      (unsigned long long)r->conn_held_peak);
	lrpctest__stats_reply__free_unpacked(r, NULL);
}

static void finish(lrpc_channel *ch, lrpc_stream *s)
{
	lrpc_stream_free(s);
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
}

START_TEST(sum_client_streaming)
{
	lrpc_channel *ch = start();
	lrpc_stream *s = open_stream(ch, lrpctest_streams_sum, 60000);
	Lrpctest__EchoMsg *rep;
	lrpc_status st;
	lrpc_code code;

	for (uint64_t i = 0; i < N; i++)
		ck_assert_msg(write_seq(s, i, &st) == LRPC_OK, "write %llu: %s",
			      (unsigned long long)i, st.message);
	ck_assert_int_eq(lrpc_stream_close_send(s, &st), LRPC_OK);
	rep = read_msg(s, &code, &st);
	ck_assert_msg(code == LRPC_OK && rep, "%d %s", code, st.message);
	ck_assert_uint_eq(rep->seq, N);
	check_payload(rep, N - 1);
	ck_assert(!read_msg(s, &code, &st));
	ck_assert_msg(code == LRPC_OK, "end: %d %s", code, st.message);
	lrpc_stream_free(s);
	wait_streams(ch, 0);
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
}
END_TEST

START_TEST(count_server_streaming)
{
	lrpc_channel *ch = start();
	lrpc_stream *s = open_stream(ch, lrpctest_streams_count, 60000);
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT, *m;
	lrpc_status st;
	lrpc_code code;

	req.seq = N;
	req.reply_size = 9;
	ck_assert_int_eq(lrpc_stream_write(s, &req.base, &st), LRPC_OK);
	ck_assert_int_eq(lrpc_stream_close_send(s, &st), LRPC_OK);
	for (uint64_t i = 0; i < N; i++) {
		m = read_msg(s, &code, &st);
		ck_assert_msg(code == LRPC_OK && m, "read %llu: %d %s",
			      (unsigned long long)i, code, st.message);
		ck_assert_uint_eq(m->seq, i);
		ck_assert_uint_eq(m->payload.len, 9);
		ck_assert(memcmp(m->payload.data, "ccccccccc", 9) == 0);
	}
	ck_assert(!read_msg(s, &code, &st));
	ck_assert_msg(code == LRPC_OK, "end: %d %s", code, st.message);
	/* The end stays the end. */
	ck_assert(!read_msg(s, &code, &st));
	ck_assert_int_eq(code, LRPC_OK);
	finish(ch, s);
}
END_TEST

struct writer {
	lrpc_stream *s;
	uint64_t n;
	lrpc_code code;
	lrpc_status st;
};

static void *write_all(void *arg)
{
	struct writer *w = arg;

	w->code = LRPC_OK;
	for (uint64_t i = 0; i < w->n && w->code == LRPC_OK; i++)
		w->code = write_seq(w->s, i, &w->st);
	if (w->code == LRPC_OK)
		w->code = lrpc_stream_close_send(w->s, &w->st);
	return NULL;
}

START_TEST(echo_bidirectional)
{
	lrpc_channel *ch = start();
	struct writer w = { .s = open_stream(ch, lrpctest_streams_echo, 60000),
			    .n = N };
	Lrpctest__EchoMsg *m;
	lrpc_status st;
	lrpc_code code;
	pthread_t t;

	/* One thread writes while this one reads the same stream. */
	pthread_create(&t, NULL, write_all, &w);
	for (uint64_t i = 0; i < N; i++) {
		m = read_msg(w.s, &code, &st);
		ck_assert_msg(code == LRPC_OK && m, "read %llu: %d %s",
			      (unsigned long long)i, code, st.message);
		ck_assert_uint_eq(m->seq, i);
		check_payload(m, i);
	}
	ck_assert(!read_msg(w.s, &code, &st));
	ck_assert_msg(code == LRPC_OK, "end: %d %s", code, st.message);
	pthread_join(t, NULL);
	ck_assert_msg(w.code == LRPC_OK, "writer: %s", w.st.message);
	lrpc_stream_free(w.s);
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
}
END_TEST

START_TEST(half_close)
{
	lrpc_channel *ch = start();
	lrpc_stream *s = open_stream(ch, lrpctest_streams_echo, 10000);
	Lrpctest__EchoMsg *m;
	lrpc_status st;
	lrpc_code code;

	for (uint64_t i = 0; i < 3; i++)
		ck_assert_int_eq(write_seq(s, i, &st), LRPC_OK);
	ck_assert_int_eq(lrpc_stream_close_send(s, &st), LRPC_OK);
	ck_assert_int_eq(lrpc_stream_close_send(s, &st), LRPC_OK);
	/* Refused, but the stream goes on. */
	ck_assert_int_eq(write_seq(s, 3, &st), LRPC_INVALID_ARGUMENT);
	for (uint64_t i = 0; i < 3; i++) {
		m = read_msg(s, &code, &st);
		ck_assert_msg(code == LRPC_OK && m, "%d %s", code, st.message);
		ck_assert_uint_eq(m->seq, i);
	}
	ck_assert(!read_msg(s, &code, &st));
	ck_assert_int_eq(code, LRPC_OK);
	finish(ch, s);
}
END_TEST

START_TEST(cancel_mid_stream)
{
	lrpc_channel *ch = start();
	lrpc_stream *s = open_stream(ch, lrpctest_streams_count, 60000);
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT, *m;
	Lrpctest__StatsReply *r;
	lrpc_status st;
	lrpc_code code;
	uint64_t failed;

	r = h_stats(ch);
	failed = r->calls_failed;
	lrpctest__stats_reply__free_unpacked(r, NULL);
	req.seq = UINT64_MAX / 2; /* more than anyone reads */
	ck_assert_int_eq(lrpc_stream_write(s, &req.base, &st), LRPC_OK);
	for (uint64_t i = 0; i < 1000; i++) {
		m = read_msg(s, &code, &st);
		ck_assert_msg(code == LRPC_OK && m, "%d %s", code, st.message);
		ck_assert_uint_eq(m->seq, i);
	}
	wait_streams(ch, 1);
	lrpc_stream_cancel(s);
	ck_assert(!read_msg(s, &code, &st));
	ck_assert_int_eq(code, LRPC_CANCELLED);
	ck_assert_int_eq(write_seq(s, 0, &st), LRPC_CANCELLED);
	/* The handler saw it (its write failed, it returned) and the server
	 * freed the stream, long before the 60 s deadline. */
	wait_streams(ch, 0);
	r = h_stats(ch);
	ck_assert_uint_eq(r->calls_failed, failed + 1);
	lrpctest__stats_reply__free_unpacked(r, NULL);
	finish(ch, s);
}
END_TEST

START_TEST(handler_error_reaches_client)
{
	lrpc_channel *ch = start();
	lrpc_stream *s = open_stream(ch, lrpctest_streams_echo, 10000);
	Lrpctest__EchoMsg *m;
	lrpc_status st;
	lrpc_code code;

	ck_assert_int_eq(write_seq(s, 5, &st), LRPC_OK);
	m = read_msg(s, &code, &st);
	ck_assert(code == LRPC_OK && m && m->seq == 5);
	ck_assert_int_eq(write_seq(s, UINT64_MAX, &st), LRPC_OK);
	ck_assert(!read_msg(s, &code, &st));
	ck_assert_int_eq(code, LRPC_ABORTED);
	ck_assert_str_eq(st.message, "asked to abort");
	/* Writes after the end return how it ended. */
	ck_assert_int_eq(write_seq(s, 6, &st), LRPC_ABORTED);
	finish(ch, s);
}
END_TEST

START_TEST(deadline_mid_stream)
{
	lrpc_channel *ch = start();
	lrpc_stream *s = open_stream(ch, lrpctest_streams_echo, 300);
	lrpc_deadline start_t = lrpc_now();
	Lrpctest__EchoMsg *m;
	lrpc_status st;
	lrpc_code code;

	ck_assert_int_eq(write_seq(s, 1, &st), LRPC_OK);
	m = read_msg(s, &code, &st);
	ck_assert(code == LRPC_OK && m && m->seq == 1);
	/* Nothing more comes: the read ends at the deadline. */
	ck_assert(!read_msg(s, &code, &st));
	ck_assert_int_eq(code, LRPC_DEADLINE_EXCEEDED);
	ck_assert_msg(lrpc_now() - start_t < 5000000000,
		      "read returned long after its deadline");
	ck_assert_int_eq(write_seq(s, 2, &st), LRPC_DEADLINE_EXCEEDED);
	lrpc_stream_free(s);
	wait_streams(ch, 0);
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
}
END_TEST

START_TEST(server_killed_mid_stream)
{
	lrpc_channel *ch = start();
	lrpc_stream *s = open_stream(ch, lrpctest_streams_echo, 60000);
	lrpc_deadline start_t = lrpc_now();
	Lrpctest__EchoMsg *m;
	lrpc_status st;
	lrpc_code code;

	ck_assert_int_eq(write_seq(s, 1, &st), LRPC_OK);
	m = read_msg(s, &code, &st);
	ck_assert(code == LRPC_OK && m);
	h_kill(&srv, SIGKILL);
	ck_assert(!read_msg(s, &code, &st));
	ck_assert_msg(code == LRPC_UNAVAILABLE, "%d %s", code, st.message);
	ck_assert_msg(lrpc_now() - start_t < 30000000000, "read hung");
	ck_assert_int_eq(write_seq(s, 2, &st), LRPC_UNAVAILABLE);
	lrpc_stream_free(s);
	lrpc_channel_close(ch);
}
END_TEST

START_TEST(client_killed_mid_stream)
{
	lrpc_channel *ch = start();
	int ready[2];
	pid_t pid;
	char b;

	ck_assert_int_eq(pipe(ready), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		lrpc_channel *c2 = h_open(&srv);
		lrpc_stream *s = open_stream(c2, lrpctest_streams_echo, 60000);
		lrpc_code code;
		lrpc_status st;

		if (write_seq(s, 1, &st) != LRPC_OK || !read_msg(s, &code, &st))
			_exit(1);
		(void)!write(ready[1], "r", 1);
		for (;;)
			pause();
	}
	close(ready[1]);
	ck_assert_int_eq(read(ready[0], &b, 1), 1);
	wait_streams(ch, 1);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	wait_streams(ch, 0);
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
}
END_TEST

/* The server writes (Count) and the client stops reading: the handler's
 * writes block on the client's window and fail at the deadline; what the
 * server held for the connection stays within the stated bound. */
START_TEST(reader_stops_server_writer_blocks)
{
	lrpc_channel *ch = start();
	lrpc_stream *s = open_stream(ch, lrpctest_streams_count, 1000);
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT, *m;
	lrpc_status st;
	lrpc_code code;

	req.seq = 1000000;
	req.reply_size = 1000;
	ck_assert_int_eq(lrpc_stream_write(s, &req.base, &st), LRPC_OK);
	m = read_msg(s, &code, &st);
	ck_assert(code == LRPC_OK && m && m->seq == 0);
	/* No more reads: the handler fails at the deadline, and ends. */
	wait_streams(ch, 0);
	check_held(ch);
	finish(ch, s);
}
END_TEST

/* The client writes (Echo) and never reads: the handler blocks writing
 * back, stops reading, and the client's writes block and fail at their
 * deadline after a bounded number of messages. */
START_TEST(reader_stops_client_writer_blocks)
{
	lrpc_channel *ch = start();
	lrpc_stream *s = open_stream(ch, lrpctest_streams_echo, 1000);
	lrpc_status st;
	lrpc_code code = LRPC_OK;
	uint64_t n = 0;

	while (n < 100000 && (code = write_seq(s, n, &st)) == LRPC_OK)
		n++;
	ck_assert_msg(code == LRPC_DEADLINE_EXCEEDED, "%d %s", code, st.message);
	/* Both windows (64 messages each) and the handler's hand. */
	ck_assert_msg(n <= 3 * 64, "%llu messages went", (unsigned long long)n);
	wait_streams(ch, 0);
	check_held(ch);
	finish(ch, s);
}
END_TEST

START_TEST(stream_then_unary)
{
	lrpc_channel *ch = start();
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT, *rep = NULL, *m;
	Lrpctest__StatsReply *r;
	lrpc_status st;
	lrpc_code code;

	for (int round = 0; round < 3; round++) {
		lrpc_stream *s = open_stream(ch, lrpctest_streams_count, 10000);

		req.seq = 3;
		ck_assert_int_eq(lrpc_stream_write(s, &req.base, &st), LRPC_OK);
		for (uint64_t i = 0; i < 3; i++) {
			m = read_msg(s, &code, &st);
			ck_assert(code == LRPC_OK && m && m->seq == i);
		}
		ck_assert(!read_msg(s, &code, &st));
		ck_assert_int_eq(code, LRPC_OK);
		lrpc_stream_free(s);
		req.seq = 77 + (uint64_t)round;
		ck_assert_int_eq(lrpctest__probe__echo__call(ch, &req, &rep,
				 lrpc_deadline_after_ms(10000), &st), LRPC_OK);
		ck_assert_uint_eq(rep->seq, 77 + (uint64_t)round);
		lrpctest__echo_msg__free_unpacked(rep, NULL);
	}
	/* A stream that ended cleanly gave its connection back. */
	r = h_stats(ch);
	ck_assert_uint_eq(r->clients_accepted, 1);
	lrpctest__stats_reply__free_unpacked(r, NULL);
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
}
END_TEST

START_TEST(streams_beyond_the_limit)
{
	lrpc_stream *s[3];
	lrpc_channel *ch;
	Lrpctest__EchoMsg *m;
	lrpc_status st;
	lrpc_code code;

	setenv("LRPC_PROBE_MAX_STREAMS", "2", 1);
	ch = start();
	for (int i = 0; i < 2; i++) {
		s[i] = open_stream(ch, lrpctest_streams_echo, 10000);
		ck_assert_int_eq(write_seq(s[i], 1, &st), LRPC_OK);
		m = read_msg(s[i], &code, &st);
		ck_assert(code == LRPC_OK && m);
	}
	s[2] = open_stream(ch, lrpctest_streams_echo, 10000);
	ck_assert(!read_msg(s[2], &code, &st));
	ck_assert_int_eq(code, LRPC_RESOURCE_EXHAUSTED);
	ck_assert_msg(strstr(st.message, "max_streams"), "'%s'", st.message);
	lrpc_stream_free(s[2]);
	/* One ends: there is room again. */
	ck_assert_int_eq(lrpc_stream_close_send(s[0], &st), LRPC_OK);
	ck_assert(!read_msg(s[0], &code, &st));
	ck_assert_int_eq(code, LRPC_OK);
	lrpc_stream_free(s[0]);
	wait_streams(ch, 1);
	s[0] = open_stream(ch, lrpctest_streams_echo, 10000);
	ck_assert_int_eq(write_seq(s[0], 2, &st), LRPC_OK);
	m = read_msg(s[0], &code, &st);
	ck_assert_msg(code == LRPC_OK && m && m->seq == 2, "%d %s", code,
		      st.message);
	lrpc_stream_free(s[0]);
	lrpc_stream_free(s[1]);
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
}
END_TEST

/* A peer that multiplexes (the runtime's client does not) may have 8
 * streams open on one connection; the ninth is refused, the connection
 * stays, and all are freed when it closes. Frames written byte by byte. */
START_TEST(nine_streams_on_one_connection)
{
	lrpc_channel *ch = start();
	unsigned char h[RAW_HDR], body[LRPC_STATUS_MSG_MAX];
	uint32_t len;
	int fd = raw_connect(srv.uri);

	for (uint64_t id = 1; id <= 9; id++) {
		raw_header(h, 0, id, lrpctest_streams_echo->id);
		raw_put32(h, 0x4f53524cu); /* "LRSO": OPEN, 5 s left */
		ck_assert_int_eq(write(fd, h, sizeof(h)), (ssize_t)sizeof(h));
	}
	ck_assert(raw_read_n(fd, h, RAW_HDR));
	ck_assert_uint_eq(raw_get32(h), 0x4553524cu); /* "LRSE": END */
	ck_assert_uint_eq(raw_get64(h + 8), 9);
	ck_assert_uint_eq(raw_get32(h + 16), LRPC_RESOURCE_EXHAUSTED);
	len = raw_get32(h + 4);
	ck_assert_uint_lt(len, sizeof(body));
	ck_assert(raw_read_n(fd, body, len));
	body[len] = '\0';
	ck_assert_msg(strstr((char *)body, "one connection"), "'%s'", body);
	wait_streams(ch, 8);
	close(fd);
	wait_streams(ch, 0);
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
}
END_TEST

H_MAIN("streams_sock", 120, sum_client_streaming, count_server_streaming,
       echo_bidirectional, half_close, cancel_mid_stream,
       handler_error_reaches_client, deadline_mid_stream,
       server_killed_mid_stream, client_killed_mid_stream,
       reader_stops_server_writer_blocks, reader_stops_client_writer_blocks,
       stream_then_unary, streams_beyond_the_limit,
       nine_streams_on_one_connection)
