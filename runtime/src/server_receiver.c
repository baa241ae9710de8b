// SPDX-License-Identifier: MIT
/*
 * Receiver threads: one per lane of a client's region. Each waits for a
 * CALL in its receiver context, serves it and hands the lane back.
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

#include "handoff.h"
#include "rpal.h"
#include "server_internal.h"

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

/* Until the connection stops: futex hand-off. */
static void serve_futex(struct receiver *rx, struct lrpc__lane *lane)
{
	struct lrpc__conn *conn = rx->conn;
	lrpc_server *srv = conn->srv;
	uint32_t call_word = lrpc__call_word(srv->service_id, rx->index + 1);

	for (;;) {
		int64_t w = lrpc__futex_recv(lane, &conn->stop);

		if (w < 0)
			break;
		if ((uint32_t)w != call_word) {
			uint32_t seen = (uint32_t)w;

			/* Not a call for this receiver: a confused or hostile
			 * client. Put the word back and keep serving. */
			atomic_fetch_add(&srv->stats.protocol_errors, 1);
			atomic_compare_exchange_strong(&lane->rx.state, &seen,
						       LRPC__RX_WAIT);
			continue;
		}
		serve(rx, lane);
		lrpc__futex_reply(lane);
	}
}

/*
 * Until the connection stops: rpal-kernel hand-off. Waits time out now and
 * then only to notice a stop: a receiver asleep in the kernel ignores
 * ordinary wakeups by design.
 */
#define RPAL_STOP_CHECK_NS 250000000

static void serve_rpal(struct receiver *rx, struct lrpc__lane *lane)
{
	struct lrpc__conn *conn = rx->conn;
	lrpc_server *srv = conn->srv;
	bool reply = false;

	for (;;) {
		int64_t w = lrpc__rpal_receive(reply, RPAL_STOP_CHECK_NS);

		reply = false;
		if (w == -ETIMEDOUT || w == -EINTR) {
			if (atomic_load(&conn->stop))
				break;
			continue;
		}
		if (w < 0)
			break;
		reply = true;
		/* The kernel wrote the caller's ids: only this connection's
		 * client may use its receivers. A stranger gets its call back
		 * unanswered and the lane untouched. */
		if (lrpc__word_service((uint32_t)w) != conn->client_rpal_service) {
			atomic_fetch_add(&srv->stats.protocol_errors, 1);
			continue;
		}
		serve(rx, lane);
	}
	if (reply)
		lrpc__rpal_receive(true, 0); /* release the last caller */
}

static void report_registration(struct lrpc__conn *conn, int err)
{
	pthread_mutex_lock(&conn->reg_lock);
	conn->reg_done++;
	if (err && !conn->reg_error)
		conn->reg_error = err;
	pthread_cond_broadcast(&conn->reg_cond);
	pthread_mutex_unlock(&conn->reg_lock);
}

static void *receiver_main(void *arg)
{
	struct receiver *rx = arg;
	struct lrpc__conn *conn = rx->conn;
	lrpc_server *srv = conn->srv;
	struct lrpc__lane *lane = lrpc__region_lane(conn->base, &conn->geom,
						    rx->index);

	if (conn->rpal) {
		/*
		 * The kernel's word lives in our memory, not in the region: a
		 * client that could write CALL into it would make the kernel
		 * veto every ordinary wakeup of this thread, stop checks
		 * included, and wedge it for good.
		 */
		struct lrpc__rx_ctx own = { 0 };
		uint32_t id = 0;
		int ret = lrpc__rpal_receiver_register(&own, &id);

		lane->rx.rpal_id = id;
		report_registration(conn, ret);
		if (ret == 0) {
			serve_rpal(rx, lane);
			lrpc__rpal_unregister();
		}
	} else {
		serve_futex(rx, lane);
	}

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
	if (!conn->rpal)
		return 0;
	/* The client names receivers by their kernel ids, which exist only
	 * once each thread has registered itself. */
	pthread_mutex_lock(&conn->reg_lock);
	while (conn->reg_done < conn->geom.nlanes)
		pthread_cond_wait(&conn->reg_cond, &conn->reg_lock);
	pthread_mutex_unlock(&conn->reg_lock);
	return conn->reg_error;
}
