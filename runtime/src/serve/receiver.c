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

#include "handoff/handoff.h"
#include "serve/host.h"

struct receiver {
	struct lrpc__conn *conn;
	uint32_t index;
	struct lrpc__arena arena;
};

static void reply_write(struct lrpc__lane *lane, uint64_t seq, lrpc_code code,
			uint32_t len, const char *message)
{
	struct lrpc__reply_meta *r = &lane->reply;
	size_t n = strnlen(message, LRPC_STATUS_MSG_MAX - 1);

	r->seq = seq;
	r->code = (uint32_t)code;
	r->rep_len = len;
	memcpy(r->message, message, n);
	r->message[n] = '\0';
}

static void serve(struct receiver *rx, struct lrpc__lane *lane)
{
	lrpc_server *srv = rx->conn->srv;
	uint64_t buf_size = rx->conn->geom.buf_size;
	/* Read once: the client may be changing these as we look. */
	uint64_t seq = LRPC__READ_ONCE(lane->call.seq);
	lrpc_deadline deadline = LRPC__READ_ONCE(lane->call.deadline);
	uint32_t method_id = LRPC__READ_ONCE(lane->call.method_id);
	uint32_t req_len = LRPC__READ_ONCE(lane->call.req_len);
	char message[LRPC_STATUS_MSG_MAX] = "";
	ProtobufCMessage *rep = NULL;
	uint32_t rep_len = 0;
	lrpc_code code;

	if (req_len > buf_size) {
		snprintf(message, sizeof(message),
			 "request length %u exceeds the %llu-byte buffer",
			 req_len, (unsigned long long)buf_size);
		code = LRPC_INVALID_ARGUMENT;
		atomic_fetch_add(&srv->stats.protocol_errors, 1);
	} else {
		/* Decoded in place: lrpc__dispatch reads the shared bytes once. */
		code = lrpc__dispatch(srv, &rx->arena, method_id,
				      lrpc__lane_buf(lane), req_len, deadline,
				      &rep, message);
	}
	if (code == LRPC_OK) {
		size_t n = protobuf_c_message_get_packed_size(rep);

		if (n > buf_size) {
			snprintf(message, sizeof(message),
				 "reply of %zu bytes exceeds the %llu-byte limit",
				 n, (unsigned long long)buf_size);
			code = LRPC_RESOURCE_EXHAUSTED;
		} else {
			protobuf_c_message_pack(rep, lrpc__lane_buf(lane));
			rep_len = (uint32_t)n;
		}
	}
	reply_write(lane, seq, code, rep_len, message);
	lrpc__arena_reset(&rx->arena);
	lrpc__count_call(srv, code);
}

static void report_start(struct lrpc__conn *conn, int err)
{
	pthread_mutex_lock(&conn->start_lock);
	conn->start_done++;
	if (err && !conn->start_error)
		conn->start_error = err;
	pthread_cond_broadcast(&conn->start_cond);
	pthread_mutex_unlock(&conn->start_lock);
}

/* The one receiver loop, whatever the hand-off: reply to the last call
 * and wait for the next, serve it, until the connection stops. */
static void *receiver_main(void *arg)
{
	struct receiver *rx = arg;
	struct lrpc__conn *conn = rx->conn;
	lrpc_server *srv = conn->srv;
	const struct lrpc__handoff *h = conn->hand.ops;
	struct lrpc__hrecv r = {
		.conn = &conn->hand,
		.lane = lrpc__region_lane(conn->base, &conn->geom, rx->index),
		.call_word = lrpc__call_word(srv->service_id, rx->index + 1),
	};
	int ret = h->recv_start(&r);

	report_start(conn, ret);
	while (ret == 0) {
		int got = h->reply_wait(&r);

		if (got < 0)
			break;
		if (got == 0) {
			/* Woken by something that is not a call for this
			 * lane: a confused or hostile client. */
			atomic_fetch_add(&srv->stats.protocol_errors, 1);
			continue;
		}
		serve(rx, r.lane);
	}
	if (ret == 0)
		h->recv_stop(&r);

	lrpc__arena_destroy(&rx->arena);
	free(rx);
	/* The last receiver of a stopping connection lets the loop close it;
	 * the loop's own reference keeps conn alive until then. */
	if (atomic_fetch_sub(&conn->receivers_alive, 1) == 1 &&
	    atomic_load(&conn->stop))
		uv_async_send(&srv->reap_async);
	lrpc__conn_unref(conn);
	pthread_mutex_lock(&srv->lock);
	if (atomic_fetch_sub(&srv->stats.receivers_active, 1) == 1)
		pthread_cond_broadcast(&srv->idle);
	pthread_mutex_unlock(&srv->lock);
	return NULL;
}

int lrpc__receivers_start(struct lrpc__conn *conn)
{
	lrpc_server *srv = conn->srv;

	for (uint32_t i = 0; i < conn->geom.nlanes; i++) {
		struct receiver *rx = calloc(1, sizeof(*rx));
		pthread_t t;
		int ret;

		if (!rx)
			return -ENOMEM;
		rx->conn = conn;
		rx->index = i;
		lrpc__arena_init(&rx->arena);
		atomic_fetch_add(&conn->refs, 1);
		atomic_fetch_add(&conn->receivers_alive, 1);
		atomic_fetch_add(&srv->stats.receivers_active, 1);
		ret = lrpc__thread_start(&t, receiver_main, rx, true);
		if (ret < 0) {
			/* Those already running stop when the connection is
			 * closed, which the caller does on error. */
			atomic_fetch_sub(&srv->stats.receivers_active, 1);
			atomic_fetch_sub(&conn->receivers_alive, 1);
			atomic_fetch_sub(&conn->refs, 1);
			free(rx);
			return ret;
		}
	}
	/* A hand-off may need each thread to have started (a kernel one
	 * names receivers by ids that exist only once each has registered)
	 * before the client calls. */
	pthread_mutex_lock(&conn->start_lock);
	while (conn->start_done < conn->geom.nlanes)
		pthread_cond_wait(&conn->start_cond, &conn->start_lock);
	pthread_mutex_unlock(&conn->start_lock);
	return conn->start_error;
}
