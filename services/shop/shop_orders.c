// SPDX-License-Identifier: MIT
/*
 * lazyrpc.shop.Orders: the fan-out. Place and Browse start their two legs
 * (Inventory and Pricing) at once through the asynchronous client, each
 * with the caller's deadline less a margin, and wait for both on a completion queue
 * of the handler thread's own: the legs cost one thread, not three. Each
 * leg carries the caller's request id in its call options (shop_rid.c)
 * and reads its response headers, and Orders says back what each callee
 * said it got, as the headers x-inventory-request-id and
 * x-pricing-request-id: so the caller sees the id reached both.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <lazyrpc/async.h>

#include "kv.lrpc.h"
#include "shop.h"

/* One leg's outcome, filled by its callback. */
struct leg {
	const char *name;
	bool done;
	lrpc_code code;
	lrpc_status st;
	ProtobufCMessage *rep;
	lrpc_async *handle;
	lrpc_metadata_list *headers; /* the callee's, once done */
	lrpc_deadline deadline;
};

static pthread_key_t cq_key;
static pthread_once_t cq_once = PTHREAD_ONCE_INIT;

static void cq_drop(void *cq)
{
	lrpc_cq_free(cq);
}

static void cq_key_make(void)
{
	pthread_key_create(&cq_key, cq_drop);
}

/* The handler thread's completion queue, made on its first use. */
static lrpc_cq *thread_cq(void)
{
	lrpc_cq *cq;

	pthread_once(&cq_once, cq_key_make);
	cq = pthread_getspecific(cq_key);
	if (!cq && lrpc_cq_new(&cq) == 0)
		pthread_setspecific(cq_key, cq);
	return cq;
}

/*
 * The legs' deadline: the caller's, less a margin to answer in (a fifth of
 * what is left, at most 200 ms), so that a leg that waits for a peer to
 * come back to the last moment still leaves time to report it. 50 ms was
 * too little on a loaded 2-core machine (the shop test's killed-pricing
 * case came back DEADLINE_EXCEEDED once in seven runs).
 */
static lrpc_deadline leg_deadline(lrpc_call *call)
{
	lrpc_deadline d = lrpc_call_deadline(call), left = d - lrpc_now();
	lrpc_deadline margin = left / 5 < 200000000 ? left / 5 : 200000000;

	return margin > 0 ? d - margin : d;
}

static void leg_done(void *arg, lrpc_code code, ProtobufCMessage *rep, const lrpc_status *st,
		     lrpc_async *handle)
{
	struct leg *l = arg;

	(void)handle;
	/* A callee that saw the deadline pass answers CANCELLED, and that
	 * may come before the cq's timer says DEADLINE_EXCEEDED: it is the
	 * deadline either way (Orders cancels a leg only long past it). */
	if (code == LRPC_CANCELLED && lrpc_now() >= l->deadline)
		code = LRPC_DEADLINE_EXCEEDED;
	l->done = true;
	l->code = code;
	l->rep = rep;
	l->st = *st;
}

/* Wait for both legs. Each finishes by its deadline, so this ends then;
 * the bound past it is for a transport that does not keep its word. */
static void wait_legs(lrpc_cq *cq, struct leg *a, struct leg *b, lrpc_deadline deadline)
{
	lrpc_deadline until = deadline + 1000000000;

	while (!a->done || !b->done) {
		if (lrpc_cq_run(cq, until, 0) == 0 && lrpc_now() >= until) {
			if (!a->done)
				lrpc_async_cancel(a->handle);
			if (!b->done)
				lrpc_async_cancel(b->handle);
			until = lrpc_now() + 1000000000;
		}
	}
}

static void leg_failed(struct leg *l)
{
	l->done = true;
	l->code = LRPC_RESOURCE_EXHAUSTED;
	snprintf(l->st.message, sizeof(l->st.message), "out of memory");
}

/* Start \p l (a call of \p m with \p req through \p ch), or fill it in
 * as failed at once. */
static void leg_start(struct leg *l, lrpc_channel *ch, const lrpc_method_desc *m,
		      const ProtobufCMessage *req, lrpc_deadline deadline, lrpc_cq *cq)
{
	const char *rid = shop_request_id();
	lrpc_metadata md = { SHOP_REQUEST_ID_KEY, rid, strlen(rid) };
	lrpc_call_opts o = LRPC_CALL_OPTS_INIT;

	l->deadline = deadline;
	/* With an id to pass on: the list is the leg's until leg_free(),
	 * the callee's headers once it is done. Without one the leg needs
	 * no options, and takes the transport's own asynchronous path. */
	if (rid[0]) {
		if (lrpc_metadata_list_new(&l->headers) < 0) {
			leg_failed(l);
			return;
		}
		o.metadata = &md;
		o.n_metadata = 1;
		o.headers = l->headers;
	}
	if (lrpc_channel_call_async_opts(ch, m, req, deadline, &o, cq, leg_done, l,
					 &l->handle) < 0)
		leg_failed(l);
}

static void leg_free(struct leg *l)
{
	if (l->rep)
		protobuf_c_message_free_unpacked(l->rep, NULL);
	lrpc_metadata_list_free(l->headers);
}

/* Say back the request id \p l's callee said it got, as the header
 * x-<leg>-request-id. */
static void leg_report(lrpc_call *call, const struct leg *l)
{
	const lrpc_metadata *m = lrpc_metadata_list_find(l->headers, SHOP_REQUEST_ID_KEY);
	char key[64];

	if (!m)
		return;
	snprintf(key, sizeof(key), "x-%s-request-id", l->name);
	/* A header that does not fit is no reason to fail the call. */
	lrpc_call_add_header(call, key, m->value, m->value_len);
}

static const lrpc_method_desc *method(const lrpc_service_desc *svc, const char *name)
{
	for (size_t i = 0; i < svc->n_methods; i++)
		if (!strcmp(svc->methods[i].name, name))
			return &svc->methods[i];
	return NULL;
}

/* Call Inventory's \p inv_method with \p inv_req and Pricing's Quote with
 * \p quote at once; return when both have ended. \return false if there
 * is no completion queue (nothing was started). */
static bool fan_out(struct shop *s, lrpc_call *call, const char *inv_method,
		    const ProtobufCMessage *inv_req, const ProtobufCMessage *quote,
		    struct leg *inv, struct leg *pri)
{
	lrpc_deadline d = leg_deadline(call);
	lrpc_cq *cq = thread_cq();

	if (!cq)
		return false;
	leg_start(inv, s->inventory, method(&lazyrpc__shop__inventory__service_desc, inv_method),
		  inv_req, d, cq);
	leg_start(pri, s->pricing, method(&lazyrpc__shop__pricing__service_desc, "Quote"),
		  quote, d, cq);
	wait_legs(cq, inv, pri, d);
	leg_report(call, inv);
	leg_report(call, pri);
	return true;
}

/* "pricing: UNAVAILABLE: ..." */
static char *leg_note(lrpc_call *call, const struct leg *l)
{
	char buf[LRPC_STATUS_MSG_MAX + 64];

	snprintf(buf, sizeof(buf), "%s: %s: %s", l->name, lrpc_code_name(l->code), l->st.message);
	return lrpc_call_strdup(call, buf);
}

/* Put a reservation back; it is the order's to undo whatever the caller's
 * deadline, so it gets time of its own. \return true if it was. */
static bool release(struct shop *s, const Lazyrpc__Shop__PlaceRequest *req)
{
	Lazyrpc__Shop__ReserveRequest r = LAZYRPC__SHOP__RESERVE_REQUEST__INIT;
	Lazyrpc__Shop__ReserveReply *rep = NULL;
	lrpc_code code;

	r.items = req->items;
	r.n_items = req->n_items;
	code = lazyrpc__shop__inventory__release__call(s->inventory, &r, &rep,
						       lrpc_deadline_after_ms(5000), NULL);
	if (rep)
		lazyrpc__shop__reserve_reply__free_unpacked(rep, NULL);
	return code == LRPC_OK;
}

static lrpc_code store_order(struct shop *s, lrpc_call *call, Lazyrpc__Shop__Order *order)
{
	Lazyrpc__Kv__PutRequest put = LAZYRPC__KV__PUT_REQUEST__INIT;
	Lazyrpc__Kv__PutReply *done = NULL;
	size_t len = lazyrpc__shop__order__get_packed_size(order);
	uint8_t *buf = lrpc_call_alloc(call, len + 1);
	char key[64];
	lrpc_status st;
	lrpc_code code;

	if (!buf)
		return LRPC_RESOURCE_EXHAUSTED;
	lazyrpc__shop__order__pack(order, buf);
	snprintf(key, sizeof(key), "order/%s", order->id);
	put.key = (ProtobufCBinaryData){ strlen(key), (uint8_t *)key };
	put.value = (ProtobufCBinaryData){ len, buf };
	code = lazyrpc__kv__kv__put__call(s->kv, &put, &done, lrpc_call_deadline(call), &st);
	if (done)
		lazyrpc__kv__put_reply__free_unpacked(done, NULL);
	if (code != LRPC_OK)
		lrpc_call_set_message(call, "kv: %s: %s", lrpc_code_name(code), st.message);
	return code;
}

/* The quote's lines, copied into call memory for the reply. */
static Lazyrpc__Shop__QuoteLine **copy_lines(lrpc_call *call, const Lazyrpc__Shop__QuoteReply *q)
{
	size_t n = q->n_lines;
	Lazyrpc__Shop__QuoteLine *v = lrpc_call_alloc(call, n * (sizeof(*v) + sizeof(v)) + 1);
	Lazyrpc__Shop__QuoteLine **p = v ? (Lazyrpc__Shop__QuoteLine **)(v + n) : NULL;

	for (size_t i = 0; p && i < n; i++) {
		v[i] = *q->lines[i];
		v[i].sku = lrpc_call_strdup(call, q->lines[i]->sku);
		if (!v[i].sku)
			return NULL;
		p[i] = &v[i];
	}
	return p;
}

static lrpc_code place(void *user, lrpc_call *call, const Lazyrpc__Shop__PlaceRequest *req,
		       Lazyrpc__Shop__Order *rep)
{
	struct shop *s = user;
	Lazyrpc__Shop__ReserveRequest rr = LAZYRPC__SHOP__RESERVE_REQUEST__INIT;
	Lazyrpc__Shop__QuoteRequest qr = LAZYRPC__SHOP__QUOTE_REQUEST__INIT;
	struct leg inv = { .name = "inventory" }, pri = { .name = "pricing" };
	lrpc_code code = shop_check_items(call, req->items, req->n_items);
	Lazyrpc__Shop__QuoteReply *q;
	uint64_t id;

	if (code != LRPC_OK)
		return code;
	rr.items = qr.items = req->items;
	rr.n_items = qr.n_items = req->n_items;
	if (!fan_out(s, call, "Reserve", &rr.base, &qr.base, &inv, &pri))
		return LRPC_RESOURCE_EXHAUSTED;
	if (inv.code != LRPC_OK || pri.code != LRPC_OK) {
		const struct leg *bad = inv.code != LRPC_OK ? &inv : &pri;
		bool undone = inv.code == LRPC_OK && release(s, req);

		lrpc_call_set_message(call, "%s%s%s", leg_note(call, bad),
				      inv.code == LRPC_OK && pri.code != LRPC_OK ?
					      (undone ? " (reservation released)" :
							" (reservation NOT released)") : "",
				      inv.code != LRPC_OK && pri.code != LRPC_OK ?
					      "; pricing failed too" : "");
		code = bad->code;
		leg_free(&inv);
		leg_free(&pri);
		return code;
	}
	q = (Lazyrpc__Shop__QuoteReply *)pri.rep;
	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		id = (uint64_t)lrpc_now();
	rep->id = lrpc_call_alloc(call, 17);
	if (rep->id)
		snprintf(rep->id, 17, "%016" PRIx64, id);
	rep->lines = copy_lines(call, q);
	rep->n_lines = q->n_lines;
	rep->total_cents = q->total_cents;
	code = rep->id && rep->lines ? store_order(s, call, rep) : LRPC_RESOURCE_EXHAUSTED;
	if (code != LRPC_OK)
		release(s, req);
	leg_free(&inv);
	leg_free(&pri);
	return code;
}

/* protobuf-c allocations from the call's memory, freed with the call. */
static void *arena_alloc(void *call, size_t size)
{
	return lrpc_call_alloc(call, size ? size : 1);
}

static void arena_free(void *call, void *p)
{
	(void)call;
	(void)p;
}

static lrpc_code get_order(void *user, lrpc_call *call,
			   const Lazyrpc__Shop__GetOrderRequest *req, Lazyrpc__Shop__Order *rep)
{
	struct shop *s = user;
	Lazyrpc__Kv__GetRequest get = LAZYRPC__KV__GET_REQUEST__INIT;
	Lazyrpc__Kv__GetReply *got = NULL;
	ProtobufCAllocator arena = { arena_alloc, arena_free, call };
	Lazyrpc__Shop__Order *o;
	char key[96];
	lrpc_status st;
	lrpc_code code;

	if (!req->id[0] || strlen(req->id) > 64) {
		lrpc_call_set_message(call, "an order id is 1..64 bytes");
		return LRPC_INVALID_ARGUMENT;
	}
	snprintf(key, sizeof(key), "order/%s", req->id);
	get.key = (ProtobufCBinaryData){ strlen(key), (uint8_t *)key };
	code = lazyrpc__kv__kv__get__call(s->kv, &get, &got, lrpc_call_deadline(call), &st);
	if (code == LRPC_NOT_FOUND) {
		lrpc_call_set_message(call, "no order %s", req->id);
		return code;
	}
	if (code != LRPC_OK) {
		lrpc_call_set_message(call, "kv: %s: %s", lrpc_code_name(code), st.message);
		return code;
	}
	o = lazyrpc__shop__order__unpack(&arena, got->value.len, got->value.data);
	lazyrpc__kv__get_reply__free_unpacked(got, NULL);
	if (!o) {
		lrpc_call_set_message(call, "order %s does not decode", req->id);
		return LRPC_DATA_LOSS;
	}
	*rep = *o;
	return LRPC_OK;
}

static lrpc_code browse(void *user, lrpc_call *call, const Lazyrpc__Shop__BrowseRequest *req,
			Lazyrpc__Shop__BrowseReply *rep)
{
	struct shop *s = user;
	Lazyrpc__Shop__StockRequest sr = LAZYRPC__SHOP__STOCK_REQUEST__INIT;
	Lazyrpc__Shop__QuoteRequest qr = LAZYRPC__SHOP__QUOTE_REQUEST__INIT;
	struct leg inv = { .name = "inventory" }, pri = { .name = "pricing" };
	size_t n = req->n_skus;
	Lazyrpc__Shop__Item *items, **pitems;
	Lazyrpc__Shop__Offer *offers;

	if (n == 0 || n > SHOP_ITEMS_MAX) {
		lrpc_call_set_message(call, "1..%d SKUs", SHOP_ITEMS_MAX);
		return LRPC_INVALID_ARGUMENT;
	}
	items = lrpc_call_alloc(call, n * (sizeof(*items) + sizeof(*pitems)));
	offers = lrpc_call_alloc(call, n * (sizeof(*offers) + sizeof(offers)));
	rep->notes = lrpc_call_alloc(call, 2 * sizeof(*rep->notes));
	if (!items || !offers || !rep->notes)
		return LRPC_RESOURCE_EXHAUSTED;
	pitems = (Lazyrpc__Shop__Item **)(items + n);
	rep->offers = (Lazyrpc__Shop__Offer **)(offers + n);
	for (size_t i = 0; i < n; i++) {
		lazyrpc__shop__item__init(&items[i]);
		items[i].sku = req->skus[i];
		items[i].qty = 1;
		pitems[i] = &items[i];
		lazyrpc__shop__offer__init(&offers[i]);
		offers[i].sku = req->skus[i];
		rep->offers[i] = &offers[i];
	}
	rep->n_offers = n;
	sr.skus = req->skus;
	sr.n_skus = n;
	qr.items = pitems;
	qr.n_items = n;
	if (!fan_out(s, call, "Stock", &sr.base, &qr.base, &inv, &pri))
		return LRPC_RESOURCE_EXHAUSTED;
	if (inv.code == LRPC_OK) {
		const Lazyrpc__Shop__StockReply *st = (void *)inv.rep;

		for (size_t i = 0; i < n && i < st->n_items; i++) {
			offers[i].has_stock = true;
			offers[i].in_stock = st->items[i]->qty;
		}
	} else {
		rep->notes[rep->n_notes++] = leg_note(call, &inv);
	}
	if (pri.code == LRPC_OK) {
		const Lazyrpc__Shop__QuoteReply *q = (void *)pri.rep;

		for (size_t i = 0; i < n && i < q->n_lines; i++) {
			offers[i].has_price = true;
			offers[i].unit_cents = q->lines[i]->unit_cents;
		}
	} else {
		rep->notes[rep->n_notes++] = leg_note(call, &pri);
	}
	leg_free(&inv);
	leg_free(&pri);
	/* Both legs failed: nothing to show, so it is the call's failure. */
	if (inv.code != LRPC_OK && pri.code != LRPC_OK) {
		lrpc_call_set_message(call, "%s; %s", rep->notes[0], rep->notes[1]);
		return LRPC_UNAVAILABLE;
	}
	return LRPC_OK;
}

static const Lazyrpc__Shop__Orders_Handlers handlers = {
	.place = place, .get_order = get_order, .browse = browse,
};

int shop_orders_register(lrpc_server *srv, struct shop *s)
{
	return lazyrpc__shop__orders__register(srv, &handlers, s);
}
