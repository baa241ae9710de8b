// SPDX-License-Identifier: MIT
/*
 * Streams over lrpc://, the client's side. A stream holds one lane for its
 * life: the open is a call on the lane with LRPC__CALL_STREAM, which the
 * receiver answers at once (serve/lane_stream.c); then both sides run at
 * once over the lane's two rings (wire/lane_ring.h), each waking the other
 * through a bell only when it sleeps (handoff/bell.h), whatever the
 * hand-off. The server writes the stream's end last; until then the lane
 * is the stream's, so a stream freed early leaves it abandoned (cancelled)
 * until the receiver writes the end, like a call that timed out.
 *
 * The server can rewrite the lane at any moment: the rings check what
 * they read, the end's code is checked, and a broken ring ends the stream
 * with INTERNAL.
 *
 * Metadata (since 0.6.0; wire/lane.h, LRPC__CALL_STREAM_MD): the open
 * carries the request's block at the start of the buffer, and the server
 * answers saying it read it (an older one refuses the open as a unary
 * call with an impossible length, having run nothing: an open that only
 * wants lists is then made again without, and one with metadata fails
 * saying why); the
 * response headers and trailers are the server's last record, copied
 * into the caller's lists before the end is reported.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client/metadata.h"
#include "handoff/bell.h"
#include "transport/lrpc_client.h"
#include "wire/lane_ring.h"
#include "wire/md_block.h"

struct lane_cstream {
	struct lrpc__cstream base; /* first: the stream layer's */
	struct shm_chan *ch;
	struct chan_lane *cl;
	struct lrpc__lane *lane;
	uint64_t seq;
	struct lrpc__ring out, in; /* the writer's; the reader's */
	_Atomic int cancelled;
	bool half_closed; /* the writer's */
	/* The reader's: opened with metadata, its record taken, and where
	 * it goes (the caller's, each may be NULL). */
	bool md, md_seen;
	lrpc_metadata_list *headers, *trailers;
};

/* One operation in progress (the writer and the reader may both wait). */
struct op {
	struct lane_cstream *s;
	lrpc_status *st;
	/* send */
	size_t len;
	lrpc__cput_fn put;
	const void *arg;
	/* recv */
	const unsigned char **msg;
	size_t *msg_len;
	bool *end;
};

static bool ended(const struct lane_cstream *s)
{
	return atomic_load_explicit(&s->lane->stream.end_seq,
				    memory_order_acquire) == s->seq;
}

/* The server's end of the stream, read once and checked. */
static lrpc_code end_status(struct lane_cstream *s, lrpc_status *st)
{
	struct lrpc__stream_ctl *c = &s->lane->stream;

	return lrpc__status_from_peer(st, LRPC__READ_ONCE(c->end_code),
				      c->end_message,
				      sizeof(c->end_message) - 1);
}

static int broken_why(struct op *o, const char *why)
{
	lrpc__status_set(o->st, LRPC_INTERNAL, "%s", why);
	/* Tell the server too: it may be waiting for us. */
	atomic_store(&o->s->lane->call.cancel, 1);
	lrpc__bell_kick(&o->s->lane->stream.srv_bell);
	return LRPC_INTERNAL;
}

static int broken(struct op *o)
{
	return broken_why(o, "the server broke the stream's ring");
}

/* Between looks: is the stream over for this side? */
static int check(void *ctx)
{
	struct op *o = ctx;
	struct lane_cstream *s = o->s;

	if (atomic_load(&s->cancelled))
		return lrpc__status_fail(o->st, LRPC_CANCELLED,
					 "the stream was cancelled");
	/* An end written before the server went stands: look() reads it. */
	if (atomic_load(&s->ch->dead) && !ended(s))
		return lrpc__status_fail(o->st, LRPC_UNAVAILABLE,
					 "server has gone away");
	if (lrpc_now() >= s->base.deadline)
		return lrpc__status_fail(o->st, LRPC_DEADLINE_EXCEEDED,
					 "the stream's deadline passed");
	return -1;
}

static int look_out(void *ctx)
{
	struct op *o = ctx;
	struct lane_cstream *s = o->s;
	struct lrpc__stream_ctl *c = &s->lane->stream;
	lrpc_code code;
	int room;

	if (ended(s)) {
		/* Nobody reads what we would write: say how it ended. */
		code = end_status(s, o->st);
		if (code != LRPC_OK)
			return code;
		return lrpc__status_fail(o->st, LRPC_FAILED_PRECONDITION,
					 "the server has ended the stream");
	}
	room = lrpc__ring_room(&s->out, o->len);
	if (room < 0)
		return broken(o);
	if (!room)
		return -1;
	if (lrpc__ring_put(&s->out, o->len, LRPC__RING_MSG, o->put, o->arg) < 0)
		return lrpc__status_fail(o->st, LRPC_RESOURCE_EXHAUSTED,
					 "out of memory for a message that wraps");
	lrpc__bell_ring(&c->srv_bell, &c->srv_sleepers);
	return LRPC_OK;
}

static lrpc_code cs_send(struct lrpc__cstream *base, size_t len,
			 lrpc__cput_fn put, const void *arg, lrpc_status *st)
{
	struct lane_cstream *s = (struct lane_cstream *)base;
	struct op o = { .s = s, .st = st, .len = len, .put = put, .arg = arg };
	size_t max = lrpc__ring_max_msg(s->out.size);
	int code;

	if (s->half_closed)
		return lrpc__status_fail(st, LRPC_INVALID_ARGUMENT,
					 "write after close_send");
	if (len > max)
		return lrpc__status_fail(st, LRPC_RESOURCE_EXHAUSTED,
					 "message of %zu bytes exceeds the stream's "
					 "%zu-byte limit (half a lane's ring)",
					 len, max);
	code = check(&o);
	if (code >= 0)
		return (lrpc_code)code;
	return (lrpc_code)lrpc__bell_wait(&s->lane->stream.cli_bell,
					  &s->lane->stream.cli_sleepers,
					  look_out, check, &o, base->deadline);
}

static lrpc_code cs_close_send(struct lrpc__cstream *base, lrpc_status *st)
{
	struct lane_cstream *s = (struct lane_cstream *)base;
	struct lrpc__stream_ctl *c = &s->lane->stream;
	struct op o = { .s = s, .st = st };
	int code;

	if (s->half_closed)
		return LRPC_OK;
	code = check(&o);
	if (code >= 0)
		return (lrpc_code)code;
	s->half_closed = true;
	/* After every record: the server's look reads the flag first. */
	atomic_fetch_or_explicit(&c->cli_flags, LRPC__STREAM_HALF_CLOSED,
				 memory_order_seq_cst);
	lrpc__bell_ring(&c->srv_bell, &c->srv_sleepers);
	lrpc__status_set(st, LRPC_OK, "%s", "");
	return LRPC_OK;
}

/* The server's metadata record: once, last, on a stream that asked. */
static int take_md(struct op *o, const unsigned char *rec, size_t len)
{
	struct lane_cstream *s = o->s;
	int ret;

	if (!s->md)
		return broken_why(o, "the server sent response metadata out of turn");
	/* The same error as any record after it (look_in), whichever of the
	 * two paths sees a second metadata record first. */
	if (s->md_seen)
		return broken_why(o, "the server sent a record after its metadata");
	s->md_seen = true;
	ret = lrpc__md_list_from_rec(s->headers, s->trailers, rec, len);
	if (ret == -ENOMEM)
		return lrpc__status_fail(o->st, LRPC_RESOURCE_EXHAUSTED,
					 "no memory for response metadata");
	if (ret < 0)
		return broken_why(o, "the server sent malformed response metadata");
	return -1;
}

static int look_in(void *ctx)
{
	struct op *o = ctx;
	struct lane_cstream *s = o->s;
	/* Before the ring: an end seen covers every record before it. */
	bool done = ended(s);
	uint32_t kind;
	int got = lrpc__ring_take(&s->in, o->msg, o->msg_len, &kind);

	if (got > 0 && kind == LRPC__RING_MD) {
		got = take_md(o, *o->msg, *o->msg_len);
		if (got >= 0)
			return got;
		/* Released by the next take: the server may wait for room. */
		done = ended(s);
		got = lrpc__ring_take(&s->in, o->msg, o->msg_len, &kind);
	}
	if (got > 0 && (kind != LRPC__RING_MSG || s->md_seen))
		return broken_why(o, "the server sent a record after its metadata, "
				  "or one of an unknown kind");
	if (got > 0)
		return LRPC_OK;
	if (got == -ENOMEM)
		return lrpc__status_fail(o->st, LRPC_RESOURCE_EXHAUSTED,
					 "out of memory for a message that wraps");
	if (got < 0)
		return broken(o);
	if (done) {
		*o->end = true;
		return end_status(s, o->st);
	}
	return -1;
}

static lrpc_code cs_recv(struct lrpc__cstream *base, const unsigned char **msg,
			 size_t *len, bool *end, lrpc_status *st)
{
	struct lane_cstream *s = (struct lane_cstream *)base;
	struct lrpc__stream_ctl *c = &s->lane->stream;
	struct op o = { .s = s, .st = st, .msg = msg, .msg_len = len,
			.end = end };

	/* The last message is done with: its room is the server's again. */
	if (lrpc__ring_release(&s->in))
		lrpc__bell_ring(&c->srv_bell, &c->srv_sleepers);
	if (atomic_load(&s->cancelled))
		return lrpc__status_fail(st, LRPC_CANCELLED,
					 "the stream was cancelled");
	return (lrpc_code)lrpc__bell_wait(&c->cli_bell, &c->cli_sleepers, look_in,
					  check, &o, base->deadline);
}

static void cs_cancel(struct lrpc__cstream *base)
{
	struct lane_cstream *s = (struct lane_cstream *)base;

	if (ended(s) || atomic_exchange(&s->cancelled, 1))
		return;
	atomic_store(&s->lane->call.cancel, 1);
	lrpc__bell_kick(&s->lane->stream.srv_bell);
	/* Our own reader or writer may be asleep. */
	lrpc__bell_kick(&s->lane->stream.cli_bell);
}

static void cs_free(struct lrpc__cstream *base)
{
	struct lane_cstream *s = (struct lane_cstream *)base;
	struct chan_lane *cl = s->cl;

	if (ended(s)) {
		/* The receiver is done with the lane. */
		s->lane->call.flags = 0;
		atomic_store_explicit(&s->lane->call.cancel, 0,
				      memory_order_relaxed);
	} else {
		cs_cancel(base);
		cl->stream = true;
		cl->timed_out = true; /* released ABANDONED */
	}
	lrpc__chan_release(s->ch, &cl->rb);
	lrpc__ring_destroy(&s->out);
	lrpc__ring_destroy(&s->in);
	free(s);
}

static const struct lrpc__cstream_ops lane_cstream_ops = {
	.send = cs_send,
	.close_send = cs_close_send,
	.recv = cs_recv,
	.cancel = cs_cancel,
	.free = cs_free,
};

bool lrpc__lane_stream_ended(const struct chan_lane *cl)
{
	struct lrpc__lane *l = cl->lane;

	if (atomic_load_explicit(&l->stream.end_seq, memory_order_acquire) == cl->seq)
		return true;
	/* A refused open has no end to wait for when a server before 0.6.0
	 * refused it (an open with metadata, as a unary call). */
	return __atomic_load_n(&l->reply.seq, __ATOMIC_ACQUIRE) == cl->seq &&
	       LRPC__READ_ONCE(l->reply.code) != LRPC_OK;
}

struct wait_ended {
	struct shm_chan *ch;
	struct chan_lane *cl;
	lrpc_deadline deadline;
};

static int look_ended(void *ctx)
{
	struct wait_ended *w = ctx;

	return lrpc__lane_stream_ended(w->cl) ? 0 : -1;
}

static int check_ended(void *ctx)
{
	struct wait_ended *w = ctx;

	return atomic_load(&w->ch->dead) || lrpc_now() >= w->deadline ? 0 : -1;
}

void lrpc__lane_stream_wait_ended(struct shm_chan *ch, struct chan_lane *cl,
				  lrpc_deadline deadline)
{
	struct wait_ended w = { ch, cl, deadline };

	lrpc__bell_wait(&cl->lane->stream.cli_bell,
			&cl->lane->stream.cli_sleepers, look_ended, check_ended,
			&w, deadline);
}

/* The request metadata of \p opts at the start of the lane's buffer, for
 * an open with LRPC__CALL_STREAM_MD. */
static lrpc_code put_md(struct shm_chan *ch, struct lrpc__lane *lane,
			const lrpc_call_opts *opts, lrpc_status *st)
{
	size_t n = lrpc__md_block_size(opts->metadata, opts->n_metadata);

	if (n > ch->geom.buf_size)
		return lrpc__status_fail(st, LRPC_RESOURCE_EXHAUSTED,
					 "request metadata of %zu bytes exceeds the "
					 "%llu-byte buffer", n,
					 (unsigned long long)ch->geom.buf_size);
	lrpc__md_block_write(lrpc__lane_buf(lane), opts->metadata, opts->n_metadata);
	lane->call.md_len = (uint32_t)n;
	lane->call.req_len = LRPC__STREAM_MD_REQ_LEN;
	lane->call.flags = LRPC__CALL_STREAM_MD;
	lane->reply.stream_md = 0;
	return LRPC_OK;
}

/* The open as a call on the lane, with metadata if \p md. \return its
 * code; on OK the receiver serves the stream. An old server's refusal of
 * an open with metadata is OPEN_OLD_SERVER. */
#define OPEN_OLD_SERVER ((lrpc_code)LRPC_CODE_COUNT)
static lrpc_code open_call(struct shm_chan *ch, struct chan_lane *cl,
			   uint32_t method_id, lrpc_deadline deadline,
			   const lrpc_call_opts *opts, bool md, lrpc_status *st)
{
	struct lrpc__lane *lane = cl->lane;
	struct lrpc__stream_ctl *c = &lane->stream;
	lrpc_code code;
	uint64_t seq;
	int ret;

	if (lrpc_now() >= deadline)
		return lrpc__status_fail(st, LRPC_DEADLINE_EXCEEDED,
					 "deadline passed before the stream opened");
	lane->call.req_len = 0;
	lane->call.md_len = 0;
	lane->call.flags = LRPC__CALL_STREAM;
	if (md && (code = put_md(ch, lane, opts, st)) != LRPC_OK)
		return code;
	/* Our indices; the receiver sets its own before it answers. */
	atomic_store_explicit(&c->c2s_tail, 0, memory_order_relaxed);
	atomic_store_explicit(&c->s2c_head, 0, memory_order_relaxed);
	atomic_store_explicit(&c->cli_flags, 0, memory_order_relaxed);
	atomic_store_explicit(&c->cli_sleepers, 0, memory_order_relaxed);
	cl->seq++;
	lane->call.seq = cl->seq;
	lane->call.deadline = deadline;
	lane->call.method_id = method_id;
	ret = ch->hand.ops->call(&ch->hand, lane, cl->call_word, deadline);
	if (ret == -EDEADLK)
		return lrpc__status_fail(st, LRPC_FAILED_PRECONDITION,
					 "this thread serves %s calls and cannot also "
					 "make them; open the channel with another hand-off",
					 ch->hand.ops->name);
	if (ret == 0 && atomic_load(&ch->dead))
		ret = -ECONNRESET;
	if (ret < 0) {
		if (ret == -ETIMEDOUT) {
			/* The receiver may still take it and run the stream. */
			atomic_store(&lane->call.cancel, 1);
			cl->stream = true;
			cl->timed_out = true;
		}
		return lrpc__status_from_errno(st, ret, deadline,
					       "waiting for the stream to open");
	}
	seq = LRPC__READ_ONCE(lane->reply.seq);
	if (seq != cl->seq) {
		cl->stream = true;
		cl->timed_out = true;
		return lrpc__status_fail(st, LRPC_INTERNAL,
					 "open answered out of sequence");
	}
	/* Refused as a unary call (nothing ran): the server predates it. */
	if (md && LRPC__READ_ONCE(lane->reply.stream_md) != LRPC__STREAM_MD_V1)
		return OPEN_OLD_SERVER;
	return lrpc__status_from_peer(st, LRPC__READ_ONCE(lane->reply.code),
				      lane->reply.message,
				      sizeof(lane->reply.message) - 1);
}

lrpc_code lrpc__chan_stream_open(struct shm_chan *ch, uint32_t method_id,
				 lrpc_deadline deadline, const lrpc_call_opts *opts,
				 struct lrpc__cstream **out, lrpc_status *st)
{
	struct lrpc__req_buf *rb;
	struct lane_cstream *s;
	struct chan_lane *cl;
	lrpc_code code;
	bool md;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return lrpc__status_fail(st, LRPC_RESOURCE_EXHAUSTED,
					 "out of memory");
	code = lrpc__chan_acquire(ch, deadline, &rb, st);
	if (code != LRPC_OK) {
		free(s);
		return code;
	}
	cl = (struct chan_lane *)rb;
	md = opts && (opts->n_metadata || opts->headers || opts->trailers);
	code = open_call(ch, cl, method_id, deadline, opts, md, st);
	/* A server before 0.6.0 ran nothing: without metadata to send, open
	 * as it knows (the lists stay empty); with some, say why not. */
	if (code == OPEN_OLD_SERVER && !opts->n_metadata) {
		md = false;
		code = open_call(ch, cl, method_id, deadline, NULL, false, st);
	}
	if (code == OPEN_OLD_SERVER)
		code = lrpc__status_fail(st, LRPC_UNIMPLEMENTED,
					 "the server does not take stream metadata over "
					 "lrpc:// (it is older than lazyrpc 0.6.0): upgrade "
					 "it, or open the stream without metadata");
	if (code != LRPC_OK) {
		if (!cl->timed_out)
			cl->lane->call.flags = 0; /* refused: an ordinary lane */
		lrpc__chan_release(ch, rb);
		free(s);
		return code;
	}
	s->base.ops = &lane_cstream_ops;
	s->base.deadline = deadline;
	s->ch = ch;
	s->cl = cl;
	s->lane = cl->lane;
	s->seq = cl->seq;
	if (md) {
		s->md = true;
		s->headers = opts->headers;
		s->trailers = opts->trailers;
	}
	lrpc__ring_init(&s->out, rb->buf, ch->geom.buf_size, 0,
			&s->lane->stream.c2s_tail, &s->lane->stream.c2s_head);
	lrpc__ring_init(&s->in, rb->buf, ch->geom.buf_size, 1,
			&s->lane->stream.s2c_head, &s->lane->stream.s2c_tail);
	*out = &s->base;
	return LRPC_OK;
}
