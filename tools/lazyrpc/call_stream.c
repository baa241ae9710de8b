// SPDX-License-Identifier: MIT
/*
 * `lazyrpc call` on a streaming method: every reply printed as one JSON
 * line as it arrives. Requests: the one request (server streaming, or a
 * JSON argument), or NDJSON lines on stdin, written by a thread of their
 * own while the replies are read, so that a bidirectional method answers
 * line by line. That thread waits for stdin in poll() beside a pipe, so
 * a stream the server ends first does not wait for the user's next line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "call.h"

/* The largest request line taken from stdin. */
#define LINE_MAX_BYTES (4u << 20)

struct writer {
	const struct call_ctx *c;
	lrpc_stream *s;
	int stop[2];     /* a pipe: written once the replies are over */
	bool bad_input;  /* a line was not a request: said on stderr */
	lrpc_code code;  /* a write that failed (the stream ended) */
	lrpc_status st;
};

/* One line of stdin into *line (NUL-terminated, without its '\n').
 * \return 1 (a line), 0 (end of input or stopped), -1 (said why). */
static int next_line(struct writer *w, char **buf, size_t *have, size_t *used, char **line,
		     unsigned int lineno)
{
	for (;;) {
		char *nl = *used ? memchr(*buf, '\n', *used) : NULL;
		struct pollfd p[2] = { { .fd = 0, .events = POLLIN },
				       { .fd = w->stop[0], .events = POLLIN } };
		ssize_t n;

		if (nl) {
			*nl = '\0';
			*line = *buf;
			return 1;
		}
		if (*used >= LINE_MAX_BYTES) {
			fprintf(stderr, "lazyrpc call: stdin line %u is longer than %u bytes\n",
				lineno, LINE_MAX_BYTES);
			return -1;
		}
		if (*have - *used < 4096) {
			char *b = realloc(*buf, *have * 2);

			if (!b) {
				fprintf(stderr, "lazyrpc call: out of memory\n");
				return -1;
			}
			*buf = b;
			*have *= 2;
		}
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return 0;
		if (p[1].revents)
			return 0;
		if (!p[0].revents)
			continue;
		n = read(0, *buf + *used, *have - *used - 1);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			/* The last line needs no '\n'. */
			(*buf)[*used] = '\0';
			*line = *buf;
			return *used ? 1 : 0;
		}
		*used += (size_t)n;
	}
}

static int write_lines(struct writer *w)
{
	size_t have = 65536, used = 0;
	char *buf = malloc(have), *line, where[48];
	unsigned int lineno = 0;
	int ret = 0;

	while (buf && (ret = next_line(w, &buf, &have, &used, &line, ++lineno)) == 1) {
		size_t len = strlen(line), consumed = len + (len < used);
		json_error_t je;
		uint8_t *req = NULL;
		size_t req_len = 0;
		json_t *j;

		if (strspn(line, " \t\r") != len) {
			snprintf(where, sizeof(where), "stdin line %u", lineno);
			j = json_loads(line, JSON_REJECT_DUPLICATES, &je);
			if (!j) {
				fprintf(stderr, "lazyrpc call: %s is not JSON: column %d: %s\n",
					where, je.column, je.text);
				ret = -1;
				break;
			}
			ret = call_encode(w->c, j, where, &req, &req_len);
			json_decref(j);
			if (ret < 0)
				break;
			w->code = lrpc_stream_write_raw(w->s, req, req_len, &w->st);
			free(req);
			if (w->code != LRPC_OK)
				break;
		}
		memmove(buf, buf + consumed, used - consumed);
		used -= consumed;
	}
	free(buf);
	return buf ? ret : -1;
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;

	if (write_lines(w) < 0) {
		w->bad_input = true;
		lrpc_stream_cancel(w->s);
	} else if (w->code == LRPC_OK) {
		w->code = lrpc_stream_close_send(w->s, &w->st);
	}
	return NULL;
}

/* Prints the replies until the stream ends. \return its code, or -1
 * after a reply that does not decode. */
static int read_replies(const struct call_ctx *c, lrpc_stream *s, lrpc_status *st)
{
	size_t cap = lrpc_channel_max_msg(c->conn->ch), len;
	uint8_t *buf;
	int end = 0;
	lrpc_code code;

	cap = cap < (4u << 20) ? 4u << 20 : cap;
	buf = malloc(cap);
	if (!buf) {
		snprintf(st->message, sizeof(st->message), "out of memory");
		return LRPC_RESOURCE_EXHAUSTED;
	}
	while ((code = lrpc_stream_read_raw(s, buf, cap, &len, &end, st)) == LRPC_OK && !end) {
		if (call_print_reply(c, buf, len, true) < 0) {
			lrpc_stream_cancel(s);
			free(buf);
			return -1;
		}
	}
	free(buf);
	return (int)code;
}

int call_stream(const struct call_ctx *c, const lrpc_metadata *meta, size_t n_meta)
{
	lrpc_call_opts opts = { .metadata = meta, .n_metadata = n_meta };
	const lrpc_method_desc md = {
		.name = c->m.desc->name, .full_name = c->m.full_name,
		.id = lrpc_method_id(c->m.full_name), .kind = c->m.kind,
	};
	lrpc_deadline dl = tool_conn_deadline(c->conn);
	struct writer w = { .c = c, .stop = { -1, -1 } };
	lrpc_status st = { 0 };
	pthread_t thread;
	bool started = false;
	int code;

	code = lrpc_stream_open_opts(c->conn->ch, &md, dl, &opts, &w.s, &st);
	if (code != LRPC_OK)
		return call_end(c, (lrpc_code)code, &st, dl);
	if (!c->lines) {
		code = lrpc_stream_write_raw(w.s, c->req, c->req_len, &st);
		if (code == LRPC_OK)
			code = lrpc_stream_close_send(w.s, &st);
	} else if (pipe2(w.stop, O_CLOEXEC) < 0 ||
		   pthread_create(&thread, NULL, writer_main, &w) != 0) {
		fprintf(stderr, "lazyrpc call: cannot start writing requests: %s\n",
			strerror(errno));
		code = -1;
	} else {
		started = true;
	}
	/* A failed write ended the stream: the read says how. */
	if (code >= 0)
		code = read_replies(c, w.s, &st);
	if (started) {
		(void)!write(w.stop[1], "", 1);
		/* A writer waiting for room in a stream that is over returns. */
		lrpc_stream_cancel(w.s);
		pthread_join(thread, NULL);
	}
	if (w.stop[0] >= 0) {
		close(w.stop[0]);
		close(w.stop[1]);
	}
	lrpc_stream_free(w.s);
	if (w.bad_input)
		return TOOL_EXIT_USAGE;
	if (code < 0)
		return TOOL_EXIT_FAILED;
	return call_end(c, (lrpc_code)code, &st, dl);
}
