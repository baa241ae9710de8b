// SPDX-License-Identifier: MIT
/*
 * One grpc:// call: an HTTP/2 stream carrying a gRPC request
 * (PROTOCOL-HTTP2.md). Its headers are checked as they arrive and judged
 * when complete; its messages are cut out of DATA as it comes; a unary
 * call's one request runs through lrpc__serve() on libuv's worker pool
 * and its reply goes back as HEADERS, DATA and trailers; streaming methods
 * continue in grpc_stream.c. An error before any reply is a Trailers-Only
 * response. Loop thread only, except work_cb (a worker) and what
 * grpc_stream.c locks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/grpc_server.h"
#include "transport/grpc_stream.h"

#define NV(n, v, vlen) { (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, (vlen), \
			 NGHTTP2_NV_FLAG_NO_COPY_NAME }

struct gstream *lrpc__gstream_new(struct gconn *c, int32_t id)
{
	struct gstream *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->conn = c;
	s->id = id;
	atomic_init(&s->refs, 1);
	lrpc__cancel_note_init(&s->note, &s->cancel);
	s->deadline = INT64_MAX;
	lrpc__grpc_msgq_init(&s->in, c->host->opts.max_msg_size);
	lrpc__grpc_msgq_recycle(&c->spare, &s->in);
	s->next = c->streams;
	if (c->streams)
		c->streams->prev = s;
	c->streams = s;
	atomic_fetch_add(&c->refs, 1);
	return s;
}

void lrpc__gstream_put(struct gstream *s)
{
	struct gconn *c = s->conn;

	if (atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	lrpc__grpc_msgq_free(&s->in);
	lrpc__gsync_free(s);
	lrpc__grpc_md_in_free(&s->md_in);
	lrpc__grpc_nvs_free(&s->hdrs);
	lrpc__grpc_nvs_free(&s->trls);
	free(s->out);
	lrpc__cancel_note_destroy(&s->note);
	free(s);
	lrpc__gconn_unref(c);
}

static bool is(const uint8_t *p, size_t n, const char *lit)
{
	return n == strlen(lit) && memcmp(p, lit, n) == 0;
}

int lrpc__gstream_header(struct gstream *s, const nghttp2_frame *f,
			 const uint8_t *name, size_t nlen,
			 const uint8_t *value, size_t vlen)
{
	/* The client's trailers (HCAT_HEADERS) mean nothing to gRPC. */
	if (f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	s->header_bytes += nlen + vlen + 32;
	if (s->header_bytes > LRPC__GRPC_HEADER_MAX)
		return 0; /* judged when complete */
	if (is(name, nlen, ":method")) {
		s->post = is(value, vlen, "POST");
	} else if (is(name, nlen, ":path")) {
		if (vlen < sizeof(s->path)) {
			memcpy(s->path, value, vlen);
			s->path[vlen] = '\0';
		}
	} else if (is(name, nlen, "te")) {
		s->te = is(value, vlen, "trailers");
	} else if (is(name, nlen, "content-type")) {
		/* application/grpc, then nothing, +subtype or ;params */
		s->any_type = true;
		s->grpc_type = vlen >= 16 && memcmp(value, "application/grpc", 16) == 0 &&
			       (vlen == 16 || value[16] == '+' || value[16] == ';');
	} else if (is(name, nlen, "grpc-timeout")) {
		int64_t ns, now = lrpc_now();

		if (lrpc__grpc_timeout_parse((const char *)value, vlen, &ns) < 0)
			s->bad_timeout = true;
		else
			s->deadline = ns > INT64_MAX - now ? INT64_MAX : now + ns;
	} else if (is(name, nlen, "grpc-encoding")) {
		if (!is(value, vlen, "identity")) {
			s->encoded = true;
			snprintf(s->encoding, sizeof(s->encoding), "%.*s",
				 (int)(vlen < 24 ? vlen : 24), (const char *)value);
		}
	} else if (nlen && name[0] != ':') {
		/* Custom metadata (what is not gRPC's own is skipped there). */
		return lrpc__grpc_md_in_add(&s->md_in, name, nlen, value, vlen) < 0 ?
			       NGHTTP2_ERR_CALLBACK_FAILURE : 0;
	}
	return 0;
}

void lrpc__gstream_status_nv(nghttp2_nv *nv, size_t *n, char *code, size_t code_cap,
		      char *msg, size_t msg_cap, lrpc_code st, const char *text)
{
	size_t len = (size_t)snprintf(code, code_cap, "%u", (unsigned int)st);

	nv[(*n)++] = (nghttp2_nv)NV("grpc-status", code, len);
	len = lrpc__grpc_pct_encode(text, strnlen(text, LRPC_STATUS_MSG_MAX),
				    msg, msg_cap);
	if (len)
		nv[(*n)++] = (nghttp2_nv)NV("grpc-message", msg, len);
}

void lrpc__gstream_fail(struct gstream *s, int http, lrpc_code code,
			const char *fmt, ...)
{
	struct gconn *c = s->conn;
	char status[8], st[12], msg[3 * LRPC_STATUS_MSG_MAX];
	nghttp2_nv nv[6], *all;
	size_t n = 0, nall;
	char text[LRPC_STATUS_MSG_MAX];
	bool md;
	va_list ap;

	if (s->answered || s->closed || c->closing)
		return;
	s->answered = true;
	lrpc__gstream_cancel(s);
	/* Formatted here, not into s->message: the arguments may be it, and
	 * at an expiry a unary worker may still be writing it. */
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	nv[n++] = (nghttp2_nv)NV(":status", status,
				 (size_t)snprintf(status, sizeof(status), "%d", http));
	nv[n++] = (nghttp2_nv)NV("content-type", "application/grpc", 16);
	if (code == LRPC_UNIMPLEMENTED && s->encoded)
		nv[n++] = (nghttp2_nv)NV("grpc-accept-encoding", "identity", 8);
	lrpc__gstream_status_nv(nv, &n, st, sizeof(st), msg, sizeof(msg), code, text);
	lrpc__count_call(c->host, code);
	/* Trailers-Only: one HEADERS frame with END_STREAM. The spec would
	 * have RST_STREAM NO_ERROR follow when the client is still sending,
	 * but grpcio (1.51) then reports INTERNAL instead of the status; the
	 * client ends its side on reading the trailers, and what it sends
	 * until then is given back to the window unread. */
	md = atomic_load(&s->md_final);
	all = lrpc__grpc_nv_join(nv, n, md ? &s->hdrs : NULL, md ? &s->trls : NULL,
				 &nall);
	if (!all || nghttp2_submit_response(c->ng, s->id, all, nall, NULL) != 0)
		nghttp2_submit_rst_stream(c->ng, NGHTTP2_FLAG_NONE, s->id,
					  NGHTTP2_INTERNAL_ERROR);
	free(all);
}

void lrpc__gstream_headers_done(struct gstream *s)
{
	struct lrpc__host *h = s->conn->host;
	const struct lrpc__method_entry *e;
	const char *bad = NULL;

	if (s->header_bytes > LRPC__GRPC_HEADER_MAX)
		return lrpc__gstream_fail(s, 200, LRPC_RESOURCE_EXHAUSTED,
					  "request headers exceed %u bytes",
					  LRPC__GRPC_HEADER_MAX);
	if (!s->post)
		return lrpc__gstream_fail(s, 405, LRPC_INTERNAL,
					  "gRPC requests are POST");
	if (!s->grpc_type)
		return lrpc__gstream_fail(s, 415, LRPC_INTERNAL, "content-type %s",
					  s->any_type ? "is not application/grpc" :
							"missing");
	if (!s->te)
		return lrpc__gstream_fail(s, 200, LRPC_INTERNAL,
					  "te: trailers missing (a proxy in the way?)");
	if (s->bad_timeout)
		return lrpc__gstream_fail(s, 200, LRPC_INTERNAL,
					  "malformed grpc-timeout");
	if (s->encoded)
		return lrpc__gstream_fail(s, 200, LRPC_UNIMPLEMENTED,
					  "grpc-encoding %s is not supported: identity only",
					  s->encoding);
	switch (lrpc__grpc_md_in_finish(&s->md_in, &bad)) {
	case 0:
		break;
	case -E2BIG:
		return lrpc__gstream_fail(s, 200, LRPC_RESOURCE_EXHAUSTED,
					  "request metadata exceeds %u bytes",
					  LRPC_METADATA_MAX);
	case -EINVAL:
		return lrpc__gstream_fail(s, 200, LRPC_INTERNAL,
					  "metadata %.64s is not base64", bad);
	default:
		return lrpc__gstream_fail(s, 200, LRPC_RESOURCE_EXHAUSTED,
					  "out of memory");
	}
	/* Ids hash the path: a different path with the same id is not
	 * the method. */
	e = s->path[0] == '/' ? lrpc__registry_find(&h->registry,
						    lrpc_method_id(s->path)) : NULL;
	if (!e || strcmp(e->method->full_name, s->path) != 0)
		return lrpc__gstream_fail(s, 200, LRPC_UNIMPLEMENTED,
					  "unknown method %s", s->path);
	s->entry = e;
	if (e->method->kind != LRPC_METHOD_UNARY)
		lrpc__gsync_start(s);
	lrpc__gconn_arm(s->conn);
}

void lrpc__gstream_data(struct gstream *s, const uint8_t *data, size_t len)
{
	struct gconn *c = s->conn;
	const unsigned char *msg;
	size_t n;

	if (s->answered || !s->entry) {
		nghttp2_session_consume(c->ng, s->id, len);
		return;
	}
	if (s->sync)
		return lrpc__gsync_data(s, data, len);
	/* Unary: the request is at most max_msg_size (checked as soon as
	 * its prefix is in), so taking it all in is bounded. */
	nghttp2_session_consume(c->ng, s->id, len);
	if (lrpc__grpc_msgq_push(&s->in, data, len) < 0)
		return lrpc__gstream_fail(s, 200, LRPC_RESOURCE_EXHAUSTED,
					  "out of memory");
	switch (lrpc__grpc_msgq_next(&s->in, &msg, &n)) {
	case LRPC__GRPC_TOO_BIG:
		return lrpc__gstream_fail(s, 200, LRPC_RESOURCE_EXHAUSTED,
					  "request of %zu bytes exceeds the %zu-byte limit",
					  n, c->host->opts.max_msg_size);
	case LRPC__GRPC_COMPRESSED:
		return lrpc__gstream_fail(s, 200, LRPC_INTERNAL,
					  "compressed message without grpc-encoding");
	case LRPC__GRPC_MSG:
		if (lrpc__grpc_msgq_len(&s->in) > LRPC__GRPC_PREFIX + n)
			return lrpc__gstream_fail(s, 200, LRPC_UNIMPLEMENTED,
						  "%s is unary: more than one request",
						  s->entry->method->full_name);
		break;
	case LRPC__GRPC_PARTIAL:
		break;
	}
}

/* Room for the reply after its prefix. */
static unsigned char *reply_room(void *ctx, size_t len)
{
	struct gstream *s = ctx;

	struct gconn *c = s->conn;
	size_t need = LRPC__GRPC_PREFIX + len;

	pthread_mutex_lock(&c->lock);
	if (c->spare_out && c->spare_out_cap >= need) {
		s->out = c->spare_out;
		s->out_cap = c->spare_out_cap;
		c->spare_out = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	if (!s->out) {
		s->out = malloc(need);
		s->out_cap = need;
	}
	return s->out ? s->out + LRPC__GRPC_PREFIX : NULL;
}

/* Each thread's call arena, kept from call to call (recycled, holding at
 * most ARENA_KEEP between calls) and destroyed with the thread. */
#define ARENA_KEEP (1u << 20)

static pthread_key_t arena_key;
static pthread_once_t arena_once = PTHREAD_ONCE_INIT;
static bool arena_key_ok; /* set once, under arena_once */

static void arena_free(void *p)
{
	lrpc__arena_destroy(p);
	free(p);
}

static void arena_key_make(void)
{
	arena_key_ok = pthread_key_create(&arena_key, arena_free) == 0;
}

/* This thread's arena, or NULL (out of memory: the caller's own). */
static struct lrpc__arena *thread_arena(void)
{
	struct lrpc__arena *a;

	pthread_once(&arena_once, arena_key_make);
	if (!arena_key_ok)
		return NULL;
	a = pthread_getspecific(arena_key);
	if (a || !(a = malloc(sizeof(*a))))
		return a;
	lrpc__arena_init(a);
	if (pthread_setspecific(arena_key, a) != 0) {
		free(a);
		return NULL;
	}
	return a;
}

/* A worker thread: the handler runs here, never on the loop. The stream
 * is the worker's until after_work. */
static void work_cb(uv_work_t *req)
{
	struct gstream *s = req->data;
	struct lrpc__host *h = s->conn->host;
	const unsigned char *msg = NULL;
	struct lrpc__reply rep;
	struct lrpc__arena own, *arena = thread_arena();
	size_t n = 0;

	lrpc__grpc_msgq_next(&s->in, &msg, &n);
	if (!arena) {
		lrpc__arena_init(&own);
		arena = &own;
	}
	lrpc__serve_from(&h->registry, arena, s->entry->id, msg, n, s->deadline,
			 h->opts.max_msg_size, reply_room, s,
			 &(struct lrpc__origin){ .cancel = &s->cancel, .note = &s->note,
						 .peer = &s->conn->who,
						 .md = s->md_in.v, .n_md = s->md_in.n },
			 &rep);
	if (lrpc__grpc_md_pack(&rep.md.headers, &s->hdrs) < 0 ||
	    lrpc__grpc_md_pack(&rep.md.trailers, &s->trls) < 0) {
		rep.code = LRPC_RESOURCE_EXHAUSTED;
		snprintf(rep.message, sizeof(rep.message), "out of memory for metadata");
	}
	atomic_store(&s->md_final, true);
	if (arena == &own)
		lrpc__arena_destroy(arena);
	else
		lrpc__arena_recycle(arena, ARENA_KEEP);
	s->code = rep.code;
	memcpy(s->message, rep.message, sizeof(s->message));
	if (rep.code == LRPC_OK) {
		lrpc__grpc_prefix_put(s->out, (uint32_t)rep.len);
		s->out_len = LRPC__GRPC_PREFIX + rep.len;
	} else {
		free(s->out);
		s->out = NULL;
	}
}

ssize_t lrpc__gstream_read_out(nghttp2_session *ng, int32_t id, uint8_t *buf,
			       size_t length, uint32_t *flags,
			       nghttp2_data_source *src, void *user)
{
	struct gstream *s = src->ptr;
	char st[12], msg[3 * LRPC_STATUS_MSG_MAX];
	nghttp2_nv nv[2];
	size_t n = 0;
	bool end;
	int ret;

	(void)ng; /* s->conn->ng */
	(void)id; /* s->id */
	(void)user;
	if (s->sync)
		return lrpc__gsync_read_out(s, buf, length, flags);
	/* lrpc__gstream_send_out puts the bytes and moves out_off, once
	 * per frame and right after this call. */
	(void)buf;
	n = s->out_len - s->out_off < length ? s->out_len - s->out_off : length;
	*flags |= NGHTTP2_DATA_FLAG_NO_COPY;
	end = s->out_off + n == s->out_len;
	if (end) {
		size_t k = 0;

		*flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
		lrpc__gstream_status_nv(nv, &k, st, sizeof(st), msg, sizeof(msg), s->code,
			  s->message);
		ret = lrpc__gstream_trailers(s, nv, k);
		if (ret != 0)
			return ret;
	}
	return (ssize_t)n;
}

int lrpc__gstream_send_out(nghttp2_session *ng, nghttp2_frame *frame,
			   const uint8_t *framehd, size_t length,
			   nghttp2_data_source *src, void *user)
{
	struct gconn *c = user;
	struct gstream *s = src->ptr;

	(void)ng;
	/* No padding: the session has no select_padding_callback. */
	if (!c->put || s->sync || frame->data.padlen ||
	    length > s->out_len - s->out_off)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	if (c->pulled >= c->batch)
		return NGHTTP2_ERR_WOULDBLOCK; /* the next pull: this frame again */
	if (c->put(c, framehd, 9) < 0 || c->put(c, s->out + s->out_off, length) < 0)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	s->out_off += length;
	c->pulled += 9 + length;
	return 0;
}

int lrpc__gstream_respond(struct gstream *s)
{
	struct gconn *c = s->conn;
	nghttp2_nv nv[] = {
		NV(":status", "200", 3),
		NV("content-type", "application/grpc", 16),
	};
	nghttp2_data_provider prd = {
		.source.ptr = s,
		.read_callback = lrpc__gstream_read_out,
	};
	size_t n;
	nghttp2_nv *all = lrpc__grpc_nv_join(nv, 2, &s->hdrs, NULL, &n);
	int ret;

	if (!all)
		return NGHTTP2_ERR_NOMEM;
	ret = nghttp2_submit_response(c->ng, s->id, all, n, &prd);
	free(all);
	return ret;
}

int lrpc__gstream_trailers(struct gstream *s, const nghttp2_nv *status, size_t n)
{
	size_t nall;
	nghttp2_nv *all = lrpc__grpc_nv_join(status, n, &s->trls, NULL, &nall);
	int ret;

	if (!all)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	ret = nghttp2_submit_trailer(s->conn->ng, s->id, all, nall);
	free(all);
	return ret ? NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE : 0;
}

/* The loop thread, once the handler has run (\p status < 0: it never
 * will): submit the reply or the error. Sends nothing itself. */
static void answer(struct gstream *s, int status)
{
	struct gconn *c = s->conn;

	s->running = false;
	if (!s->closed && !s->answered && !c->closing) {
		if (status >= 0 && s->code == LRPC_OK)
			s->answered = true; /* the reply and trailers follow */
		if (status < 0)
			lrpc__gstream_fail(s, 200, LRPC_UNAVAILABLE, "server is stopping");
		else if (s->code != LRPC_OK)
			lrpc__gstream_fail(s, 200, s->code, "%s", s->message);
		else if (lrpc__gstream_respond(s) != 0)
			nghttp2_submit_rst_stream(c->ng, NGHTTP2_FLAG_NONE, s->id,
						  NGHTTP2_INTERNAL_ERROR);
		else
			lrpc__count_call(c->host, LRPC_OK);
	}
}

static void after_work(uv_work_t *req, int status)
{
	struct gstream *s = req->data;
	struct gconn *c = s->conn;

	answer(s, status);
	if (c->closing) {
		lrpc__gstream_put(s); /* may free c */
		return;
	}
	lrpc__gstream_put(s); /* c's handles still hold c */
	lrpc__gconn_flush(c);
	lrpc__gconn_arm(c);
}

void lrpc__gstream_end(struct gstream *s)
{
	struct gconn *c = s->conn;
	const unsigned char *msg;
	size_t n;

	s->half_closed = true;
	if (s->answered || !s->entry)
		return;
	if (s->sync)
		return lrpc__gsync_end(s);
	if (lrpc__grpc_msgq_next(&s->in, &msg, &n) != LRPC__GRPC_MSG ||
	    lrpc__grpc_msgq_len(&s->in) != LRPC__GRPC_PREFIX + n)
		return lrpc__gstream_fail(s, 200, LRPC_UNIMPLEMENTED,
					  "%s is unary: %s", s->entry->method->full_name,
					  lrpc__grpc_msgq_len(&s->in) ?
						  "the request is cut short" :
						  "no request");
	s->running = true;
	atomic_fetch_add(&s->refs, 1);
	s->work.data = s;
	if (c->host->opts.inline_handlers) {
		/* On the loop thread, as the socket transports do, saving the
		 * two hand-offs to a worker and back. We are inside nghttp2's
		 * mem_recv: submitting is allowed there, sending is not, and
		 * read_cb flushes once it returns. nghttp2 still holds s. */
		work_cb(&s->work);
		answer(s, 0);
		lrpc__gstream_put(s);
		return;
	}
	if (uv_queue_work(&c->host->loop, &s->work, work_cb, after_work) < 0) {
		s->running = false;
		atomic_fetch_sub(&s->refs, 1); /* ours still holds it */
		lrpc__gstream_fail(s, 200, LRPC_UNAVAILABLE, "server is stopping");
	}
}

void lrpc__gstream_closed(struct gstream *s)
{
	struct gconn *c = s->conn;

	if (s->closed)
		return;
	s->closed = true;
	lrpc__gstream_cancel(s);
	if (s->prev)
		s->prev->next = s->next;
	else
		c->streams = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
	if (!c->streams)
		c->idle_since = uv_now(&c->host->loop);
	if (s->sync)
		lrpc__gsync_closed(s);
	else if (!s->running) { /* a worker still has them otherwise */
		lrpc__grpc_msgq_recycle(&s->in, &c->spare);
		pthread_mutex_lock(&c->lock);
		if (s->out && !c->spare_out && s->out_cap <= (1u << 20)) {
			c->spare_out = s->out;
			c->spare_out_cap = s->out_cap;
			s->out = NULL;
		}
		pthread_mutex_unlock(&c->lock);
	}
	lrpc__gstream_put(s);
}

void lrpc__gstream_expire(struct gstream *s)
{
	/* The deadline (the client's grpc-timeout) passed. PROTOCOL-HTTP2.md
	 * (Client Cancellation) allows RST_STREAM CANCEL here, asking clients
	 * to report a CANCELLED past their deadline as DEADLINE_EXCEEDED, but
	 * grpcio (1.51) reports CANCELLED when the reset outruns its own
	 * timer. So the call ends with the status itself, which any client
	 * reports as it is. The handler sees lrpc_call_cancelled() as it did
	 * with the reset. Once only: the timer skips expired streams. */
	s->expired = true;
	if (s->sync)
		return lrpc__gsync_expire(s);
	/* A worker that has returned (its metadata is final) came first:
	 * after_work answers with its reply. */
	if (s->running && atomic_load(&s->md_final))
		return;
	lrpc__gstream_fail(s, 200, LRPC_DEADLINE_EXCEEDED, "deadline exceeded");
}
