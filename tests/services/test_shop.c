// SPDX-License-Identifier: MIT
/*
 * services/shop as four processes over lrpc://: kv, pricing, inventory and
 * orders. An order reserves and prices in parallel and is stored; one
 * short of stock, or with an unpriced item, is refused naming the leg, and
 * a reservation already made is put back; Browse reports a failed leg and
 * still answers with the other; a slow leg ends at the caller's deadline,
 * which orders passes on.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "shop.lrpc.h"

#define MS 10000

static struct peer kv, pricing, inventory, orders;
static lrpc_channel *ord, *inv;

static void start(struct peer *p, char *const argv[])
{
	h_spawn(p, argv);
	ck_assert_msg(h_expect(p, "ready", 20000), "%s did not start", argv[0]);
}

static void start_pricing(const char *delay_ms)
{
	char *argv[] = { (char *)h_bin("LRPC_SHOP_SERVER"), "--role", "pricing", "--price",
			 "apple=120", "--price", "pear=90", "--delay-ms", (char *)delay_ms,
			 "lrpc://pricing", NULL };

	start(&pricing, argv);
}

static void setup(void)
{
	char data[300];
	char *kv_argv[] = { (char *)h_bin("LRPC_KV_SERVER"), "--dir", data, "lrpc://kv", NULL };
	char *inv_argv[] = { (char *)h_bin("LRPC_SHOP_SERVER"), "--role", "inventory", "--kv",
			     "lrpc://kv", "lrpc://inventory", NULL };
	char *ord_argv[] = { (char *)h_bin("LRPC_SHOP_SERVER"), "--role", "orders", "--kv",
			     "lrpc://kv", "--inventory", "lrpc://inventory", "--pricing",
			     "lrpc://pricing", "lrpc://orders", NULL };

	snprintf(data, sizeof(data), "%s/kvdata", h_dir_setup());
	start(&kv, kv_argv);
	start_pricing("0");
	start(&inventory, inv_argv);
	start(&orders, ord_argv);
	ck_assert_int_eq(lrpc_channel_open("lrpc://orders", NULL, &ord), 0);
	ck_assert_int_eq(lrpc_channel_open("lrpc://inventory", NULL, &inv), 0);
}

static void teardown(void)
{
	lrpc_channel_close(ord);
	lrpc_channel_close(inv);
	h_kill(&orders, SIGTERM);
	h_kill(&inventory, SIGTERM);
	h_kill(&pricing, SIGTERM);
	h_kill(&kv, SIGTERM);
}

/* "apple", 2, "pear", 1, NULL: items in static storage for a request. */
static Lazyrpc__Shop__Item **items(size_t *n, const char *sku, ...)
{
	static Lazyrpc__Shop__Item v[8], *p[8];
	va_list ap;

	va_start(ap, sku);
	for (*n = 0; sku; sku = va_arg(ap, const char *), (*n)++) {
		lazyrpc__shop__item__init(&v[*n]);
		v[*n].sku = (char *)sku;
		v[*n].qty = (uint32_t)va_arg(ap, int);
		p[*n] = &v[*n];
	}
	va_end(ap);
	return p;
}

static void set_stock(const char *sku, int qty)
{
	Lazyrpc__Shop__SetStockRequest req = LAZYRPC__SHOP__SET_STOCK_REQUEST__INIT;
	Lazyrpc__Shop__StockReply *rep = NULL;

	req.items = items(&req.n_items, sku, qty, NULL);
	ck_assert_int_eq(lazyrpc__shop__inventory__set_stock__call(
				 inv, &req, &rep, lrpc_deadline_after_ms(MS), NULL), LRPC_OK);
	lazyrpc__shop__stock_reply__free_unpacked(rep, NULL);
}

static unsigned int stock_of(const char *sku)
{
	Lazyrpc__Shop__StockRequest req = LAZYRPC__SHOP__STOCK_REQUEST__INIT;
	Lazyrpc__Shop__StockReply *rep = NULL;
	char *skus[] = { (char *)sku };
	unsigned int n;

	req.skus = skus;
	req.n_skus = 1;
	ck_assert_int_eq(lazyrpc__shop__inventory__stock__call(
				 inv, &req, &rep, lrpc_deadline_after_ms(MS), NULL), LRPC_OK);
	n = rep->items[0]->qty;
	lazyrpc__shop__stock_reply__free_unpacked(rep, NULL);
	return n;
}

static lrpc_code place(Lazyrpc__Shop__Order **o, int64_t ms, lrpc_status *st, const char *sku,
		       int qty, const char *sku2, int qty2)
{
	Lazyrpc__Shop__PlaceRequest req = LAZYRPC__SHOP__PLACE_REQUEST__INIT;

	req.items = items(&req.n_items, sku, qty, sku2, qty2, NULL);
	*o = NULL;
	return lazyrpc__shop__orders__place__call(ord, &req, o, lrpc_deadline_after_ms(ms), st);
}

START_TEST(an_order_is_reserved_priced_and_stored)
{
	Lazyrpc__Shop__GetOrderRequest get = LAZYRPC__SHOP__GET_ORDER_REQUEST__INIT;
	Lazyrpc__Shop__Order *o, *again = NULL;
	lrpc_status st;

	setup();

	set_stock("apple", 5);
	set_stock("pear", 2);
	ck_assert_int_eq(place(&o, MS, &st, "apple", 2, "pear", 1), LRPC_OK);
	ck_assert_uint_eq(o->total_cents, 2 * 120 + 90);
	ck_assert_uint_eq(strlen(o->id), 16);
	ck_assert_uint_eq(o->n_lines, 2);
	ck_assert_str_eq(o->lines[1]->sku, "pear");
	ck_assert_uint_eq(stock_of("apple"), 3);
	ck_assert_uint_eq(stock_of("pear"), 1);
	get.id = o->id;
	ck_assert_int_eq(lazyrpc__shop__orders__get_order__call(
				 ord, &get, &again, lrpc_deadline_after_ms(MS), NULL), LRPC_OK);
	ck_assert_str_eq(again->id, o->id);
	ck_assert_uint_eq(again->total_cents, o->total_cents);
	ck_assert_uint_eq(again->n_lines, 2);
	lazyrpc__shop__order__free_unpacked(again, NULL);
	lazyrpc__shop__order__free_unpacked(o, NULL);
	get.id = "0000000000000000";
	ck_assert_int_eq(lazyrpc__shop__orders__get_order__call(
				 ord, &get, &again, lrpc_deadline_after_ms(MS), &st), LRPC_NOT_FOUND);
	teardown();
}
END_TEST

START_TEST(a_failed_leg_is_named_and_undone)
{
	Lazyrpc__Shop__Order *o;
	lrpc_status st;

	setup();

	set_stock("apple", 5);
	set_stock("pear", 1);
	set_stock("kiwi", 4);
	/* Inventory refuses: nothing is taken. */
	ck_assert_int_eq(place(&o, MS, &st, "apple", 2, "pear", 5), LRPC_FAILED_PRECONDITION);
	ck_assert_msg(strstr(st.message, "inventory: FAILED_PRECONDITION: pear: 1 in stock, 5 asked"),
		      "%s", st.message);
	ck_assert_uint_eq(stock_of("apple"), 5);
	/* Pricing refuses after inventory reserved: put back. */
	ck_assert_int_eq(place(&o, MS, &st, "apple", 1, "kiwi", 2), LRPC_NOT_FOUND);
	ck_assert_msg(strstr(st.message, "pricing: NOT_FOUND: no price for kiwi") &&
		      strstr(st.message, "(reservation released)"), "%s", st.message);
	ck_assert_uint_eq(stock_of("kiwi"), 4);
	ck_assert_uint_eq(stock_of("apple"), 5);
	/* Bad requests are the caller's. */
	ck_assert_int_eq(place(&o, MS, &st, "apple", 0, NULL, 0), LRPC_INVALID_ARGUMENT);
	teardown();
}
END_TEST

static Lazyrpc__Shop__BrowseReply *browse(lrpc_code want, const char *a, const char *b)
{
	Lazyrpc__Shop__BrowseRequest req = LAZYRPC__SHOP__BROWSE_REQUEST__INIT;
	Lazyrpc__Shop__BrowseReply *rep = NULL;
	char *skus[] = { (char *)a, (char *)b };
	lrpc_status st;

	req.skus = skus;
	req.n_skus = b ? 2 : 1;
	ck_assert_int_eq(lazyrpc__shop__orders__browse__call(ord, &req, &rep,
							     lrpc_deadline_after_ms(1000), &st),
			 want);
	return rep;
}

START_TEST(browse_reports_a_failed_leg_and_answers)
{
	Lazyrpc__Shop__BrowseReply *r;

	setup();

	set_stock("apple", 7);
	set_stock("kiwi", 4);
	r = browse(LRPC_OK, "apple", "pear");
	ck_assert_uint_eq(r->n_notes, 0);
	ck_assert(r->offers[0]->has_stock && r->offers[0]->in_stock == 7);
	ck_assert(r->offers[1]->has_price && r->offers[1]->unit_cents == 90);
	lazyrpc__shop__browse_reply__free_unpacked(r, NULL);
	/* An unpriced item fails the pricing leg: the stock still comes. */
	r = browse(LRPC_OK, "apple", "kiwi");
	ck_assert_uint_eq(r->n_notes, 1);
	ck_assert_msg(!strncmp(r->notes[0], "pricing: NOT_FOUND", 18), "%s", r->notes[0]);
	ck_assert(r->offers[1]->has_stock && r->offers[1]->in_stock == 4);
	ck_assert(!r->offers[0]->has_price && !r->offers[1]->has_price);
	lazyrpc__shop__browse_reply__free_unpacked(r, NULL);
	/* Pricing gone: reported, within the caller's deadline. */
	h_kill(&pricing, SIGKILL);
	r = browse(LRPC_OK, "apple", NULL);
	ck_assert_uint_eq(r->n_notes, 1);
	ck_assert_msg(!strncmp(r->notes[0], "pricing: ", 9), "%s", r->notes[0]);
	ck_assert(r->offers[0]->has_stock && !r->offers[0]->has_price);
	lazyrpc__shop__browse_reply__free_unpacked(r, NULL);
	start_pricing("0"); /* for teardown */
	teardown();
}
END_TEST

/* A slow pricing leg ends at the caller's deadline, which orders passed
 * on; the reservation it made is put back. */
START_TEST(the_deadline_is_passed_on)
{
	Lazyrpc__Shop__Order *o;
	lrpc_deadline until;
	lrpc_status st;
	lrpc_code code;

	setup();

	set_stock("apple", 3);
	h_kill(&pricing, SIGTERM);
	start_pricing("30000");
	/* Orders learns that the pricing it dialled went away when a leg
	 * finds it gone, and that leg fails fast with UNAVAILABLE (a channel's
	 * documented reconnect); the next one goes to the new pricing. */
	until = lrpc_deadline_after_ms(MS);
	do
		code = place(&o, 300, &st, "apple", 1, NULL, 0);
	while (code == LRPC_UNAVAILABLE && lrpc_now() < until);
	ck_assert_msg(code == LRPC_DEADLINE_EXCEEDED, "%d: %s", code, st.message);
	/* Orders puts the apple back after its own leg gave up, which may be
	 * just after our call did: ask until it is back, within a bound. */
	until = lrpc_deadline_after_ms(MS);
	while (stock_of("apple") != 3 && lrpc_now() < until)
		;
	ck_assert_uint_eq(stock_of("apple"), 3);
	teardown();
}
END_TEST

/* The value of header \p key in \p l, "" if absent. */
static const char *header(const lrpc_metadata_list *l, const char *key)
{
	static char v[200];
	const lrpc_metadata *m = lrpc_metadata_list_find(l, key);

	snprintf(v, sizeof(v), "%.*s", m ? (int)m->value_len : 0, m ? (const char *)m->value : "");
	return v;
}

/* Orders.Place of \p req with \p o, which must succeed. */
static void place_opts(const Lazyrpc__Shop__PlaceRequest *req, const lrpc_call_opts *o)
{
	Lazyrpc__Shop__Order *rep = NULL;
	lrpc_status st;

	ck_assert_int_eq(lrpc_channel_call_opts(ord, &lazyrpc__shop__orders__service_desc.methods[0],
						&req->base, (ProtobufCMessage **)&rep,
						lrpc_deadline_after_ms(MS), o, &st),
			 LRPC_OK);
	lazyrpc__shop__order__free_unpacked(rep, NULL);
}

/* Orders passes the caller's x-request-id on to both parallel legs; each
 * callee says back what it got, and Orders reports that. */
START_TEST(the_request_id_reaches_both_legs)
{
	Lazyrpc__Shop__PlaceRequest req = LAZYRPC__SHOP__PLACE_REQUEST__INIT;
	const lrpc_metadata rid = { "x-request-id", "rid-shop.7", 10 };
	lrpc_call_opts o = LRPC_CALL_OPTS_INIT;

	setup();

	set_stock("apple", 5);
	req.items = items(&req.n_items, "apple", 1, NULL);
	ck_assert_int_eq(lrpc_metadata_list_new(&o.headers), 0);
	o.metadata = &rid;
	o.n_metadata = 1;
	place_opts(&req, &o);
	ck_assert_str_eq(header(o.headers, "x-request-id"), "rid-shop.7");
	ck_assert_str_eq(header(o.headers, "x-inventory-request-id"), "rid-shop.7");
	ck_assert_str_eq(header(o.headers, "x-pricing-request-id"), "rid-shop.7");
	/* No id: none is made up on the way. */
	o.n_metadata = 0;
	place_opts(&req, &o);
	ck_assert_uint_eq(lrpc_metadata_list_get(o.headers, NULL), 0);
	lrpc_metadata_list_free(o.headers);
	teardown();
}
END_TEST

int main(void)
{
	const TTest *const t[] = { an_order_is_reserved_priced_and_stored,
				   a_failed_leg_is_named_and_undone,
				   browse_reports_a_failed_leg_and_answers,
				   the_deadline_is_passed_on,
				   the_request_id_reaches_both_legs };

	return h_run("shop", t, 5, 120);
}
