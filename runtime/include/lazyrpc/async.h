/* SPDX-License-Identifier: MIT */
/*
 * lazyrpc: asynchronous calls (since 0.3.0). Start a call, get its result
 * through a callback that runs when the thread owning a completion queue
 * runs it; one thread can keep thousands of calls in flight.
 *
 *   lrpc_cq *cq;
 *   lrpc_cq_new(&cq);
 *   for (int i = 0; i < 1000; i++)
 *           lrpc_channel_call_async(ch, &method, &req.base,
 *                                   lrpc_deadline_after_ms(1000), cq,
 *                                   on_reply, &slot[i], NULL);
 *   while (outstanding)
 *           lrpc_cq_run(cq, INT64_MAX, 0);   // callbacks run here
 *   lrpc_cq_free(cq);
 *
 * The rule that makes callbacks simple: a callback runs only inside
 * lrpc_cq_run(), on the thread that called it, never inside the function
 * that started the call, not even when the call fails at once. A start
 * function that returns 0 runs its callback exactly once; one that returns
 * a negative errno never runs it. So code that keeps all its calls on one
 * cq and one thread needs no locks and no reentrancy handling.
 *
 * A libuv loop (or epoll, poll) waits on lrpc_cq_fd(), readable while a
 * completion is ready to run or a deadline has come, and then calls
 * lrpc_cq_run(cq, 0, 0), which runs what is ready without waiting.
 */
#ifndef LAZYRPC_ASYNC_H
#define LAZYRPC_ASYNC_H

#include "channel.h"
#include "common.h"
#include "service.h"
#include "stream.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A completion queue: where finished calls wait for their callbacks. */
typedef struct lrpc_cq lrpc_cq;

/* One asynchronous call, from its start until its callback returns. */
typedef struct lrpc_async lrpc_async;

/**
 * Make a completion queue. The caller owns *out and frees it with
 * lrpc_cq_free(). \return 0, -ENOMEM, -EMFILE (no descriptor for its fd),
 * other -errno.
 */
LRPC_API int lrpc_cq_new(lrpc_cq **out);

/**
 * Free \p cq. Every call started on it must have had its callback run.
 * \return 0; -EBUSY (calls are outstanding: nothing was freed); NULL is
 * allowed (0).
 */
LRPC_API int lrpc_cq_free(lrpc_cq *cq);

/**
 * \return a descriptor that polls readable while a callback of \p cq is
 * ready to run or an outstanding call's deadline has come; the cq owns it
 * (do not read or close it). For uv_poll_t, epoll or poll: when it is
 * readable, call lrpc_cq_run(cq, 0, 0).
 */
LRPC_API int lrpc_cq_fd(const lrpc_cq *cq);

/**
 * Run the callbacks of finished calls, on the calling thread, waiting up
 * to \p until (an absolute lrpc_deadline; 0 or any time past: do not wait)
 * for at least one. Calls whose deadline has come finish here with
 * DEADLINE_EXCEEDED. \p max: run at most this many (0: all that are
 * ready). One thread at a time may run a cq; a callback may start calls
 * on it and cancel calls of it, but not run it.
 * \return the number of callbacks run (0 when \p until came first);
 * -EINVAL (NULL), -EBUSY (already running, e.g. from a callback).
 */
LRPC_API int lrpc_cq_run(lrpc_cq *cq, lrpc_deadline until, unsigned int max);

/**
 * A unary call's result, in lrpc_cq_run(). \p code is the call's status
 * code and \p st says why in words (valid during the callback). On
 * LRPC_OK, \p rep is the decoded reply, owned by the callback: free it
 * with protobuf_c_message_free_unpacked(rep, NULL) (or keep it); on any
 * other code it is NULL. \p handle is the call's, valid until the
 * callback returns.
 */
typedef void (*lrpc_call_cb)(void *arg, lrpc_code code, ProtobufCMessage *rep,
			     const lrpc_status *st, lrpc_async *handle);

/**
 * Start calling \p method with \p req, to finish by \p deadline
 * (LRPC_DEADLINE_DEFAULT: the channel's default timeout), and have \p cb
 * run with \p arg in lrpc_cq_run(\p cq) when it is done. The request is
 * encoded before this returns: the caller may free \p req at once. Never
 * blocks on the server: a call that finds every call context of the
 * channel busy waits in the channel's queue (at most async_queue_max calls;
 * past that it fails with RESOURCE_EXHAUSTED). Thread-safe; \p handle, if
 * not NULL, gets the call's handle (see lrpc_async_cancel()).
 * Every failure of the call itself (a request of the wrong type, too
 * large, UNAVAILABLE, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED) is reported
 * to \p cb, in lrpc_cq_run().
 * \return 0: \p cb will run exactly once; -EINVAL (NULL channel, method,
 * request, cq or callback), -ENOMEM: \p cb will never run.
 */
LRPC_API int lrpc_channel_call_async(lrpc_channel *ch,
				     const lrpc_method_desc *method,
				     const ProtobufCMessage *req,
				     lrpc_deadline deadline, lrpc_cq *cq,
				     lrpc_call_cb cb, void *arg,
				     lrpc_async **handle);

/**
 * lrpc_channel_call_async() with call options (since 0.6.0): \p opts (may
 * be NULL: then it is lrpc_channel_call_async()) as for
 * lrpc_channel_call_opts(). Its request metadata is checked and copied
 * before this returns (the caller may free the array at once); a set that
 * breaks the rules fails the call with INVALID_ARGUMENT naming the key,
 * one over LRPC_METADATA_MAX with RESOURCE_EXHAUSTED, and metadata over a
 * transport that does not carry it with UNIMPLEMENTED, all reported to
 * \p cb with nothing sent. Honours the channel's wait_for_ready.
 *
 * The lists opts->headers and opts->trailers (either may be NULL) stay
 * the caller's. They are cleared before this returns and must live, and
 * be left alone by the caller (not read, cleared nor freed), until \p cb
 * has run. Then they hold the response headers and trailers the server
 * sent, whatever its code (as the synchronous call), readable in \p cb
 * and after it until the caller clears, refills or frees them. A call
 * that ends without the server's answer (lrpc_async_cancel(), its
 * deadline, a refusal before sending, a closed channel) leaves them empty.
 *
 * The call takes the transport's own asynchronous path, options and all,
 * as lrpc_channel_call_async() does: no thread per call, as many in
 * flight as the transport allows, and a cancel or deadline reaches the
 * handler where the transport can tell it (docs/api.md); over lrpc://
 * the request and its metadata share the lane's max_msg_size bytes (past
 * that: RESOURCE_EXHAUSTED, nothing sent). Only where the transport
 * itself runs calls on the channel's 8 threads (lrpc:// over rpal-kernel
 * or without futex_waitv) do these run there. The lists are handed over
 * on the thread that finishes the call, under the cq's lock, before the
 * callback can run. Threading, the callback rule and the return value
 * are lrpc_channel_call_async()'s.
 * \return 0: \p cb will run exactly once; -EINVAL, -ENOMEM: \p cb will
 * never run (and the lists are left as they were, or cleared).
 */
LRPC_API int lrpc_channel_call_async_opts(lrpc_channel *ch,
					  const lrpc_method_desc *method,
					  const ProtobufCMessage *req,
					  lrpc_deadline deadline,
					  const lrpc_call_opts *opts,
					  lrpc_cq *cq, lrpc_call_cb cb,
					  void *arg, lrpc_async **handle);

/**
 * A raw call's result: \p rep (\p rep_len bytes) is the reply, valid
 * during the callback only; NULL with 0 unless \p code is LRPC_OK.
 */
typedef void (*lrpc_call_raw_cb)(void *arg, lrpc_code code, const void *rep,
				 size_t rep_len, const lrpc_status *st,
				 lrpc_async *handle);

/**
 * The same with bytes: \p req (\p req_len bytes, copied before this
 * returns) to method \p method_id. For tools and tests.
 * \return as lrpc_channel_call_async().
 */
LRPC_API int lrpc_channel_call_raw_async(lrpc_channel *ch, uint32_t method_id,
					 const void *req, size_t req_len,
					 lrpc_deadline deadline, lrpc_cq *cq,
					 lrpc_call_raw_cb cb, void *arg,
					 lrpc_async **handle);

/**
 * Cancel the call: unless it has finished already, its callback runs with
 * CANCELLED at the next lrpc_cq_run(), and the server is told (its handler
 * sees lrpc_call_cancelled()) where the transport can tell it (see
 * docs/api.md). Only the thread that runs the call's cq may call this,
 * and only until the callback has returned (inside the callback too);
 * never blocks. A call that has already finished is left alone.
 */
LRPC_API void lrpc_async_cancel(lrpc_async *handle);

/* --- Stream operations ------------------------------------------------ */

/**
 * A stream operation's result, in lrpc_cq_run(). For a read: on LRPC_OK
 * \p msg is the next message (the method's output type), owned by the
 * callback (free it with protobuf_c_message_free_unpacked(msg, NULL)), or
 * NULL when the server ended the stream with OK; any other code is how
 * the stream ended (as lrpc_stream_read()). For a write, \p msg is NULL
 * and \p code is what lrpc_stream_write() would have returned.
 */
typedef void (*lrpc_stream_cb)(void *arg, lrpc_code code, ProtobufCMessage *msg,
			       const lrpc_status *st, lrpc_async *handle);

/**
 * Start reading the next message of \p s; \p cb runs in lrpc_cq_run(\p
 * cq) with it. At most one read of a stream may be outstanding (sync or
 * async), and one write; lrpc_stream_free() only once their callbacks
 * ran. A cancel of the operation (lrpc_async_cancel()) cancels the
 * stream; the callback (with CANCELLED) runs once the operation has let go
 * of the stream, so it may free it. The stream's deadline ends it too.
 * Thread-safe on different streams. See docs/api.md for how these run.
 * \return 0: \p cb will run exactly once; -EINVAL, -ENOMEM: it never will.
 */
LRPC_API int lrpc_stream_read_async(lrpc_stream *s, lrpc_cq *cq,
				    lrpc_stream_cb cb, void *arg,
				    lrpc_async **handle);

/**
 * Start writing \p msg (encoded before this returns; the caller may free
 * it at once) to \p s; \p cb runs once it is in the stream's window or the
 * stream ended. Rules as lrpc_stream_read_async().
 * \return 0: \p cb will run exactly once; -EINVAL, -ENOMEM: it never will.
 */
LRPC_API int lrpc_stream_write_async(lrpc_stream *s, const ProtobufCMessage *msg,
				     lrpc_cq *cq, lrpc_stream_cb cb, void *arg,
				     lrpc_async **handle);

#ifdef __cplusplus
}
#endif
#endif
