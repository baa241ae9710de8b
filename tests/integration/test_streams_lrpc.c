// SPDX-License-Identifier: MIT
/*
 * Streams over lrpc:// (each hand-off, through h_run): every kind with
 * 100,000 messages checked in order, half-close, cancel, a handler's error,
 * a deadline mid-stream, either side SIGKILLed mid-stream, a reader that
 * stops reading, and the lane serving unary calls again after each.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "probe.lrpc.h"
#include "streams.h"

#define N 100000

static lrpc_code write_seq(lrpc_stream *s, uint64_t seq, size_t payload)
{
	static unsigned char bytes[4096];
	Lrpctest__EchoMsg m = LRPCTEST__ECHO_MSG__INIT;
	lrpc_status st;
	lrpc_code code;

	m.seq = seq;
	m.payload.len = payload;
	m.payload.data = bytes;
	code = lrpc_stream_write(s, &m.base, &st);
	return code;
}

/* Read one message; \return its seq, or fail the test. */
static uint64_t read_seq(lrpc_stream *s)
{
	ProtobufCMessage *m;
	lrpc_status st;
	lrpc_code code = lrpc_stream_read(s, &m, &st);

	ck_assert_msg(code == LRPC_OK && m, "read: %s: %s", lrpc_code_name(code),
		      st.message);
	return ((Lrpctest__EchoMsg *)m)->seq;
}

static void read_end(lrpc_stream *s, lrpc_code want)
{
	ProtobufCMessage *m;
	lrpc_status st;
	lrpc_code code = lrpc_stream_read(s, &m, &st);

	ck_assert_ptr_null(m);
	ck_assert_msg(code == want, "end: %s (%s), wanted %s",
		      lrpc_code_name(code), st.message, lrpc_code_name(want));
}

/* A unary call works on \p ch (the lane a stream held is usable again). */
static void unary_ok(lrpc_channel *ch, uint64_t seq)
{
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT, *rep = NULL;
	lrpc_status st;
	lrpc_code code;

	req.seq = seq;
	code = lrpctest__probe__echo__call(ch, &req, &rep,
					   lrpc_deadline_after_ms(10000), &st);
	ck_assert_msg(code == LRPC_OK, "unary after stream: %s: %s",
		      lrpc_code_name(code), st.message);
	ck_assert_uint_eq(rep->seq, seq);
	lrpctest__echo_msg__free_unpacked(rep, NULL);
}

static lrpc_stream *open_stream(lrpc_channel *ch, const lrpc_method_desc *m,
				int timeout_ms)
{
	lrpc_stream *s = NULL;
	lrpc_status st;
	lrpc_code code = lrpc_stream_open(ch, m, lrpc_deadline_after_ms(timeout_ms),
					  &s, &st);

	ck_assert_msg(code == LRPC_OK, "open %s: %s: %s", m->full_name,
		      lrpc_code_name(code), st.message);
	return s;
}

/* A probe server with exactly \p receivers lanes per client: these tests
 * check that a lane a stream held serves again, so no lane may be added
 * on demand (max_receivers) in its place. */
static void streams_server(struct peer *srv, const char *receivers)
{
	setenv("LRPC_PROBE_MAX_RECEIVERS", receivers, 1);
	h_probe_server(srv, "streams", receivers, "65536");
}

START_TEST(sum_in_order)
{
	struct peer srv;
	lrpc_channel *ch;
	lrpc_stream *s;

	h_dir_setup();
	streams_server(&srv, "1");
	ch = h_open(&srv);
	s = open_stream(ch, lrpctest_streams_sum, 60000);
	for (uint64_t i = 0; i < N; i++)
		ck_assert_int_eq(write_seq(s, i, i % 64), LRPC_OK);
	ck_assert_int_eq(lrpc_stream_close_send(s, NULL), LRPC_OK);
	/* Sum fails with DATA_LOSS unless every seq came in order. */
	ck_assert_uint_eq(read_seq(s), N);
	read_end(s, LRPC_OK);
	read_end(s, LRPC_OK); /* the end stays */
	lrpc_stream_free(s);
	unary_ok(ch, 1);
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
}
END_TEST

START_TEST(count_in_order)
{
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT;
	struct peer srv;
	lrpc_channel *ch;
	lrpc_stream *s;

	h_dir_setup();
	streams_server(&srv, "1");
	ch = h_open(&srv);
	s = open_stream(ch, lrpctest_streams_count, 60000);
	req.seq = N;
	req.reply_size = 24;
	ck_assert_int_eq(lrpc_stream_write(s, &req.base, NULL), LRPC_OK);
	ck_assert_int_eq(lrpc_stream_close_send(s, NULL), LRPC_OK);
	for (uint64_t i = 0; i < N; i++) {
		uint64_t got = read_seq(s);

		ck_assert_msg(got == i, "message %llu has seq %llu",
			      (unsigned long long)i, (unsigned long long)got);
	}
	read_end(s, LRPC_OK);
	lrpc_stream_free(s);
	unary_ok(ch, 2);
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
}
END_TEST

struct writer {
	lrpc_stream *s;
	uint64_t n, from;
	size_t payload;
	lrpc_code code;
	uint64_t written;
};

static void *write_thread(void *arg)
{
	struct writer *w = arg;

	w->code = LRPC_OK;
	for (w->written = 0; w->written < w->n; w->written++) {
		w->code = write_seq(w->s, w->from + w->written, w->payload);
		if (w->code != LRPC_OK)
			return NULL;
	}
	w->code = lrpc_stream_close_send(w->s, NULL);
	return NULL;
}

START_TEST(echo_in_order)
{
	struct peer srv;
	lrpc_channel *ch;
	struct writer w;
	pthread_t t;

	h_dir_setup();
	streams_server(&srv, "1");
	ch = h_open(&srv);
	w = (struct writer){ .s = open_stream(ch, lrpctest_streams_echo, 60000),
			     .n = N, .payload = 100 };
	/* One thread writes while this one reads: the rings fill both ways. */
	pthread_create(&t, NULL, write_thread, &w);
	for (uint64_t i = 0; i < N; i++) {
		uint64_t got = read_seq(w.s);

		ck_assert_msg(got == i, "message %llu has seq %llu",
			      (unsigned long long)i, (unsigned long long)got);
	}
	pthread_join(t, NULL);
	ck_assert_int_eq(w.code, LRPC_OK);
	read_end(w.s, LRPC_OK);
	lrpc_stream_free(w.s);
	unary_ok(ch, 3);
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
}
END_TEST

START_TEST(half_close_and_refusals)
{
	struct peer srv;
	lrpc_channel *ch;
	lrpc_stream *s = NULL;
	lrpc_status st;
	lrpc_method_desc unknown;

	h_dir_setup();
	streams_server(&srv, "1");
	ch = h_open(&srv);
	s = open_stream(ch, lrpctest_streams_echo, 10000);
	for (uint64_t i = 0; i < 3; i++)
		ck_assert_int_eq(write_seq(s, i, 10), LRPC_OK);
	ck_assert_int_eq(lrpc_stream_close_send(s, NULL), LRPC_OK);
	ck_assert_int_eq(lrpc_stream_close_send(s, NULL), LRPC_OK);
	ck_assert_int_eq(write_seq(s, 9, 0), LRPC_INVALID_ARGUMENT);
	for (uint64_t i = 0; i < 3; i++)
		ck_assert_uint_eq(read_seq(s), i);
	read_end(s, LRPC_OK);
	lrpc_stream_free(s);

	/* A method the server does not have fails the open itself. */
	unknown = *lrpctest_streams_echo;
	unknown.full_name = "/lrpctest.Streams/Nope";
	unknown.id = lrpc_method_id(unknown.full_name);
	s = NULL;
	ck_assert_int_eq(lrpc_stream_open(ch, &unknown, lrpc_deadline_after_ms(5000),
					  &s, &st),
			 LRPC_UNIMPLEMENTED);
	ck_assert_ptr_null(s);
	ck_assert_msg(strstr(st.message, "/lrpctest.Streams/Nope"), "%s", st.message);
	unary_ok(ch, 4);
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
}
END_TEST

struct reader {
	lrpc_stream *s;
	lrpc_code code;
	bool first_ok; /* the first read gave a message */
	lrpc_status st;
	int ready[2]; /* a byte once the first message was read */
};

/* Read one echo, say so, then block in the next read. */
static void *read_thread(void *arg)
{
	struct reader *r = arg;
	ProtobufCMessage *m;

	r->code = lrpc_stream_read(r->s, &m, &r->st);
	r->first_ok = r->code == LRPC_OK && m;
	if (write(r->ready[1], "x", 1) != 1)
		return NULL;
	if (r->first_ok)
		r->code = lrpc_stream_read(r->s, &m, &r->st);
	return NULL;
}

static void start_blocked_reader(struct reader *r, pthread_t *t)
{
	char b;

	ck_assert_int_eq(pipe(r->ready), 0);
	ck_assert_int_eq(write_seq(r->s, 0, 8), LRPC_OK);
	pthread_create(t, NULL, read_thread, r);
	ck_assert_int_eq(read(r->ready[0], &b, 1), 1);
	ck_assert(r->first_ok);
}

static uint64_t stat_failed(lrpc_channel *ch)
{
	Lrpctest__StatsReply *s = h_stats(ch);
	uint64_t n = s->calls_failed;

	lrpctest__stats_reply__free_unpacked(s, NULL);
	return n;
}

START_TEST(cancel_mid_stream)
{
	struct peer srv;
	lrpc_channel *ch;
	struct reader r = { .code = 0 };
	pthread_t t;
	uint64_t failed;

	h_dir_setup();
	/* One lane: every call after the stream needs the lane it held. */
	streams_server(&srv, "1");
	ch = h_open(&srv);
	failed = stat_failed(ch);
	r.s = open_stream(ch, lrpctest_streams_echo, 30000);
	start_blocked_reader(&r, &t);
	lrpc_stream_cancel(r.s);
	pthread_join(t, NULL);
	ck_assert_int_eq(r.code, LRPC_CANCELLED);
	ck_assert_int_eq(write_seq(r.s, 1, 0), LRPC_CANCELLED);
	lrpc_stream_free(r.s);
	/* The lane waits for the handler to see the cancel and return; then
	 * it serves calls again, and the stream counts as failed. */
	unary_ok(ch, 5);
	ck_assert_uint_eq(stat_failed(ch), failed + 1);

	/* Freed without cancel, mid-stream: the same. */
	r.s = open_stream(ch, lrpctest_streams_echo, 30000);
	ck_assert_int_eq(write_seq(r.s, 0, 8), LRPC_OK);
	lrpc_stream_free(r.s);
	unary_ok(ch, 6);
	ck_assert_uint_eq(stat_failed(ch), failed + 2);
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
}
END_TEST

START_TEST(handler_error_reaches_client)
{
	struct peer srv;
	lrpc_channel *ch;
	lrpc_stream *s;
	ProtobufCMessage *m;
	lrpc_status st;

	h_dir_setup();
	streams_server(&srv, "1");
	ch = h_open(&srv);
	s = open_stream(ch, lrpctest_streams_echo, 10000);
	ck_assert_int_eq(write_seq(s, 1, 0), LRPC_OK);
	ck_assert_uint_eq(read_seq(s), 1);
	ck_assert_int_eq(write_seq(s, UINT64_MAX, 0), LRPC_OK);
	ck_assert_int_eq(lrpc_stream_read(s, &m, &st), LRPC_ABORTED);
	ck_assert_ptr_null(m);
	ck_assert_str_eq(st.message, "asked to abort");
	/* Every later call says the same. */
	ck_assert_int_eq(lrpc_stream_read(s, &m, &st), LRPC_ABORTED);
	ck_assert_int_eq(write_seq(s, 2, 0), LRPC_ABORTED);
	lrpc_stream_free(s);
	unary_ok(ch, 7);
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
}
END_TEST

START_TEST(deadline_mid_stream)
{
	struct peer srv;
	lrpc_channel *ch;
	lrpc_stream *s;
	ProtobufCMessage *m;
	lrpc_status st;
	lrpc_deadline d;

	h_dir_setup();
	streams_server(&srv, "1");
	ch = h_open(&srv);
	d = lrpc_deadline_after_ms(300);
	ck_assert_int_eq(lrpc_stream_open(ch, lrpctest_streams_echo, d, &s, &st),
			 LRPC_OK);
	ck_assert_int_eq(write_seq(s, 1, 0), LRPC_OK);
	ck_assert_uint_eq(read_seq(s), 1);
	/* The server waits for more; the read gives up at the deadline. */
	ck_assert_int_eq(lrpc_stream_read(s, &m, &st), LRPC_DEADLINE_EXCEEDED);
	ck_assert_int_ge(lrpc_now(), d);
	ck_assert_int_lt(lrpc_now(), d + 2000000000);
	lrpc_stream_free(s);
	/* The handler's read failed at the same deadline: the lane is back. */
	unary_ok(ch, 8);
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
}
END_TEST

START_TEST(server_killed_mid_stream)
{
	struct peer srv;
	lrpc_channel *ch;
	struct reader r = { .code = 0 };
	pthread_t t;
	lrpc_status st;
	lrpc_stream *s2;

	h_dir_setup();
	streams_server(&srv, "2");
	ch = h_open(&srv);
	r.s = open_stream(ch, lrpctest_streams_echo, 60000);
	start_blocked_reader(&r, &t);
	h_kill(&srv, SIGKILL);
	pthread_join(t, NULL);
	/* Well before the 60 s deadline, which is also the test's timeout. */
	ck_assert_msg(r.code == LRPC_UNAVAILABLE, "read: %s",
		      lrpc_code_name(r.code));
	ck_assert_int_eq(write_seq(r.s, 1, 0), LRPC_UNAVAILABLE);
	lrpc_stream_free(r.s);
	ck_assert_int_eq(lrpc_stream_open(ch, lrpctest_streams_echo,
					  lrpc_deadline_after_ms(5000), &s2, &st),
			 LRPC_UNAVAILABLE);
	lrpc_channel_close(ch);
}
END_TEST

START_TEST(server_stops_mid_stream)
{
	struct peer srv;
	lrpc_channel *ch;
	struct reader r = { .code = 0 };
	pthread_t t;

	h_dir_setup();
	streams_server(&srv, "2");
	ch = h_open(&srv);
	r.s = open_stream(ch, lrpctest_streams_echo, 60000);
	start_blocked_reader(&r, &t);
	/* A stop cancels streams (a stream may never end by itself); the
	 * end is written before the server closes the connection. */
	kill(srv.pid, SIGTERM);
	pthread_join(t, NULL);
	ck_assert_msg(r.code == LRPC_CANCELLED, "read: %s: %s",
		      lrpc_code_name(r.code), r.st.message);
	lrpc_stream_free(r.s);
	ck_assert_int_eq(h_wait(&srv, 10000), 0);
	lrpc_channel_close(ch);
}
END_TEST

/* The killed client: its own channel and a stream, mid-read. */
static void victim(const char *uri, int ready)
{
	lrpc_channel *ch;
	lrpc_stream *s;
	ProtobufCMessage *m;

	if (lrpc_channel_open(uri, NULL, &ch) < 0 ||
	    lrpc_stream_open(ch, lrpctest_streams_echo,
			     lrpc_deadline_after_ms(60000), &s, NULL) != LRPC_OK ||
	    write_seq(s, 0, 8) != LRPC_OK ||
	    lrpc_stream_read(s, &m, NULL) != LRPC_OK || !m ||
	    write(ready, "x", 1) != 1)
		_exit(1);
	lrpc_stream_read(s, &m, NULL);
	_exit(2);
}

START_TEST(client_killed_mid_stream)
{
	struct peer srv;
	lrpc_channel *ch;
	Lrpctest__StatsReply *s;
	lrpc_deadline until;
	bool reclaimed = false;
	int ready[2], status;
	pid_t pid;
	char b;

	h_dir_setup();
	streams_server(&srv, "2");
	ck_assert_int_eq(pipe(ready), 0);
	pid = h_fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		victim(srv.uri, ready[1]);
	close(ready[1]);
	ck_assert_int_eq(read(ready[0], &b, 1), 1);
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);

	/* The handler blocked in its read is cancelled; the dead client's
	 * receivers and region go: only our connection is left. */
	ch = h_open(&srv);
	unary_ok(ch, 9);
	until = lrpc_deadline_after_ms(10000);
	while (!reclaimed && lrpc_now() < until) {
		s = h_stats(ch);
		reclaimed = s->clients_active == 1 && s->receivers_active == 2;
		lrpctest__stats_reply__free_unpacked(s, NULL);
		if (!reclaimed)
			nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
	ck_assert_msg(reclaimed, "the dead client's stream was not freed");
	/* A new client streams as before. */
	{
		lrpc_stream *st = open_stream(ch, lrpctest_streams_echo, 10000);

		ck_assert_int_eq(write_seq(st, 4, 0), LRPC_OK);
		ck_assert_uint_eq(read_seq(st), 4);
		ck_assert_int_eq(lrpc_stream_close_send(st, NULL), LRPC_OK);
		read_end(st, LRPC_OK);
		lrpc_stream_free(st);
	}
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
}
END_TEST

START_TEST(reader_stops_reading)
{
	struct peer srv;
	lrpc_channel *ch;
	lrpc_stream *s;
	lrpc_deadline d;
	lrpc_status st;
	uint64_t n = 0;
	lrpc_code code;
	/* 64 KiB lane buffers: two 32 KiB rings. */
	const uint64_t rec = 8 + 1016, bound = 2 * (32768 / rec) + 2;

	h_dir_setup();
	streams_server(&srv, "1");
	ch = h_open(&srv);
	d = lrpc_deadline_after_ms(1000);
	ck_assert_int_eq(lrpc_stream_open(ch, lrpctest_streams_echo, d, &s, &st),
			 LRPC_OK);
	/* Echo writes back what it reads; nobody reads its writes. Once our
	 * ring to the client is full it waits, so it stops reading ours,
	 * and our writes wait until the deadline. */
	while ((code = write_seq(s, n, 1000)) == LRPC_OK)
		n++;
	ck_assert_msg(code == LRPC_DEADLINE_EXCEEDED, "write %llu: %s",
		      (unsigned long long)n, lrpc_code_name(code));
	ck_assert_int_ge(lrpc_now(), d);
	/* What either side holds is bounded by the two rings. */
	ck_assert_msg(n > 4 && n <= bound, "%llu messages were taken (bound %llu)",
		      (unsigned long long)n, (unsigned long long)bound);
	lrpc_stream_free(s);
	/* The handler's write failed at its deadline too: the lane is back. */
	unary_ok(ch, 10);
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
}
END_TEST

START_TEST(too_big_for_the_ring)
{
	struct peer srv;
	lrpc_channel *ch;
	lrpc_stream *s;
	lrpc_status st;
	static unsigned char big[40000];

	h_dir_setup();
	streams_server(&srv, "1");
	ch = h_open(&srv);
	s = open_stream(ch, lrpctest_streams_echo, 10000);
	ck_assert_int_eq(lrpc_stream_write_raw(s, big, sizeof(big), &st),
			 LRPC_RESOURCE_EXHAUSTED);
	/* Not an end: the stream goes on. Messages that wrap the ring's end
	 * arrive whole. */
	for (uint64_t i = 0; i < 200; i++) {
		ck_assert_int_eq(write_seq(s, i, 3000 + i), LRPC_OK);
		ck_assert_uint_eq(read_seq(s), i);
	}
	ck_assert_int_eq(lrpc_stream_close_send(s, NULL), LRPC_OK);
	read_end(s, LRPC_OK);
	lrpc_stream_free(s);
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
}
END_TEST

H_MAIN("streams_lrpc", 240, sum_in_order, count_in_order, echo_in_order,
       half_close_and_refusals, cancel_mid_stream, handler_error_reaches_client,
       deadline_mid_stream, server_killed_mid_stream, server_stops_mid_stream,
       client_killed_mid_stream,
       reader_stops_reading, too_big_for_the_ring)
