// SPDX-License-Identifier: MIT
/*
 * Asynchronous calls, the generic part: check and encode the request into
 * the call's own memory, hand the call to the channel's transport (its
 * start op: lrpc_async.c, sock_async.c, grpc_async.c, call options and
 * all; async_pool.c for stream operations and for what a transport cannot
 * send without blocking), and
 * when its cq runs it, decode nothing more: the reply was taken where the
 * transport held it (pending.h) and the callback gets it.
 *
 * The request is encoded once, before the start returns, into memory of
 * the call's own rather than into a call context: a call may have to wait
 * for a context, and the caller may free its request at once. Putting it
 * into the context later is one memcpy of bytes just written, cheap next
 * to the hand-off.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/async_md.h"
#include "client/intercept.h"
#include "client/pending.h"
#include "transport/transport.h"
#include "wire/pbdecode.h"

#define DEFAULT_QUEUE_MAX 4096

unsigned int lrpc__async_queue_max(const lrpc_channel *ch)
{
	return ch->opts.async_queue_max > 0 ?
		       (unsigned int)ch->opts.async_queue_max :
		       DEFAULT_QUEUE_MAX;
}

/* A reply decodes where it lies, by the decoder that reads each byte once
 * (it may be in memory the server shares). */
static lrpc_code msg_take(struct lrpc_async *p, const unsigned char *rep,
			  size_t len, lrpc_status *st)
{
	ProtobufCMessage *m = lrpc__pb_decode(p->method->output, NULL, len, rep);

	if (!m)
		return lrpc__status_fail(st, LRPC_INTERNAL,
					 "reply from %s does not decode as %s",
					 p->method->full_name,
					 p->method->output->name);
	p->rep = m;
	return LRPC_OK;
}

static lrpc_code raw_take(struct lrpc_async *p, const unsigned char *rep,
			  size_t len, lrpc_status *st)
{
	p->raw = malloc(len ? len : 1);
	if (!p->raw)
		return lrpc__status_fail(st, LRPC_RESOURCE_EXHAUSTED,
					 "out of memory for a %zu-byte reply", len);
	if (len)
		memcpy(p->raw, rep, len);
	p->raw_len = len;
	return LRPC_OK;
}

/* The reply goes to the callback only on OK: then the transport's take
 * wrote it before the call finished, under the cq's lock. A call that
 * finished otherwise may still see its transport's take write p->rep (or
 * p->raw), which the call's free frees: not touched here. */
void lrpc__pending_callback(struct lrpc_async *p)
{
	bool ok = p->code == LRPC_OK;
	ProtobufCMessage *rep = ok ? p->rep : NULL;

	if (ok)
		p->rep = NULL; /* the callback's now */
	if (p->ic) {
		if (p->method)
			lrpc__status_name_method(&p->st, p->code, p->method->full_name);
		lrpc__cic_after(p->ic, p->code, &p->st);
		free(p->ic);
		p->ic = NULL;
	}
	if (p->stream) {
		p->cb.stream(p->arg, p->code, rep, &p->st, p);
	} else if (p->method) {
		lrpc__status_name_method(&p->st, p->code, p->method->full_name);
		p->cb.msg(p->arg, p->code, rep, &p->st, p);
	} else {
		ok = ok && p->raw;
		p->cb.raw(p->arg, p->code, ok ? p->raw : NULL,
			  ok ? p->raw_len : 0, &p->st, p);
	}
}

void lrpc__pending_free(struct lrpc_async *p)
{
	/* A reply taken for a call that had finished otherwise. */
	if (p->rep)
		protobuf_c_message_free_unpacked(p->rep, NULL);
	free(p->raw);
	free(p->req);
	free(p->ic); /* only if its callback never ran */
	lrpc__async_md_free(p->md);
	free(p);
}

/* Pass the channel's client interceptors; what they add to the request
 * metadata of a call with options is copied into the call. \return
 * LRPC_OK, or why the call fails (\p st filled). */
static lrpc_code intercept(lrpc_channel *ch, struct lrpc_async *p, lrpc_status *st)
{
	const lrpc_metadata *md = p->md ? p->md->opts.metadata : NULL;
	size_t n = p->md ? p->md->opts.n_metadata : 0;
	lrpc_code code;

	p->ic = malloc(sizeof(*p->ic));
	if (!p->ic)
		return lrpc__status_fail(st, LRPC_RESOURCE_EXHAUSTED, "out of memory");
	/* The request is encoded already; only a call with options carries
	 * metadata, so only there may a before add some. */
	code = lrpc__cic_before(ch, p->ic, p->full_name, false, md, n, p->md != NULL, st);
	if (code != LRPC_OK || p->ic->info.metadata == md)
		return code;
	/* The merged set is the interceptors' until their afters; the call
	 * (maybe still in its transport then) needs a copy of its own. */
	code = lrpc__md_check(p->ic->info.metadata, p->ic->info.n_metadata, st);
	if (code == LRPC_OK &&
	    lrpc__async_md_set(p->md, p->ic->info.metadata, p->ic->info.n_metadata) < 0)
		code = lrpc__status_fail(st, LRPC_RESOURCE_EXHAUSTED, "out of memory");
	return code;
}

/* Make the call and start it; its failures go to the callback. */
int lrpc__async_start(lrpc_channel *ch, struct lrpc_async *p,
		      lrpc_deadline deadline, lrpc_cq *cq, const char *why_not)
{
	size_t max = ch->ops->max_msg(ch);
	bool carried;

	p->ch = ch;
	p->deadline = lrpc__channel_deadline(ch, deadline);
	p->heap_idx = SIZE_MAX;
	if (lrpc__cq_add(cq, p) < 0) {
		lrpc__async_md_free(p->md);
		free(p->req);
		free(p);
		return -ENOMEM;
	}
	if (p->md && p->md->refused.code != LRPC_OK) {
		lrpc__pending_fail(p, p->md->refused.code, "%s", p->md->refused.message);
		lrpc__pending_put(p);
		return 0;
	}
	if (!why_not && !p->stream && lrpc__cic_wanted(ch)) {
		lrpc_status st;
		lrpc_code code = intercept(ch, p, &st);

		if (code != LRPC_OK) {
			lrpc__pending_fail(p, code, "%s", st.message);
			lrpc__pending_put(p);
			return 0;
		}
	}
	carried = lrpc__async_md_carried(p->md);
	if (why_not)
		lrpc__pending_fail(p, LRPC_INVALID_ARGUMENT, "%s", why_not);
	else if (carried && p->md->opts.n_metadata && !ch->ops->metadata)
		lrpc__pending_fail(p, LRPC_UNIMPLEMENTED,
				   "call metadata is not carried over %s yet",
				   lrpc_channel_handoff(ch));
	else if (p->req_len > max)
		lrpc__pending_fail(p, LRPC_RESOURCE_EXHAUSTED,
				   "request of %zu bytes exceeds the %zu-byte limit",
				   p->req_len, max);
	else if (lrpc_now() >= p->deadline)
		lrpc__pending_fail(p, LRPC_DEADLINE_EXCEEDED,
				   "deadline passed before the call was sent");
	else {
		/* Stream operations block in the stream: the pool runs them.
		 * Unary calls take the transport's own start, call options
		 * too (each start carries p->md: async_md.h). */
		(ch->ops->start && !p->run ? ch->ops->start : lrpc__async_pool_start)(ch, p);
		return 0;
	}
	lrpc__pending_put(p); /* the transport's: it never had it */
	return 0;
}

/* The handle is only a value here: the call may have finished already. */
static int started(int ret, struct lrpc_async *p, lrpc_async **handle)
{
	if (handle)
		*handle = ret ? NULL : p;
	return ret;
}

int lrpc_channel_call_async(lrpc_channel *ch, const lrpc_method_desc *method,
			    const ProtobufCMessage *req, lrpc_deadline deadline,
			    lrpc_cq *cq, lrpc_call_cb cb, void *arg,
			    lrpc_async **handle)
{
	return lrpc_channel_call_async_opts(ch, method, req, deadline, NULL, cq, cb,
					    arg, handle);
}

int lrpc_channel_call_async_opts(lrpc_channel *ch, const lrpc_method_desc *method,
				 const ProtobufCMessage *req, lrpc_deadline deadline,
				 const lrpc_call_opts *opts, lrpc_cq *cq,
				 lrpc_call_cb cb, void *arg, lrpc_async **handle)
{
	static __thread char why[LRPC_STATUS_MSG_MAX];
	struct lrpc_async *p;
	const char *why_not = NULL;

	if (handle)
		*handle = NULL;
	if (!ch || !method || !req || !cq || !cb)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->method = method;
	p->method_id = method->id;
	p->full_name = method->full_name;
	p->take = msg_take;
	p->cb.msg = cb;
	p->arg = arg;
	if (req->descriptor != method->input) {
		snprintf(why, sizeof(why), "%s takes %s, not %s", method->full_name,
			 method->input->name,
			 req->descriptor ? req->descriptor->name : "?");
		why_not = why;
	} else {
		p->req_len = protobuf_c_message_get_packed_size(req);
		p->req = malloc(p->req_len ? p->req_len : 1);
		if (!p->req) {
			free(p);
			return -ENOMEM;
		}
		protobuf_c_message_pack(req, p->req);
	}
	if (opts && lrpc__async_md_new(p, opts) < 0) {
		free(p->req);
		free(p);
		return -ENOMEM;
	}
	return started(lrpc__async_start(ch, p, deadline, cq, why_not), p, handle);
}

int lrpc_channel_call_raw_async(lrpc_channel *ch, uint32_t method_id,
				const void *req, size_t req_len,
				lrpc_deadline deadline, lrpc_cq *cq,
				lrpc_call_raw_cb cb, void *arg,
				lrpc_async **handle)
{
	struct lrpc_async *p;

	if (handle)
		*handle = NULL;
	if (!ch || (!req && req_len) || !cq || !cb)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->method_id = method_id;
	p->take = raw_take;
	p->cb.raw = cb;
	p->arg = arg;
	p->req_len = req_len;
	p->req = malloc(req_len ? req_len : 1);
	if (!p->req) {
		free(p);
		return -ENOMEM;
	}
	if (req_len)
		memcpy(p->req, req, req_len);
	return started(lrpc__async_start(ch, p, deadline, cq, NULL), p, handle);
}

void lrpc_async_cancel(lrpc_async *handle)
{
	if (handle)
		lrpc__cq_cancel(handle);
}

bool lrpc__aqueue_push(struct lrpc__aqueue *q, struct lrpc_async *p,
		       unsigned int max)
{
	if (q->live >= max) {
		lrpc__pending_fail(p, LRPC_RESOURCE_EXHAUSTED,
				   "%u asynchronous calls wait for a call context "
				   "already (async_queue_max)", q->live);
		lrpc__pending_put(p);
		return false;
	}
	p->next = NULL;
	p->tctx = q;
	if (q->tail)
		q->tail->next = p;
	else
		q->head = p;
	q->tail = p;
	q->live++;
	return true;
}

void lrpc__aqueue_requeue(struct lrpc__aqueue *q, struct lrpc_async *p)
{
	p->tctx = q;
	p->next = q->head;
	q->head = p;
	if (!q->tail)
		q->tail = p;
	q->live++;
}

struct lrpc_async *lrpc__aqueue_pop(struct lrpc__aqueue *q)
{
	struct lrpc_async *p = q->head;

	if (!p)
		return NULL;
	q->head = p->next;
	if (!q->head)
		q->tail = NULL;
	lrpc__aqueue_abandon(q, p);
	return p;
}

void lrpc__aqueue_cancel_all(struct lrpc__aqueue *q)
{
	struct lrpc_async *p;

	while ((p = lrpc__aqueue_pop(q))) {
		lrpc__pending_fail(p, LRPC_CANCELLED, "channel closed");
		lrpc__pending_put(p);
	}
}

bool lrpc__aqueue_abandon(struct lrpc__aqueue *q, struct lrpc_async *p)
{
	if (p->tctx != q)
		return false;
	p->tctx = NULL;
	q->live--;
	return true;
}
