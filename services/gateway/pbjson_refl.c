// SPDX-License-Identifier: MIT
/*
 * The reflection client (pbjson_refl.h): one question, one answer, in
 * turn, on one ServerReflectionInfo stream. What the server answers is
 * peer input: every reply is decoded and checked before use, and the
 * files it carries go through pbjson_pool_add_file().
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grpc/reflection/v1/reflection.lrpc.h"
#include "pbjson_refl.h"

/* The largest reply taken: a file and everything it imports. */
#define REFL_REPLY_MAX (4u << 20)

typedef Grpc__Reflection__V1__ServerReflectionRequest refl_req;
typedef Grpc__Reflection__V1__ServerReflectionResponse refl_rep;
#define REP(c) GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_##c
#define REQ(c) GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_##c

struct pbjson_refl {
	lrpc_stream *s;
	uint8_t *buf; /* REFL_REPLY_MAX bytes, for both directions */
};

lrpc_code pbjson_refl_open(lrpc_channel *ch, lrpc_deadline deadline, pbjson_refl **out,
			   lrpc_status *st)
{
	const lrpc_method_desc *m =
		&grpc__reflection__v1__server_reflection__service_desc.methods[0];
	pbjson_refl *r = calloc(1, sizeof(*r));
	lrpc_code code;

	*out = NULL;
	if (r)
		r->buf = malloc(REFL_REPLY_MAX);
	if (!r || !r->buf) {
		free(r);
		snprintf(st->message, sizeof(st->message), "out of memory");
		return st->code = LRPC_RESOURCE_EXHAUSTED;
	}
	code = lrpc_stream_open(ch, m, deadline, &r->s, st);
	if (code != LRPC_OK) {
		pbjson_refl_close(r);
		return code;
	}
	*out = r;
	return LRPC_OK;
}

/* Sends \p req and reads the answer into r->buf, *len bytes. */
static lrpc_code ask(pbjson_refl *r, const refl_req *req, size_t *len, lrpc_status *st)
{
	size_t n = grpc__reflection__v1__server_reflection_request__get_packed_size(req);
	int end = 0;
	lrpc_code code;

	if (n > REFL_REPLY_MAX) {
		snprintf(st->message, sizeof(st->message), "reflection question too long");
		return st->code = LRPC_INVALID_ARGUMENT;
	}
	grpc__reflection__v1__server_reflection_request__pack(req, r->buf);
	code = lrpc_stream_write_raw(r->s, r->buf, n, st);
	if (code == LRPC_OK)
		code = lrpc_stream_read_raw(r->s, r->buf, REFL_REPLY_MAX, len, &end, st);
	if (code == LRPC_UNIMPLEMENTED)
		snprintf(st->message, sizeof(st->message), "the server serves no reflection "
			 "(grpc.reflection.v1)");
	if (code == LRPC_OK && end) {
		snprintf(st->message, sizeof(st->message), "reflection ended early");
		code = st->code = LRPC_INTERNAL;
	}
	return code;
}

void pbjson_refl_names_free(char **names, size_t n)
{
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

static lrpc_code take_names(const Grpc__Reflection__V1__ListServiceResponse *l, char ***names,
			    size_t *n, lrpc_status *st)
{
	*names = calloc(l->n_service ? l->n_service : 1, sizeof(**names));
	for (size_t i = 0; *names && i < l->n_service; i++) {
		(*names)[i] = strdup(l->service[i]->name ? l->service[i]->name : "");
		if (!(*names)[i]) {
			pbjson_refl_names_free(*names, i);
			*names = NULL;
		} else {
			*n = i + 1;
		}
	}
	if (*names)
		return LRPC_OK;
	*n = 0;
	snprintf(st->message, sizeof(st->message), "out of memory");
	return st->code = LRPC_RESOURCE_EXHAUSTED;
}

lrpc_code pbjson_refl__reply(pbjson_pool *pool, const uint8_t *buf, size_t len, char ***names,
			     size_t *n, lrpc_status *st)
{
	char err[PBJSON_ERR_MAX] = "";
	const Grpc__Reflection__V1__FileDescriptorResponse *f;
	bool expected = true;
	refl_rep *rep;
	lrpc_code code = LRPC_OK;

	if (names) {
		*names = NULL;
		*n = 0;
	}
	rep = grpc__reflection__v1__server_reflection_response__unpack(NULL, len, buf);
	if (!rep) {
		snprintf(st->message, sizeof(st->message), "reflection reply does not decode");
		return st->code = LRPC_INTERNAL;
	}
	switch (rep->message_response_case) {
	case REP(ERROR_RESPONSE):
		snprintf(st->message, sizeof(st->message), "%s",
			 rep->error_response->error_message && *rep->error_response->error_message ?
			 rep->error_response->error_message : "not found");
		code = st->code = LRPC_NOT_FOUND;
		break;
	case REP(FILE_DESCRIPTOR_RESPONSE):
		f = rep->file_descriptor_response;
		for (size_t i = 0; pool && i < f->n_file_descriptor_proto && code == LRPC_OK; i++)
			if (pbjson_pool_add_file(pool, f->file_descriptor_proto[i].data,
						 f->file_descriptor_proto[i].len, err) < 0) {
				snprintf(st->message, sizeof(st->message), "reflection: %s", err);
				code = st->code = LRPC_INTERNAL;
			}
		expected = pool != NULL;
		break;
	case REP(LIST_SERVICES_RESPONSE):
		if (names)
			code = take_names(rep->list_services_response, names, n, st);
		expected = names != NULL;
		break;
	default:
		expected = false;
	}
	if (!expected) {
		snprintf(st->message, sizeof(st->message), "unexpected reflection reply");
		code = st->code = LRPC_INTERNAL;
	}
	grpc__reflection__v1__server_reflection_response__free_unpacked(rep, NULL);
	return code;
}

lrpc_code pbjson_refl_symbol(pbjson_refl *r, pbjson_pool *pool, const char *symbol,
			     lrpc_status *st)
{
	refl_req req = GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__INIT;
	size_t len;
	lrpc_code code;

	req.message_request_case = REQ(FILE_CONTAINING_SYMBOL);
	req.file_containing_symbol = (char *)symbol;
	code = ask(r, &req, &len, st);
	return code == LRPC_OK ? pbjson_refl__reply(pool, r->buf, len, NULL, NULL, st) : code;
}

lrpc_code pbjson_refl_services(pbjson_refl *r, char ***names, size_t *n, lrpc_status *st)
{
	refl_req req = GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__INIT;
	size_t len;
	lrpc_code code;

	*names = NULL;
	*n = 0;
	req.message_request_case = REQ(LIST_SERVICES);
	req.list_services = (char *)"";
	code = ask(r, &req, &len, st);
	return code == LRPC_OK ? pbjson_refl__reply(NULL, r->buf, len, names, n, st) : code;
}

void pbjson_refl_close(pbjson_refl *r)
{
	if (!r)
		return;
	/* Read to the server's end: freed before it, the stream would end
	 * CANCELLED on the server (and count so in its stats). A reply
	 * still coming is read and dropped; the stream's deadline bounds it. */
	if (r->s && lrpc_stream_close_send(r->s, NULL) == LRPC_OK) {
		size_t n;
		int end = 0;

		while (!end && lrpc_stream_read_raw(r->s, r->buf, REFL_REPLY_MAX, &n, &end,
						    NULL) == LRPC_OK)
			;
	}
	lrpc_stream_free(r->s);
	free(r->buf);
	free(r);
}
