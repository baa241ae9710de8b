// SPDX-License-Identifier: MIT
/*
 * Receiver threads: one per lane of a client's region. Each waits for a
 * call on its lane through the connection's hand-off, serves it and hands
 * the lane back.
 *
 * Everything in the region is the client's to scribble on, so each value is
 * read once and checked, and the request is decoded by lrpc__pb_decode(),
 * which reads every byte once, never by protobuf-c's two-pass parser.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handoff/bell.h"
#include "serve/dispatch.h"
#include "serve/lane_md.h"
#include "serve/lane_stream.h"
#include "serve/receiver.h"

struct receiver {
	struct lrpc__receivers *rs;
	uint32_t index;
	struct lrpc__arena arena;
};

void lrpc__lane_reply_write(struct lrpc__lane *lane, uint64_t buf_size,
			    uint64_t seq, struct lrpc__reply *rep)
{
	struct lrpc__reply_meta *r = &lane->reply;
	uint32_t hl = 0, tl = 0;
	size_t n;

	if (rep->code != LRPC_OK)
		rep->len = 0;
	/* Zero cost without metadata: two stores, no block. */
	if ((rep->md.headers.n || rep->md.trailers.n) &&
	    lrpc__lane_md_put(lrpc__lane_buf(lane), buf_size, rep->len, &rep->md,
			      &hl, &tl) < 0) {
		rep->code = LRPC_RESOURCE_EXHAUSTED;
		rep->len = 0;
		snprintf(rep->message, sizeof(rep->message),
			 "the reply and its response metadata exceed the %llu-byte buffer",
			 (unsigned long long)buf_size);
	}
	n = strnlen(rep->message, LRPC_STATUS_MSG_MAX - 1);
	r->code = (uint32_t)rep->code;
	r->rep_len = (uint32_t)rep->len;
	r->hdr_len = hl;
	r->trl_len = tl;
	memcpy(r->message, rep->message, n);
	r->message[n] = '\0';
	/* Last, with release: a client that finds its seq here has the
	 * whole reply, even if we are gone before handing the lane back. */
	__atomic_store_n(&r->seq, seq, __ATOMIC_RELEASE);
}

/* The reply goes where the request was: the lane buffer. */
static unsigned char *lane_room(void *lane, size_t len)
{
	(void)len; /* at most the buffer's size: lrpc__serve checked */
	return lrpc__lane_buf(lane);
}

static void serve(struct receiver *rx, struct lrpc__hrecv *hr)
{
	struct lrpc__lane *lane = hr->lane;
	struct lrpc__host *h = rx->rs->host;
	uint64_t buf_size = rx->rs->geom.buf_size;
	/* Read once: the client may be changing these as we look. */
	uint64_t seq = LRPC__READ_ONCE(lane->call.seq);
	lrpc_deadline deadline = LRPC__READ_ONCE(lane->call.deadline);
	uint32_t method_id = LRPC__READ_ONCE(lane->call.method_id);
	uint32_t req_len = LRPC__READ_ONCE(lane->call.req_len);
	uint32_t flags = LRPC__READ_ONCE(lane->call.flags);
	uint32_t md_len = LRPC__READ_ONCE(lane->call.md_len);
	struct lrpc__reply rep = { .len = 0 };
	struct lrpc__md_set md = { 0 };

	/* A stream with metadata says LRPC__CALL_STREAM_MD alone, with a
	 * req_len that makes servers before 0.6.0 refuse it (wire/lane.h). */
	if (flags & (LRPC__CALL_STREAM | LRPC__CALL_STREAM_MD)) {
		if (lrpc__lane_stream_serve(rx->rs, hr, &rx->arena, seq,
					    deadline, method_id, flags, md_len,
					    &rep)) {
			lrpc__arena_reset(&rx->arena);
			return;
		}
	} else if (req_len > buf_size) {
		snprintf(rep.message, sizeof(rep.message),
			 "request length %u exceeds the %llu-byte buffer",
			 req_len, (unsigned long long)buf_size);
		rep.code = LRPC_INVALID_ARGUMENT;
		atomic_fetch_add(&h->stats.protocol_errors, 1);
	} else if (md_len && lrpc__lane_md_take(lrpc__lane_buf(lane), buf_size,
						req_len, md_len, &rx->arena,
						&md) < 0) {
		snprintf(rep.message, sizeof(rep.message),
			 "request metadata (%u bytes) is malformed, refused or past %u bytes",
			 md_len, LRPC_METADATA_MAX);
		rep.code = LRPC_INVALID_ARGUMENT;
		atomic_fetch_add(&h->stats.protocol_errors, 1);
	} else {
		/* Decoded in place: lrpc__serve reads the shared bytes once. */
		struct lrpc__origin from = { &lane->call.cancel, &rx->rs->peer,
					     .md = md.v, .n_md = md.n };

		lrpc__serve_from(&h->registry, &rx->arena, method_id,
				 lrpc__lane_buf(lane), req_len, deadline,
				 buf_size, lane_room, lane, &from, &rep);
	}
	lrpc__lane_reply_write(lane, buf_size, seq, &rep);
	lrpc__arena_reset(&rx->arena);
	lrpc__count_call(h, rep.code);
}

/* For a hand-off that serves from its own context (hrecv.serve). */
static void serve_here(struct lrpc__hrecv *hr)
{
	serve(hr->owner, hr);
}

static void report_start(struct lrpc__receivers *rs, int err)
{
	pthread_mutex_lock(&rs->start_lock);
	rs->start_done++;
	if (err && !rs->start_error)
		rs->start_error = err;
	pthread_cond_broadcast(&rs->start_cond);
	pthread_mutex_unlock(&rs->start_lock);
}

/* The one receiver loop, whatever the hand-off: reply to the last call
 * and wait for the next, serve it, until the connection stops. */
static void *receiver_main(void *arg)
{
	struct receiver *rx = arg;
	struct lrpc__receivers *rs = rx->rs;
	struct lrpc__host *host = rs->host;
	const struct lrpc__handoff *h = rs->hand.ops;
	struct lrpc__hrecv r = {
		.conn = &rs->hand,
		.lane = lrpc__region_lane(rs->base, &rs->geom, rx->index),
		.call_word = lrpc__call_word(rs->hand.service_id, rx->index + 1),
		.serve = serve_here,
		.owner = rx,
	};
	int ret;

	/* A name for top -H and /proc/PID/task/TID/comm (test_numa.c finds
	 * receivers by it). */
	pthread_setname_np(pthread_self(), "lrpc-receiver");
	/* Before the hand-off learns where the receiver runs. Placement only
	 * speeds calls up: a receiver that cannot be pinned (its node's CPUs
	 * went offline since the handshake) serves from wherever it is. */
	(void)lrpc__numa_pin(&rs->numa);
	ret = h->recv_start(&r);
	report_start(rs, ret);
	while (ret == 0) {
		int got = h->reply_wait(&r);

		if (got < 0)
			break;
		if (got == 0) {
			/* Woken by something that is not a call for this
			 * lane: a confused or hostile client. */
			atomic_fetch_add(&host->stats.protocol_errors, 1);
			continue;
		}
		serve(rx, &r);
	}
	if (ret == 0)
		h->recv_stop(&r);

	lrpc__arena_destroy(&rx->arena);
	free(rx);
	/* The last receiver of a stopping connection lets the loop close it;
	 * the connection stays until exited says otherwise. */
	if (atomic_fetch_sub(&rs->alive, 1) == 1 && atomic_load(&rs->stop))
		uv_async_send(&host->reap_async);
	rs->exited(rs);
	pthread_mutex_lock(&host->lock);
	if (atomic_fetch_sub(&host->stats.receivers_active, 1) == 1)
		pthread_cond_broadcast(&host->idle);
	pthread_mutex_unlock(&host->lock);
	return NULL;
}

void lrpc__receivers_init(struct lrpc__receivers *rs, struct lrpc__host *h)
{
	rs->host = h;
	rs->hand.stop = &rs->stop;
	rs->hand.service_id = h->service_id;
	pthread_mutex_init(&rs->start_lock, NULL);
	pthread_cond_init(&rs->start_cond, NULL);
}

void lrpc__receivers_destroy(struct lrpc__receivers *rs)
{
	pthread_mutex_destroy(&rs->start_lock);
	pthread_cond_destroy(&rs->start_cond);
}

int lrpc__receivers_start(struct lrpc__receivers *rs, uint32_t n)
{
	struct lrpc__host *h = rs->host;

	if (n > rs->geom.nlanes)
		return -EINVAL;
	for (uint32_t i = rs->started; i < n; i++) {
		struct receiver *rx = calloc(1, sizeof(*rx));
		pthread_t t;
		int ret;

		if (!rx)
			return -ENOMEM;
		rx->rs = rs;
		rx->index = i;
		lrpc__arena_init(&rx->arena);
		atomic_fetch_add(&rs->alive, 1);
		atomic_fetch_add(&h->stats.receivers_active, 1);
		ret = lrpc__thread_start(&t, receiver_main, rx, true);
		if (ret < 0) {
			/* Those already running stop when the connection is
			 * closed, which the caller does on error. */
			atomic_fetch_sub(&h->stats.receivers_active, 1);
			atomic_fetch_sub(&rs->alive, 1);
			free(rx);
			return ret;
		}
		rs->started++;
	}
	/* A hand-off may need each thread to have started (a kernel one
	 * names receivers by ids that exist only once each has registered)
	 * before the client calls. */
	pthread_mutex_lock(&rs->start_lock);
	while (rs->start_done < n)
		pthread_cond_wait(&rs->start_cond, &rs->start_lock);
	pthread_mutex_unlock(&rs->start_lock);
	return rs->start_error;
}

void lrpc__receivers_cancel(struct lrpc__receivers *rs)
{
	if (!rs->base)
		return;
	for (uint32_t i = 0; i < rs->geom.nlanes; i++)
		atomic_store(&lrpc__region_lane(rs->base, &rs->geom, i)->call.cancel,
			     1);
}

void lrpc__receivers_stop(struct lrpc__receivers *rs)
{
	atomic_store(&rs->stop, 1);
	if (!rs->base)
		return;
	for (uint32_t i = 0; i < rs->geom.nlanes; i++) {
		struct lrpc__lane *lane = lrpc__region_lane(rs->base, &rs->geom, i);

		rs->hand.ops->kick(lane);
		/* A receiver running a stream sleeps on the stream's bell. */
		lrpc__bell_kick(&lane->stream.srv_bell);
	}
}
