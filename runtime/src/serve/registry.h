/* SPDX-License-Identifier: MIT */
/* The method registry: what a server serves, found by method id. */
#ifndef LRPC_REGISTRY_H
#define LRPC_REGISTRY_H

#include "core/internal.h"
#include "serve/intercept.h"

struct lrpc__method_entry {
	uint32_t id;
	const lrpc_method_desc *method;
	const void *handlers;
	void *user;
};

/* Sorted by id; fixed once the server starts, then read by any thread. */
struct lrpc__registry {
	struct lrpc__method_entry *methods;
	size_t nmethods;
	size_t nservices;
	const lrpc_service_desc **services; /* nservices, in order added */
	struct lrpc__intercept_chain chain; /* around every handler */
};

/* Add every method of \p desc. \return 0, -EINVAL (bad descriptor),
 * -EEXIST (a method id is taken), -ENOMEM. */
int lrpc__registry_add(struct lrpc__registry *r, const lrpc_service_desc *desc,
		       const void *handlers, void *user);

/* \return the entry of method \p id, or NULL. */
const struct lrpc__method_entry *
lrpc__registry_find(const struct lrpc__registry *r, uint32_t id);

void lrpc__registry_free(struct lrpc__registry *r);

#endif
