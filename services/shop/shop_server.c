// SPDX-License-Identifier: MIT
/*
 * shop-server: one role of services/shop per process.
 *
 *   shop-server --role pricing [--price SKU=CENTS]... [--delay-ms N] URI...
 *   shop-server --role inventory --kv URI URI...
 *   shop-server --role orders --kv URI --inventory URI --pricing URI URI...
 *
 * and with any role --numa off|follow-client|interleave (where lrpc://
 * clients' regions and receivers go: lrpc_server_set_numa()). Each serves liblazyrpc-std's health, reflection and stats too, so
 * `lazyrpc stats` and gRPC tooling see it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lazyrpc/std.h>

#include "shop.h"

static lrpc_server *server;

static void on_signal(int sig)
{
	(void)sig;
	lrpc_server_stop(server);
}

lrpc_code shop_check_items(lrpc_call *call, Lazyrpc__Shop__Item *const *items, size_t n)
{
	if (n == 0 || n > SHOP_ITEMS_MAX) {
		lrpc_call_set_message(call, "an order has 1..%d items, not %zu", SHOP_ITEMS_MAX, n);
		return LRPC_INVALID_ARGUMENT;
	}
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(items[i]->sku);

		if (len == 0 || len > SHOP_SKU_MAX || items[i]->qty == 0 ||
		    items[i]->qty > 10000) {
			lrpc_call_set_message(call, "item %zu: a SKU of 1..%d bytes and a "
					      "quantity of 1..10000", i, SHOP_SKU_MAX);
			return LRPC_INVALID_ARGUMENT;
		}
	}
	return LRPC_OK;
}

static int usage(void)
{
	fprintf(stderr, "usage: shop-server --role pricing [--price SKU=CENTS]... [--delay-ms N] URI...\n"
			"       shop-server --role inventory --kv URI URI...\n"
			"       shop-server --role orders --kv URI --inventory URI --pricing URI URI...\n"
			"       (any role: [--numa off|follow-client|interleave])\n");
	return 2;
}

static int add_price(struct shop *s, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char *end;

	if (!eq || eq == arg || eq - arg > SHOP_SKU_MAX || s->nprices == SHOP_PRICES_MAX)
		return -1;
	memcpy(s->prices[s->nprices].sku, arg, (size_t)(eq - arg));
	s->prices[s->nprices].cents = strtoull(eq + 1, &end, 10);
	if (*end || end == eq + 1)
		return -1;
	s->nprices++;
	return 0;
}

static int dial(lrpc_channel **ch, const char *uri)
{
	lrpc_channel_opts o;
	int ret;

	lrpc_channel_opts_init(&o);
	/* The peer must be up to open (lazyrpc up starts them in order);
	 * calls made while it restarts wait for it, until their deadline. */
	o.wait_for_ready = 1;
	ret = lrpc_channel_open(uri, &o, ch);
	if (ret < 0)
		fprintf(stderr, "shop-server: %s: %s\n", uri, strerror(-ret));
	return ret;
}

int main(int argc, char **argv)
{
	static struct shop s;
	const char *role = NULL, *kv = NULL, *inv = NULL, *pri = NULL;
	lrpc_numa_mode numa = LRPC_NUMA_OFF;
	char real[300];
	int i, first, ret = 0;

	for (i = 1; i + 1 < argc && !strncmp(argv[i], "--", 2); i += 2) {
		if (!strcmp(argv[i], "--role"))
			role = argv[i + 1];
		else if (!strcmp(argv[i], "--kv"))
			kv = argv[i + 1];
		else if (!strcmp(argv[i], "--inventory"))
			inv = argv[i + 1];
		else if (!strcmp(argv[i], "--pricing"))
			pri = argv[i + 1];
		else if (!strcmp(argv[i], "--delay-ms"))
			s.delay_ms = (unsigned int)strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--price") && add_price(&s, argv[i + 1]) == 0)
			continue;
		else if (!strcmp(argv[i], "--numa") && !lrpc_numa_mode_parse(argv[i + 1], &numa))
			continue;
		else
			return usage();
	}
	first = i;
	if (!role || first >= argc)
		return usage();
	if (!strcmp(role, "pricing")) {
		ret = 0;
	} else if (!strcmp(role, "inventory") && kv) {
		ret = dial(&s.kv, kv);
	} else if (!strcmp(role, "orders") && kv && inv && pri) {
		ret = dial(&s.kv, kv);
		if (!ret)
			ret = dial(&s.inventory, inv);
		if (!ret)
			ret = dial(&s.pricing, pri);
	} else {
		return usage();
	}
	if (!ret)
		ret = lrpc_server_new(NULL, &server);
	if (!ret)
		ret = lrpc_server_set_numa(server, numa);
	if (!ret)
		ret = lrpc_server_add_stats(server);
	if (!ret)
		ret = lrpc_server_add_reflection(server);
	if (!ret)
		ret = lrpc_server_add_health(server, NULL);
	if (!ret)
		ret = !strcmp(role, "pricing") ? shop_pricing_register(server, &s) :
		      !strcmp(role, "inventory") ? shop_inventory_register(server, &s) :
						   shop_orders_register(server, &s);
	if (!ret)
		ret = shop_request_id_setup(server, &s);
	for (i = first; !ret && i < argc; i++)
		ret = lrpc_server_listen(server, argv[i]);
	if (!ret)
		ret = lrpc_server_start(server);
	if (ret) {
		fprintf(stderr, "shop-server: %s %s\n", strerror(-ret),
			server ? lrpc_server_error(server) : "");
		return 1;
	}
	for (i = first; i < argc; i++)
		if (lrpc_server_listener_uri(server, (unsigned int)(i - first), real,
					     sizeof(real)) == 0)
			printf("listen %s\n", real);
	printf("ready\n");
	fflush(stdout);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	lrpc_server_run(server);
	lrpc_server_free(server);
	lrpc_channel_close(s.kv);
	lrpc_channel_close(s.inventory);
	lrpc_channel_close(s.pricing);
	return 0;
}
