// SPDX-License-Identifier: MIT
/*
 * The generic client call path: open a channel on the transport its URI
 * names, encode the request straight into the transport's buffer, decode
 * the reply.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "transport/transport.h"
#include "wire/pbdecode.h"

#define DEFAULT_TIMEOUT_MS 30000
#define DEFAULT_CONNECT_TIMEOUT_MS 5000

void lrpc_channel_opts_init(lrpc_channel_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
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
	if (!ch->opts.default_timeout_ms)
		ch->opts.default_timeout_ms = DEFAULT_TIMEOUT_MS;
	if (!ch->opts.connect_timeout_ms)
		ch->opts.connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
	if (!ch->opts.max_msg_size)
		ch->opts.max_msg_size = LRPC_DEFAULT_MAX_MSG;
	ret = lrpc__transport_find(addr.scheme)->dial(ch, &addr);
	if (ret < 0) {
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
	if (ch->ops)
		ch->ops->close(ch);
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

static lrpc_deadline resolve_deadline(const lrpc_channel *ch, lrpc_deadline d)
{
	return d == LRPC_DEADLINE_DEFAULT ?
		       lrpc_deadline_after_ms(ch->opts.default_timeout_ms) :
		       d;
}

lrpc_code lrpc_channel_call(lrpc_channel *ch, const lrpc_method_desc *method,
			    const ProtobufCMessage *req, ProtobufCMessage **rep,
			    lrpc_deadline deadline, lrpc_status *st)
{
	const unsigned char *bytes = NULL;
	struct lrpc__req_buf *rb;
	size_t len, max, rep_len = 0;
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
	deadline = resolve_deadline(ch, deadline);
	len = protobuf_c_message_get_packed_size(req);
	max = ch->ops->max_msg(ch);
	if (len > max)
		return lrpc__status_fail(st, LRPC_RESOURCE_EXHAUSTED,
					 "request of %zu bytes exceeds the %zu-byte limit",
					 len, max);
	code = ch->ops->acquire(ch, len, deadline, &rb, st);
	if (code != LRPC_OK)
		return code;
	protobuf_c_message_pack(req, rb->buf);
	code = ch->ops->invoke(ch, rb, method->id, len, deadline, &bytes,
			       &rep_len, st);
	/* A reply in memory the server shares is decoded where it lies, by the
	 * decoder that reads every byte once: the server cannot change what
	 * was decided by rewriting the buffer meanwhile. Socket replies take
	 * the same decoder, for its nesting limit and the same rules. */
	if (code == LRPC_OK)
		*rep = lrpc__pb_decode(method->output, NULL, rep_len, bytes);
	ch->ops->release(ch, rb);
	if (code != LRPC_OK)
		return code;
	if (!*rep)
		return lrpc__status_fail(st, LRPC_INTERNAL,
					 "reply from %s does not decode as %s",
					 method->full_name, method->output->name);
	lrpc__status_set(st, LRPC_OK, "%s", "");
	return LRPC_OK;
}

lrpc_code lrpc_channel_call_raw(lrpc_channel *ch, uint32_t method_id,
				const void *req, size_t req_len, void *rep,
				size_t rep_cap, size_t *rep_len,
				lrpc_deadline deadline, lrpc_status *st)
{
	const unsigned char *bytes;
	struct lrpc__req_buf *rb;
	size_t n = 0, max;
	lrpc_code code;

	if (!ch || (!req && req_len) || (!rep && rep_cap) || !rep_len)
		return lrpc__status_fail(st, LRPC_INVALID_ARGUMENT,
					 "NULL channel, buffer or length");
	*rep_len = 0;
	max = ch->ops->max_msg(ch);
	if (req_len > max)
		return lrpc__status_fail(st, LRPC_RESOURCE_EXHAUSTED,
					 "request of %zu bytes exceeds the %zu-byte limit",
					 req_len, max);
	deadline = resolve_deadline(ch, deadline);
	code = ch->ops->acquire(ch, req_len, deadline, &rb, st);
	if (code != LRPC_OK)
		return code;
	if (req_len)
		memcpy(rb->buf, req, req_len);
	code = ch->ops->invoke(ch, rb, method_id, req_len, deadline, &bytes,
			       &n, st);
	if (code == LRPC_OK && n > rep_cap)
		code = lrpc__status_fail(st, LRPC_RESOURCE_EXHAUSTED,
					 "reply of %zu bytes exceeds the %zu-byte buffer",
					 n, rep_cap);
	else if (code == LRPC_OK && n)
		memcpy(rep, bytes, n);
	ch->ops->release(ch, rb);
	if (code == LRPC_OK) {
		*rep_len = n;
		lrpc__status_set(st, LRPC_OK, "%s", "");
	}
	return code;
}
