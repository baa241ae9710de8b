// SPDX-License-Identifier: MIT
/* lazyrpc-std's reflection answers for the reflection fuzzer (fuzz.h). */
#include <stdlib.h>

#include "core/internal.h"
#include "fuzz.h"
#include "std/refl_answer.h"
#include "wire/pbdecode.h"

static struct refl_index ix;

int fz_reflection_init(const lrpc_service_desc *const *descs, size_t n)
{
	return refl_index_build(&ix, descs, n);
}

uint8_t *fz_reflection_answer(const uint8_t *data, size_t len, size_t *out_len,
			      int *req_case)
{
	struct lrpc__arena arena;
	struct refl_answer a;
	refl_req *req;
	uint8_t *out = NULL;

	/* As the server reads a stream message: the runtime's decoder, into
	 * the stream's arena. */
	lrpc__arena_init(&arena);
	req = (refl_req *)lrpc__pb_decode(&grpc__reflection__v1__server_reflection_request__descriptor,
					  &arena.pb, len, data);
	if (req) {
		*req_case = (int)req->message_request_case;
		if (refl_answer(&a, &ix, req) == LRPC_OK) {
			*out_len = protobuf_c_message_get_packed_size(&a.rep.base);
			out = malloc(*out_len ? *out_len : 1);
			if (!out)
				fz_die("out of memory");
			protobuf_c_message_pack(&a.rep.base, out);
		}
		refl_answer_release(&a);
	}
	lrpc__arena_destroy(&arena);
	return out;
}
