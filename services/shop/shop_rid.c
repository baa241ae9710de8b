// SPDX-License-Identifier: MIT
/*
 * The request id on every leg. The gateway sends the HTTP request's id as
 * x-request-id metadata; each shop service takes it from its call (a
 * server interceptor, before the handler, on the handler's thread), says
 * it back to its caller as the response header x-request-id (what the
 * caller reads to know the id got through), and sends it on with every
 * call the handler makes: a client interceptor on the role's channels
 * adds it to synchronous calls (kv, the release of a reservation), and
 * Orders's parallel legs send it in their call options
 * (shop_orders.c). A call without one, or with one that is not a sane
 * token, passes nothing on.
 */
#include <stdio.h>
#include <string.h>

#include "shop.h"

/* The id of the call this thread is handling, "" outside one. */
static __thread char current[SHOP_REQUEST_ID_MAX + 1];

const char *shop_request_id(void)
{
	return current;
}

/* 1..SHOP_REQUEST_ID_MAX of [A-Za-z0-9._:-], as the gateway makes them. */
static bool sane(const lrpc_metadata *m)
{
	if (!m || !m->value_len || m->value_len > SHOP_REQUEST_ID_MAX)
		return false;
	for (size_t i = 0; i < m->value_len; i++) {
		char c = ((const char *)m->value)[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || strchr("._:-", c)))
			return false;
	}
	return true;
}

static lrpc_code take(void *arg, lrpc_call *call)
{
	const lrpc_metadata *m = lrpc_call_metadata_get(call, SHOP_REQUEST_ID_KEY);

	(void)arg;
	current[0] = '\0';
	if (!sane(m))
		return LRPC_OK;
	memcpy(current, m->value, m->value_len);
	current[m->value_len] = '\0';
	/* A header that does not fit is no reason to fail the call. */
	lrpc_call_add_header(call, SHOP_REQUEST_ID_KEY, current, m->value_len);
	return LRPC_OK;
}

static void drop(void *arg, lrpc_call *call, lrpc_code code, int64_t ns)
{
	(void)arg, (void)call, (void)code, (void)ns;
	current[0] = '\0';
}

static lrpc_code pass_on(void *arg, const lrpc_client_call_info *info,
			 lrpc_metadata_list *add, lrpc_status *why)
{
	(void)arg, (void)why;
	/* Calls that carry their own (the legs) keep it. */
	for (size_t i = 0; i < info->n_metadata; i++)
		if (!strcmp(info->metadata[i].key, SHOP_REQUEST_ID_KEY))
			return LRPC_OK;
	if (add && current[0] &&
	    lrpc_metadata_list_add(add, SHOP_REQUEST_ID_KEY, current, strlen(current)) < 0) {
		snprintf(why->message, sizeof(why->message), "out of memory for the request id");
		return LRPC_RESOURCE_EXHAUSTED;
	}
	return LRPC_OK;
}

int shop_request_id_setup(lrpc_server *srv, struct shop *s)
{
	static const lrpc_interceptor server_ic = { .before = take, .after = drop };
	static const lrpc_client_interceptor client_ic = { .before = pass_on };
	lrpc_channel *chs[] = { s->kv, s->inventory, s->pricing };
	int ret = lrpc_server_add_interceptor(srv, &server_ic);

	for (size_t i = 0; !ret && i < sizeof(chs) / sizeof(chs[0]); i++)
		if (chs[i])
			ret = lrpc_channel_add_interceptor(chs[i], &client_ic);
	return ret;
}
