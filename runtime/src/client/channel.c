// SPDX-License-Identifier: MIT
/*
 * The generic client call path: open a channel on the transport its URI
 * names, encode the request straight into the transport's buffer, decode
 * the reply.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/call.h"
#include "client/intercept.h"
#include "client/pending.h"
#include "client/metadata.h"
#include "core/peer_acl.h"
#include "transport/transport.h"
#include "wire/pbdecode.h"

#define DEFAULT_TIMEOUT_MS 30000
#define DEFAULT_CONNECT_TIMEOUT_MS 5000

void lrpc_channel_opts_init(lrpc_channel_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
}

/* Unless the transport said why (the server's refusal), say it from the
 * errno. */
static void open_failed(lrpc_status *st, const char *uri, int err)
{
	lrpc_code code = err == -EACCES ? LRPC_PERMISSION_DENIED :
			 err == -EAGAIN ? LRPC_RESOURCE_EXHAUSTED :
			 err == -ETIMEDOUT ? LRPC_DEADLINE_EXCEEDED :
			 err == -EPROTONOSUPPORT ? LRPC_UNIMPLEMENTED :
			 LRPC_UNAVAILABLE;

	if (st && !st->message[0])
		lrpc__status_set(st, code, "opening %s: %s", uri, strerror(-err));
}

int lrpc_channel_open(const char *uri, const lrpc_channel_opts *opts,
		      lrpc_channel **out)
{
	struct lrpc__addr addr;
	lrpc_channel *ch;
	int ret;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (opts && (opts->default_timeout_ms < 0 || opts->connect_timeout_ms < 0 ||
		     opts->max_msg_size > LRPC_MAX_MSG_LIMIT))
		return -EINVAL;
	ret = lrpc__uri_parse(uri, &addr);
	if (ret < 0)
		return ret;
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	if (opts)
		ch->opts = *opts;
	/* The caller's list may go once we return; reconnects need it. */
	ret = lrpc__peer_acl_dup(ch->opts.trust, &ch->trust);
	ch->opts.trust = ch->trust;
	if (ret < 0) {
		free(ch);
		return ret;
	}
	if (!ch->opts.default_timeout_ms)
		ch->opts.default_timeout_ms = DEFAULT_TIMEOUT_MS;
	if (!ch->opts.connect_timeout_ms)
		ch->opts.connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
	if (!ch->opts.max_msg_size)
		ch->opts.max_msg_size = LRPC_DEFAULT_MAX_MSG;
	lrpc__status_set(ch->opts.open_status, LRPC_OK, "%s", "");
	ret = lrpc__transport_find(addr.scheme)->dial(ch, &addr);
	if (ret < 0) {
		open_failed(ch->opts.open_status, uri, ret);
		lrpc_channel_close(ch);
		return ret;
	}
	*out = ch;
	return 0;
}

void lrpc_channel_close(lrpc_channel *ch)
{
	if (!ch)
		return;
	lrpc__async_pool_close(ch);
	if (ch->ops)
		ch->ops->close(ch);
	free(ch->trust);
	free(ch->ic);
	free(ch);
}

const char *lrpc_channel_handoff(const lrpc_channel *ch)
{
	return ch && ch->handoff ? ch->handoff : "";
}

size_t lrpc_channel_max_msg(const lrpc_channel *ch)
{
	return ch ? ch->ops->max_msg(ch) : 0;
}

int lrpc_channel_set_max_conns(lrpc_channel *ch, unsigned int max_conns)
{
	if (!ch)
		return -EINVAL;
	if (!ch->ops->set_max_conns)
		return -EOPNOTSUPP;
	return ch->ops->set_max_conns(ch, max_conns ? max_conns :
						     LRPC_DEFAULT_CHANNEL_CONNS);
}

/* wait_for_ready: back off before trying an absent server again, 5 ms
 * doubling to 200 ms (the transport's own dial backoff may refuse sooner
 * tries at once). \return false once \p deadline has come. */
bool lrpc__wait_ready(lrpc_deadline deadline, unsigned int tries)
{
	int64_t ns = (int64_t)5000000 << (tries < 6 ? tries : 6);
	lrpc_deadline until = lrpc_now() + (ns < 200000000 ? ns : 200000000);
	struct timespec ts;

	if (lrpc_now() >= deadline)
		return false;
	if (until > deadline)
		until = deadline;
	ts.tv_sec = until / 1000000000;
	ts.tv_nsec = until % 1000000000;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
	return true;
}

/* The one call path: borrow the transport's buffer, write the request
 * straight into it, send, take the reply where it lies, give it back. */
lrpc_code lrpc__call(lrpc_channel *ch, uint32_t method_id,
		     const char *full_name, lrpc_deadline deadline,
		     struct lrpc__call_io *io, lrpc_status *st)
{
	const unsigned char *rep = NULL;
	struct lrpc__req_buf *rb;
	size_t max = ch->ops->max_msg(ch), rep_len = 0;
	lrpc_code code;

	if (io->req_len > max)
		return lrpc__status_fail(st, LRPC_RESOURCE_EXHAUSTED,
					 "request of %zu bytes exceeds the %zu-byte limit",
					 io->req_len, max);
	if (io->opts) {
		code = lrpc__md_check(io->opts->metadata, io->opts->n_metadata, st);
		if (code != LRPC_OK)
			return code;
		if (io->opts->n_metadata && !ch->ops->metadata)
			return lrpc__status_fail(st, LRPC_UNIMPLEMENTED,
						 "call metadata is not carried over %s yet",
						 lrpc_channel_handoff(ch));
		lrpc_metadata_list_clear(io->opts->headers);
		lrpc_metadata_list_clear(io->opts->trailers);
	}
	deadline = lrpc__channel_deadline(ch, deadline);
	for (unsigned int tries = 0;; tries++) {
		code = ch->ops->acquire(ch, io->req_len, deadline, &rb, st);
		if (code != LRPC_UNAVAILABLE || !ch->opts.wait_for_ready ||
		    !lrpc__wait_ready(deadline, tries))
			break;
	}
	if (code == LRPC_UNAVAILABLE && ch->opts.wait_for_ready)
		return lrpc__status_fail(st, LRPC_DEADLINE_EXCEEDED,
					 "deadline exceeded waiting for the server: %s",
					 st ? st->message : "unavailable");
	if (code != LRPC_OK)
		return code;
	io->put(io, rb->buf);
	rb->full_name = full_name;
	rb->md = io->opts ? io->opts->metadata : NULL;
	rb->n_md = io->opts ? io->opts->n_metadata : 0;
	rb->headers = io->opts ? io->opts->headers : NULL;
	rb->trailers = io->opts ? io->opts->trailers : NULL;
	code = ch->ops->invoke(ch, rb, method_id, io->req_len, deadline, &rep,
			       &rep_len, st);
	if (code == LRPC_OK)
		code = io->take(io, rep, rep_len, st);
	/* The buffer goes back without this call's pointers: a transport's
	 * asynchronous path reuses it setting them only for calls with
	 * options, and must not send stale metadata or fill lists their
	 * caller may have freed. */
	rb->md = NULL;
	rb->n_md = 0;
	rb->headers = rb->trailers = NULL;
	ch->ops->release(ch, rb);
	if (code == LRPC_OK)
		lrpc__status_set(st, LRPC_OK, "%s", "");
	return code;
}

/* lrpc__call() for the public entry points: through the channel's
 * interceptors, if it has any. (Asynchronous calls that a pool thread
 * makes synchronously passed theirs when they started.) */
static lrpc_code call_intercepted(lrpc_channel *ch, uint32_t method_id,
				  const char *full_name, lrpc_deadline deadline,
				  struct lrpc__call_io *io, lrpc_status *st)
{
	lrpc_call_opts o = LRPC_CALL_OPTS_INIT;
	struct lrpc__cic x;
	lrpc_status local;
	lrpc_code code;

	if (!lrpc__cic_wanted(ch))
		return lrpc__call(ch, method_id, full_name, deadline, io, st);
	if (!st)
		st = &local;
	if (io->opts)
		o = *io->opts;
	code = lrpc__cic_before(ch, &x, full_name, false, o.metadata, o.n_metadata, true, st);
	if (code == LRPC_OK) {
		o.metadata = x.info.metadata;
		o.n_metadata = x.info.n_metadata;
		io->opts = &o;
		code = lrpc__call(ch, method_id, full_name, deadline, io, st);
	}
	if (full_name)
		lrpc__status_name_method(st, code, full_name);
	lrpc__cic_after(&x, code, st);
	return code;
}

struct msg_io {
	struct lrpc__call_io io;
	const lrpc_method_desc *method;
	const ProtobufCMessage *req;
	ProtobufCMessage **rep;
};

static void msg_put(struct lrpc__call_io *io, unsigned char *buf)
{
	struct msg_io *m = (struct msg_io *)io;

	protobuf_c_message_pack(m->req, buf);
}

/* A reply in memory the server shares is decoded where it lies, by the
 * decoder that reads every byte once: the server cannot change what was
 * decided by rewriting the buffer meanwhile. Socket replies take the same
 * decoder, for its nesting limit and the same rules. */
static lrpc_code msg_take(struct lrpc__call_io *io, const unsigned char *rep,
			  size_t len, lrpc_status *st)
{
	struct msg_io *m = (struct msg_io *)io;

	*m->rep = lrpc__pb_decode(m->method->output, NULL, len, rep);
	if (!*m->rep)
		return lrpc__status_fail(st, LRPC_INTERNAL,
					 "reply from %s does not decode as %s",
					 m->method->full_name,
					 m->method->output->name);
	return LRPC_OK;
}

lrpc_code lrpc_channel_call(lrpc_channel *ch, const lrpc_method_desc *method,
			    const ProtobufCMessage *req, ProtobufCMessage **rep,
			    lrpc_deadline deadline, lrpc_status *st)
{
	return lrpc_channel_call_opts(ch, method, req, rep, deadline, NULL, st);
}

lrpc_code lrpc_channel_call_opts(lrpc_channel *ch, const lrpc_method_desc *method,
				 const ProtobufCMessage *req, ProtobufCMessage **rep,
				 lrpc_deadline deadline, const lrpc_call_opts *opts,
				 lrpc_status *st)
{
	struct msg_io m = {
		.io = { .put = msg_put, .take = msg_take, .opts = opts },
		.method = method,
		.req = req,
		.rep = rep,
	};
	lrpc_code code;

	if (rep)
		*rep = NULL;
	if (!ch || !method || !req || !rep)
		return lrpc__status_fail(st, LRPC_INVALID_ARGUMENT,
					 "NULL channel, method, request or reply");
	if (req->descriptor != method->input)
		return lrpc__status_fail(st, LRPC_INVALID_ARGUMENT,
					 "%s takes %s, not %s", method->full_name,
					 method->input->name,
					 req->descriptor ? req->descriptor->name : "?");
	m.io.req_len = protobuf_c_message_get_packed_size(req);
	code = call_intercepted(ch, method->id, method->full_name, deadline, &m.io, st);
	lrpc__status_name_method(st, code, method->full_name);
	return code;
}

struct raw_io {
	struct lrpc__call_io io;
	const void *req;
	void *rep;
	size_t rep_cap;
	size_t *rep_len;
};

static void raw_put(struct lrpc__call_io *io, unsigned char *buf)
{
	struct raw_io *r = (struct raw_io *)io;

	if (io->req_len)
		memcpy(buf, r->req, io->req_len);
}

static lrpc_code raw_take(struct lrpc__call_io *io, const unsigned char *rep,
			  size_t len, lrpc_status *st)
{
	struct raw_io *r = (struct raw_io *)io;

	if (len > r->rep_cap)
		return lrpc__status_fail(st, LRPC_RESOURCE_EXHAUSTED,
					 "reply of %zu bytes exceeds the %zu-byte buffer",
					 len, r->rep_cap);
	if (len)
		memcpy(r->rep, rep, len);
	*r->rep_len = len;
	return LRPC_OK;
}

lrpc_code lrpc_channel_call_raw(lrpc_channel *ch, uint32_t method_id,
				const void *req, size_t req_len, void *rep,
				size_t rep_cap, size_t *rep_len,
				lrpc_deadline deadline, lrpc_status *st)
{
	struct raw_io r = {
		.io = { .req_len = req_len, .put = raw_put, .take = raw_take },
		.req = req,
		.rep = rep,
		.rep_cap = rep_cap,
		.rep_len = rep_len,
	};

	if (!ch || (!req && req_len) || (!rep && rep_cap) || !rep_len)
		return lrpc__status_fail(st, LRPC_INVALID_ARGUMENT,
					 "NULL channel, buffer or length");
	*rep_len = 0;
	return call_intercepted(ch, method_id, NULL, deadline, &r.io, st);
}

/* A raw call whose reply is copied into memory of its own: raw_put
 * sends the request. */
struct bytes_io {
	struct raw_io raw;
	void **rep;
	size_t *rep_len;
};

static lrpc_code bytes_take(struct lrpc__call_io *io, const unsigned char *rep,
			    size_t len, lrpc_status *st)
{
	struct bytes_io *b = (struct bytes_io *)io;

	if (!len)
		return LRPC_OK;
	*b->rep = malloc(len);
	if (!*b->rep)
		return lrpc__status_fail(st, LRPC_RESOURCE_EXHAUSTED,
					 "no memory for a reply of %zu bytes", len);
	memcpy(*b->rep, rep, len);
	*b->rep_len = len;
	return LRPC_OK;
}

lrpc_code lrpc_channel_call_bytes(lrpc_channel *ch, const char *full_name,
				  const void *req, size_t req_len, void **rep,
				  size_t *rep_len, lrpc_deadline deadline,
				  const lrpc_call_opts *opts, lrpc_status *st)
{
	struct bytes_io b = {
		.raw = { .io = { .req_len = req_len, .put = raw_put, .take = bytes_take,
				 .opts = opts },
			 .req = req },
		.rep = rep,
		.rep_len = rep_len,
	};
	lrpc_code code;

	if (rep)
		*rep = NULL;
	if (rep_len)
		*rep_len = 0;
	if (!ch || !full_name || full_name[0] != '/' || (!req && req_len) ||
	    !rep || !rep_len)
		return lrpc__status_fail(st, LRPC_INVALID_ARGUMENT,
					 "NULL channel, buffer or length, or a method "
					 "name without its leading '/'");
	code = call_intercepted(ch, lrpc_method_id(full_name), full_name, deadline,
				&b.raw.io, st);
	if (code != LRPC_OK) {
		free(*rep);
		*rep = NULL;
		*rep_len = 0;
	}
	lrpc__status_name_method(st, code, full_name);
	return code;
}
