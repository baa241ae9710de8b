// SPDX-License-Identifier: MIT
/*
 * The client side of grpc://HOST:PORT and grpc+unix://PATH: unary calls
 * to any gRPC server (h2c with prior knowledge, PROTOCOL-HTTP2.md),
 * nghttp2 driven by the calling thread. Like sock_client.c, each call borrows a connection of
 * its own from the channel's pool (opening one when none is idle) and
 * runs one stream on it; a connection whose call failed midway (deadline,
 * reset, bad frames) or that got GOAWAY is closed rather than reused
 * (grpc_client_pool.c, which also drops idle connections the server
 * closed, and says when a refused call goes again).
 *
 * Threads: any thread may call at once (the pool is under the channel's
 * lock); a connection and its nghttp2 session belong to the one thread
 * that borrowed it. Streams: grpc_stream_client.c, a connection each.
 *
 * Status: grpc-status and the percent-decoded grpc-message from the
 * trailers (or a Trailers-Only response); without them one is made from
 * the HTTP status or the RST_STREAM code as the spec maps them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "transport/sock.h"
#include "transport/grpc_client.h"
#include "transport/tls.h"
#include "transport/transport.h"
#include "wire/grpc.h"

#define NV(n, v, vlen) { (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, (vlen), \
			 NGHTTP2_NV_FLAG_NO_COPY_NAME }

void lrpc__gconn_free(struct gcconn *k)
{
	if (!k)
		return;
	nghttp2_session_del(k->ng);
	lrpc__tls_free(k->tls);
	close(k->fd);
	free(k->wbuf);
	free(k->rbuf);
	free(k);
}

static bool is(const uint8_t *p, size_t n, const char *lit)
{
	return n == strlen(lit) && memcmp(p, lit, n) == 0;
}

int lrpc__gcall_on_header(nghttp2_session *ng, const nghttp2_frame *f,
			  const uint8_t *name, size_t nlen, const uint8_t *value,
			  size_t vlen, uint8_t flags, void *user)
{
	struct gcall *c = nghttp2_session_get_stream_user_data(ng, f->hd.stream_id);

	(void)flags, (void)user;
	if (!c)
		return 0;
	if (is(name, nlen, ":status")) {
		c->http = vlen == 3 ? (value[0] - '0') * 100 + (value[1] - '0') * 10 +
				      (value[2] - '0') : 0;
	} else if (is(name, nlen, "grpc-status")) {
		int v = 0;

		for (size_t i = 0; i < vlen && v < 1000; i++)
			v = value[i] >= '0' && value[i] <= '9' ?
				    v * 10 + (value[i] - '0') : 1000;
		c->grpc_status = vlen && v < LRPC_CODE_COUNT ? v : LRPC_UNKNOWN;
	} else if (is(name, nlen, "grpc-message")) {
		size_t n = lrpc__grpc_pct_decode((const char *)value, vlen, c->message,
						 sizeof(c->message) - 1);

		c->message[n] = '\0';
	} else if (nlen && name[0] != ':') {
		/* Custom metadata; in a HEADERS that ends the stream (the
		 * trailers, or Trailers-Only) it is the trailers. */
		bool trailer = f->headers.cat == NGHTTP2_HCAT_HEADERS ||
			       (f->hd.flags & NGHTTP2_FLAG_END_STREAM);

		if (lrpc__gcall_md_take(c, trailer, name, nlen, value, vlen) < 0)
			c->bad = true;
	}
	return 0;
}

static int on_data(nghttp2_session *ng, uint8_t flags, int32_t id,
		   const uint8_t *data, size_t len, void *user)
{
	struct gcall *c = nghttp2_session_get_stream_user_data(ng, id);

	(void)flags, (void)user;
	if (c && !c->bad && lrpc__grpc_msgq_push(&c->in, data, len) < 0)
		c->bad = true;
	return 0;
}

static int on_close(nghttp2_session *ng, int32_t id, uint32_t code, void *user)
{
	struct gcall *c = nghttp2_session_get_stream_user_data(ng, id);
	struct gcconn *k = user;

	if (c) {
		c->closed = true;
		c->rst = code;
		/* Refused by a GOAWAY: its reason, unless the server said one. */
		if (code == NGHTTP2_REFUSED_STREAM && k->goaway[0] && !c->message[0])
			snprintf(c->message, sizeof(c->message), "%s", k->goaway);
	}
	return 0;
}

static ssize_t read_req(nghttp2_session *ng, int32_t id, uint8_t *buf,
			size_t length, uint32_t *flags, nghttp2_data_source *src,
			void *user)
{
	struct gcall *c = src->ptr;
	size_t n = c->len - c->sent < length ? c->len - c->sent : length;

	/* The bytes go from c->mem by lrpc__gcall_send_data, which moves
	 * c->sent, once per frame and right after this call. */
	(void)ng, (void)id, (void)user, (void)buf;
	*flags |= NGHTTP2_DATA_FLAG_NO_COPY;
	if (c->sent + n == c->len)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

/* DATA frames as large as the server takes, up to LRPC__GRPC_FRAME_MAX
 * (nghttp2 then holds them to the windows). */
static ssize_t frame_len(nghttp2_session *ng, uint8_t type, int32_t id, int32_t conn_window,
			 int32_t stream_window, uint32_t peer_max, void *user)
{
	(void)ng, (void)type, (void)id, (void)conn_window, (void)stream_window, (void)user;
	return peer_max < LRPC__GRPC_FRAME_MAX ? (ssize_t)peer_max : LRPC__GRPC_FRAME_MAX;
}

int lrpc__gconn_open(struct gchan *g, lrpc_deadline deadline, struct gcconn **out)
{
	/* Replies are taken whole: let the server send one in one flight. */
	static const nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, LRPC__GRPC_WINDOW },
		{ NGHTTP2_SETTINGS_MAX_FRAME_SIZE, LRPC__GRPC_FRAME_MAX },
	};
	nghttp2_session_callbacks *cb;
	struct gcconn *k = calloc(1, sizeof(*k));
	int ret;

	if (!k)
		return -ENOMEM;
	k->fd = lrpc__sock_connect(&g->addr, deadline);
	if (k->fd < 0) {
		ret = k->fd;
		free(k);
		return ret;
	}
	if (nghttp2_session_callbacks_new(&cb)) {
		close(k->fd);
		free(k);
		return -ENOMEM;
	}
	nghttp2_session_callbacks_set_on_header_callback(cb, lrpc__gcall_on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
	nghttp2_session_callbacks_set_send_data_callback(cb, lrpc__gcall_send_data);
	nghttp2_session_callbacks_set_data_source_read_length_callback(cb, frame_len);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, lrpc__gconn_on_frame);
	lrpc__gcconn_out_init(k);
	ret = nghttp2_session_client_new(&k->ng, cb, k);
	nghttp2_session_callbacks_del(cb);
	if (ret || nghttp2_submit_settings(k->ng, NGHTTP2_FLAG_NONE, iv,
					   sizeof(iv) / sizeof(iv[0])) ||
	    nghttp2_session_set_local_window_size(k->ng, NGHTTP2_FLAG_NONE, 0,
						  LRPC__GRPC_WINDOW)) {
		nghttp2_session_del(k->ng);
		close(k->fd);
		free(k);
		return -ENOMEM;
	}
	if ((ret = lrpc__gconn_tls_start(g, k->fd, k->ng, deadline, &k->tls)) < 0) {
		lrpc__gconn_free(k);
		return ret;
	}
	*out = k;
	return 0;
}

/* Send what nghttp2 has, read what comes, until the call's stream
 * closes or the deadline. \return 0, -ETIMEDOUT, -ECONNRESET, -EPROTO,
 * -ENOMEM. */
static int run(struct gcconn *k, struct gcall *c, lrpc_deadline deadline)
{
	while (!c->closed) {
		int ret;

		if ((ret = lrpc__gcconn_send(k, deadline)) < 0)
			return ret;
		if (c->closed)
			break;
		if (!nghttp2_session_want_read(k->ng))
			return -ECONNRESET;
		if ((ret = lrpc__gconn_read(k, deadline)) < 0)
			return ret;
	}
	return 0;
}

/* The status when the server sent no grpc-status (PROTOCOL-HTTP2.md). */
lrpc_code lrpc__gcall_synthesize(const struct gcall *c, lrpc_status *st)
{
	static const struct { uint32_t h2; lrpc_code code; } rst[] = {
		{ NGHTTP2_REFUSED_STREAM, LRPC_UNAVAILABLE },
		{ NGHTTP2_CANCEL, LRPC_CANCELLED },
		{ NGHTTP2_ENHANCE_YOUR_CALM, LRPC_RESOURCE_EXHAUSTED },
		{ NGHTTP2_INADEQUATE_SECURITY, LRPC_PERMISSION_DENIED },
	};

	if (c->http && c->http != 200) {
		lrpc_code code = c->http == 400 ? LRPC_INTERNAL :
				 c->http == 401 ? LRPC_UNAUTHENTICATED :
				 c->http == 403 ? LRPC_PERMISSION_DENIED :
				 c->http == 404 ? LRPC_UNIMPLEMENTED :
				 (c->http == 429 || c->http == 502 || c->http == 503 ||
				  c->http == 504) ? LRPC_UNAVAILABLE : LRPC_UNKNOWN;

		return lrpc__status_fail(st, code, "HTTP status %d from the server",
					 c->http);
	}
	for (size_t i = 0; i < sizeof(rst) / sizeof(rst[0]); i++)
		if (c->rst == rst[i].h2)
			return lrpc__status_fail(st, rst[i].code,
						 "stream reset by the server (%s)%s%s",
						 nghttp2_http2_strerror(c->rst),
						 c->message[0] ? ": " : "", c->message);
	return lrpc__status_fail(st, LRPC_INTERNAL, "%s",
				 c->rst ? "stream reset by the server" :
					  "the server sent no grpc-status");
}

static size_t g_max_msg(const lrpc_channel *ch)
{
	return ((const struct gchan *)ch->impl)->max_msg;
}

static lrpc_code g_acquire(lrpc_channel *ch, size_t len, lrpc_deadline deadline,
			   struct lrpc__req_buf **rb, lrpc_status *st)
{
	struct gchan *g = ch->impl;
	struct gcall *c = calloc(1, sizeof(*c));
	int ret;

	if (c)
		c->mem = malloc(LRPC__GRPC_PREFIX + len);
	if (!c || !c->mem) {
		free(c);
		return lrpc__status_fail(st, LRPC_RESOURCE_EXHAUSTED, "out of memory");
	}
	c->k = lrpc__gchan_borrow(g);
	if (!c->k && (ret = lrpc__gconn_open(g, deadline, &c->k)) < 0) {
		free(c->mem);
		free(c);
		return lrpc__status_from_errno(st, ret, deadline, "connecting");
	}
	c->rb.buf = c->mem + LRPC__GRPC_PREFIX;
	c->rb.cap = len;
	lrpc__grpc_msgq_init(&c->in, g_max_msg(ch));
	*rb = &c->rb;
	return LRPC_OK;
}

static void g_release(lrpc_channel *ch, struct lrpc__req_buf *rb)
{
	struct gcall *c = (struct gcall *)rb;

	if (c->k) /* never invoked: the connection is as it was */
		lrpc__gchan_give_back(ch->impl, c->k);
	lrpc__grpc_msgq_free(&c->in);
	lrpc__gcall_md_free(c);
	free(c->mem);
	free(c);
}

int32_t lrpc__gcall_submit(struct gchan *g, struct gcconn *k, struct gcall *c,
			   const char *full_name, size_t req_len,
			   lrpc_deadline deadline)
{
	char timeout[12];
	nghttp2_nv nv[] = {
		NV(":method", "POST", 4),
		NV(":scheme", g->tls ? "https" : "http", g->tls ? 5 : 4),
		NV(":path", full_name, strlen(full_name)),
		NV(":authority", g->authority, strlen(g->authority)),
		NV("te", "trailers", 8),
		NV("content-type", "application/grpc", 16),
		NV("grpc-timeout", timeout,
		   lrpc__grpc_timeout_format(deadline - lrpc_now(), timeout)),
		NV("user-agent", "grpc-c-lazyrpc", 14),
	};
	nghttp2_data_provider prd = { .source.ptr = c, .read_callback = read_req };
	struct lrpc__grpc_nvs block;
	nghttp2_nv *all;
	size_t n;

	lrpc__grpc_prefix_put(c->mem, (uint32_t)req_len);
	c->len = LRPC__GRPC_PREFIX + req_len;
	c->grpc_status = -1;
	all = lrpc__gcall_md_nv(c, nv, sizeof(nv) / sizeof(nv[0]), &n, &block);
	c->sid = all ? nghttp2_submit_request(k->ng, NULL, all, n, &prd, c) : NGHTTP2_ERR_NOMEM;
	free(all);
	lrpc__grpc_nvs_free(&block);
	return c->sid;
}

lrpc_code lrpc__gcall_result(struct gchan *g, struct gcall *c,
			     lrpc_deadline deadline, const unsigned char **rep,
			     size_t *rep_len, lrpc_status *st)
{
	const unsigned char *msg;
	lrpc_code code = lrpc__gcall_md_result(c, st);
	size_t n;

	if (code != LRPC_OK)
		return code;
	/* A server resets a call at its deadline (grpc-timeout); gRPC's own
	 * clients report the deadline, not the reset. */
	if (c->grpc_status < 0 && c->rst == NGHTTP2_CANCEL && lrpc_now() >= deadline)
		return lrpc__status_fail(st, LRPC_DEADLINE_EXCEEDED, "%s",
					 "deadline exceeded (the server reset the call)");
	if (c->grpc_status < 0)
		return lrpc__gcall_synthesize(c, st);
	if (c->grpc_status != LRPC_OK)
		return lrpc__status_from_peer(st, (uint32_t)c->grpc_status, c->message,
					      strlen(c->message));
	if (c->bad || lrpc__grpc_msgq_next(&c->in, &msg, &n) != LRPC__GRPC_MSG ||
	    lrpc__grpc_msgq_len(&c->in) != LRPC__GRPC_PREFIX + n)
		return lrpc__status_fail(st, LRPC_INTERNAL,
					 "a unary reply must be one message of at most %zu bytes",
					 g->max_msg);
	*rep = msg;
	*rep_len = n;
	return LRPC_OK;
}

static lrpc_code g_invoke(lrpc_channel *ch, struct lrpc__req_buf *rb,
			  uint32_t method_id, size_t req_len,
			  lrpc_deadline deadline, const unsigned char **rep,
			  size_t *rep_len, lrpc_status *st)
{
	struct gchan *g = ch->impl;
	struct gcall *c = (struct gcall *)rb;
	struct gcconn *k = c->k;
	int ret;

	(void)method_id;
	if (!rb->full_name)
		return lrpc__status_fail(st, LRPC_INVALID_ARGUMENT,
					 "grpc:// calls methods by name, not by id");
	if (deadline <= lrpc_now())
		return lrpc__status_fail(st, LRPC_DEADLINE_EXCEEDED,
					 "deadline passed before the call was sent");
	c->k = NULL; /* ours now: freed or given back below */
	for (bool again = true;; again = false) {
		if (lrpc__gcall_submit(g, k, c, rb->full_name, req_len, deadline) < 0) {
			lrpc__gconn_free(k);
			return lrpc__status_fail(st, LRPC_UNAVAILABLE, "%s",
						 nghttp2_strerror(c->sid));
		}
		ret = run(k, c, deadline);
		if (ret < 0) {
			lrpc__gconn_free(k); /* mid-call: a late reply must not reach another */
			return ret == -EPROTO ?
				lrpc__status_fail(st, LRPC_INTERNAL, "bad HTTP/2 from the server") :
				lrpc__status_from_errno(st, ret, deadline, "waiting for the reply");
		}
		nghttp2_session_set_stream_user_data(k->ng, c->sid, NULL);
		lrpc__gchan_give_back(g, k);
		/* Refused unprocessed (a GOAWAY that crossed the call, say):
		 * once more on a new connection, as gRPC's clients do. */
		if (!again || !lrpc__gcall_refused(c) || lrpc_now() >= deadline ||
		    lrpc__gconn_open(g, deadline, &k) < 0)
			break;
		lrpc__gcall_rewind(c, g->max_msg);
	}
	return lrpc__gcall_result(g, c, deadline, rep, rep_len, st);
}

static void g_close(lrpc_channel *ch)
{
	struct gchan *g = ch->impl;
	struct gcconn *k, *next;

	if (!g)
		return;
	lrpc__grpc_async_close(ch);
	for (k = g->idle; k; k = next) {
		next = k->next;
		lrpc__gconn_free(k);
	}
	lrpc__tls_ctx_free(g->tls);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

static const struct lrpc__chan_ops grpc_chan_ops = {
	.metadata = true,
	.max_msg = g_max_msg,
	.acquire = g_acquire,
	.invoke = g_invoke,
	.release = g_release,
	.stream_open = lrpc__grpc_stream_open,
	.stream_metadata = true,
	.start = lrpc__grpc_async_start,
	.abandon = lrpc__grpc_async_abandon,
	.close = g_close,
};

int lrpc__grpc_dial(lrpc_channel *ch, const struct lrpc__addr *addr)
{
	struct gchan *g = calloc(1, sizeof(*g));
	struct gcconn *k;
	int ret;

	if (!g)
		return -ENOMEM;
	g->addr = *addr;
	if (addr->scheme == LRPC__SCHEME_GRPC_UNIX) {
		/* sock.c dials a path for any scheme but TCP; gRPC's own
		 * clients say "localhost" for a unix: target. */
		g->addr.scheme = LRPC__SCHEME_UNIX;
		snprintf(g->authority, sizeof(g->authority), "localhost");
	} else {
		g->addr.scheme = LRPC__SCHEME_TCP;
		snprintf(g->authority, sizeof(g->authority),
			 strchr(addr->host, ':') ? "[%s]:%s" : "%s:%s", addr->host,
			 addr->port);
	}
	g->max_msg = ch->opts.max_msg_size ? ch->opts.max_msg_size : LRPC_DEFAULT_MAX_MSG;
	pthread_mutex_init(&g->lock, NULL);
	ch->impl = g;
	ch->ops = &grpc_chan_ops;
	ch->handoff = "grpc";
	if (addr->scheme == LRPC__SCHEME_GRPCS && (ret = lrpc__gchan_tls_init(g, ch, addr)) < 0)
		return ret;
	/* One connection now, so that a wrong address (or certificate)
	 * fails here. */
	ret = lrpc__gconn_open(g, lrpc_deadline_after_ms(ch->opts.connect_timeout_ms), &k);
	if (ret == -EPROTO && g->tls && ch->opts.open_status)
		lrpc__status_set(ch->opts.open_status, LRPC_UNAVAILABLE, "%s", g->tls_why);
	if (ret < 0)
		return ret;
	k->next = NULL;
	g->idle = k;
	return 0;
}
