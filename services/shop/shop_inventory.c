// SPDX-License-Identifier: MIT
/*
 * lazyrpc.shop.Inventory: stock per SKU in kv ("stock/<sku>", the count in
 * decimal). Every change is a compare-and-set on the key's version, so
 * concurrent orders never oversell; a reservation of several items takes
 * them one by one and puts back what it took when one falls short.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.lrpc.h"
#include "shop.h"

#define CAS_TRIES 32

/* Stock of \p sku now: *qty and the key's *version (0: absent, 0 left). */
static lrpc_code stock_read(struct shop *s, const char *sku, lrpc_deadline d,
			    uint64_t *qty, uint64_t *version, lrpc_status *st)
{
	Lazyrpc__Kv__GetRequest req = LAZYRPC__KV__GET_REQUEST__INIT;
	Lazyrpc__Kv__GetReply *rep = NULL;
	char key[SHOP_SKU_MAX + 8];
	lrpc_code code;

	snprintf(key, sizeof(key), "stock/%s", sku);
	req.key = (ProtobufCBinaryData){ strlen(key), (uint8_t *)key };
	code = lazyrpc__kv__kv__get__call(s->kv, &req, &rep, d, st);
	*qty = *version = 0;
	if (code == LRPC_NOT_FOUND)
		return LRPC_OK;
	if (code != LRPC_OK)
		return code;
	if (rep->value.len < 24) {
		char num[24];

		memcpy(num, rep->value.data, rep->value.len);
		num[rep->value.len] = '\0';
		*qty = strtoull(num, NULL, 10);
	}
	*version = rep->version;
	lazyrpc__kv__get_reply__free_unpacked(rep, NULL);
	return LRPC_OK;
}

/* Add \p delta to the stock of \p sku, never below 0 (FAILED_PRECONDITION
 * then, saying how many are left). */
static lrpc_code stock_add(struct shop *s, const char *sku, int64_t delta, lrpc_deadline d,
			   lrpc_status *st)
{
	for (int i = 0; i < CAS_TRIES; i++) {
		Lazyrpc__Kv__CasRequest req = LAZYRPC__KV__CAS_REQUEST__INIT;
		Lazyrpc__Kv__CasReply *rep = NULL;
		char key[SHOP_SKU_MAX + 8], val[24];
		uint64_t qty, version;
		lrpc_code code = stock_read(s, sku, d, &qty, &version, st);

		if (code != LRPC_OK)
			return code;
		if (delta < 0 && qty < (uint64_t)-delta) {
			snprintf(st->message, sizeof(st->message),
				 "%s: %" PRIu64 " in stock, %" PRId64 " asked", sku, qty, -delta);
			return st->code = LRPC_FAILED_PRECONDITION;
		}
		snprintf(key, sizeof(key), "stock/%s", sku);
		snprintf(val, sizeof(val), "%" PRIu64, qty + (uint64_t)delta);
		req.key = (ProtobufCBinaryData){ strlen(key), (uint8_t *)key };
		req.value = (ProtobufCBinaryData){ strlen(val), (uint8_t *)val };
		req.expected_version = version;
		code = lazyrpc__kv__kv__compare_and_set__call(s->kv, &req, &rep, d, st);
		if (rep)
			lazyrpc__kv__cas_reply__free_unpacked(rep, NULL);
		/* FAILED_PRECONDITION here: another order changed it first. */
		if (code != LRPC_FAILED_PRECONDITION)
			return code;
	}
	snprintf(st->message, sizeof(st->message), "%s: stock changed %d times under us",
		 sku, CAS_TRIES);
	return st->code = LRPC_ABORTED;
}

/* Pass a kv failure on, saying it was kv's. */
static lrpc_code fail(lrpc_call *call, lrpc_code code, const lrpc_status *st)
{
	lrpc_call_set_message(call, "%s", st->message);
	return code;
}

static lrpc_code reserve(void *user, lrpc_call *call, const Lazyrpc__Shop__ReserveRequest *req,
			 Lazyrpc__Shop__ReserveReply *rep)
{
	struct shop *s = user;
	lrpc_deadline d = lrpc_call_deadline(call);
	lrpc_status st = { 0 }, ignored;
	lrpc_code code;
	size_t i;

	(void)rep;
	code = shop_check_items(call, req->items, req->n_items);
	if (code != LRPC_OK)
		return code;
	for (i = 0; i < req->n_items; i++) {
		code = stock_add(s, req->items[i]->sku, -(int64_t)req->items[i]->qty, d, &st);
		if (code != LRPC_OK)
			break;
	}
	if (code == LRPC_OK)
		return LRPC_OK;
	/* Put back what was taken; what cannot be put back is said. */
	while (i-- > 0)
		if (stock_add(s, req->items[i]->sku, req->items[i]->qty, d, &ignored) != LRPC_OK)
			fprintf(stderr, "inventory: could not put back %u of %s\n",
				req->items[i]->qty, req->items[i]->sku);
	return fail(call, code, &st);
}

static lrpc_code release(void *user, lrpc_call *call, const Lazyrpc__Shop__ReserveRequest *req,
			 Lazyrpc__Shop__ReserveReply *rep)
{
	lrpc_status st = { 0 };
	lrpc_code code;

	(void)rep;
	code = shop_check_items(call, req->items, req->n_items);
	for (size_t i = 0; code == LRPC_OK && i < req->n_items; i++)
		code = stock_add(user, req->items[i]->sku, req->items[i]->qty,
				 lrpc_call_deadline(call), &st);
	return code == LRPC_OK || st.message[0] == '\0' ? code : fail(call, code, &st);
}

/* Reply items: \p n of them, in the call's arena. */
static Lazyrpc__Shop__Item **reply_items(lrpc_call *call, size_t n)
{
	Lazyrpc__Shop__Item **v = lrpc_call_alloc(call, n * (sizeof(*v) + sizeof(**v)) + 1);

	for (size_t i = 0; v && i < n; i++) {
		v[i] = (Lazyrpc__Shop__Item *)(v + n) + i;
		lazyrpc__shop__item__init(v[i]);
	}
	return v;
}

static lrpc_code stock(void *user, lrpc_call *call, const Lazyrpc__Shop__StockRequest *req,
		       Lazyrpc__Shop__StockReply *rep)
{
	lrpc_status st = { 0 };

	if (req->n_skus > SHOP_ITEMS_MAX) {
		lrpc_call_set_message(call, "at most %d SKUs", SHOP_ITEMS_MAX);
		return LRPC_INVALID_ARGUMENT;
	}
	rep->items = reply_items(call, req->n_skus);
	if (!rep->items)
		return LRPC_RESOURCE_EXHAUSTED;
	for (size_t i = 0; i < req->n_skus; i++) {
		uint64_t qty, version;
		lrpc_code code;

		if (strlen(req->skus[i]) > SHOP_SKU_MAX) {
			lrpc_call_set_message(call, "SKU %zu longer than %d bytes", i, SHOP_SKU_MAX);
			return LRPC_INVALID_ARGUMENT;
		}
		code = stock_read(user, req->skus[i], lrpc_call_deadline(call), &qty, &version, &st);
		if (code != LRPC_OK)
			return fail(call, code, &st);
		rep->items[i]->sku = req->skus[i];
		rep->items[i]->qty = qty > UINT32_MAX ? UINT32_MAX : (uint32_t)qty;
	}
	rep->n_items = req->n_skus;
	return LRPC_OK;
}

static lrpc_code set_stock(void *user, lrpc_call *call,
			   const Lazyrpc__Shop__SetStockRequest *req,
			   Lazyrpc__Shop__StockReply *rep)
{
	struct shop *s = user;
	lrpc_code code = shop_check_items(call, req->items, req->n_items);

	(void)rep;
	for (size_t i = 0; code == LRPC_OK && i < req->n_items; i++) {
		Lazyrpc__Kv__PutRequest put = LAZYRPC__KV__PUT_REQUEST__INIT;
		Lazyrpc__Kv__PutReply *done = NULL;
		char key[SHOP_SKU_MAX + 8], val[24];
		lrpc_status st;

		snprintf(key, sizeof(key), "stock/%s", req->items[i]->sku);
		snprintf(val, sizeof(val), "%u", req->items[i]->qty);
		put.key = (ProtobufCBinaryData){ strlen(key), (uint8_t *)key };
		put.value = (ProtobufCBinaryData){ strlen(val), (uint8_t *)val };
		code = lazyrpc__kv__kv__put__call(s->kv, &put, &done, lrpc_call_deadline(call), &st);
		if (done)
			lazyrpc__kv__put_reply__free_unpacked(done, NULL);
		if (code != LRPC_OK)
			return fail(call, code, &st);
	}
	return code;
}

static const Lazyrpc__Shop__Inventory_Handlers handlers = {
	.reserve = reserve, .release = release, .stock = stock, .set_stock = set_stock,
};

int shop_inventory_register(lrpc_server *srv, struct shop *s)
{
	return lazyrpc__shop__inventory__register(srv, &handlers, s);
}
