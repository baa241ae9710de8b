/* SPDX-License-Identifier: MIT */
/*
 * lazyrpc contender: the Echo service of echo.proto through the generated
 * stubs, on whatever uri the harness passes ("lrpc://NAME", and later
 * "unix://PATH", "tcp://HOST:PORT"). The client shares one channel between
 * its threads, as the API intends; the server runs --threads receivers.
 * --opt handoff=NAME picks the hand-off ("futex", "rpal-kernel", ...);
 * --opt inline runs socket handlers on the server's I/O thread.
 * --opt numa=MODE (server) places lrpc:// clients by lrpc_server_set_numa().
 */
#define _GNU_SOURCE
#include "bench.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lazyrpc/lazyrpc.h>

#include "echo.lrpc.h"
#include "echo.pb-c.h"

static const char *handoff_opt(const bench_opts *o)
{
	if (o->opt && !strncmp(o->opt, "handoff=", 8) && o->opt[8])
		return o->opt + 8;
	return NULL;
}

/* --- server -------------------------------------------------------------- */

static lrpc_code echo(void *user, lrpc_call *call, const Bench__EchoMsg *req,
		      Bench__EchoMsg *rep)
{
	(void)user;
	/* Copy, like the gRPC server's set_payload(): the reply owns its bytes. */
	rep->payload.len = req->payload.len;
	rep->payload.data = lrpc_call_alloc(call, req->payload.len ? req->payload.len : 1);
	if (!rep->payload.data)
		return LRPC_RESOURCE_EXHAUSTED;
	memcpy(rep->payload.data, req->payload.data, req->payload.len);
	return LRPC_OK;
}

/* Pour messages of the size asked for until the client cancels. */
static lrpc_code pour(void *user, lrpc_call *call, const Bench__PourReq *req,
		      lrpc_server_stream *stream)
{
	Bench__EchoMsg m = BENCH__ECHO_MSG__INIT;
	lrpc_code code = LRPC_OK;

	(void)user;
	m.payload.len = req->size;
	m.payload.data = lrpc_call_alloc(call, req->size ? req->size : 1);
	if (!m.payload.data)
		return LRPC_RESOURCE_EXHAUSTED;
	memset(m.payload.data, 'p', req->size);
	for (uint64_t seq = 0; code == LRPC_OK; seq++) {
		bench_pour_stamp(m.payload.data, m.payload.len, seq);
		code = bench__echo__pour__server_write(stream, &m);
	}
	return code;
}

static int server(const bench_opts *o)
{
	static const Bench__Echo_Handlers handlers = { .echo = echo, .pour = pour };
	lrpc_numa_mode numa = LRPC_NUMA_OFF;
	lrpc_server_opts so;
	lrpc_server *srv;
	int rc;

	bench_pin(o);
	bench_block_signals();
	lrpc_server_opts_init(&so);
	so.receivers = o->threads;
	so.max_msg_size = o->max_size + 4096;
	so.inline_handlers = o->opt && !strcmp(o->opt, "inline");
	if (o->opt && !strncmp(o->opt, "numa=", 5) &&
	    lrpc_numa_mode_parse(o->opt + 5, &numa) < 0)
		bench_die("--opt %s: not off, follow-client or interleave", o->opt);
	if ((rc = lrpc_server_new(&so, &srv)) ||
	    (rc = lrpc_server_set_numa(srv, numa)) ||
	    (rc = bench__echo__register(srv, &handlers, NULL)) ||
	    (rc = lrpc_server_listen(srv, o->addr)) ||
	    (rc = lrpc_server_start(srv)))
		bench_die("serve %s: %s", o->addr, strerror(-rc));
	bench_ready(o->addr);
	bench_wait_signal();
	lrpc_server_stop(srv);
	lrpc_server_free(srv);
	return 0;
}

/* --- client -------------------------------------------------------------- */

static pthread_mutex_t ch_lock = PTHREAD_MUTEX_INITIALIZER;
static lrpc_channel *ch;
static unsigned ch_users;

typedef struct client {
	Bench__EchoMsg *rep;
	char desc[96];
} client;

static void *cl_connect(const bench_opts *o, unsigned idx)
{
	client *c = calloc(1, sizeof(*c));
	int rc = 0;

	(void)idx;
	if (!c)
		return NULL;
	pthread_mutex_lock(&ch_lock);
	if (!ch) {
		lrpc_channel_opts co;
		lrpc_channel_opts_init(&co);
		co.handoff = handoff_opt(o);
		rc = lrpc_channel_open(o->addr, &co, &ch);
	}
	if (!rc)
		ch_users++;
	pthread_mutex_unlock(&ch_lock);
	if (rc) {
		fprintf(stderr, "lrpc: open %s: %s\n", o->addr, strerror(-rc));
		free(c);
		return NULL;
	}
	snprintf(c->desc, sizeof(c->desc), "\"handoff\": \"%s\"", lrpc_channel_handoff(ch));
	return c;
}

static int cl_call(void *ctx, const void *req, size_t len, const void **rep,
		   size_t *rep_len)
{
	client *c = ctx;
	Bench__EchoMsg m = BENCH__ECHO_MSG__INIT;
	lrpc_status st;
	lrpc_code code;

	if (c->rep) {
		bench__echo_msg__free_unpacked(c->rep, NULL);
		c->rep = NULL;
	}
	m.payload.data = (uint8_t *)req;
	m.payload.len = len;
	code = bench__echo__echo__call(ch, &m, &c->rep, lrpc_deadline_after_ms(10000), &st);
	if (code != LRPC_OK) {
		fprintf(stderr, "lrpc: %s: %s\n", lrpc_code_name(code), st.message);
		return -1;
	}
	*rep = c->rep->payload.data;
	*rep_len = c->rep->payload.len;
	return 0;
}

static void cl_close(void *ctx)
{
	client *c = ctx;

	if (c->rep)
		bench__echo_msg__free_unpacked(c->rep, NULL);
	free(c);
	pthread_mutex_lock(&ch_lock);
	if (--ch_users == 0) {
		lrpc_channel_close(ch);
		ch = NULL;
	}
	pthread_mutex_unlock(&ch_lock);
}

static void *pour_open(void *ctx, size_t size)
{
	Bench__PourReq req = BENCH__POUR_REQ__INIT;
	lrpc_stream *s;
	lrpc_status st;
	lrpc_code code;

	(void)ctx;
	req.size = (uint32_t)size;
	code = bench__echo__pour__open(ch, &req, lrpc_deadline_after_ms(600000), &s, &st);
	if (code != LRPC_OK) {
		fprintf(stderr, "lrpc: open Pour: %s: %s\n", lrpc_code_name(code), st.message);
		return NULL;
	}
	return s;
}

static int pour_next(void *stream, const void **msg, size_t *len)
{
	Bench__EchoMsg *m;
	lrpc_status st;
	lrpc_code code = bench__echo__pour__read(stream, &m, &st);

	if (code != LRPC_OK || !m) {
		fprintf(stderr, "lrpc: Pour ended: %s: %s\n", lrpc_code_name(code), st.message);
		return -1;
	}
	*msg = m->payload.data;
	*len = m->payload.len;
	return 0;
}

static void pour_close(void *stream)
{
	lrpc_stream_free(stream);
}

/* --workload async: \p depth calls in flight from one thread on one cq,
 * each finished call's callback starting the next. */
struct async_loop {
	lrpc_cq *cq;
	Bench__EchoMsg req;
	int (*done)(void *arg, const void *rep, size_t rep_len, uint64_t lat_ns);
	void *arg;
	unsigned outstanding;
	bool stop, failed;
};

struct async_call {
	struct async_loop *l;
	uint64_t t0;
};

static void on_echo(void *arg, lrpc_code code, ProtobufCMessage *rep,
		    const lrpc_status *st, lrpc_async *h);

static void async_start(struct async_call *c)
{
	struct async_loop *l = c->l;

	c->t0 = bench_now_ns();
	if (bench__echo__echo__call_async(ch, &l->req, lrpc_deadline_after_ms(10000),
					  l->cq, on_echo, c, NULL) == 0)
		l->outstanding++;
	else
		l->stop = l->failed = true;
}

static void on_echo(void *arg, lrpc_code code, ProtobufCMessage *rep,
		    const lrpc_status *st, lrpc_async *h)
{
	struct async_call *c = arg;
	struct async_loop *l = c->l;
	Bench__EchoMsg *m = (Bench__EchoMsg *)rep;

	(void)h;
	l->outstanding--;
	if (code != LRPC_OK) {
		fprintf(stderr, "lrpc: async: %s: %s\n", lrpc_code_name(code), st->message);
		l->stop = l->failed = true;
		return;
	}
	if (!l->stop && l->done(l->arg, m->payload.data, m->payload.len,
				bench_now_ns() - c->t0))
		l->stop = true;
	protobuf_c_message_free_unpacked(rep, NULL);
	if (!l->stop)
		async_start(c);
}

static int cl_async_loop(void *ctx, const void *req, size_t len, unsigned depth,
			 int (*done)(void *arg, const void *rep, size_t rep_len,
				     uint64_t lat_ns),
			 void *arg)
{
	struct async_loop l = { .done = done, .arg = arg };
	struct async_call *calls = calloc(depth ? depth : 1, sizeof(*calls));

	(void)ctx;
	if (!calls || lrpc_cq_new(&l.cq) < 0) {
		fprintf(stderr, "lrpc: async: out of memory\n");
		free(calls);
		return -1;
	}
	bench__echo_msg__init(&l.req);
	l.req.payload.data = (uint8_t *)req;
	l.req.payload.len = len;
	for (unsigned i = 0; i < depth && !l.stop; i++) {
		calls[i].l = &l;
		async_start(&calls[i]);
	}
	while (l.outstanding)
		if (lrpc_cq_run(l.cq, INT64_MAX, 0) < 0)
			break;
	lrpc_cq_free(l.cq);
	free(calls);
	return l.failed ? -1 : 0;
}

static const char *cl_describe(void *ctx)
{
	return ((client *)ctx)->desc;
}

int main(int argc, char **argv)
{
	static const bench_client_ops ops = {
		.name = "lazyrpc",
		.connect = cl_connect,
		.call = cl_call,
		.close = cl_close,
		.describe = cl_describe,
		.pour_open = pour_open,
		.pour_next = pour_next,
		.pour_close = pour_close,
		.async_loop = cl_async_loop,
	};
	bench_opts o;

	bench_parse(argc, argv, &o);
	if (!strcmp(o.mode, "server"))
		return server(&o);
	return bench_client_main(&o, &ops);
}
