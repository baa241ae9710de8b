// SPDX-License-Identifier: MIT
/*
 * Asynchronous stream operations: a read or a write of an lrpc_stream
 * whose result comes to a cq (async.h). Each runs the synchronous
 * operation on one of the channel's pool threads (async_pool.c): a stream
 * operation waits on the peer (a message to come, room in its window) in
 * the stream's own way on every transport, and a thread is what waits
 * there today; no transport has a non-blocking stream operation yet. So
 * a channel runs at most 8 stream operations at once, others queue; a
 * cancel cancels the stream, which wakes the thread, and the operation
 * then finishes as it returns (cq.c keeps stream operations off its
 * deadline heap and does not finish them on a cancel: their callbacks
 * may free the stream).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/pending.h"

static void run_read(struct lrpc_async *p)
{
	ProtobufCMessage *m = NULL;
	lrpc_status st;
	lrpc_code code = lrpc__stream_read_owned(p->stream, &m, &st);

	/* Kept as a unary call's take keeps its reply: the callback gets it
	 * on OK, the call's free frees it otherwise. */
	p->rep = m;
	lrpc__pending_done(p, code, NULL, 0, &st);
}

static void run_write(struct lrpc_async *p)
{
	lrpc_status st;
	lrpc_code code = lrpc_stream_write_raw(p->stream, p->req, p->req_len, &st);

	lrpc__pending_done(p, code, NULL, 0, &st);
}

static void cancel_stream(struct lrpc_async *p)
{
	lrpc_stream_cancel(p->stream);
}

static lrpc_code keep_nothing(struct lrpc_async *p, const unsigned char *rep,
			      size_t len, lrpc_status *st)
{
	(void)p, (void)rep, (void)len, (void)st;
	return LRPC_OK;
}

static int start_op(lrpc_stream *s, lrpc_cq *cq, lrpc_stream_cb cb, void *arg,
		    lrpc_async **handle, struct lrpc_async *p,
		    void (*run)(struct lrpc_async *p), const char *why_not)
{
	int ret;

	p->stream = s;
	p->run = run;
	p->abandon = cancel_stream;
	p->take = keep_nothing;
	p->cb.stream = cb;
	p->arg = arg;
	ret = lrpc__async_start(lrpc__stream_channel(s), p,
				lrpc__stream_deadline(s), cq, why_not);
	if (handle)
		*handle = ret ? NULL : p;
	return ret;
}

int lrpc_stream_read_async(lrpc_stream *s, lrpc_cq *cq, lrpc_stream_cb cb,
			   void *arg, lrpc_async **handle)
{
	struct lrpc_async *p;

	if (handle)
		*handle = NULL;
	if (!s || !cq || !cb)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	return start_op(s, cq, cb, arg, handle, p, run_read, NULL);
}

int lrpc_stream_write_async(lrpc_stream *s, const ProtobufCMessage *msg,
			    lrpc_cq *cq, lrpc_stream_cb cb, void *arg,
			    lrpc_async **handle)
{
	static __thread char why[LRPC_STATUS_MSG_MAX];
	const lrpc_method_desc *m;
	const char *why_not = NULL;
	struct lrpc_async *p;

	if (handle)
		*handle = NULL;
	if (!s || !msg || !cq || !cb)
		return -EINVAL;
	m = lrpc__stream_method(s);
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	if (msg->descriptor != m->input) {
		snprintf(why, sizeof(why), "%s takes %s, not %s", m->full_name,
			 m->input->name, msg->descriptor ? msg->descriptor->name : "?");
		why_not = why;
	} else {
		p->req_len = protobuf_c_message_get_packed_size(msg);
		p->req = malloc(p->req_len ? p->req_len : 1);
		if (!p->req) {
			free(p);
			return -ENOMEM;
		}
		protobuf_c_message_pack(msg, p->req);
	}
	return start_op(s, cq, cb, arg, handle, p, run_write, why_not);
}
