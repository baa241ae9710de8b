// SPDX-License-Identifier: MIT
/*
 * The HTTP/1.1 front, on libmicrohttpd (README.md says why): one thread
 * per connection, so a call blocks only its own connection. A request is
 * routed (gw_route.c), its JSON body encoded from the descriptors, the
 * call made with the request id as metadata and the deadline the client
 * asked for (capped), and the reply (with the backend's response headers
 * as Grpc-Metadata-*), or the status mapped as
 * grpc-gateway maps it, sent back as JSON. Server-streaming methods
 * answer as chunked newline-delimited JSON.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "gw.h"
#include "gw_route.h"

struct conn_req {
	char *body;
	size_t len;
	bool too_large;
};

struct gw {
	struct gw_config *c;
	atomic_uint inflight;
};

/* The backend's response headers, as grpc-gateway forwards them: each
 * as "Grpc-Metadata-<key>"; -bin values are not text, and stay out. */
static void add_metadata(struct MHD_Response *r, const lrpc_metadata_list *l)
{
	const lrpc_metadata *md;
	size_t n = lrpc_metadata_list_get(l, &md);

	for (size_t i = 0; i < n; i++) {
		size_t klen = strlen(md[i].key);
		char name[LRPC_METADATA_KEY_MAX + 16];

		if (klen >= 4 && !strcmp(md[i].key + klen - 4, "-bin"))
			continue;
		snprintf(name, sizeof(name), "Grpc-Metadata-%s", md[i].key);
		/* The value is printable ASCII and NUL-terminated (the rules). */
		MHD_add_response_header(r, name, md[i].value);
	}
}

static enum MHD_Result send_body_md(struct MHD_Connection *conn, unsigned int status,
				    char *body, const char *rid, const char *type,
				    const lrpc_metadata_list *md)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (!body)
		return MHD_NO; /* out of memory: MHD closes the connection */
	r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	if (rid && *rid)
		MHD_add_response_header(r, "X-Request-Id", rid);
	add_metadata(r, md);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_body(struct MHD_Connection *conn, unsigned int status,
				 char *body, const char *rid, const char *type)
{
	return send_body_md(conn, status, body, rid, type, NULL);
}

/* \p http 0: the status grpc-gateway maps \p code to. */
__attribute__((format(printf, 5, 6)))
static enum MHD_Result send_error(struct MHD_Connection *conn, unsigned int http,
				  lrpc_code code, const char *rid, const char *fmt, ...)
{
	char msg[LRPC_STATUS_MSG_MAX + 128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return send_body(conn, http ? http : gw_http_status(code), gw_error_body(code, msg),
			 rid, "application/json");
}

/* The client's X-Request-Id if it is a sane token, else a new one. */
static void request_id(struct MHD_Connection *conn, char rid[GW_REQUEST_ID_MAX + 1])
{
	const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
	uint8_t r[16];
	size_t n = v ? strlen(v) : 0;
	bool ok = n > 0 && n <= GW_REQUEST_ID_MAX;

	for (size_t i = 0; ok && i < n; i++)
		ok = (v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'z') ||
		     (v[i] >= 'A' && v[i] <= 'Z') || strchr("-_.:", v[i]);
	if (ok) {
		memcpy(rid, v, n + 1);
		return;
	}
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		memset(r, 0, sizeof(r));
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(rid + 2 * i, 3, "%02x", r[i]);
}

/* The client's deadline: X-Deadline-Ms (milliseconds) or Grpc-Timeout
 * (gRPC's "100m" form), capped at max_deadline_ms; default_deadline_ms
 * without one. \return false for a malformed header. */
static bool deadline_ms(struct MHD_Connection *conn, const struct gw_config *c, int64_t *ms)
{
	const char *d = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Deadline-Ms");
	const char *g = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Grpc-Timeout");
	char *end;
	long long v;

	*ms = c->default_deadline_ms;
	if (d) {
		errno = 0;
		v = strtoll(d, &end, 10);
		if (errno || end == d || *end || v < 0)
			return false;
		*ms = v;
	} else if (g) {
		size_t n = strlen(g);
		static const struct { char unit; double to_ms; } units[] = {
			{ 'H', 3600e3 }, { 'M', 60e3 }, { 'S', 1e3 }, { 'm', 1 }, { 'u', 1e-3 },
			{ 'n', 1e-6 },
		};
		double f = -1;

		if (n < 2 || n > 9 || strspn(g, "0123456789") != n - 1)
			return false;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (g[n - 1] == units[i].unit)
				f = units[i].to_ms;
		if (f < 0)
			return false;
		*ms = (int64_t)(strtod(g, NULL) * f + 0.999);
	}
	if (*ms > c->max_deadline_ms)
		*ms = c->max_deadline_ms;
	return true;
}

/* --- server streaming --------------------------------------------------- */

struct sstream {
	struct gw *gw;
	lrpc_stream *s;
	lrpc_method_desc md;
	char full_name[512];
	const pbjson_pool *pool;
	const pbjson_msg *out;
	uint8_t *buf;
	size_t cap;
	char *line; /* the next line to send */
	size_t line_len, line_off;
	bool done;
};

/* The next line: a message, or {"error":...} for an end that is not OK.
 * \return false at the clean end. */
static bool next_line(struct sstream *ss)
{
	lrpc_status st;
	size_t len;
	int end = 0;
	lrpc_code code = lrpc_stream_read_raw(ss->s, ss->buf, ss->cap, &len, &end, &st);
	char err[PBJSON_ERR_MAX];
	json_t *j = NULL;
	char *s;

	free(ss->line);
	ss->line = NULL;
	ss->line_off = ss->line_len = 0;
	if (code == LRPC_OK && end)
		return false;
	if (code == LRPC_OK && pbjson_decode(ss->pool, ss->out, ss->buf, len,
					     ss->gw->c->orig_names, &j, err) < 0) {
		code = LRPC_INTERNAL;
		snprintf(st.message, sizeof(st.message), "a message of %.60s does not decode: %.100s",
			 ss->full_name, err);
		lrpc_stream_cancel(ss->s);
	}
	if (code != LRPC_OK) {
		char *e = gw_error_body(code, st.message);

		j = json_object();
		if (j && json_object_set_new(j, "error", e ? json_loads(e, 0, NULL) : NULL)) {
			json_decref(j);
			j = NULL;
		}
		free(e);
		ss->done = true;
	}
	s = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
	json_decref(j);
	if (!s) {
		ss->done = true;
		return false;
	}
	ss->line_len = strlen(s) + 1;
	ss->line = realloc(s, ss->line_len + 1);
	if (!ss->line) {
		free(s);
		ss->done = true;
		return false;
	}
	ss->line[ss->line_len - 1] = '\n';
	return true;
}

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct sstream *ss = cls;
	size_t n;

	(void)pos;
	if (ss->line_off == ss->line_len) {
		if (ss->done || !next_line(ss))
			return MHD_CONTENT_READER_END_OF_STREAM;
	}
	n = ss->line_len - ss->line_off;
	if (n > max)
		n = max;
	memcpy(buf, ss->line + ss->line_off, n);
	ss->line_off += n;
	return (ssize_t)n;
}

static void stream_free(void *cls)
{
	struct sstream *ss = cls;

	lrpc_stream_free(ss->s);
	atomic_fetch_sub(&ss->gw->inflight, 1);
	free(ss->line);
	free(ss->buf);
	free(ss);
}

static enum MHD_Result serve_stream(struct gw *gw, struct MHD_Connection *conn,
				    struct gw_backend *b, const struct gw_target *t,
				    const pbjson_msg *out, const uint8_t *req, size_t req_len,
				    int64_t ms, const char *rid)
{
	struct sstream *ss = calloc(1, sizeof(*ss));
	struct MHD_Response *r;
	enum MHD_Result ret;
	lrpc_status st;
	lrpc_code code;

	if (!ss) {
		atomic_fetch_sub(&gw->inflight, 1);
		return MHD_NO;
	}
	ss->gw = gw;
	snprintf(ss->full_name, sizeof(ss->full_name), "/%s/%s", t->service, t->method);
	ss->md = (lrpc_method_desc){ .name = strrchr(ss->full_name, '/') + 1, .full_name = ss->full_name,
				     .id = lrpc_method_id(ss->full_name),
				     .kind = LRPC_METHOD_SERVER_STREAMING };
	ss->pool = b->pool;
	ss->out = out;
	ss->cap = lrpc_channel_max_msg(b->ch);
	ss->buf = malloc(ss->cap);
	code = ss->buf ? lrpc_stream_open(b->ch, &ss->md, lrpc_deadline_after_ms(ms), &ss->s, &st) :
			 LRPC_RESOURCE_EXHAUSTED;
	if (code == LRPC_OK)
		code = lrpc_stream_write_raw(ss->s, req, req_len, &st);
	if (code == LRPC_OK)
		code = lrpc_stream_close_send(ss->s, &st);
	/* The first line before the headers, so that a stream that fails at
	 * once (no such method, a bad request) gets its HTTP status. */
	if (code == LRPC_OK && !next_line(ss))
		ss->done = true;
	if (code == LRPC_OK && ss->done && ss->line) {
		json_t *j = json_loadb(ss->line, ss->line_len, 0, NULL);
		json_t *e = json_object_get(j, "error");

		code = (lrpc_code)json_integer_value(json_object_get(e, "code"));
		snprintf(st.message, sizeof(st.message), "%s",
			 json_string_value(json_object_get(e, "message")) ?: "");
		json_decref(j);
	}
	if (code != LRPC_OK) {
		ss->done = true;
		stream_free(ss);
		return send_error(conn, 0, code, rid, "%s", st.message);
	}
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_reader, ss,
					      stream_free);
	if (!r) {
		stream_free(ss);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "application/x-ndjson");
	MHD_add_response_header(r, "X-Request-Id", rid);
	ret = MHD_queue_response(conn, 200, r);
	MHD_destroy_response(r);
	return ret;
}

/* --- unary -------------------------------------------------------------- */

/* \p hdrs (may be NULL: out of memory) gets the backend's response
 * headers, which a reply forwards. */
static enum MHD_Result unary(struct gw *gw, struct MHD_Connection *conn,
			     struct gw_backend *b, const struct gw_target *t,
			     const pbjson_msg *out, const uint8_t *req, size_t req_len,
			     int64_t ms, const char *rid, lrpc_metadata_list *hdrs)
{
	lrpc_metadata md = { .key = "x-request-id", .value = rid, .value_len = strlen(rid) };
	lrpc_call_opts opts = { .headers = hdrs };
	char full[512], err[PBJSON_ERR_MAX];
	lrpc_deadline dl = lrpc_deadline_after_ms(ms);
	void *rep = NULL;
	size_t rep_len = 0;
	lrpc_status st;
	lrpc_code code;
	char *text;
	json_t *j;

	snprintf(full, sizeof(full), "/%s/%s", t->service, t->method);
	opts.metadata = &md;
	opts.n_metadata = atomic_load(&b->no_metadata) ? 0 : 1;
	code = lrpc_channel_call_bytes(b->ch, full, req, req_len, &rep, &rep_len, dl, &opts, &st);
	/* A transport that carries no metadata says so before sending
	 * anything, and a unix:// or tcp:// server before 0.5.0 refuses the
	 * frame unread: the call goes again without, and later ones skip it. */
	if (opts.n_metadata &&
	    ((code == LRPC_UNIMPLEMENTED && strstr(st.message, "call metadata is not carried")) ||
	     (code == LRPC_INVALID_ARGUMENT && strstr(st.message, "servers before 0.5.0")))) {
		atomic_store(&b->no_metadata, true);
		opts.n_metadata = 0;
		code = lrpc_channel_call_bytes(b->ch, full, req, req_len, &rep, &rep_len, dl,
					       &opts, &st);
	}
	/* The client's deadline passed, whatever the transport saw first. */
	if (code == LRPC_CANCELLED && lrpc_now() >= dl)
		code = LRPC_DEADLINE_EXCEEDED;
	if (code != LRPC_OK)
		return send_error(conn, 0, code, rid, "%s", st.message);
	if (pbjson_decode(b->pool, out, rep, rep_len, gw->c->orig_names, &j, err) < 0) {
		free(rep);
		return send_error(conn, 502, LRPC_INTERNAL, rid, "the reply of %s does not "
				  "decode: %s", full, err);
	}
	free(rep);
	text = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(17));
	json_decref(j);
	return send_body_md(conn, 200, text, rid, "application/json", hdrs);
}

static enum MHD_Result serve_unary(struct gw *gw, struct MHD_Connection *conn,
				   struct gw_backend *b, const struct gw_target *t,
				   const pbjson_msg *out, const uint8_t *req, size_t req_len,
				   int64_t ms, const char *rid)
{
	lrpc_metadata_list *hdrs = NULL;
	enum MHD_Result ret;

	if (lrpc_metadata_list_new(&hdrs) < 0)
		hdrs = NULL;
	ret = unary(gw, conn, b, t, out, req, req_len, ms, rid, hdrs);
	lrpc_metadata_list_free(hdrs);
	return ret;
}

/* --- one request ---------------------------------------------------------- */

static enum MHD_Result serve(struct gw *gw, struct MHD_Connection *conn, const char *url,
			     const char *method, struct conn_req *cr)
{
	struct gw_config *c = gw->c;
	char rid[GW_REQUEST_ID_MAX + 1], err[PBJSON_ERR_MAX];
	const pbjson_svc *svc;
	const pbjson_method *m;
	const pbjson_msg *in, *out;
	struct gw_backend *b;
	struct gw_target t;
	pbjson_opts po = { .ignore_unknown = c->ignore_unknown_fields };
	json_error_t je;
	json_t *body;
	uint8_t *req;
	size_t req_len;
	int64_t ms;
	lrpc_status st;
	enum MHD_Result ret;
	int rc;

	request_id(conn, rid);
	if (cr->too_large)
		return send_error(conn, 413, LRPC_RESOURCE_EXHAUSTED, rid,
				  "request body exceeds %zu bytes (max_body_bytes)",
				  c->max_body_bytes);
	rc = gw_route_match(c, method, url, &t);
	if (rc == GW_ROUTE_NONE)
		return send_error(conn, 0, LRPC_NOT_FOUND, rid, "no route for %s %.200s",
				  method, url);
	if (rc == GW_ROUTE_BAD_METHOD)
		return send_error(conn, 405, LRPC_UNIMPLEMENTED, rid,
				  "%s takes POST, not %s", url, method);
	if (!deadline_ms(conn, c, &ms)) {
		gw_target_free(&t);
		return send_error(conn, 0, LRPC_INVALID_ARGUMENT, rid,
				  "malformed X-Deadline-Ms or Grpc-Timeout header");
	}
	b = gw_config_backend(c, t.service);
	if (!b) {
		ret = send_error(conn, 0, LRPC_NOT_FOUND, rid, "no backend serves %s", t.service);
		goto out_target;
	}
	if (gw_backend_ready(b, c, &st) != LRPC_OK) {
		ret = send_error(conn, 0, st.code, rid, "backend %s: %s", b->uri, st.message);
		goto out_target;
	}
	svc = pbjson_find_service(b->pool, t.service);
	m = pbjson_find_method(svc, t.method);
	if (!svc || !m) {
		ret = send_error(conn, 0, svc ? LRPC_UNIMPLEMENTED : LRPC_NOT_FOUND, rid,
				 svc ? "%s has no method %s" : "%s is not served by the backend%.0s",
				 t.service, t.method);
		goto out_target;
	}
	if (m->client_streaming) {
		ret = send_error(conn, 0, LRPC_UNIMPLEMENTED, rid, "%s/%s streams requests: not "
				 "carried over HTTP/JSON", t.service, t.method);
		goto out_target;
	}
	in = pbjson_find_msg(b->pool, m->input_type ? m->input_type : "");
	out = pbjson_find_msg(b->pool, m->output_type ? m->output_type : "");
	if (!in || !out) {
		ret = send_error(conn, 0, LRPC_INTERNAL, rid, "the descriptors of %s/%s are "
				 "incomplete", t.service, t.method);
		goto out_target;
	}
	if (cr->len && (!t.has_route || t.body)) {
		body = json_loadb(cr->body, cr->len, JSON_REJECT_DUPLICATES, &je);
		if (!body) {
			ret = send_error(conn, 0, LRPC_INVALID_ARGUMENT, rid,
					 "invalid JSON at line %d column %d: %s", je.line,
					 je.column, je.text);
			goto out_target;
		}
	} else {
		body = json_object();
	}
	if (!json_is_object(body)) {
		json_decref(body);
		ret = send_error(conn, 0, LRPC_INVALID_ARGUMENT, rid, "the body must be a JSON "
				 "object (%s)", pbjson_msg_name(b->pool, in));
		goto out_target;
	}
	if (gw_route_params(b->pool, in, &t, body, err) < 0 ||
	    (rc = pbjson_encode(b->pool, in, body, &po, &req, &req_len, err)) < 0) {
		json_decref(body);
		ret = send_error(conn, 0, LRPC_INVALID_ARGUMENT, rid, "%s", err);
		goto out_target;
	}
	json_decref(body);
	if (atomic_fetch_add(&gw->inflight, 1) >= c->max_inflight) {
		atomic_fetch_sub(&gw->inflight, 1);
		free(req);
		ret = send_error(conn, 0, LRPC_RESOURCE_EXHAUSTED, rid, "%u calls in flight "
				 "(max_inflight)", c->max_inflight);
		goto out_target;
	}
	if (m->server_streaming) {
		/* The stream's end gives the count back (stream_free). */
		ret = serve_stream(gw, conn, b, &t, out, req, req_len, ms, rid);
	} else {
		ret = serve_unary(gw, conn, b, &t, out, req, req_len, ms, rid);
		atomic_fetch_sub(&gw->inflight, 1);
	}
	free(req);
out_target:
	gw_target_free(&t);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload, size_t *upload_size, void **con_cls)
{
	struct gw *gw = cls;
	struct conn_req *cr = *con_cls;

	(void)version;
	if (!cr) {
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     "Content-Length");

		cr = calloc(1, sizeof(*cr));
		if (!cr)
			return MHD_NO;
		*con_cls = cr;
		/* A body declared too large is refused before it is read. */
		if (cl && strtoull(cl, NULL, 10) > gw->c->max_body_bytes) {
			cr->too_large = true;
			return serve(gw, conn, url, method, cr);
		}
		return MHD_YES;
	}
	if (*upload_size) {
		if (!cr->too_large && cr->len + *upload_size <= gw->c->max_body_bytes) {
			char *b = realloc(cr->body, cr->len + *upload_size + 1);

			if (!b)
				return MHD_NO;
			cr->body = b;
			memcpy(cr->body + cr->len, upload, *upload_size);
			cr->len += *upload_size;
		} else {
			cr->too_large = true; /* the rest is read and dropped */
		}
		*upload_size = 0;
		return MHD_YES;
	}
	return serve(gw, conn, url, method, cr);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct conn_req *cr = *con_cls;

	(void)cls, (void)conn, (void)toe;
	if (cr)
		free(cr->body);
	free(cr);
	*con_cls = NULL;
}

int gw_http_run(struct gw_config *c)
{
	struct gw gw = { .c = c };
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV | AI_PASSIVE }, *ai;
	const union MHD_DaemonInfo *info;
	struct MHD_Daemon *d;
	char port[8];
	sigset_t set;
	int sig, flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
			 MHD_USE_ERROR_LOG;

	/* Every thread started from here blocks these; this one waits. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	snprintf(port, sizeof(port), "%u", c->listen_port);
	if (getaddrinfo(c->listen_host, port, &hints, &ai)) {
		fprintf(stderr, "gateway: cannot resolve %s\n", c->listen_host);
		return -1;
	}
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	d = MHD_start_daemon(flags, (uint16_t)c->listen_port, NULL, NULL, on_request, &gw,
			     MHD_OPTION_SOCK_ADDR, ai->ai_addr,
			     MHD_OPTION_CONNECTION_LIMIT, c->max_connections,
			     MHD_OPTION_CONNECTION_MEMORY_LIMIT, c->max_header_bytes,
			     MHD_OPTION_CONNECTION_TIMEOUT, c->conn_timeout_s,
			     MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
			     MHD_OPTION_END);
	freeaddrinfo(ai);
	if (!d) {
		fprintf(stderr, "gateway: cannot listen on %s:%u: %s\n", c->listen_host,
			c->listen_port, strerror(errno));
		return -1;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	printf("gateway: listening on http://%s:%u\n", c->listen_host,
	       info ? info->port : c->listen_port);
	fflush(stdout);
	sigdelset(&set, SIGPIPE);
	while (sigwait(&set, &sig) != 0)
		;
	MHD_stop_daemon(d);
	return 0;
}
