// SPDX-License-Identifier: MIT
/*
 * grpc.reflection.v1.ServerReflection, and the same under its older name
 * grpc.reflection.v1alpha: one bidirectional stream per client, a response
 * for each request, answered from the index of refl_index.c.
 *
 * The two versions are the same messages under two packages, so the wire
 * bytes are the same: v1alpha is served by v1's handler and v1's message
 * types, under a method description of its own that names v1alpha's
 * path. Its embedded file (for clients that ask for it) stays v1alpha's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lazyrpc/std.h>

#include "grpc/reflection/v1/reflection.lrpc.h"
#include "grpc/reflection/v1alpha/reflection.lrpc.h"
#include "std/refl_index.h"

typedef Grpc__Reflection__V1__ServerReflectionRequest refl_req;
typedef Grpc__Reflection__V1__ServerReflectionResponse refl_rep;

struct reflection {
	const lrpc_server *srv;
	pthread_mutex_t lock; /* until the index is built */
	bool built;
	int build_err;
	struct refl_index ix;
	/* v1alpha, described here: v1's types and handler, v1alpha's names. */
	lrpc_method_desc alpha_method;
	lrpc_service_desc alpha;
};

/* The index, built at the first request (the services are fixed by then). */
static const struct refl_index *index_of(struct reflection *r)
{
	pthread_mutex_lock(&r->lock);
	if (!r->built) {
		r->build_err = refl_index_build(&r->ix, r->srv);
		r->built = r->build_err == 0;
	}
	pthread_mutex_unlock(&r->lock);
	return r->built ? &r->ix : NULL;
}

/* What one response points at, freed once it is written. */
struct answer {
	refl_rep rep;
	Grpc__Reflection__V1__FileDescriptorResponse files;
	Grpc__Reflection__V1__ListServiceResponse list;
	Grpc__Reflection__V1__ExtensionNumberResponse numbers;
	Grpc__Reflection__V1__ErrorResponse error;
	void *mem[3];
};

static void answer_error(struct answer *a, lrpc_code code, const char *what,
			 const char *name)
{
	char *msg;

	grpc__reflection__v1__error_response__init(&a->error);
	a->error.error_code = (int32_t)code;
	if (asprintf(&msg, "%s '%.200s' not found", what, name) < 0)
		msg = NULL;
	a->mem[0] = msg;
	a->error.error_message = msg ? msg : (char *)"not found";
	a->rep.message_response_case =
		GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE;
	a->rep.error_response = &a->error;
}

/* \p file (an index, or -1) and what it imports. \return LRPC_OK or
 * RESOURCE_EXHAUSTED. */
static lrpc_code answer_file(struct answer *a, const struct refl_index *ix,
			     long file, const char *what, const char *name)
{
	size_t *order, n;
	ProtobufCBinaryData *bytes;

	if (file < 0) {
		answer_error(a, LRPC_NOT_FOUND, what, name);
		return LRPC_OK;
	}
	order = calloc(ix->nfiles, sizeof(*order));
	bytes = calloc(ix->nfiles, sizeof(*bytes));
	a->mem[0] = order;
	a->mem[1] = bytes;
	if (!order || !bytes)
		return LRPC_RESOURCE_EXHAUSTED;
	n = refl_closure(ix, (size_t)file, order);
	for (size_t i = 0; i < n; i++) {
		bytes[i].data = (uint8_t *)ix->files[order[i]].data;
		bytes[i].len = ix->files[order[i]].len;
	}
	grpc__reflection__v1__file_descriptor_response__init(&a->files);
	a->files.n_file_descriptor_proto = n;
	a->files.file_descriptor_proto = bytes;
	a->rep.message_response_case =
		GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE;
	a->rep.file_descriptor_response = &a->files;
	return LRPC_OK;
}

static lrpc_code answer_list(struct answer *a, const struct refl_index *ix)
{
	Grpc__Reflection__V1__ServiceResponse *v = calloc(ix->nservices + 1, sizeof(*v));
	Grpc__Reflection__V1__ServiceResponse **p = calloc(ix->nservices + 1, sizeof(*p));

	a->mem[0] = v;
	a->mem[1] = p;
	if (!v || !p)
		return LRPC_RESOURCE_EXHAUSTED;
	for (size_t i = 0; i < ix->nservices; i++) {
		grpc__reflection__v1__service_response__init(&v[i]);
		v[i].name = (char *)ix->services[i];
		p[i] = &v[i];
	}
	grpc__reflection__v1__list_service_response__init(&a->list);
	a->list.n_service = ix->nservices;
	a->list.service = p;
	a->rep.message_response_case =
		GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE;
	a->rep.list_services_response = &a->list;
	return LRPC_OK;
}

static lrpc_code answer_numbers(struct answer *a, const struct refl_index *ix,
				const char *type)
{
	int32_t *nums;
	size_t n = 0;

	if (refl_find_symbol(ix, type) < 0) {
		answer_error(a, LRPC_NOT_FOUND, "type", type);
		return LRPC_OK;
	}
	nums = calloc(ix->nexts + 1, sizeof(*nums));
	a->mem[0] = nums;
	if (!nums)
		return LRPC_RESOURCE_EXHAUSTED;
	for (size_t i = 0; i < ix->nexts; i++)
		if (strcmp(ix->exts[i].extendee, type) == 0)
			nums[n++] = ix->exts[i].number;
	grpc__reflection__v1__extension_number_response__init(&a->numbers);
	a->numbers.base_type_name = (char *)type;
	a->numbers.n_extension_number = n;
	a->numbers.extension_number = nums;
	a->rep.message_response_case =
		GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ALL_EXTENSION_NUMBERS_RESPONSE;
	a->rep.all_extension_numbers_response = &a->numbers;
	return LRPC_OK;
}

static const char *str(const char *s)
{
	return s ? s : "";
}

/* Fill \p a for \p req. \return LRPC_OK, or what ends the stream. */
static lrpc_code answer(struct answer *a, const struct refl_index *ix,
			const refl_req *req)
{
	const Grpc__Reflection__V1__ExtensionRequest *ext;

	grpc__reflection__v1__server_reflection_response__init(&a->rep);
	a->rep.valid_host = (char *)str(req->host);
	a->rep.original_request = (refl_req *)req;
	switch (req->message_request_case) {
	case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME:
		return answer_file(a, ix, refl_find_file(ix, str(req->file_by_filename)),
				   "file", str(req->file_by_filename));
	case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL:
		return answer_file(a, ix, refl_find_symbol(ix, str(req->file_containing_symbol)),
				   "symbol", str(req->file_containing_symbol));
	case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_EXTENSION:
		ext = req->file_containing_extension;
		return answer_file(a, ix, ext ? refl_find_ext(ix, str(ext->containing_type),
							      ext->extension_number) : -1,
				   "extension of", ext ? str(ext->containing_type) : "");
	case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_ALL_EXTENSION_NUMBERS_OF_TYPE:
		return answer_numbers(a, ix, str(req->all_extension_numbers_of_type));
	case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES:
		return answer_list(a, ix);
	default:
		grpc__reflection__v1__error_response__init(&a->error);
		a->error.error_code = LRPC_INVALID_ARGUMENT;
		a->error.error_message = (char *)"the request asks for nothing";
		a->rep.message_response_case =
			GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE;
		a->rep.error_response = &a->error;
		return LRPC_OK;
	}
}

static lrpc_code info(void *user, lrpc_call *call, lrpc_server_stream *stream)
{
	struct reflection *r = user;
	const struct refl_index *ix = index_of(r);
	lrpc_code code;

	if (!ix) {
		lrpc_call_set_message(call, "out of memory for the reflection index");
		return LRPC_RESOURCE_EXHAUSTED;
	}
	for (;;) {
		refl_req *req;
		struct answer a = { 0 };

		code = grpc__reflection__v1__server_reflection__server_reflection_info__server_read(
			stream, &req);
		if (code != LRPC_OK || !req)
			return code; /* the client's half-close ends it with OK */
		code = answer(&a, ix, req);
		if (code == LRPC_OK)
			code = grpc__reflection__v1__server_reflection__server_reflection_info__server_write(
				stream, &a.rep);
		else
			lrpc_call_set_message(call, "out of memory for a reflection response");
		for (size_t i = 0; i < sizeof(a.mem) / sizeof(a.mem[0]); i++)
			free(a.mem[i]);
		if (code != LRPC_OK)
			return code;
	}
}

static const Grpc__Reflection__V1__ServerReflection_Handlers handlers = {
	.server_reflection_info = info,
};

static void reflection_free(void *arg)
{
	struct reflection *r = arg;

	if (r->built)
		refl_index_free(&r->ix);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

int lrpc_server_add_reflection(lrpc_server *srv)
{
	const lrpc_service_desc *v1 = &grpc__reflection__v1__server_reflection__service_desc;
	const lrpc_service_desc *alpha =
		&grpc__reflection__v1alpha__server_reflection__service_desc;
	struct reflection *r;
	int ret;

	if (!srv)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->srv = srv;
	pthread_mutex_init(&r->lock, NULL);
	r->alpha_method = alpha->methods[0];
	r->alpha_method.input = v1->methods[0].input;
	r->alpha_method.output = v1->methods[0].output;
	r->alpha_method.stream_invoke = v1->methods[0].stream_invoke;
	r->alpha = *alpha;
	r->alpha.methods = &r->alpha_method;
	/* Handlers may use it until the server is freed: it goes then. */
	ret = lrpc_server_on_free(srv, reflection_free, r);
	if (ret < 0) {
		reflection_free(r);
		return ret;
	}
	/* On failure r stays with the server, which frees it. */
	ret = grpc__reflection__v1__server_reflection__register(srv, &handlers, r);
	if (ret == 0)
		ret = lrpc_server_add_service(srv, &r->alpha, &handlers, r);
	return ret;
}
