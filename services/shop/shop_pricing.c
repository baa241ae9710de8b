// SPDX-License-Identifier: MIT
/* lazyrpc.shop.Pricing: unit prices from the command line. */
#include <string.h>
#include <time.h>

#include "shop.h"

static const struct shop_price *price_of(const struct shop *s, const char *sku)
{
	for (unsigned int i = 0; i < s->nprices; i++)
		if (!strcmp(s->prices[i].sku, sku))
			return &s->prices[i];
	return NULL;
}

/* --delay-ms: answer late, but not past the caller's interest. */
static bool delay(const struct shop *s, lrpc_call *call)
{
	struct timespec step = { 0, 10 * 1000 * 1000 };

	for (unsigned int waited = 0; waited < s->delay_ms; waited += 10) {
		if (lrpc_call_cancelled(call))
			return false;
		nanosleep(&step, NULL);
	}
	return true;
}

static lrpc_code quote(void *user, lrpc_call *call, const Lazyrpc__Shop__QuoteRequest *req,
		       Lazyrpc__Shop__QuoteReply *rep)
{
	struct shop *s = user;
	Lazyrpc__Shop__QuoteLine *lines;
	lrpc_code code = shop_check_items(call, req->items, req->n_items);

	if (code != LRPC_OK)
		return code;
	if (!delay(s, call))
		return LRPC_CANCELLED;
	lines = lrpc_call_alloc(call, req->n_items * (sizeof(*lines) + sizeof(lines)));
	if (!lines)
		return LRPC_RESOURCE_EXHAUSTED;
	rep->lines = (Lazyrpc__Shop__QuoteLine **)(lines + req->n_items);
	for (size_t i = 0; i < req->n_items; i++) {
		const struct shop_price *p = price_of(s, req->items[i]->sku);

		if (!p) {
			lrpc_call_set_message(call, "no price for %s", req->items[i]->sku);
			return LRPC_NOT_FOUND;
		}
		lazyrpc__shop__quote_line__init(&lines[i]);
		lines[i].sku = req->items[i]->sku;
		lines[i].qty = req->items[i]->qty;
		lines[i].unit_cents = p->cents;
		rep->lines[i] = &lines[i];
		rep->total_cents += p->cents * req->items[i]->qty;
	}
	rep->n_lines = req->n_items;
	return LRPC_OK;
}

static const Lazyrpc__Shop__Pricing_Handlers handlers = { .quote = quote };

int shop_pricing_register(lrpc_server *srv, struct shop *s)
{
	return lazyrpc__shop__pricing__register(srv, &handlers, s);
}
