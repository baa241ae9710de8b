// SPDX-License-Identifier: MIT
/*
 * The nghttp2 session of a grpc:// server connection (grpc_conn.c): the
 * settings it announces, and its callbacks, which find the stream a frame
 * is for and hand it to grpc_call.c. Loop thread only.
 */
#include <errno.h>

#include "transport/grpc_server.h"

/* nghttp2's callbacks: find our stream and hand over. */

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *f,
			    void *user)
{
	struct gconn *c = user;
	struct gstream *s;

	if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	s = lrpc__gstream_new(c, f->hd.stream_id);
	if (!s)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* RST_STREAM */
	nghttp2_session_set_stream_user_data(ng, f->hd.stream_id, s);
	return 0;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *f,
		     const uint8_t *name, size_t nlen, const uint8_t *value,
		     size_t vlen, uint8_t flags, void *user)
{
	struct gstream *s = nghttp2_session_get_stream_user_data(ng, f->hd.stream_id);

	(void)flags, (void)user;
	if (!s || f->hd.type != NGHTTP2_HEADERS)
		return 0;
	return lrpc__gstream_header(s, f, name, nlen, value, vlen);
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *f, void *user)
{
	struct gstream *s;

	(void)user;
	if (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA)
		return 0;
	s = nghttp2_session_get_stream_user_data(ng, f->hd.stream_id);
	if (!s)
		return 0;
	if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST)
		lrpc__gstream_headers_done(s);
	if ((f->hd.flags & NGHTTP2_FLAG_END_STREAM) && !s->half_closed)
		lrpc__gstream_end(s);
	return 0;
}

static int on_data(nghttp2_session *ng, uint8_t flags, int32_t id,
		   const uint8_t *data, size_t len, void *user)
{
	struct gstream *s = nghttp2_session_get_stream_user_data(ng, id);

	(void)flags, (void)user;
	if (!s) {
		/* Not ours to hold: give the window back at once. */
		nghttp2_session_consume(ng, id, len);
		return 0;
	}
	lrpc__gstream_data(s, data, len);
	return 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t id, uint32_t code,
			   void *user)
{
	struct gstream *s = nghttp2_session_get_stream_user_data(ng, id);

	(void)code, (void)user;
	if (s)
		lrpc__gstream_closed(s);
	return 0;
}

/* An expired stream's trailers went out while its client still sends:
 * RST_STREAM NO_ERROR stops it (PROTOCOL-HTTP2.md; RFC 9113 8.1), sent
 * only now, as a reset queued with the trailers would drop them. Not
 * after Trailers-Only, which grpcio 1.51 then reports as INTERNAL (see
 * lrpc__gstream_fail): there the client ends its side on reading it. */
static int on_frame_send(nghttp2_session *ng, const nghttp2_frame *f, void *user)
{
	struct gstream *s;

	(void)user;
	if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_HEADERS ||
	    !(f->hd.flags & NGHTTP2_FLAG_END_STREAM))
		return 0;
	s = nghttp2_session_get_stream_user_data(ng, f->hd.stream_id);
	if (s && s->expired && !s->half_closed && !s->closed)
		nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, f->hd.stream_id,
					  NGHTTP2_NO_ERROR);
	return 0;
}

/* DATA frames as large as the client takes, up to LRPC__GRPC_FRAME_MAX
 * (nghttp2 then holds them to the windows). */
static ssize_t frame_len(nghttp2_session *ng, uint8_t type, int32_t id, int32_t conn_window,
			 int32_t stream_window, uint32_t peer_max, void *user)
{
	(void)ng, (void)type, (void)id, (void)conn_window, (void)stream_window, (void)user;
	return peer_max < LRPC__GRPC_FRAME_MAX ? (ssize_t)peer_max : LRPC__GRPC_FRAME_MAX;
}

static int on_invalid_frame(nghttp2_session *ng, const nghttp2_frame *f,
			    int err, void *user)
{
	struct gconn *c = user;

	(void)ng, (void)f, (void)err;
	atomic_fetch_add(&c->host->stats.protocol_errors, 1);
	return 0;
}

int lrpc__gconn_session_new(struct gconn *c)
{
	const struct lrpc__host *h = c->host;
	nghttp2_session_callbacks *cb;
	nghttp2_option *opt;
	nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, h->opts.max_pipelined },
		{ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, LRPC__GRPC_HEADER_MAX },
		/* No server push here, and none expected. */
		{ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
		/* A request of up to about 1 MiB in one flight (wire/grpc.h). */
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, LRPC__GRPC_WINDOW },
		{ NGHTTP2_SETTINGS_MAX_FRAME_SIZE, LRPC__GRPC_FRAME_MAX },
	};
	int ret;

	if (nghttp2_session_callbacks_new(&cb))
		return -ENOMEM;
	if (nghttp2_option_new(&opt)) {
		nghttp2_session_callbacks_del(cb);
		return -ENOMEM;
	}
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cb, on_invalid_frame);
	nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
	nghttp2_session_callbacks_set_send_data_callback(cb, lrpc__gstream_send_out);
	nghttp2_session_callbacks_set_data_source_read_length_callback(cb, frame_len);
	/* Windows open only as handlers read (grpc_call.c), so a slow reader
	 * makes its client wait rather than the server buffer. */
	nghttp2_option_set_no_auto_window_update(opt, 1);
	ret = nghttp2_session_server_new2(&c->ng, cb, c, opt);
	nghttp2_option_del(opt);
	nghttp2_session_callbacks_del(cb);
	if (ret)
		return -ENOMEM;
	/* The connection's window: room for four streams' windows, so that
	 * one stream whose handler reads slowly does not stall the others. */
	if (nghttp2_submit_settings(c->ng, NGHTTP2_FLAG_NONE, iv,
				    sizeof(iv) / sizeof(iv[0])) ||
	    nghttp2_session_set_local_window_size(c->ng, NGHTTP2_FLAG_NONE, 0,
						  4 * LRPC__GRPC_WINDOW)) {
		nghttp2_session_del(c->ng);
		c->ng = NULL;
		return -ENOMEM;
	}
	return 0;
}
