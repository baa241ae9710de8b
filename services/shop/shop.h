/* SPDX-License-Identifier: MIT */
/* services/shop: what the three roles of shop-server share. */
#ifndef LAZYRPC_SHOP_H
#define LAZYRPC_SHOP_H

#include <stdint.h>

#include <lazyrpc/lazyrpc.h>

#include "shop.lrpc.h"

#define SHOP_PRICES_MAX 256
#define SHOP_SKU_MAX 64   /* bytes of a SKU */
#define SHOP_ITEMS_MAX 64 /* items of one request */

struct shop_price {
	char sku[SHOP_SKU_MAX + 1];
	uint64_t cents;
};

struct shop {
	/* The services this role calls (NULL where it calls none). */
	lrpc_channel *kv, *inventory, *pricing;
	struct shop_price prices[SHOP_PRICES_MAX]; /* pricing */
	unsigned int nprices;
	unsigned int delay_ms; /* pricing: answer this late (tests) */
};

/* shop_rid.c: the request id each call carries, as metadata, on every
 * leg; 1..SHOP_REQUEST_ID_MAX of [A-Za-z0-9._:-], as the gateway's. */
#define SHOP_REQUEST_ID_KEY "x-request-id"
#define SHOP_REQUEST_ID_MAX 128

/* The id of the call the calling thread handles, "" if none. */
const char *shop_request_id(void);

/* Take the id from every call \p srv serves (and say it back as the
 * response header x-request-id) and send it on with every call made on
 * \p s's channels. Before the server starts and the channels' first call.
 * \return 0 or a negative errno. */
int shop_request_id_setup(lrpc_server *srv, struct shop *s);

/* Register a role's service on \p srv; \p s outlives the server.
 * \return what the generated register returns. */
int shop_inventory_register(lrpc_server *srv, struct shop *s);
int shop_pricing_register(lrpc_server *srv, struct shop *s);
int shop_orders_register(lrpc_server *srv, struct shop *s);

/* Check a request's items: 1..SHOP_ITEMS_MAX of them, each a SKU of
 * 1..SHOP_SKU_MAX bytes and a quantity of 1..10000. \return LRPC_OK, or
 * INVALID_ARGUMENT with the call's message saying which. */
lrpc_code shop_check_items(lrpc_call *call, Lazyrpc__Shop__Item *const *items, size_t n);

#endif
