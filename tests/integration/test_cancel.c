// SPDX-License-Identifier: MIT
/*
 * Cancelling one call over unix:// and tcp:// (a CANCEL frame) and grpc://
 * (RST_STREAM, and the server's own timer at a deadline): the connection
 * stays (the server accepts no new one, and the next call, and a call in
 * flight beside the cancelled one, go through on it); the
 * handler's lrpc_call_on_cancel() callback runs exactly once, with the call
 * already cancelled, and the handler returns at once. The same for a
 * synchronous and an asynchronous deadline, a stream's cancel and the
 * client going away; many cancels leave the server's descriptors and
 * connections as they were; CANCEL frames for unknown or finished calls,
 * repeated ones and malformed ones get their bounded answers (sockets;
 * an old server's late reply: test_cancel_old_server.c).
 * lrpc:// cannot tell a handler (lrpc_call_on_cancel is -ENOTSUP there).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "probe.lrpc.h"
#include "rawframe.h"
#include "streams.h"

#define M_ECHO (&lrpctest__probe__service_desc.methods[0])
#define M_SLOW (&lrpctest__probe__service_desc.methods[1])

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv; /* on CLOCK_MONOTONIC, lrpc_now()'s: start() */
static int entered, returned, notes, bad;
static bool released;

/* A Slow handler's cancel state, on its stack. */
struct held {
	lrpc_call *call;
	bool cancelled;
};

static void on_cancel(void *arg)
{
	struct held *h = arg;

	pthread_mutex_lock(&mu);
	notes++;
	if (!lrpc_call_cancelled(h->call) || h->cancelled)
		bad++; /* ran before the flag was set, or twice */
	h->cancelled = true;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static void on_stream_cancel(void *call)
{
	pthread_mutex_lock(&mu);
	notes++;
	if (!lrpc_call_cancelled(call))
		bad++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

/* Waits for its callback (or Release); a bound only against a hang. */
static lrpc_code slow(void *user, lrpc_call *call, const Lrpctest__SlowReq *req,
		      Lrpctest__SlowReply *rep)
{
	struct held h = { call, false };
	lrpc_deadline d = lrpc_deadline_after_ms(60000);
	struct timespec ts = { d / 1000000000, d % 1000000000 };

	(void)user;
	if (lrpc_call_on_cancel(call, on_cancel, &h) != 0 ||
	    lrpc_call_on_cancel(call, on_cancel, &h) != -EBUSY)
		__atomic_add_fetch(&bad, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&mu);
	entered++;
	pthread_cond_broadcast(&cv);
	while (!h.cancelled && !released &&
	       pthread_cond_timedwait(&cv, &mu, &ts) == 0)
		;
	returned++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	rep->tag = req->tag;
	return h.cancelled ? LRPC_CANCELLED : LRPC_OK;
}

static int echo_told = 1; /* what Echo's lrpc_call_on_cancel() returned */

static void on_never(void *arg)
{
	(void)arg;
	__atomic_add_fetch(&bad, 1, __ATOMIC_SEQ_CST);
}

/* Registers a callback that must never run: Echo is never cancelled. */
static lrpc_code echo(void *user, lrpc_call *call, const Lrpctest__EchoMsg *req,
		      Lrpctest__EchoMsg *rep)
{
	(void)user;
	__atomic_store_n(&echo_told, lrpc_call_on_cancel(call, on_never, NULL),
			 __ATOMIC_SEQ_CST);
	rep->seq = req->seq;
	return LRPC_OK;
}

/* Wait until *v reaches n; fails the test after 30 s. */
static void wait_for(const int *v, int n)
{
	lrpc_deadline d = lrpc_deadline_after_ms(30000);
	struct timespec ts = { d / 1000000000, d % 1000000000 };
	int got;

	pthread_mutex_lock(&mu);
	while (*v < n && pthread_cond_timedwait(&cv, &mu, &ts) == 0)
		;
	got = *v;
	pthread_mutex_unlock(&mu);
	ck_assert_int_ge(got, n);
}

static int get(const int *v)
{
	int n;

	pthread_mutex_lock(&mu);
	n = *v;
	pthread_mutex_unlock(&mu);
	return n;
}

/* A server that takes \p pipelined calls of a connection at once (0: the
 * default). */
static lrpc_server *start_with(char *uri, size_t len, unsigned int pipelined)
{
	static const Lrpctest__Probe_Handlers h = { .echo = echo, .slow = slow };
	pthread_condattr_t ca;
	lrpc_server_opts o;

	/* Room for 32 handlers held at once: threads, and on a connection. */
	setenv("UV_THREADPOOL_SIZE", "36", 1);
	lrpc_server_opts_init(&o);
	o.max_msg_size = (size_t)64 << 10;
	o.max_conn_buffer_kib = 36 * (3 * 64 + 32);
	o.max_pipelined = pipelined;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&cv, &ca);
	pthread_condattr_destroy(&ca);
	lrpctest_streams_on_cancel = on_stream_cancel;
	return h_server_start_opts(uri, len, "cancel", &h, &o);
}

static lrpc_server *start(char *uri, size_t len)
{
	return start_with(uri, len, 0);
}

/* grpc://'s synchronous client hangs up on a deadline (its own choice,
 * not this test's): only the sockets' keep the connection there. */
static bool sync_keeps_connection(void)
{
	return strcmp(h_transport(), "grpc") != 0;
}

static uint64_t accepted(lrpc_server *s)
{
	lrpc_server_stats st;

	lrpc_server_stats_get(s, &st);
	ck_assert_uint_eq(st.clients_rejected, 0);
	return st.clients_accepted;
}

/* Every callback ran as it should; then everything goes. */
static void finish(lrpc_server *s, lrpc_channel *ch, lrpc_cq *cq)
{
	ck_assert_int_eq(get(&bad), 0);
	if (cq)
		ck_assert_int_eq(lrpc_cq_free(cq), 0);
	lrpc_channel_close(ch);
	lrpc_server_free(s);
}

struct res {
	int done;
	lrpc_code code;
};

static void on_reply(void *arg, lrpc_code code, ProtobufCMessage *rep,
		     const lrpc_status *st, lrpc_async *handle)
{
	struct res *r = arg;

	(void)st, (void)handle;
	r->done++;
	r->code = code;
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
}

static void slow_async(lrpc_channel *ch, lrpc_cq *cq, int64_t ms, struct res *r,
		       lrpc_async **handle)
{
	Lrpctest__SlowReq req = LRPCTEST__SLOW_REQ__INIT;

	ck_assert_int_eq(lrpc_channel_call_async(ch, M_SLOW, &req.base,
						 lrpc_deadline_after_ms(ms), cq,
						 on_reply, r, handle), 0);
}

static void run_until(lrpc_cq *cq, const struct res *r)
{
	while (!r->done)
		ck_assert_int_ge(lrpc_cq_run(cq, lrpc_deadline_after_ms(30000), 1), 1);
}

static void echo_async(lrpc_channel *ch, lrpc_cq *cq)
{
	Lrpctest__EchoMsg req = LRPCTEST__ECHO_MSG__INIT;
	struct res r = { 0 };

	req.seq = 9;
	ck_assert_int_eq(lrpc_channel_call_async(ch, M_ECHO, &req.base,
						 lrpc_deadline_after_ms(30000), cq,
						 on_reply, &r, NULL), 0);
	run_until(cq, &r);
	ck_assert_int_eq(r.code, LRPC_OK);
}

START_TEST(async_cancel_keeps_the_connection_and_its_other_calls)
{
	char uri[300];
	lrpc_server *s = start(uri, sizeof(uri));
	struct res a = { 0 }, b = { 0 };
	lrpc_async *hb;
	lrpc_channel *ch;
	lrpc_cq *cq;
	uint64_t conns;

	ck_assert_int_eq(lrpc_channel_open(uri, NULL, &ch), 0);
	ck_assert_int_eq(lrpc_cq_new(&cq), 0);
	slow_async(ch, cq, 60000, &a, NULL);
	slow_async(ch, cq, 60000, &b, &hb);
	wait_for(&entered, 2);
	conns = accepted(s); /* the channel's first, and the async one */
	lrpc_async_cancel(hb);
	run_until(cq, &b);
	ck_assert_int_eq(b.code, LRPC_CANCELLED);
	wait_for(&returned, 1); /* told, not at its 60 s */
	ck_assert_int_eq(get(&notes), 1);
	ck_assert_int_eq(a.done, 0); /* its neighbour runs on */
	echo_async(ch, cq);
	pthread_mutex_lock(&mu);
	released = true;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	run_until(cq, &a);
	ck_assert_int_eq(a.code, LRPC_OK);
	ck_assert_uint_eq(accepted(s), conns);
	ck_assert_int_eq(get(&notes), 1); /* not for the call that finished */
	finish(s, ch, cq);
}
END_TEST

/* A connection's calls past max_pipelined wait for room; the CANCEL of a
 * call in its handler, behind such a waiting one, is what frees room, so
 * the server must take it all the same. */
START_TEST(a_cancel_behind_a_waiting_call_is_taken)
{
	char uri[300];
	lrpc_server *s = start_with(uri, sizeof(uri), 2);
	struct res r[3] = { 0 };
	lrpc_async *hv[3];
	lrpc_channel *ch;
	lrpc_cq *cq;

	if (!strcmp(h_transport(), "grpc")) {
		printf("SKIP max_pipelined: socket connections only\n");
		lrpc_server_free(s);
		return;
	}
	ck_assert_int_eq(lrpc_channel_open(uri, NULL, &ch), 0);
	ck_assert_int_eq(lrpc_cq_new(&cq), 0);
	for (int i = 0; i < 3; i++)
		slow_async(ch, cq, 60000, &r[i], &hv[i]);
	wait_for(&entered, 2); /* the third waits for room */
	lrpc_async_cancel(hv[0]);
	run_until(cq, &r[0]);
	wait_for(&returned, 1);
	wait_for(&entered, 3); /* its room went to the third */
	lrpc_async_cancel(hv[1]);
	lrpc_async_cancel(hv[2]);
	run_until(cq, &r[1]);
	run_until(cq, &r[2]);
	wait_for(&returned, 3);
	ck_assert_int_eq(get(&notes), 3);
	echo_async(ch, cq);
	finish(s, ch, cq);
}
END_TEST

START_TEST(sync_deadline_cancels_and_keeps_the_connection)
{
	Lrpctest__SlowReq req = LRPCTEST__SLOW_REQ__INIT;
	Lrpctest__SlowReply *rep = NULL;
	char uri[300];
	lrpc_server *s = start(uri, sizeof(uri));
	lrpc_channel *ch;
	lrpc_status st;
	uint64_t conns;

	ck_assert_int_eq(lrpc_channel_open(uri, NULL, &ch), 0);
	ck_assert_msg(h_echo(ch, 0, 30000, &st) == LRPC_OK, "%s", st.message);
	conns = accepted(s);
	for (int i = 1; i <= 3; i++) {
		ck_assert_int_eq(lrpctest__probe__slow__call(ch, &req, &rep,
							     lrpc_deadline_after_ms(100), &st),
				 LRPC_DEADLINE_EXCEEDED);
		ck_assert_ptr_null(rep);
		wait_for(&returned, i);
		ck_assert_int_eq(get(&notes), i);
		/* On the same connection, past the cancelled call's frame. */
		ck_assert_msg(h_echo(ch, (uint64_t)i, 30000, &st) == LRPC_OK, "%s", st.message);
	}
	if (sync_keeps_connection())
		ck_assert_uint_eq(accepted(s), conns);
	finish(s, ch, NULL);
}
END_TEST

START_TEST(async_deadline_cancels_and_keeps_the_connection)
{
	char uri[300];
	lrpc_server *s = start(uri, sizeof(uri));
	struct res r = { 0 };
	lrpc_channel *ch;
	lrpc_cq *cq;
	uint64_t conns;

	ck_assert_int_eq(lrpc_channel_open(uri, NULL, &ch), 0);
	ck_assert_int_eq(lrpc_cq_new(&cq), 0);
	echo_async(ch, cq);
	conns = accepted(s);
	slow_async(ch, cq, 100, &r, NULL);
	run_until(cq, &r);
	ck_assert_int_eq(r.code, LRPC_DEADLINE_EXCEEDED);
	wait_for(&returned, 1);
	ck_assert_int_eq(get(&notes), 1);
	echo_async(ch, cq);
	ck_assert_uint_eq(accepted(s), conns);
	finish(s, ch, cq);
}
END_TEST

/* Thousands of calls cancelled in their handlers, 32 at a time, and
 * deadlines on the synchronous path: no connection, descriptor or stream
 * more than before (ASan's leak check sees the memory). */
START_TEST(many_cancels_stay_bounded)
{
	enum { ROUNDS = 100, AT_ONCE = 32, SYNC = 20 };
	Lrpctest__SlowReq req = LRPCTEST__SLOW_REQ__INIT;
	Lrpctest__SlowReply *rep = NULL;
	char uri[300];
	lrpc_server *s = start(uri, sizeof(uri));
	struct res r[AT_ONCE];
	lrpc_async *hv[AT_ONCE];
	lrpc_server_stats stats;
	lrpc_channel *ch;
	lrpc_status st;
	lrpc_cq *cq;
	uint64_t conns, active;
	int fds;

	ck_assert_int_eq(lrpc_channel_open(uri, NULL, &ch), 0);
	ck_assert_int_eq(lrpc_cq_new(&cq), 0);
	echo_async(ch, cq);
	conns = accepted(s);
	lrpc_server_stats_get(s, &stats);
	active = stats.clients_active;
	fds = raw_fd_count(getpid());
	for (int k = 0; k < ROUNDS; k++) {
		for (int i = 0; i < AT_ONCE; i++) {
			r[i] = (struct res){ 0 };
			slow_async(ch, cq, 60000, &r[i], &hv[i]);
		}
		wait_for(&entered, (k + 1) * AT_ONCE);
		for (int i = 0; i < AT_ONCE; i++)
			lrpc_async_cancel(hv[i]);
		for (int i = 0; i < AT_ONCE; i++) {
			run_until(cq, &r[i]);
			ck_assert_int_eq(r[i].code, LRPC_CANCELLED);
		}
		wait_for(&returned, (k + 1) * AT_ONCE);
	}
	for (int i = 0; i < SYNC; i++)
		ck_assert_int_eq(lrpctest__probe__slow__call(ch, &req, &rep,
							     lrpc_deadline_after_ms(20), &st),
				 LRPC_DEADLINE_EXCEEDED);
	wait_for(&returned, ROUNDS * AT_ONCE + SYNC);
	ck_assert_msg(h_echo(ch, 1, 30000, &st) == LRPC_OK, "%s", st.message);
	echo_async(ch, cq);
	ck_assert_int_eq(get(&notes), ROUNDS * AT_ONCE + SYNC);
	if (sync_keeps_connection())
		ck_assert_uint_eq(accepted(s), conns);
	ck_assert_int_eq(raw_fd_count(getpid()), fds);
	lrpc_server_stats_get(s, &stats);
	ck_assert_uint_eq(stats.clients_active, active);
	ck_assert_uint_eq(stats.streams_active, 0);
	finish(s, ch, cq);
}
END_TEST

START_TEST(stream_cancel_runs_the_handlers_callback)
{
	Lrpctest__EchoMsg m = LRPCTEST__ECHO_MSG__INIT;
	ProtobufCMessage *got = NULL;
	char uri[300];
	lrpc_server *s = start(uri, sizeof(uri));
	lrpc_channel *ch;
	lrpc_stream *str;
	lrpc_status st;

	ck_assert_int_eq(lrpc_channel_open(uri, NULL, &ch), 0);
	ck_assert_int_eq(lrpc_stream_open(ch, lrpctest_streams_echo,
					  lrpc_deadline_after_ms(60000), &str, &st), LRPC_OK);
	m.seq = 4;
	ck_assert_int_eq(lrpc_stream_write(str, &m.base, &st), LRPC_OK);
	ck_assert_int_eq(lrpc_stream_read(str, &got, &st), LRPC_OK);
	/* Its handler runs, the callback registered; got is the stream's. */
	ck_assert_ptr_nonnull(got);
	lrpc_stream_cancel(str);
	wait_for(&notes, 1);
	lrpc_stream_free(str);
	ck_assert_msg(h_echo(ch, 2, 30000, &st) == LRPC_OK, "%s", st.message);
	ck_assert_int_eq(get(&notes), 1);
	finish(s, ch, NULL);
}
END_TEST

START_TEST(client_gone_runs_the_callback)
{
	char uri[300];
	lrpc_server *s = start(uri, sizeof(uri));
	struct res r = { 0 };
	lrpc_channel *ch;
	lrpc_cq *cq;

	ck_assert_int_eq(lrpc_channel_open(uri, NULL, &ch), 0);
	ck_assert_int_eq(lrpc_cq_new(&cq), 0);
	slow_async(ch, cq, 60000, &r, NULL);
	wait_for(&entered, 1);
	lrpc_channel_close(ch); /* its connections close */
	wait_for(&returned, 1);
	ck_assert_int_eq(get(&notes), 1);
	ck_assert_int_eq(get(&bad), 0);
	run_until(cq, &r);
	ck_assert_int_eq(lrpc_cq_free(cq), 0);
	lrpc_server_free(s);
}
END_TEST

static void raw_cancel(int fd, uint64_t id, uint32_t body)
{
	unsigned char f[RAW_HDR + 4] = { 0 };

	raw_put32(f, 0x0053524cu | (uint32_t)'C' << 24);
	raw_put32(f + 4, body);
	raw_put64(f + 8, id);
	ck_assert_int_eq(write(fd, f, RAW_HDR + body), (ssize_t)(RAW_HDR + body));
}

START_TEST(bad_cancel_frames)
{
	unsigned char f[RAW_HDR + 8], body[256];
	char uri[300];
	lrpc_server *s = start(uri, sizeof(uri));
	uint32_t code, len;
	uint64_t id;
	int fd;

	if (!strcmp(h_transport(), "grpc")) {
		printf("SKIP bad CANCEL frames: socket frames only\n");
		lrpc_server_free(s);
		return;
	}
	fd = raw_connect(uri);
	/* A Slow request, tag 0: an empty body. */
	raw_header(f, 0, 5, LRPCTEST__PROBE__SLOW__ID);
	ck_assert_int_eq(write(fd, f, RAW_HDR), RAW_HDR);
	wait_for(&entered, 1);
	raw_cancel(fd, 99, 0);  /* unknown: dropped */
	raw_cancel(fd, 5, 0);
	raw_cancel(fd, 5, 0);   /* repeated: nothing more */
	ck_assert(raw_reply(fd, &code, &id, body, sizeof(body), &len));
	ck_assert_uint_eq(id, 5);
	ck_assert_uint_eq(code, LRPC_CANCELLED);
	ck_assert_uint_eq(len, 0); /* the reply itself dropped */
	raw_cancel(fd, 5, 0);   /* for a finished call: dropped */
	raw_echo(fd, 6, 3);     /* the connection serves on */
	ck_assert(raw_reply(fd, &code, &id, body, sizeof(body), &len));
	ck_assert_uint_eq(id, 6);
	ck_assert_uint_eq(code, LRPC_OK);
	ck_assert_int_eq(get(&notes), 1);
	raw_cancel(fd, 7, 4);   /* a body: malformed, the connection ends */
	ck_assert(raw_reply(fd, &code, &id, body, sizeof(body), &len));
	ck_assert_uint_eq(code, LRPC_INVALID_ARGUMENT);
	ck_assert(!raw_reply(fd, &code, &id, body, sizeof(body), &len));
	close(fd);
	ck_assert_int_eq(get(&bad), 0);
	lrpc_server_free(s);
}
END_TEST

/* Where the transport can tell, the callback registers; over lrpc:// it
 * says it cannot. */
START_TEST(on_cancel_registers_where_the_transport_can_tell)
{
	char uri[300];
	lrpc_server *s = start(uri, sizeof(uri));
	lrpc_channel *ch;
	lrpc_status st;

	ck_assert_int_eq(lrpc_channel_open(uri, NULL, &ch), 0);
	ck_assert_msg(h_echo(ch, 3, 30000, &st) == LRPC_OK, "%s", st.message);
	ck_assert_int_eq(__atomic_load_n(&echo_told, __ATOMIC_SEQ_CST),
			 strcmp(h_transport(), "lrpc") ? 0 : -ENOTSUP);
	finish(s, ch, NULL);
}
END_TEST

int main(void)
{
	const TTest *const all[] = {
		on_cancel_registers_where_the_transport_can_tell,
		async_cancel_keeps_the_connection_and_its_other_calls,
		a_cancel_behind_a_waiting_call_is_taken,
		sync_deadline_cancels_and_keeps_the_connection,
		async_deadline_cancels_and_keeps_the_connection,
		many_cancels_stay_bounded,
		stream_cancel_runs_the_handlers_callback,
		client_gone_runs_the_callback,
		bad_cancel_frames,
	};

	/* lrpc:// cannot tell a handler: only the first applies there. */
	return h_run("cancel", all, strcmp(h_transport(), "lrpc") ? 9 : 1, 120);
}
