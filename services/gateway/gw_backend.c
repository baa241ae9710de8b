// SPDX-License-Identifier: MIT
/*
 * A backend's channel and descriptors: opened at first use (so the
 * gateway starts before its backends and outlives their restarts: the
 * channel reconnects by itself), descriptors from the config's
 * descriptor set or else asked of the backend by grpc.reflection.v1,
 * once, under the backend's lock; read-only from then on.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grpc/reflection/v1/reflection.lrpc.h"
#include "gw.h"

#define REFL_REPLY_MAX (4u << 20)

typedef Grpc__Reflection__V1__ServerReflectionRequest refl_req;
typedef Grpc__Reflection__V1__ServerReflectionResponse refl_rep;

static lrpc_code load_set(struct gw_backend *b, lrpc_status *st)
{
	char err[PBJSON_ERR_MAX] = "";
	FILE *f = fopen(b->descriptor_set, "rb");
	uint8_t *buf = NULL;
	long n;
	int ret = -EIO;

	if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n <= (64l << 20) &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) &&
	    fread(buf, 1, (size_t)n, f) == (size_t)n)
		ret = pbjson_pool_add_set(b->pool, buf, (size_t)n, err);
	if (f)
		fclose(f);
	free(buf);
	if (ret == -EIO)
		snprintf(err, sizeof(err), "cannot read it");
	if (ret < 0) {
		snprintf(st->message, sizeof(st->message), "descriptor set %s: %s",
			 b->descriptor_set, err);
		st->code = LRPC_INTERNAL;
		return st->code;
	}
	return LRPC_OK;
}

/* One file_containing_symbol question on an open reflection stream. */
static lrpc_code ask_symbol(struct gw_backend *b, lrpc_stream *s, const char *symbol,
			    uint8_t *buf, lrpc_status *st)
{
	refl_req req = GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__INIT;
	char err[PBJSON_ERR_MAX] = "";
	refl_rep *rep;
	size_t n, len;
	int end = 0;
	lrpc_code code;

	req.message_request_case =
		GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL;
	req.file_containing_symbol = (char *)symbol;
	n = grpc__reflection__v1__server_reflection_request__pack(&req, buf);
	code = lrpc_stream_write_raw(s, buf, n, st);
	if (code == LRPC_OK)
		code = lrpc_stream_read_raw(s, buf, REFL_REPLY_MAX, &len, &end, st);
	if (code != LRPC_OK)
		return code;
	if (end) {
		snprintf(st->message, sizeof(st->message), "reflection ended early");
		return st->code = LRPC_INTERNAL;
	}
	rep = grpc__reflection__v1__server_reflection_response__unpack(NULL, len, buf);
	if (!rep) {
		snprintf(st->message, sizeof(st->message), "reflection reply does not decode");
		return st->code = LRPC_INTERNAL;
	}
	if (rep->message_response_case ==
	    GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE) {
		snprintf(st->message, sizeof(st->message), "%s does not serve %s: %s", b->uri,
			 symbol, rep->error_response->error_message ?
			 rep->error_response->error_message : "");
		code = st->code = LRPC_NOT_FOUND;
	} else if (rep->message_response_case ==
		   GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE) {
		const Grpc__Reflection__V1__FileDescriptorResponse *f = rep->file_descriptor_response;

		for (size_t i = 0; i < f->n_file_descriptor_proto && code == LRPC_OK; i++)
			if (pbjson_pool_add_file(b->pool, f->file_descriptor_proto[i].data,
						 f->file_descriptor_proto[i].len, err) < 0) {
				snprintf(st->message, sizeof(st->message), "reflection: %s", err);
				code = st->code = LRPC_INTERNAL;
			}
	} else {
		snprintf(st->message, sizeof(st->message), "unexpected reflection reply");
		code = st->code = LRPC_INTERNAL;
	}
	grpc__reflection__v1__server_reflection_response__free_unpacked(rep, NULL);
	return code;
}

static lrpc_code load_reflection(struct gw_backend *b, const struct gw_config *c,
				 lrpc_status *st)
{
	const lrpc_method_desc *m = &grpc__reflection__v1__server_reflection__service_desc.methods[0];
	uint8_t *buf = malloc(REFL_REPLY_MAX);
	lrpc_stream *s = NULL;
	lrpc_code code;

	if (!buf)
		return st->code = LRPC_RESOURCE_EXHAUSTED;
	code = lrpc_stream_open(b->ch, m, lrpc_deadline_after_ms(c->default_deadline_ms), &s, st);
	for (size_t i = 0; code == LRPC_OK && i < b->n_services; i++)
		code = ask_symbol(b, s, b->services[i], buf, st);
	if (code == LRPC_OK)
		lrpc_stream_close_send(s, NULL);
	lrpc_stream_free(s);
	free(buf);
	if (code == LRPC_UNIMPLEMENTED)
		snprintf(st->message, sizeof(st->message), "%s serves no reflection: give the "
			 "backend a \"descriptor_set\"", b->uri);
	return code;
}

lrpc_code gw_backend_ready(struct gw_backend *b, const struct gw_config *c, lrpc_status *st)
{
	lrpc_code code = LRPC_OK;
	int ret;

	st->code = LRPC_OK;
	st->message[0] = '\0';
	if (atomic_load_explicit(&b->loaded, memory_order_acquire))
		return LRPC_OK;
	pthread_mutex_lock(&b->lock);
	if (!b->ch) {
		lrpc_channel_opts o;

		lrpc_channel_opts_init(&o);
		o.open_status = st;
		o.connect_timeout_ms = c->default_deadline_ms;
		ret = lrpc_channel_open(b->uri, &o, &b->ch);
		if (ret < 0) {
			b->ch = NULL;
			code = st->code != LRPC_OK ? st->code : LRPC_UNAVAILABLE;
			if (code == LRPC_UNIMPLEMENTED || code == LRPC_INVALID_ARGUMENT)
				code = LRPC_UNAVAILABLE;
			st->code = code;
			goto out;
		}
	}
	if (!atomic_load_explicit(&b->loaded, memory_order_relaxed)) {
		code = b->descriptor_set ? load_set(b, st) : load_reflection(b, c, st);
		/* What a failed load added stays; the next try skips known files. */
		if (code == LRPC_OK)
			atomic_store_explicit(&b->loaded, true, memory_order_release);
	}
out:
	pthread_mutex_unlock(&b->lock);
	return code;
}
