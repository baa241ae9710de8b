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
 * What each request gets is refl_answer.c's.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include <lazyrpc/std.h>

#include "grpc/reflection/v1/reflection.lrpc.h"
#include "grpc/reflection/v1alpha/reflection.lrpc.h"
#include "std/refl_answer.h"

struct reflection {
	const lrpc_server *srv;
	pthread_mutex_t lock; /* until the index is built */
	bool built;
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
		const lrpc_service_desc **descs;
		size_t n = 0;

		while (lrpc_server_service(r->srv, n))
			n++;
		descs = calloc(n ? n : 1, sizeof(*descs));
		for (size_t i = 0; descs && i < n; i++)
			descs[i] = lrpc_server_service(r->srv, i);
		r->built = descs && refl_index_build(&r->ix, descs, n) == 0;
		free(descs);
	}
	pthread_mutex_unlock(&r->lock);
	return r->built ? &r->ix : NULL;
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
		struct refl_answer a;

		code = grpc__reflection__v1__server_reflection__server_reflection_info__server_read(
			stream, &req);
		if (code != LRPC_OK || !req)
			return code; /* the client's half-close ends it with OK */
		code = refl_answer(&a, ix, req);
		if (code == LRPC_OK)
			code = grpc__reflection__v1__server_reflection__server_reflection_info__server_write(
				stream, &a.rep);
		else
			lrpc_call_set_message(call, "out of memory for a reflection response");
		refl_answer_release(&a);
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
