/* SPDX-License-Identifier: MIT */
/*
 * One reflection response for one request (refl_answer.c), from the index
 * of refl_index.c; reflection.c runs the stream. The request comes from a
 * peer (decoded by the runtime): every field of it may be missing or
 * anything (tests/fuzz/fuzz_reflection.c).
 */
#ifndef LRPC_STD_REFL_ANSWER_H
#define LRPC_STD_REFL_ANSWER_H

#include <lazyrpc/common.h>

#include "grpc/reflection/v1/reflection.pb-c.h"
#include "std/refl_index.h"

typedef Grpc__Reflection__V1__ServerReflectionRequest refl_req;
typedef Grpc__Reflection__V1__ServerReflectionResponse refl_rep;

/* A response and what it points at. */
struct refl_answer {
	refl_rep rep;
	Grpc__Reflection__V1__FileDescriptorResponse files;
	Grpc__Reflection__V1__ListServiceResponse list;
	Grpc__Reflection__V1__ExtensionNumberResponse numbers;
	Grpc__Reflection__V1__ErrorResponse error;
	void *mem[2];
};

/*
 * Fill \p a with the answer to \p req (an error_response for what is not
 * found). It points into \p req and \p ix, which must outlive its use.
 * \return LRPC_OK, or RESOURCE_EXHAUSTED (out of memory). Either way,
 * refl_answer_release() it.
 */
lrpc_code refl_answer(struct refl_answer *a, const struct refl_index *ix,
		      const refl_req *req);
void refl_answer_release(struct refl_answer *a);

#endif
