// SPDX-License-Identifier: MIT
/*
 * Asynchronous calls (async.h) over each transport: one thread keeps a
 * thousand calls in flight and checks every reply; queued and in-flight
 * calls end at their deadline; a cancel from the cq's thread ends a call
 * and reaches the handler; callbacks never run inside the start, even for
 * calls that fail at once; a libuv loop drives a cq through its fd; a cq
 * with nothing outstanding frees, one with calls outstanding refuses.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "harness.h"
#include "probe.lrpc.h"
#include "streams.h"

#define M_ECHO (&lrpctest__probe__service_desc.methods[0])
#define M_SLOW (&lrpctest__probe__service_desc.methods[1])

static bool shm(void)
{
	return !strcmp(h_transport(), "lrpc");
}

/* Do async calls run on the channel's pool (client/async_pool.c)? Over
 * the kernel hand-offs (no send op), and where futex_waitv is missing (or
 * said to be). */
static bool pooled(const lrpc_channel *ch)
{
	const char *w = getenv("LAZYRPC_FUTEX_WAITV");
	const char *h = lrpc_channel_handoff(ch);

	return !strcmp(h, "rpal-kernel") || !strcmp(h, "rpal-user") ||
	       (shm() && w && !strcmp(w, "0"));
}

/* Does a cancel reach the handler? Not from the pool's threads. */
static bool tells_server(const lrpc_channel *ch)
{
	return !pooled(ch);
}

/* One call's slot: what it sent and what came back. */
struct slot {
	uint64_t seq;
	int calls; /* callbacks run: must end 1 */
	lrpc_code code;
	char msg[LRPC_STATUS_MSG_MAX];
	uint32_t tag;
};

static int outstanding;
static bool in_start; /* a callback that sees it set ran inside a start */

/* Every callback: not inside a start, and once per call. */
static void note(struct slot *s, lrpc_code code, const lrpc_status *st)
{
	ck_assert_msg(!in_start, "callback ran inside the start");
	s->calls++;
	s->code = code;
	snprintf(s->msg, sizeof(s->msg), "%s", st->message);
}

static void on_echo(void *arg, lrpc_code code, ProtobufCMessage *rep,
		    const lrpc_status *st, lrpc_async *h)
{
	struct slot *s = arg;

	(void)h;
	note(s, code, st);
	if (code == LRPC_OK) {
		Lrpctest__EchoMsg *m = (Lrpctest__EchoMsg *)rep;

		ck_assert_ptr_nonnull(rep);
		ck_assert_uint_eq(m->seq, s->seq);
		/* The payload is the seq's bytes, as sent. */
		ck_assert_uint_eq(m->payload.len, sizeof(s->seq));
		ck_assert(!memcmp(m->payload.data, &s->seq, sizeof(s->seq)));
		protobuf_c_message_free_unpacked(rep, NULL);
	} else {
		ck_assert_ptr_null(rep);
	}
	outstanding--;
}

static void on_slow(void *arg, lrpc_code code, ProtobufCMessage *rep,
		    const lrpc_status *st, lrpc_async *h)
{
	struct slot *s = arg;

	(void)h;
	note(s, code, st);
	if (rep) {
		s->tag = ((Lrpctest__SlowReply *)rep)->tag;
		protobuf_c_message_free_unpacked(rep, NULL);
	}
	outstanding--;
}

static lrpc_async *start_echo(lrpc_channel *ch, lrpc_cq *cq, struct slot *s,
			      int64_t ms)
{
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT;
	lrpc_async *h;

	req.seq = s->seq;
	req.payload.data = (uint8_t *)&s->seq;
	req.payload.len = sizeof(s->seq);
	in_start = true;
	/* The generated wrapper of lrpc_channel_call_async(). */
	ck_assert_int_eq(lrpctest__probe__echo__call_async(ch, &req,
							   lrpc_deadline_after_ms(ms),
							   cq, on_echo, s, &h), 0);
	in_start = false;
	ck_assert_ptr_nonnull(h);
	outstanding++;
	return h;
}

static lrpc_async *start_slow(lrpc_channel *ch, lrpc_cq *cq, struct slot *s,
			      int64_t ms, bool until_cancelled)
{
	Lrpctest__SlowReq req = LRPCTEST__SLOW_REQ__INIT;
	lrpc_async *h;

	req.tag = (uint32_t)s->seq;
	req.until_cancelled = until_cancelled;
	in_start = true;
	ck_assert_int_eq(lrpc_channel_call_async(ch, M_SLOW, &req.base,
						 lrpc_deadline_after_ms(ms), cq,
						 on_slow, s, &h), 0);
	in_start = false;
	outstanding++;
	return h;
}

/* A probe server "NAME" with \p receivers, a channel to it and a cq. */
static lrpc_channel *setup(struct peer *srv, const char *name,
			   const char *receivers, const lrpc_channel_opts *o,
			   lrpc_cq **cq)
{
	lrpc_channel *ch;

	h_dir_setup();
	h_probe_server(srv, name, receivers, NULL);
	ch = h_open_opts(srv, o);
	ck_assert_int_eq(lrpc_cq_new(cq), 0);
	return ch;
}

/* Everything came back: the cq frees. */
static void teardown(struct peer *srv, lrpc_channel *ch, lrpc_cq *cq)
{
	ck_assert_int_eq(lrpc_cq_free(cq), 0);
	lrpc_channel_close(ch);
	h_kill(srv, SIGTERM);
}

static void run_all(lrpc_cq *cq)
{
	while (outstanding > 0)
		ck_assert_int_ge(lrpc_cq_run(cq, lrpc_deadline_after_ms(60000), 0), 0);
}

START_TEST(a_thousand_in_flight_from_one_thread)
{
	enum { N = 1000 };
	static struct slot s[N];
	struct peer srv;
	lrpc_channel *ch;
	lrpc_cq *cq;

	ch = setup(&srv, "async1k", "4", NULL, &cq);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < N; i++) {
			s[i] = (struct slot){ .seq = (uint64_t)round * N + i + 1 };
			start_echo(ch, cq, &s[i], 60000);
		}
		run_all(cq);
		for (int i = 0; i < N; i++) {
			ck_assert_int_eq(s[i].calls, 1);
			ck_assert_msg(s[i].code == LRPC_OK, "call %d: %s %s", i,
				      lrpc_code_name(s[i].code), s[i].msg);
		}
	}
	ck_assert_int_eq(lrpc_cq_free(cq), 0);
	/* Sync calls still work beside what async left behind. */
	{
		Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT, *rep;

		req.seq = 77;
		ck_assert_int_eq(lrpctest__probe__echo__call(ch, &req, &rep, 0, NULL),
				 LRPC_OK);
		ck_assert_uint_eq(rep->seq, 77);
		lrpctest__echo_msg__free_unpacked(rep, NULL);
	}
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
}
END_TEST

/* Threads that each run a cq of their own start calls on one channel at
 * once; each thread's callbacks run on it alone. */
struct starter {
	lrpc_channel *ch;
	int done, bad;
};

enum { STARTERS = 4, PER_STARTER = 250 };

static void on_counted(void *arg, lrpc_code code, ProtobufCMessage *rep,
		       const lrpc_status *st, lrpc_async *h)
{
	struct starter *t = arg;

	(void)st, (void)h;
	t->done++;
	if (code != LRPC_OK)
		t->bad++;
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
}

static void *starter_main(void *arg)
{
	struct starter *t = arg;
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT;
	lrpc_cq *cq;

	if (lrpc_cq_new(&cq) < 0)
		return NULL;
	for (int i = 0; i < PER_STARTER; i++) {
		req.seq = (uint64_t)i;
		if (lrpctest__probe__echo__call_async(t->ch, &req,
						      lrpc_deadline_after_ms(60000), cq,
						      on_counted, t, NULL) < 0)
			t->bad++;
	}
	while (t->done + t->bad < PER_STARTER)
		if (lrpc_cq_run(cq, lrpc_deadline_after_ms(60000), 0) < 0)
			break;
	if (lrpc_cq_free(cq) < 0)
		t->bad++;
	return NULL;
}

START_TEST(many_threads_start_on_one_channel)
{
	struct starter t[STARTERS];
	pthread_t th[STARTERS];
	struct peer srv;
	lrpc_channel *ch;
	lrpc_cq *cq;

	ch = setup(&srv, "asyncmt", "4", NULL, &cq);
	for (int i = 0; i < STARTERS; i++) {
		t[i] = (struct starter){ .ch = ch };
		ck_assert_int_eq(pthread_create(&th[i], NULL, starter_main, &t[i]), 0);
	}
	for (int i = 0; i < STARTERS; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(t[i].bad, 0);
		ck_assert_int_eq(t[i].done, PER_STARTER);
	}
	teardown(&srv, ch, cq);
}
END_TEST

/* Calls whose handler holds past their deadline, and (over lrpc://, with
 * one receiver) a call queued behind them: all end DEADLINE_EXCEEDED. */
START_TEST(queued_and_in_flight_calls_end_at_their_deadline)
{
	struct slot slow[3] = { { .seq = 1 }, { .seq = 2 }, { .seq = 3 } };
	struct slot q = { .seq = 9 };
	struct peer srv;
	lrpc_channel *ch;
	lrpc_cq *cq;

	if (shm())
		setenv("LRPC_PROBE_MAX_RECEIVERS", "1", 1);
	ch = setup(&srv, "asyncdl", "1", NULL, &cq);
	for (int i = 0; i < 3; i++)
		start_slow(ch, cq, &slow[i], 300, false);
	start_echo(ch, cq, &q, 200);
	run_all(cq);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(slow[i].calls, 1);
		ck_assert_msg(slow[i].code == LRPC_DEADLINE_EXCEEDED, "%s %s",
			      lrpc_code_name(slow[i].code), slow[i].msg);
	}
	ck_assert_int_eq(q.calls, 1);
	if (shm())
		ck_assert_msg(q.code == LRPC_DEADLINE_EXCEEDED, "%s %s",
			      lrpc_code_name(q.code), q.msg);
	else
		ck_assert(q.code == LRPC_OK || q.code == LRPC_DEADLINE_EXCEEDED);
	teardown(&srv, ch, cq);
}
END_TEST

/* Over lrpc:// with one lane: a queue bound of 2 refuses the third call
 * that has to wait. */
START_TEST(a_full_queue_refuses_with_resource_exhausted)
{
	struct slot hold[8] = { { .seq = 1 } }, w[3] = { { .seq = 2 }, { .seq = 3 },
							  { .seq = 4 } };
	lrpc_channel_opts o;
	struct peer srv;
	lrpc_channel *ch;
	lrpc_cq *cq;

	if (!shm())
		return; /* sockets pipeline: nothing waits for a context */
	setenv("LRPC_PROBE_MAX_RECEIVERS", "1", 1);
	lrpc_channel_opts_init(&o);
	o.async_queue_max = 2;
	ch = setup(&srv, "asyncq", "1", &o, &cq);
	/* The pool's 8 threads take 8 calls off its queue. The holds last
	 * long enough for a slow machine to start the rest meanwhile. */
	for (int i = 0; i < (pooled(ch) ? 8 : 1); i++)
		start_slow(ch, cq, &hold[i], 3000, false);
	for (int i = 0; i < 3; i++)
		start_echo(ch, cq, &w[i], 300);
	run_all(cq);
	ck_assert_int_eq(w[2].code, LRPC_RESOURCE_EXHAUSTED);
	teardown(&srv, ch, cq);
}
END_TEST

/* A cancel from the cq's thread ends the call with CANCELLED, and the
 * handler (looking at lrpc_call_cancelled()) hears of it. */
START_TEST(cancel_from_the_cq_thread)
{
	struct slot s = { .seq = 5 };
	struct peer srv;
	lrpc_channel *ch;
	lrpc_async *h;
	lrpc_cq *cq;

	ch = setup(&srv, "asynccancel", "2", NULL, &cq);
	/* A pool thread keeps the call until its deadline, and the close
	 * waits for that thread. */
	h = start_slow(ch, cq, &s, pooled(ch) ? 8000 : 20000, true);
	ck_assert(h_expect(&srv, "slow-enter 5", 10000));
	ck_assert_int_eq(s.calls, 0);
	lrpc_async_cancel(h);
	ck_assert_int_eq(lrpc_cq_run(cq, lrpc_deadline_after_ms(10000), 0), 1);
	ck_assert_int_eq(s.calls, 1);
	ck_assert_int_eq(s.code, LRPC_CANCELLED);
	/* Transports that can tell the server do (docs/api.md). */
	if (tells_server(ch))
		ck_assert(h_expect(&srv, "slow-cancelled 5", 10000));
	teardown(&srv, ch, cq);
}
END_TEST

static void on_raw(void *arg, lrpc_code code, const void *rep, size_t len,
		   const lrpc_status *st, lrpc_async *h)
{
	struct slot *s = arg;

	(void)rep, (void)len, (void)h;
	note(s, code, st);
	outstanding--;
}

/* Calls that fail at once still report only in lrpc_cq_run(). */
START_TEST(callbacks_never_run_inside_the_start)
{
	Lrpctest__SlowReq wrong = LRPCTEST__SLOW_REQ__INIT;
	unsigned char big[64];
	struct slot s[4] = { { .seq = 1 }, { .seq = 2 }, { .seq = 3 }, { .seq = 4 } };
	struct peer srv;
	lrpc_channel *ch;
	lrpc_cq *cq;

	ch = setup(&srv, "asyncstart", "2", NULL, &cq);
	in_start = true;
	/* The wrong request type. */
	ck_assert_int_eq(lrpc_channel_call_async(ch, M_ECHO, &wrong.base, 0, cq,
						 on_echo, &s[0], NULL), 0);
	/* A deadline already past. */
	ck_assert_int_eq(lrpc_channel_call_raw_async(ch, LRPCTEST__PROBE__ECHO__ID,
						     big, 0, 1, cq, on_raw, &s[1],
						     NULL), 0);
	/* An unknown method. */
	ck_assert_int_eq(lrpc_channel_call_raw_async(ch, 0x1234, big, 0, 0, cq,
						     on_raw, &s[2], NULL), 0);
	/* Refused before anything is made: the callback never runs. */
	ck_assert_int_eq(lrpc_channel_call_async(ch, M_ECHO, NULL, 0, cq, on_echo,
						 &s[3], NULL), -EINVAL);
	in_start = false;
	outstanding += 3;
	ck_assert_int_eq(s[0].calls + s[1].calls + s[2].calls, 0);
	run_all(cq);
	ck_assert_int_eq(s[0].code, LRPC_INVALID_ARGUMENT);
	ck_assert_int_eq(s[1].code, LRPC_DEADLINE_EXCEEDED);
	/* grpc:// names methods: one known by id only cannot be called. */
	ck_assert_int_eq(s[2].code, strcmp(h_transport(), "grpc") ?
					    LRPC_UNIMPLEMENTED : LRPC_INVALID_ARGUMENT);
	ck_assert_int_eq(s[3].calls, 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(s[i].calls, 1);
	/* The server goes away: calls still report only in the run. */
	h_kill(&srv, SIGKILL);
	in_start = true;
	ck_assert_int_eq(lrpc_channel_call_raw_async(ch, LRPCTEST__PROBE__ECHO__ID,
						     big, 0, lrpc_deadline_after_ms(5000),
						     cq, on_raw, &s[3], NULL), 0);
	in_start = false;
	outstanding++;
	run_all(cq);
	ck_assert_int_eq(s[3].calls, 1);
	ck_assert_int_ne(s[3].code, LRPC_OK);
	ck_assert_int_eq(lrpc_cq_free(cq), 0);
	lrpc_channel_close(ch);
}
END_TEST

/* The server dies with calls in flight and queued: every one ends, none
 * OK, none hangs until its deadline. */
START_TEST(server_death_ends_every_call)
{
	enum { N = 12 };
	struct slot s[N];
	struct peer srv;
	lrpc_channel *ch;
	lrpc_cq *cq;

	/* Over lrpc://, 4 lanes at most: the rest wait in the queue. */
	setenv("LRPC_PROBE_MAX_RECEIVERS", "4", 1);
	ch = setup(&srv, "asyncdeath", "2", NULL, &cq);
	for (int i = 0; i < N; i++) {
		s[i] = (struct slot){ .seq = (uint64_t)i + 1 };
		start_slow(ch, cq, &s[i], 60000, false);
	}
	ck_assert(h_expect(&srv, "slow-enter", 10000));
	h_kill(&srv, SIGKILL);
	run_all(cq);
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(s[i].calls, 1);
		ck_assert_msg(s[i].code == LRPC_UNAVAILABLE, "call %d: %s %s", i,
			      lrpc_code_name(s[i].code), s[i].msg);
	}
	ck_assert_int_eq(lrpc_cq_free(cq), 0);
	lrpc_channel_close(ch);
}
END_TEST

/* --- Stream operations -------------------------------------------------- */

struct pipe {
	lrpc_stream *s;
	lrpc_cq *cq;
	uint64_t wrote, read, n; /* messages written, read, to send */
	bool ended;
	lrpc_code end;
};

static void on_written(void *arg, lrpc_code code, ProtobufCMessage *msg,
		       const lrpc_status *st, lrpc_async *h);

static void write_next(struct pipe *pp)
{
	Lrpctest__EchoMsg m = LRPCTEST__ECHO_MSG__INIT;

	m.seq = pp->wrote;
	ck_assert_int_eq(lrpc_stream_write_async(pp->s, &m.base, pp->cq, on_written,
						 pp, NULL), 0);
	outstanding++;
}

static void on_written(void *arg, lrpc_code code, ProtobufCMessage *msg,
		       const lrpc_status *st, lrpc_async *h)
{
	struct pipe *pp = arg;

	(void)h;
	outstanding--;
	ck_assert_msg(code == LRPC_OK, "write %llu: %s", (unsigned long long)pp->wrote,
		      st->message);
	ck_assert_ptr_null(msg);
	if (++pp->wrote < pp->n)
		write_next(pp);
	else
		ck_assert_int_eq(lrpc_stream_close_send(pp->s, NULL), LRPC_OK);
}

static void on_read(void *arg, lrpc_code code, ProtobufCMessage *msg,
		    const lrpc_status *st, lrpc_async *h)
{
	struct pipe *pp = arg;

	(void)h, (void)st;
	outstanding--;
	if (code != LRPC_OK || !msg) {
		pp->ended = true;
		pp->end = code;
		return;
	}
	/* In order, one by one; the message is the callback's. */
	ck_assert_uint_eq(((Lrpctest__EchoMsg *)msg)->seq, pp->read);
	pp->read++;
	protobuf_c_message_free_unpacked(msg, NULL);
	ck_assert_int_eq(lrpc_stream_read_async(pp->s, pp->cq, on_read, pp, NULL), 0);
	outstanding++;
}

/* One thread writes and reads a bidirectional stream through the cq. */
START_TEST(stream_operations_complete_on_the_cq)
{
	struct pipe pp = { .n = 300 };
	struct peer srv;
	lrpc_channel *ch;
	lrpc_status st;

	if (!strcmp(h_transport(), "grpc"))
		return; /* the grpc:// client carries no streams yet */
	ch = setup(&srv, "asyncstream", "2", NULL, &pp.cq);
	ck_assert_int_eq(lrpc_stream_open(ch, lrpctest_streams_echo,
					  lrpc_deadline_after_ms(60000), &pp.s, &st),
			 LRPC_OK);
	write_next(&pp);
	ck_assert_int_eq(lrpc_stream_read_async(pp.s, pp.cq, on_read, &pp, NULL), 0);
	outstanding++;
	run_all(pp.cq);
	ck_assert(pp.ended);
	ck_assert_int_eq(pp.end, LRPC_OK);
	ck_assert_uint_eq(pp.wrote, pp.n);
	ck_assert_uint_eq(pp.read, pp.n);
	lrpc_stream_free(pp.s);
	teardown(&srv, ch, pp.cq);
}
END_TEST

/* A read waiting for a message that never comes ends CANCELLED when
 * cancelled from the cq's thread, and so does the stream. */
START_TEST(cancel_a_waiting_stream_read)
{
	struct pipe pp = { .n = 0 };
	struct peer srv;
	lrpc_channel *ch;
	lrpc_async *h;
	lrpc_status st;
	ProtobufCMessage *m;

	if (!strcmp(h_transport(), "grpc"))
		return;
	ch = setup(&srv, "asyncsread", "2", NULL, &pp.cq);
	ck_assert_int_eq(lrpc_stream_open(ch, lrpctest_streams_echo,
					  lrpc_deadline_after_ms(60000), &pp.s, &st),
			 LRPC_OK);
	ck_assert_int_eq(lrpc_stream_read_async(pp.s, pp.cq, on_read, &pp, &h), 0);
	outstanding++;
	ck_assert_int_eq(lrpc_cq_run(pp.cq, 0, 0), 0);
	lrpc_async_cancel(h);
	run_all(pp.cq);
	ck_assert(pp.ended);
	ck_assert_int_eq(pp.end, LRPC_CANCELLED);
	ck_assert_int_eq(lrpc_stream_read(pp.s, &m, &st), LRPC_CANCELLED);
	lrpc_stream_free(pp.s);
	teardown(&srv, ch, pp.cq);
}
END_TEST

/* With wait_for_ready, a call started while nobody serves waits in the
 * queue, and is sent once the server is back. */
START_TEST(wait_for_ready_calls_wait_for_the_server)
{
	struct slot s = { .seq = 41 };
	lrpc_channel_opts o;
	struct peer srv;
	lrpc_channel *ch;
	lrpc_status st;
	lrpc_cq *cq;
	char uri[300];
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT, *rep;

	if (!strcmp(h_transport(), "grpc"))
		return; /* its test server cannot take its port back */
	lrpc_channel_opts_init(&o);
	o.wait_for_ready = 1;
	ch = setup(&srv, "asyncready", "2", &o, &cq);
	memcpy(uri, srv.uri, sizeof(uri));
	h_kill(&srv, SIGKILL);
	/* Until the channel has noticed, a call fails as sent; once it has,
	 * a synchronous call waits (here until a short deadline). */
	while (lrpctest__probe__echo__call(ch, &req, &rep, lrpc_deadline_after_ms(200),
					   &st) != LRPC_DEADLINE_EXCEEDED)
		;
	start_echo(ch, cq, &s, 20000);
	ck_assert_int_eq(lrpc_cq_run(cq, 0, 0), 0); /* it waits */
	if (!strcmp(h_transport(), "tcp"))
		setenv("LRPC_PROBE_TCP", uri, 1);
	h_probe_server(&srv, "asyncready", "2", NULL);
	run_all(cq);
	ck_assert_int_eq(s.calls, 1);
	ck_assert_msg(s.code == LRPC_OK, "%s %s", lrpc_code_name(s.code), s.msg);
	teardown(&srv, ch, cq);
}
END_TEST

struct uvt {
	lrpc_cq *cq;
	uv_poll_t poll;
};

static void on_readable(uv_poll_t *p, int status, int events)
{
	struct uvt *u = p->data;

	(void)events;
	ck_assert_int_eq(status, 0);
	ck_assert_int_ge(lrpc_cq_run(u->cq, 0, 0), 0);
	if (outstanding == 0)
		uv_poll_stop(p);
}

/* A libuv loop waits on the cq's fd and runs it when it is readable. */
START_TEST(a_libuv_loop_drives_the_cq)
{
	enum { N = 200 };
	static struct slot s[N];
	struct peer srv;
	lrpc_channel *ch;
	uv_loop_t loop;
	struct uvt u;

	h_dir_setup();
	h_probe_server(&srv, "asyncuv", "2", NULL);
	ch = h_open(&srv);
	ck_assert_int_eq(lrpc_cq_new(&u.cq), 0);
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	ck_assert_int_eq(uv_poll_init(&loop, &u.poll, lrpc_cq_fd(u.cq)), 0);
	u.poll.data = &u;
	for (int i = 0; i < N; i++) {
		s[i] = (struct slot){ .seq = (uint64_t)i + 100 };
		start_echo(ch, u.cq, &s[i], 30000);
	}
	ck_assert_int_eq(uv_poll_start(&u.poll, UV_READABLE, on_readable), 0);
	ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(s[i].calls, 1);
		ck_assert_int_eq(s[i].code, LRPC_OK);
	}
	uv_close((uv_handle_t *)&u.poll, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
	ck_assert_int_eq(lrpc_cq_free(u.cq), 0);
	lrpc_channel_close(ch);
	h_kill(&srv, SIGTERM);
}
END_TEST

/* A cq with nothing started frees; one with a call outstanding refuses
 * until its callback ran. */
START_TEST(cq_free_only_when_nothing_is_outstanding)
{
	struct slot s = { .seq = 3 };
	struct peer srv;
	lrpc_channel *ch;
	lrpc_cq *cq;

	ck_assert_int_eq(lrpc_cq_new(&cq), 0);
	ck_assert_int_ge(lrpc_cq_fd(cq), 0);
	ck_assert_int_eq(lrpc_cq_run(cq, 0, 0), 0);
	ck_assert_int_eq(lrpc_cq_free(cq), 0);
	ck_assert_int_eq(lrpc_cq_free(NULL), 0);

	ch = setup(&srv, "asyncfree", "2", NULL, &cq);
	start_echo(ch, cq, &s, 30000);
	ck_assert_int_eq(lrpc_cq_free(cq), -EBUSY);
	run_all(cq);
	ck_assert_int_eq(s.code, LRPC_OK);
	teardown(&srv, ch, cq);
}
END_TEST

H_MAIN("async", 120, a_thousand_in_flight_from_one_thread,
       many_threads_start_on_one_channel,
       queued_and_in_flight_calls_end_at_their_deadline,
       a_full_queue_refuses_with_resource_exhausted, cancel_from_the_cq_thread,
       callbacks_never_run_inside_the_start, server_death_ends_every_call,
       wait_for_ready_calls_wait_for_the_server,
       a_libuv_loop_drives_the_cq, stream_operations_complete_on_the_cq,
       cancel_a_waiting_stream_read,
       cq_free_only_when_nothing_is_outstanding)
