/* SPDX-License-Identifier: MIT */
/* `lazyrpc call`'s parts: the request, the unary call and the reply
 * (call.c), and streams (call_stream.c). */
#ifndef LAZYRPC_CALL_H
#define LAZYRPC_CALL_H

#include <stdbool.h>

#include "tool.h"

struct call_ctx {
	struct tool_conn *conn;
	const char *target;
	const pbjson_pool *pool;
	struct tool_method m;
	bool compact;        /* --json: a unary reply on one line too */
	/* The one request, encoded (NULL, 0 is an empty message), unless
	 * lines is set: then the requests are NDJSON lines on stdin. */
	const uint8_t *req;
	size_t req_len;
	bool lines;
};

/* Encodes \p j (a JSON object) as the method's request; \p where says
 * which ("the request", "stdin line 3"). \return 0, or -1 after saying
 * why on stderr. The caller frees *out. */
int call_encode(const struct call_ctx *c, const json_t *j, const char *where, uint8_t **out,
		size_t *out_len);
/* Prints reply \p buf as JSON on stdout (one line if \p compact).
 * \return 0, or -1 after saying why on stderr (it does not decode). */
int call_print_reply(const struct call_ctx *c, const void *buf, size_t len, bool compact);
/* The exit status for a call that ended with \p code, after saying it on
 * stderr (name and message). DEADLINE_EXCEEDED for CANCELLED once
 * \p deadline passed: the transport saw the deadline first. */
int call_end(const struct call_ctx *c, lrpc_code code, const lrpc_status *st,
	     lrpc_deadline deadline);

/* Runs a streaming method, with the \p n_md entries of request metadata
 * at \p md sent with the open. \return the exit status. */
int call_stream(const struct call_ctx *c, const lrpc_metadata *md, size_t n_md);

#endif
