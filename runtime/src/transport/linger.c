// SPDX-License-Identifier: MIT
/*
 * The lingering close (linger.h): uv_shutdown sends the FIN once the
 * queued writes are out, a read callback of our own throws away what the
 * client still sends, a timer bounds it all, then the owner's close.
 */
#include <stdbool.h>
#include <stdlib.h>

#include "transport/linger.h"

struct lingering {
	uv_shutdown_t req;
	uv_timer_t timer;
	uv_stream_t *stream;
	uv_close_cb cb;
	void *data;      /* the owner's stream->data, given back at the close */
	size_t discarded;
	int refs;        /* the shutdown request and the timer */
	bool shut, eof, closed;
};

static void unref(struct lingering *l)
{
	if (--l->refs == 0)
		free(l);
}

static void on_timer_closed(uv_handle_t *h)
{
	unref(h->data);
}

/* The owner's close. A shutdown still pending is cancelled by it (its
 * callback runs then, before the owner's). */
static void finish(struct lingering *l)
{
	if (l->closed)
		return;
	l->closed = true;
	l->stream->data = l->data;
	uv_close((uv_handle_t *)&l->timer, on_timer_closed);
	uv_close((uv_handle_t *)l->stream, l->cb);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	struct lingering *l = req->data;

	l->shut = true;
	/* A failed shutdown (the client reset us) leaves nothing to wait
	 * for; a done one waits for the client's EOF, if not seen yet. */
	if (!l->closed && (status < 0 || l->eof))
		finish(l);
	unref(l);
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	static __thread char sink[16384]; /* the loop's; thrown away at once */

	(void)h, (void)hint;
	*buf = uv_buf_init(sink, sizeof(sink));
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct lingering *l = s->data;

	(void)buf;
	if (n == UV_EOF) {
		l->eof = true;
		uv_read_stop(s);
		if (l->shut)
			finish(l);
		return;
	}
	if (n < 0) {
		finish(l);
		return;
	}
	l->discarded += (size_t)n;
	if (l->discarded >= LRPC__LINGER_BYTES)
		finish(l); /* a client that floods: bounded */
}

static void on_timer(uv_timer_t *t)
{
	finish(t->data);
}

void lrpc__linger_close(uv_stream_t *stream, uv_close_cb cb)
{
	struct lingering *l;

	if (uv_is_closing((uv_handle_t *)stream))
		return;
	l = calloc(1, sizeof(*l));
	if (!l)
		goto plain;
	l->stream = stream;
	l->cb = cb;
	l->data = stream->data;
	l->req.data = l;
	/* No connection (never accepted), or already shut: nothing to
	 * linger for. */
	if (uv_shutdown(&l->req, stream, on_shutdown) < 0) {
		free(l);
		goto plain;
	}
	l->refs = 2;
	uv_timer_init(stream->loop, &l->timer);
	l->timer.data = l;
	uv_timer_start(&l->timer, on_timer, LRPC__LINGER_MS, 0);
	stream->data = l;
	/* The owner may be reading or not; from here on we are. A stream
	 * that cannot read any more has nothing to throw away. */
	uv_read_stop(stream);
	if (uv_read_start(stream, alloc_cb, read_cb) < 0)
		l->eof = true;
	return;
plain:
	uv_close((uv_handle_t *)stream, cb);
}
