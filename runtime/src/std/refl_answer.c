// SPDX-License-Identifier: MIT
/*
 * The answer to one reflection request: a file and what it imports, the
 * services, the extension numbers of a type, or an error_response. The
 * request is a peer's; what it names is only looked up, never trusted to
 * exist, and the response points into the index and the request rather
 * than copying them.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "std/refl_answer.h"

static void answer_error(struct refl_answer *a, lrpc_code code, const char *what,
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
static lrpc_code answer_file(struct refl_answer *a, const struct refl_index *ix,
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

static lrpc_code answer_list(struct refl_answer *a, const struct refl_index *ix)
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

static lrpc_code answer_numbers(struct refl_answer *a, const struct refl_index *ix,
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

lrpc_code refl_answer(struct refl_answer *a, const struct refl_index *ix,
		      const refl_req *req)
{
	const Grpc__Reflection__V1__ExtensionRequest *ext;

	memset(a, 0, sizeof(*a));
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

void refl_answer_release(struct refl_answer *a)
{
	for (size_t i = 0; i < sizeof(a->mem) / sizeof(a->mem[0]); i++)
		free(a->mem[i]);
	memset(a->mem, 0, sizeof(a->mem));
}
