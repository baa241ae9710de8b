// SPDX-License-Identifier: MIT
/* The method registry: services added before the start, found by id. */
#include <errno.h>
#include <stdlib.h>

#include "serve/registry.h"

static int entry_cmp(const void *a, const void *b)
{
	const struct lrpc__method_entry *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int desc_check(const lrpc_service_desc *d)
{
	if (d->magic != LRPC_SERVICE_DESC_MAGIC ||
	    d->abi_version < 1 || d->abi_version > LRPC_SERVICE_ABI_VERSION ||
	    !d->name ||
	    (d->n_methods && !d->methods))
		return -EINVAL;
	for (size_t i = 0; i < d->n_methods; i++) {
		const lrpc_method_desc *m = &d->methods[i];

		/* ABI 1 has no kind (padding) and no stream_invoke. */
		uint32_t kind = d->abi_version == 1 ? LRPC_METHOD_UNARY : m->kind;

		if (kind > LRPC_METHOD_BIDI_STREAMING ||
		    (kind == LRPC_METHOD_UNARY ? !m->invoke :
		     !m->stream_invoke) ||
		    !m->full_name || !m->input || !m->output ||
		    m->id != lrpc_method_id(m->full_name) ||
		    m->input->magic != PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC ||
		    m->output->magic != PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC)
			return -EINVAL;
	}
	return 0;
}

int lrpc__registry_add(struct lrpc__registry *r, const lrpc_service_desc *desc,
		       const void *handlers, void *user)
{
	const lrpc_service_desc **svcs;
	struct lrpc__method_entry *m;
	size_t n;
	int ret;

	ret = desc_check(desc);
	if (ret < 0)
		return ret;
	n = r->nmethods + desc->n_methods;
	for (size_t i = 0; i < desc->n_methods; i++) {
		if (lrpc__registry_find(r, desc->methods[i].id))
			return -EEXIST;
		for (size_t j = 0; j < i; j++)
			if (desc->methods[j].id == desc->methods[i].id)
				return -EEXIST;
	}
	svcs = realloc(r->services, (r->nservices + 1) * sizeof(*svcs));
	if (!svcs)
		return -ENOMEM;
	r->services = svcs;
	m = realloc(r->methods, (n ? n : 1) * sizeof(*m));
	if (!m)
		return -ENOMEM;
	for (size_t i = 0; i < desc->n_methods; i++) {
		m[r->nmethods + i] = (struct lrpc__method_entry){
			.id = desc->methods[i].id,
			.method = &desc->methods[i],
			.handlers = handlers,
			.user = user,
		};
	}
	qsort(m, n, sizeof(*m), entry_cmp);
	r->methods = m;
	r->nmethods = n;
	svcs[r->nservices++] = desc;
	return 0;
}

const struct lrpc__method_entry *
lrpc__registry_find(const struct lrpc__registry *r, uint32_t id)
{
	struct lrpc__method_entry key = { .id = id };

	if (!r->nmethods)
		return NULL;
	return bsearch(&key, r->methods, r->nmethods, sizeof(key), entry_cmp);
}

void lrpc__registry_free(struct lrpc__registry *r)
{
	free(r->methods);
	free(r->services);
	r->methods = NULL;
	r->services = NULL;
	r->nmethods = r->nservices = 0;
}
