// SPDX-License-Identifier: MIT
/*
 * The server's side of a stream on an lrpc:// lane. The receiver thread
 * that took the open answers it through the hand-off, then runs the
 * handler (serve/stream.c) over the lane's two rings: it consumes the
 * client's and produces its own, waking the client through its bell only
 * when it sleeps (handoff/bell.h), and writes the stream's end last.
 *
 * The client can rewrite the whole lane at any moment, so the rings check
 * each index they read (wire/lane_ring.c); a broken one ends the stream
 * as a protocol error and the receiver serves the lane again. A handler
 * blocked in a read or write returns CANCELLED when the client cancels
 * (the lane's cancel word, also its lrpc_call_cancelled()) or the
 * connection stops (the client went away; the server stops): the stop's
 * kick rings the server's bell.
 *
 * A stream opened with LRPC__CALL_STREAM_MD (wire/lane.h) brings its
 * request metadata in the buffer, copied before the open is answered (the
 * rings then take the buffer), and gets the handler's headers and
 * trailers as its last record (LRPC__RING_MD), as unix:// and tcp:// send
 * them with their END: the client fills its lists at the end.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "handoff/bell.h"
#include "serve/lane_md.h"
#include "serve/lane_stream.h"
#include "serve/stream.h"
#include "wire/lane_ring.h"
#include "wire/md_block.h"

struct lane_sstream {
	struct lrpc_server_stream base; /* first: the stream layer's */
	struct lrpc__lane *lane;
	const _Atomic int *stop;
	struct lrpc__ring in, out;
	lrpc_deadline deadline;
	const char *broken; /* why the stream is a protocol error, or NULL */
	/* The operation in progress, for look(). */
	const unsigned char **msg;
	size_t *len;
	bool *end;
	size_t put_len;
	uint32_t put_kind;
	lrpc__put_fn put;
	const void *put_arg;
};

/* The handler's message, while it runs; the metadata record is sent
 * after it returned, when there is no call to tell. */
#define say(s, ...)                                                       \
	do {                                                              \
		if ((s)->base.call)                                       \
			lrpc_call_set_message((s)->base.call, __VA_ARGS__); \
	} while (0)

static int fail(struct lane_sstream *s, int err)
{
	if (!s->broken)
		s->broken = err == -ENOMEM ?
				    "out of memory for a message that wraps" :
				    "the client's ring indices, lengths or kinds are impossible";
	say(s, "stream ended: %s", s->broken);
	return LRPC_CANCELLED;
}

/* Between looks: is the stream over for the handler? */
static int check(void *ctx)
{
	struct lane_sstream *s = ctx;

	if (s->broken)
		return LRPC_CANCELLED;
	if (atomic_load_explicit(&s->lane->call.cancel, memory_order_acquire)) {
		say(s, "cancelled by the client");
		return LRPC_CANCELLED;
	}
	if (atomic_load_explicit(s->stop, memory_order_acquire)) {
		say(s, "the client went away or the server is stopping");
		return LRPC_CANCELLED;
	}
	if (lrpc_now() >= s->deadline) {
		say(s, "the stream's deadline passed");
		return LRPC_DEADLINE_EXCEEDED;
	}
	return -1;
}

static int look_in(void *ctx)
{
	struct lane_sstream *s = ctx;
	/* Before the ring: a half-close seen covers every record before it. */
	uint32_t flags = atomic_load_explicit(&s->lane->stream.cli_flags,
					      memory_order_acquire);
	uint32_t kind;
	int got = lrpc__ring_take(&s->in, s->msg, s->len, &kind);

	/* A client sends messages only. */
	if (got > 0 && kind != LRPC__RING_MSG)
		got = -EPROTO;
	if (got > 0)
		return LRPC_OK;
	if (got < 0)
		return fail(s, got);
	if (flags & LRPC__STREAM_HALF_CLOSED) {
		*s->end = true;
		return LRPC_OK;
	}
	return -1;
}

static lrpc_code ss_recv(struct lrpc_server_stream *base, lrpc_deadline deadline,
			 const unsigned char **msg, size_t *len, bool *end)
{
	struct lane_sstream *s = (struct lane_sstream *)base;
	struct lrpc__stream_ctl *c = &s->lane->stream;
	int code;

	/* The last message is done with: its room is the client's again. */
	if (lrpc__ring_release(&s->in))
		lrpc__bell_ring(&c->cli_bell, &c->cli_sleepers);
	s->deadline = deadline;
	code = check(s);
	if (code >= 0)
		return (lrpc_code)code;
	s->msg = msg;
	s->len = len;
	s->end = end;
	return (lrpc_code)lrpc__bell_wait(&c->srv_bell, &c->srv_sleepers, look_in,
					  check, s, deadline);
}

static int look_out(void *ctx)
{
	struct lane_sstream *s = ctx;
	int room = lrpc__ring_room(&s->out, s->put_len);

	if (room < 0)
		return fail(s, room);
	if (!room)
		return -1;
	room = lrpc__ring_put(&s->out, s->put_len, s->put_kind, s->put, s->put_arg);
	if (room < 0) {
		say(s, "out of memory for a message that wraps");
		return LRPC_RESOURCE_EXHAUSTED;
	}
	lrpc__bell_ring(&s->lane->stream.cli_bell, &s->lane->stream.cli_sleepers);
	return LRPC_OK;
}

static lrpc_code ss_send(struct lrpc_server_stream *base, lrpc_deadline deadline,
			 size_t len, lrpc__put_fn put, const void *arg)
{
	struct lane_sstream *s = (struct lane_sstream *)base;
	struct lrpc__stream_ctl *c = &s->lane->stream;
	int code;

	s->deadline = deadline;
	code = check(s);
	if (code >= 0)
		return (lrpc_code)code;
	s->put_len = len;
	s->put_kind = LRPC__RING_MSG;
	s->put = put;
	s->put_arg = arg;
	return (lrpc_code)lrpc__bell_wait(&c->srv_bell, &c->srv_sleepers, look_out,
					  check, s, deadline);
}

static size_t ss_max_msg(const struct lrpc_server_stream *base)
{
	const struct lane_sstream *s = (const struct lane_sstream *)base;

	return lrpc__ring_max_msg(s->out.size);
}

/* lrpc_server_stream_wait(): the same bell as reads, with its own look. */
static int look_woken(void *ctx)
{
	struct lane_sstream *s = ctx;

	return atomic_exchange(&s->base.woken, 0) ? LRPC_OK : -1;
}

static lrpc_code ss_wait(struct lrpc_server_stream *base, lrpc_deadline deadline)
{
	struct lane_sstream *s = (struct lane_sstream *)base;
	struct lrpc__stream_ctl *c = &s->lane->stream;

	s->deadline = deadline;
	return (lrpc_code)lrpc__bell_wait(&c->srv_bell, &c->srv_sleepers, look_woken,
					  check, s, deadline);
}

/* A kick, as a stop's: it wakes the handler whether or not it sleeps. */
static void ss_wake(struct lrpc_server_stream *base)
{
	lrpc__bell_kick(&((struct lane_sstream *)base)->lane->stream.srv_bell);
}

static const struct lrpc__sstream_ops lane_sstream_ops = {
	.recv = ss_recv,
	.send = ss_send,
	.max_msg = ss_max_msg,
	.wait = ss_wait,
	.wake = ss_wake,
};

/* Last: after end_seq the lane is the client's again. */
static void end_write(struct lrpc__lane *lane, uint64_t seq, lrpc_code code,
		      const char *message)
{
	struct lrpc__stream_ctl *c = &lane->stream;
	size_t n = strnlen(message, LRPC_STATUS_MSG_MAX - 1);

	c->end_code = (uint32_t)code;
	memcpy(c->end_message, message, n);
	c->end_message[n] = '\0';
	atomic_store_explicit(&c->end_seq, seq, memory_order_seq_cst);
	lrpc__bell_ring(&c->cli_bell, &c->cli_sleepers);
}

static void md_put(const void *arg, unsigned char *buf)
{
	const struct lrpc__md_out *m = arg;

	lrpc__md_rec_write(buf, m->headers.v, m->headers.n, m->trailers.v,
			   m->trailers.n);
}

/*
 * After the handler returned: its headers and trailers as the stream's
 * last record, when it has some, waiting for room as a message does. A
 * record the ring cannot hold ends the stream with RESOURCE_EXHAUSTED, as
 * a unary reply's metadata that does not fit the buffer does; a client
 * that cancelled or went away, or the deadline, leaves it unsent (nobody
 * reads it). \return the stream's code: \p code, or what replaced it
 * (with \p message).
 */
static lrpc_code md_send(struct lane_sstream *s, lrpc_deadline deadline,
			 lrpc_code code, char *message)
{
	const struct lrpc__md_out *m = &s->base.md;
	struct lrpc__stream_ctl *c = &s->lane->stream;
	size_t max = lrpc__ring_max_msg(s->out.size), len;
	int ret;

	if (!m->headers.n && !m->trailers.n)
		return code;
	len = LRPC__MD_REC_HDR + lrpc__md_block_size(m->headers.v, m->headers.n) +
	      lrpc__md_block_size(m->trailers.v, m->trailers.n);
	if (len > max) {
		snprintf(message, LRPC_STATUS_MSG_MAX,
			 "the response metadata (%zu bytes) exceeds the stream's "
			 "%zu-byte ring", len, max);
		return LRPC_RESOURCE_EXHAUSTED;
	}
	s->put_len = len;
	s->put_kind = LRPC__RING_MD;
	s->put = md_put;
	s->put_arg = m;
	s->deadline = deadline;
	ret = lrpc__bell_wait(&c->srv_bell, &c->srv_sleepers, look_out, check, s,
			      deadline);
	if (ret == LRPC_RESOURCE_EXHAUSTED) {
		snprintf(message, LRPC_STATUS_MSG_MAX,
			 "out of memory for the response metadata");
		return LRPC_RESOURCE_EXHAUSTED;
	}
	return code;
}

/* Refuse the open: \p rep for the caller to write as the call's reply,
 * and the stream's end, for a client that gave up on the open. */
static bool refuse(struct lrpc__lane *lane, uint64_t seq, struct lrpc__reply *rep,
		   lrpc_code code)
{
	rep->len = 0;
	rep->code = code;
	end_write(lane, seq, rep->code, rep->message);
	return false;
}

bool lrpc__lane_stream_serve(struct lrpc__receivers *rs, struct lrpc__hrecv *r,
			     struct lrpc__arena *arena, uint64_t seq,
			     lrpc_deadline deadline, uint32_t method_id,
			     uint32_t flags, uint32_t md_len,
			     struct lrpc__reply *rep)
{
	struct lrpc__host *h = rs->host;
	struct lrpc__lane *lane = r->lane;
	struct lrpc__stream_ctl *c = &lane->stream;
	const struct lrpc__method_entry *e =
		lrpc__registry_find(&h->registry, method_id);
	struct lane_sstream s = {
		.base.ops = &lane_sstream_ops,
		.lane = lane,
		.stop = r->conn->stop,
	};
	bool with_md = flags & LRPC__CALL_STREAM_MD;
	struct lrpc__md_set md = { 0 };
	char message[LRPC_STATUS_MSG_MAX];
	lrpc_code code;
	int ret;

	/* Whatever comes of the open: this server reads stream metadata. */
	if (with_md)
		lane->reply.stream_md = LRPC__STREAM_MD_V1;
	if (!e || e->method->kind == LRPC_METHOD_UNARY) {
		/* Refused as an ordinary call, so that the open fails. */
		if (e)
			snprintf(rep->message, sizeof(rep->message),
				 "%s is unary: call it, not a stream",
				 e->method->full_name);
		else
			snprintf(rep->message, sizeof(rep->message),
				 "unknown method id 0x%08x", method_id);
		return refuse(lane, seq, rep, LRPC_UNIMPLEMENTED);
	}
	/* At the start of the buffer: copied before the answer, after which
	 * the rings take the buffer. */
	ret = with_md && md_len ? lrpc__lane_md_take(lrpc__lane_buf(lane), rs->geom.buf_size,
						   0, md_len, arena, &md) : 0;
	if (ret == -ENOMEM) {
		snprintf(rep->message, sizeof(rep->message),
			 "out of memory for the request metadata");
		return refuse(lane, seq, rep, LRPC_RESOURCE_EXHAUSTED);
	}
	if (ret < 0) {
		snprintf(rep->message, sizeof(rep->message),
			 "request metadata (%u bytes) is malformed, refused or past %u bytes",
			 md_len, LRPC_METADATA_MAX);
		atomic_fetch_add(&h->stats.protocol_errors, 1);
		return refuse(lane, seq, rep, LRPC_INVALID_ARGUMENT);
	}
	/* Our indices start at 0; the client set its own before the open. */
	atomic_store_explicit(&c->c2s_head, 0, memory_order_relaxed);
	atomic_store_explicit(&c->s2c_tail, 0, memory_order_relaxed);
	atomic_store_explicit(&c->srv_sleepers, 0, memory_order_relaxed);
	lrpc__ring_init(&s.in, lrpc__lane_buf(lane), rs->geom.buf_size, 0,
			&c->c2s_head, &c->c2s_tail);
	lrpc__ring_init(&s.out, lrpc__lane_buf(lane), rs->geom.buf_size, 1,
			&c->s2c_tail, &c->s2c_head);
	lrpc__lane_reply_write(lane, rs->geom.buf_size, seq,
			       &(struct lrpc__reply){ .code = LRPC_OK });
	r->conn->ops->answer(r);

	code = lrpc__serve_stream(&h->registry, arena, method_id, deadline,
				  &(struct lrpc__origin){ .cancel = &lane->call.cancel,
							  .peer = &rs->peer, .stop = s.stop,
							  .md = md.v, .n_md = md.n },
				  &s.base, message);
	/* The handler's metadata is in the arena until the caller resets it. */
	if (with_md && !s.broken)
		code = md_send(&s, deadline, code, message);
	if (s.broken) {
		code = LRPC_INTERNAL;
		snprintf(message, sizeof(message), "protocol error: %s", s.broken);
		atomic_fetch_add(&h->stats.protocol_errors, 1);
	}
	lrpc__ring_destroy(&s.in);
	lrpc__ring_destroy(&s.out);
	end_write(lane, seq, code, message);
	lrpc__count_call(h, code);
	return true;
}
