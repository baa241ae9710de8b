// SPDX-License-Identifier: MIT
/*
 * Client streams over grpc://: one HTTP/2 stream on a connection of its
 * own (like a sync unary call's), for client-streaming, server-streaming
 * and bidi methods against any gRPC server.
 *
 * Threads: the writer (send, close_send) and the reader (recv) may block
 * at once, and cancel comes from any thread, so the session is under the
 * stream's lock. Whoever needs the socket and finds nobody driving it
 * drives it: it flushes what nghttp2 has (never blocking: what the socket
 * refuses waits in wp), then polls the socket and the wake eventfd with
 * the lock let go. The other waits on the condition variable, and kicks
 * the eventfd when it queued something for the driver to send. No member
 * blocks with the lock held, so cancel never waits long.
 *
 * Flow control: automatic WINDOW_UPDATEs are off; received bytes are
 * given back to the server's window (nghttp2_session_consume) only while
 * the head message is still partial, or once the reader took it. A
 * reader that stops reading thus makes the server wait, and what is held
 * is at most one message plus the window (LRPC__GRPC_WINDOW, 1 MiB).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "transport/grpc_client.h"
#include "transport/sock.h"
#include "transport/tls.h"
#include "transport/transport.h"
#include "wire/grpc.h"

#define NV(n, v, vlen) { (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, (vlen), \
			 NGHTTP2_NV_FLAG_NO_COPY_NAME }

struct gstream {
	struct lrpc__cstream base; /* first: the stream layer sees this */
	struct gcall c;            /* the response side; stream user data */
	struct gchan *g;
	int fd, wake;
	nghttp2_session *ng;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool driving;
	const uint8_t *wp; /* what the socket has not taken of nghttp2's */
	size_t wn;
	struct lrpc__tls *tls; /* grpcs://: wp then points into cbuf */
	unsigned char *cbuf;
	size_t ccap;
	/* The message being sent: prefix + bytes, handed to nghttp2 from
	 * osent on. */
	unsigned char *out;
	size_t olen, osent;
	bool half_closed, eof_taken;
	size_t unconsumed; /* DATA bytes not yet given back to the window */
	bool popped;       /* the head message was returned by recv */
	bool conn_err;     /* the connection broke or spoke bad HTTP/2 */
	char conn_why[96];
	bool cancelled, ended;
	lrpc_code fcode;
	lrpc_status fst;
};

static int on_data(nghttp2_session *ng, uint8_t flags, int32_t id,
		   const uint8_t *data, size_t len, void *user)
{
	struct gstream *s = user;

	(void)ng, (void)flags;
	if (id != s->c.sid)
		return 0;
	s->unconsumed += len;
	if (!s->c.bad && lrpc__grpc_msgq_push(&s->c.in, data, len) < 0)
		s->c.bad = true;
	return 0;
}

static int on_close(nghttp2_session *ng, int32_t id, uint32_t code, void *user)
{
	struct gstream *s = user;

	(void)ng;
	if (id == s->c.sid) {
		s->c.closed = true;
		s->c.rst = code;
	}
	return 0;
}

static ssize_t read_out(nghttp2_session *ng, int32_t id, uint8_t *buf,
			size_t length, uint32_t *flags, nghttp2_data_source *src,
			void *user)
{
	struct gstream *s = src->ptr;
	size_t n = s->olen - s->osent < length ? s->olen - s->osent : length;

	(void)ng, (void)id, (void)user;
	if (n) {
		memcpy(buf, s->out + s->osent, n);
		s->osent += n;
		return (ssize_t)n;
	}
	if (!s->half_closed)
		return NGHTTP2_ERR_DEFERRED;
	s->eof_taken = true;
	*flags |= NGHTTP2_DATA_FLAG_EOF;
	return 0;
}

static void conn_fail(struct gstream *s, const char *why)
{
	if (!s->conn_err) {
		s->conn_err = true;
		snprintf(s->conn_why, sizeof(s->conn_why), "%s", why);
	}
}

/* Give the window back for what the reader needs to make progress. */
static void settle(struct gstream *s)
{
	const unsigned char *m;
	size_t n;

	if (!s->unconsumed || s->c.closed)
		return;
	if (lrpc__grpc_msgq_next(&s->c.in, &m, &n) == LRPC__GRPC_MSG && !s->popped)
		return;
	nghttp2_session_consume(s->ng, s->c.sid, s->unconsumed);
	s->unconsumed = 0;
}

/* Under the lock: hand the socket what nghttp2 has, as far as it takes
 * it without blocking. */
static void flush(struct gstream *s)
{
	while (!s->conn_err) {
		ssize_t n;

		if (!s->wn) {
			const uint8_t *d;
			size_t len = 0;

			n = nghttp2_session_mem_send(s->ng, &d);
			if (n < 0)
				conn_fail(s, "HTTP/2 session error");
			if (n <= 0)
				return;
			s->wp = d;
			s->wn = (size_t)n;
			if (s->tls) {
				if (lrpc__gconn_seal(s->tls, d, (size_t)n, &s->cbuf, &s->ccap,
						     &len) < 0) {
					conn_fail(s, "TLS failed on a write");
					return;
				}
				s->wp = s->cbuf;
				s->wn = len;
			}
		}
		n = send(s->fd, s->wp, s->wn, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				conn_fail(s, "the connection broke");
			return;
		}
		s->wp += n;
		s->wn -= (size_t)n;
	}
}

static void kick(struct gstream *s)
{
	uint64_t one = 1;

	if (write(s->wake, &one, sizeof(one)) < 0) {
		/* the counter is full: a wake is pending anyway */
	}
}

/* Under the lock: drive the socket once (poll, read, send) or, if the
 * other thread drives it, wait for it to have done so; until
 * \p deadline. */
static void step(struct gstream *s, lrpc_deadline deadline)
{
	lrpc_deadline now = lrpc_now();
	struct pollfd p[2];
	unsigned char buf[16384];
	int ms, r;

	flush(s);
	if (s->driving) {
		int64_t wait = deadline - now < 1000000000LL ? deadline - now : 1000000000LL;
		struct timespec ts;

		if (wait < 0)
			wait = 0;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += (time_t)(wait / 1000000000LL);
		ts.tv_nsec += (long)(wait % 1000000000LL);
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->cv, &s->mu, &ts);
		return;
	}
	if (s->conn_err)
		return;
	s->driving = true;
	p[0] = (struct pollfd){ .fd = s->fd,
				.events = (short)((nghttp2_session_want_read(s->ng) ? POLLIN : 0) |
						  (s->wn ? POLLOUT : 0)) };
	p[1] = (struct pollfd){ .fd = s->wake, .events = POLLIN };
	ms = deadline - now > 1000000000LL ? 1000 : (int)((deadline - now + 999999) / 1000000);
	pthread_mutex_unlock(&s->mu);
	r = poll(p, 2, ms < 0 ? 0 : ms);
	pthread_mutex_lock(&s->mu);
	s->driving = false;
	if (r > 0 && (p[1].revents & POLLIN)) {
		uint64_t v;

		if (read(s->wake, &v, sizeof(v)) < 0) {
			/* nothing to drain */
		}
	}
	if (r > 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
		ssize_t n = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			conn_fail(s, "the server closed the connection");
		else if (n > 0 && lrpc__gconn_input(s->tls, s->ng, buf, (size_t)n) < 0)
			conn_fail(s, "bad HTTP/2 or TLS from the server");
	}
	if (!nghttp2_session_want_read(s->ng) && !nghttp2_session_want_write(s->ng) &&
	    !s->c.closed)
		conn_fail(s, "the server ended the connection (GOAWAY)");
	settle(s);
	flush(s);
	pthread_cond_broadcast(&s->cv);
}

/* Under the lock: end the stream with \p code once; resets it at the
 * server unless it closed there. */
static lrpc_code end(struct gstream *s, lrpc_code code, lrpc_status *st, bool reset)
{
	lrpc_status mst, *why = st;

	if (!s->ended) {
		/* What metadata came is the caller's before the end is. */
		if (lrpc__gcall_md_result(&s->c, &mst) != LRPC_OK && code == LRPC_OK) {
			code = mst.code;
			why = &mst;
		}
		s->ended = true;
		s->fcode = code;
		if (why)
			s->fst = *why;
		s->fst.code = code;
		if (reset && !s->c.closed && !s->conn_err) {
			nghttp2_submit_rst_stream(s->ng, NGHTTP2_FLAG_NONE, s->c.sid,
						  NGHTTP2_CANCEL);
			flush(s);
		}
		pthread_cond_broadcast(&s->cv);
		kick(s);
	}
	if (st)
		*st = s->fst;
	return s->fcode;
}

/* Under the lock: has the stream ended, or must it now (cancel, deadline,
 * broken connection)? \return true with the code in *code. */
static bool over(struct gstream *s, lrpc_code *code, lrpc_status *st)
{
	lrpc_status tmp = { 0 };

	if (s->ended) {
		*code = end(s, s->fcode, st, false);
		return true;
	}
	if (s->cancelled) {
		lrpc__status_fail(&tmp, LRPC_CANCELLED, "the stream was cancelled");
		*code = end(s, LRPC_CANCELLED, &tmp, true);
	} else if (lrpc_now() >= s->base.deadline) {
		lrpc__status_fail(&tmp, LRPC_DEADLINE_EXCEEDED, "deadline exceeded");
		*code = end(s, LRPC_DEADLINE_EXCEEDED, &tmp, true);
	} else if (s->conn_err && !s->c.closed) {
		lrpc__status_fail(&tmp, LRPC_UNAVAILABLE, "%s", s->conn_why);
		*code = end(s, LRPC_UNAVAILABLE, &tmp, false);
	} else {
		return false;
	}
	if (st)
		*st = s->fst;
	return true;
}

/* Under the lock, the stream closed at the server: the status it ended
 * with (as the unary client reads it). */
static lrpc_code peer_status(struct gstream *s, lrpc_status *st)
{
	struct gcall *c = &s->c;

	if (c->grpc_status < 0 && c->rst == NGHTTP2_CANCEL && lrpc_now() >= s->base.deadline)
		return lrpc__status_fail(st, LRPC_DEADLINE_EXCEEDED, "%s",
					 "deadline exceeded (the server reset the stream)");
	if (c->grpc_status < 0)
		return lrpc__gcall_synthesize(c, st);
	if (c->grpc_status != LRPC_OK)
		return lrpc__status_from_peer(st, (uint32_t)c->grpc_status, c->message,
					      strlen(c->message));
	return lrpc__status_fail(st, LRPC_OK, "%s", "");
}

/* Under the lock, the reader found the stream closed at the server after
 * the last whole message: end it. */
static lrpc_code closed_status(struct gstream *s, lrpc_status *st)
{
	struct gcall *c = &s->c;
	lrpc_status tmp = { 0 };
	lrpc_code code = peer_status(s, &tmp);

	if (code == LRPC_OK && (c->bad || lrpc__grpc_msgq_len(&c->in)))
		code = lrpc__status_fail(&tmp, LRPC_INTERNAL, "%s",
					 "the stream ended inside a message");
	code = end(s, code, &tmp, false);
	if (st)
		*st = s->fst;
	return code;
}

static lrpc_code gs_send(struct lrpc__cstream *b, size_t len, lrpc__cput_fn put,
			 const void *arg, lrpc_status *st)
{
	struct gstream *s = (struct gstream *)b;
	unsigned char *m = malloc(LRPC__GRPC_PREFIX + len);
	lrpc_code code = LRPC_OK;

	if (!m)
		return lrpc__status_fail(st, LRPC_RESOURCE_EXHAUSTED, "out of memory");
	lrpc__grpc_prefix_put(m, (uint32_t)len);
	put(arg, m + LRPC__GRPC_PREFIX);
	pthread_mutex_lock(&s->mu);
	if (s->half_closed) {
		code = lrpc__status_fail(st, LRPC_FAILED_PRECONDITION,
					 "write after close_send");
		goto out;
	}
	if (s->ended || s->c.closed || over(s, &code, st)) {
		code = s->ended ? end(s, s->fcode, st, false) : peer_status(s, st);
		goto out;
	}
	s->out = m;
	s->olen = LRPC__GRPC_PREFIX + len;
	s->osent = 0;
	nghttp2_session_resume_data(s->ng, s->c.sid);
	kick(s);
	/* Until nghttp2 took it all: the server's window had room. */
	while (s->osent < s->olen) {
		if (over(s, &code, st))
			break;
		if (s->c.closed) {
			code = peer_status(s, st);
			break;
		}
		step(s, s->base.deadline);
	}
	s->out = NULL;
	s->olen = s->osent = 0;
out:
	pthread_mutex_unlock(&s->mu);
	free(m);
	return code;
}

static lrpc_code gs_close_send(struct lrpc__cstream *b, lrpc_status *st)
{
	struct gstream *s = (struct gstream *)b;
	lrpc_code code = LRPC_OK;

	pthread_mutex_lock(&s->mu);
	if (!s->half_closed && !over(s, &code, st)) {
		s->half_closed = true;
		if (!s->c.closed) {
			nghttp2_session_resume_data(s->ng, s->c.sid);
			flush(s);
			kick(s);
		}
	}
	pthread_mutex_unlock(&s->mu);
	return code;
}

static lrpc_code gs_recv(struct lrpc__cstream *b, const unsigned char **msg,
			 size_t *len, bool *endp, lrpc_status *st)
{
	struct gstream *s = (struct gstream *)b;
	lrpc_code code = LRPC_OK;

	*endp = false;
	pthread_mutex_lock(&s->mu);
	if (s->popped) {
		lrpc__grpc_msgq_pop(&s->c.in);
		s->popped = false;
		settle(s);
		flush(s);
		kick(s); /* a WINDOW_UPDATE for the driver to send */
	}
	for (;;) {
		enum lrpc__grpc_next nx = s->c.bad ? LRPC__GRPC_TOO_BIG :
				lrpc__grpc_msgq_next(&s->c.in, msg, len);
		lrpc_status tmp = { 0 };

		if (over(s, &code, st)) {
			*endp = true;
			break;
		}
		if (nx == LRPC__GRPC_MSG) {
			s->popped = true;
			break;
		}
		if (nx == LRPC__GRPC_TOO_BIG || nx == LRPC__GRPC_COMPRESSED) {
			if (nx == LRPC__GRPC_COMPRESSED)
				lrpc__status_fail(&tmp, LRPC_INTERNAL, "%s",
						  "a compressed message (none was asked for)");
			else
				lrpc__status_fail(&tmp, LRPC_RESOURCE_EXHAUSTED,
						  "a message over the %zu-byte limit",
						  s->g->max_msg);
			code = end(s, tmp.code, &tmp, true);
			*endp = true;
			break;
		}
		if (s->c.closed) {
			code = closed_status(s, st);
			*endp = true;
			break;
		}
		step(s, s->base.deadline);
	}
	pthread_mutex_unlock(&s->mu);
	return code;
}

static void gs_cancel(struct lrpc__cstream *b)
{
	struct gstream *s = (struct gstream *)b;

	pthread_mutex_lock(&s->mu);
	if (!s->ended && !s->c.closed) {
		lrpc_code code;

		s->cancelled = true;
		over(s, &code, NULL);
	}
	pthread_mutex_unlock(&s->mu);
}

static void gs_free(struct lrpc__cstream *b)
{
	struct gstream *s = (struct gstream *)b;

	if (!s)
		return;
	gs_cancel(b);
	nghttp2_session_del(s->ng);
	lrpc__tls_free(s->tls);
	free(s->cbuf);
	close(s->fd);
	close(s->wake);
	lrpc__grpc_msgq_free(&s->c.in);
	/* Headers that came after the end was told (a cancel ends it at
	 * once) were never delivered. */
	lrpc__gcall_md_free(&s->c);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static const struct lrpc__cstream_ops gstream_ops = {
	.send = gs_send,
	.close_send = gs_close_send,
	.recv = gs_recv,
	.cancel = gs_cancel,
	.free = gs_free,
};

static int session_new(struct gstream *s)
{
	static const nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, LRPC__GRPC_WINDOW },
	};
	nghttp2_session_callbacks *cb;
	nghttp2_option *opt;
	int ret;

	if (nghttp2_session_callbacks_new(&cb))
		return -ENOMEM;
	if (nghttp2_option_new(&opt)) {
		nghttp2_session_callbacks_del(cb);
		return -ENOMEM;
	}
	nghttp2_option_set_no_auto_window_update(opt, 1);
	nghttp2_session_callbacks_set_on_header_callback(cb, lrpc__gcall_on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
	ret = nghttp2_session_client_new2(&s->ng, cb, s, opt);
	nghttp2_option_del(opt);
	nghttp2_session_callbacks_del(cb);
	if (ret)
		return -ENOMEM;
	/* The window a unary connection has (wire/grpc.h): with HTTP/2's
	 * 64 KiB default every large message waited a round trip. */
	if (nghttp2_submit_settings(s->ng, NGHTTP2_FLAG_NONE, iv, 1) ||
	    nghttp2_session_set_local_window_size(s->ng, NGHTTP2_FLAG_NONE, 0,
						  LRPC__GRPC_WINDOW))
		return -ENOMEM;
	return 0;
}

static int32_t submit(struct gstream *s, const char *full_name)
{
	char timeout[12];
	nghttp2_nv nv[] = {
		NV(":method", "POST", 4),
		NV(":scheme", s->g->tls ? "https" : "http", s->g->tls ? 5 : 4),
		NV(":path", full_name, strlen(full_name)),
		NV(":authority", s->g->authority, strlen(s->g->authority)),
		NV("te", "trailers", 8),
		NV("content-type", "application/grpc", 16),
		NV("grpc-timeout", timeout,
		   lrpc__grpc_timeout_format(s->base.deadline - lrpc_now(), timeout)),
		NV("user-agent", "grpc-c-lazyrpc", 14),
	};
	nghttp2_data_provider prd = { .source.ptr = s, .read_callback = read_out };
	struct lrpc__grpc_nvs block;
	size_t n;
	nghttp2_nv *all = lrpc__gcall_md_nv(&s->c, nv, sizeof(nv) / sizeof(nv[0]), &n,
					    &block);
	int32_t sid = all ? nghttp2_submit_request(s->ng, NULL, all, n, &prd, &s->c) :
			    NGHTTP2_ERR_NOMEM;

	free(all);
	lrpc__grpc_nvs_free(&block);
	return sid;
}

lrpc_code lrpc__grpc_stream_open(lrpc_channel *ch, uint32_t method_id,
				 const char *full_name, lrpc_deadline deadline,
				 const lrpc_call_opts *opts,
				 struct lrpc__cstream **out, lrpc_status *st)
{
	struct gchan *g = ch->impl;
	struct gstream *s;
	int ret;

	(void)method_id;
	if (!full_name)
		return lrpc__status_fail(st, LRPC_INVALID_ARGUMENT,
					 "grpc:// calls methods by name, not by id");
	if (deadline <= lrpc_now())
		return lrpc__status_fail(st, LRPC_DEADLINE_EXCEEDED,
					 "deadline passed before the stream opened");
	s = calloc(1, sizeof(*s));
	if (!s)
		return lrpc__status_fail(st, LRPC_RESOURCE_EXHAUSTED, "out of memory");
	s->base.ops = &gstream_ops;
	s->base.deadline = deadline;
	s->g = g;
	s->c.grpc_status = -1;
	lrpc__gcall_md_use(&s->c, opts);
	s->wake = -1;
	lrpc__grpc_msgq_init(&s->c.in, g->max_msg);
	pthread_mutex_init(&s->mu, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&s->cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	s->fd = lrpc__sock_connect(&g->addr, deadline);
	if (s->fd < 0) {
		ret = s->fd;
		goto fail;
	}
	s->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->wake < 0) {
		ret = -errno;
		goto fail;
	}
	if ((ret = session_new(s)) < 0 ||
	    (ret = lrpc__gconn_tls_start(g, s->fd, s->ng, deadline, &s->tls)) < 0)
		goto fail;
	s->c.sid = submit(s, full_name);
	if (s->c.sid < 0) {
		lrpc_code code = lrpc__status_fail(st, LRPC_UNAVAILABLE, "%s",
						   nghttp2_strerror(s->c.sid));

		gs_free(&s->base);
		return code;
	}
	/* The HEADERS go now: a server-streaming call's request follows at
	 * once, but a bidi stream's server may speak first. */
	pthread_mutex_lock(&s->mu);
	flush(s);
	pthread_mutex_unlock(&s->mu);
	*out = &s->base;
	return LRPC_OK;
fail:
	nghttp2_session_del(s->ng);
	if (s->fd >= 0)
		close(s->fd);
	if (s->wake >= 0)
		close(s->wake);
	lrpc__grpc_msgq_free(&s->c.in);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
	if (ret == -EPROTO && g->tls) {
		pthread_mutex_lock(&g->lock);
		lrpc__status_set(st, LRPC_UNAVAILABLE, "%s", g->tls_why);
		pthread_mutex_unlock(&g->lock);
		return LRPC_UNAVAILABLE;
	}
	return lrpc__status_from_errno(st, ret, deadline, "connecting");
}
