// SPDX-License-Identifier: MIT
/*
 * lazyrpc-std's reflection (runtime/src/std/refl_answer.c): the input is a
 * ServerReflectionRequest as a client sends it, decoded as the server
 * decodes it and answered from an index of the std services and
 * tests/std/catalog.proto's. Every request that decodes gets an answer
 * that decodes, echoes the request's kind, and is either what was asked
 * for (each file a FileDescriptorProto, the one asked for by name first)
 * or an error_response NOT_FOUND / INVALID_ARGUMENT.
 */
#include <stdlib.h>
#include <string.h>

#include "catalog.lrpc.h"
#include "fuzz.h"
#include "google/protobuf/descriptor.pb-c.h"
#include "grpc/health/v1/health.lrpc.h"
#include "grpc/reflection/v1/reflection.lrpc.h"
#include "grpc/reflection/v1alpha/reflection.lrpc.h"

typedef Grpc__Reflection__V1__ServerReflectionResponse refl_rep;
#define REQ(c) GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_##c
#define REP(c) GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_##c

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const lrpc_service_desc *const descs[] = {
		&grpc__reflection__v1__server_reflection__service_desc,
		&grpc__reflection__v1alpha__server_reflection__service_desc,
		&grpc__health__v1__health__service_desc,
		&lrpcstd__catalog__service_desc,
		&lrpcstd__control__service_desc,
	};

	(void)argc, (void)argv;
	if (fz_reflection_init(descs, sizeof(descs) / sizeof(descs[0])) < 0)
		fz_die("reflection index: out of memory");
	return 0;
}

static void check_files(const refl_rep *rep)
{
	const Grpc__Reflection__V1__FileDescriptorResponse *f = rep->file_descriptor_response;

	if (!f || !f->n_file_descriptor_proto)
		fz_die("a file response without files");
	for (size_t i = 0; i < f->n_file_descriptor_proto; i++) {
		Google__Protobuf__FileDescriptorProto *fd =
			google__protobuf__file_descriptor_proto__unpack(
				NULL, f->file_descriptor_proto[i].len,
				f->file_descriptor_proto[i].data);

		if (!fd || !fd->name)
			fz_die("file %zu of a response does not decode", i);
		if (i == 0 && rep->original_request->message_request_case == REQ(FILE_BY_FILENAME) &&
		    strcmp(fd->name, rep->original_request->file_by_filename))
			fz_die("asked for %s, got %s first", rep->original_request->file_by_filename,
			       fd->name);
		google__protobuf__file_descriptor_proto__free_unpacked(fd, NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int req_case = -1;
	size_t len = 0;
	uint8_t *out = fz_reflection_answer(data, size, &len, &req_case);
	refl_rep *rep;

	if (!out)
		return 0; /* did not decode (the server ends such a stream) */
	rep = grpc__reflection__v1__server_reflection_response__unpack(NULL, len, out);
	if (!rep || !rep->original_request ||
	    (int)rep->original_request->message_request_case != req_case)
		fz_die("the answer does not decode or lost the request");
	switch (rep->message_response_case) {
	case REP(FILE_DESCRIPTOR_RESPONSE):
		if (req_case != REQ(FILE_BY_FILENAME) && req_case != REQ(FILE_CONTAINING_SYMBOL) &&
		    req_case != REQ(FILE_CONTAINING_EXTENSION))
			fz_die("files for request kind %d", req_case);
		check_files(rep);
		break;
	case REP(LIST_SERVICES_RESPONSE):
		if (req_case != REQ(LIST_SERVICES) || rep->list_services_response->n_service != 5)
			fz_die("a list for request kind %d", req_case);
		break;
	case REP(ALL_EXTENSION_NUMBERS_RESPONSE):
		if (req_case != REQ(ALL_EXTENSION_NUMBERS_OF_TYPE))
			fz_die("numbers for request kind %d", req_case);
		break;
	case REP(ERROR_RESPONSE):
		if (rep->error_response->error_code != LRPC_NOT_FOUND &&
		    !(rep->error_response->error_code == LRPC_INVALID_ARGUMENT &&
		      req_case == REQ(_NOT_SET)))
			fz_die("error %d for request kind %d", rep->error_response->error_code,
			       req_case);
		break;
	default:
		fz_die("no answer for request kind %d", req_case);
	}
	grpc__reflection__v1__server_reflection_response__free_unpacked(rep, NULL);
	free(out);
	return 0;
}
