#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""One request id through the whole shop: HTTP -> gateway -> orders ->
(inventory, pricing in parallel) -> kv, every hop over lrpc://.
test_shop_gateway.py GATEWAY KV_SERVER SHOP_SERVER

The id the client sends as X-Request-Id goes to orders as x-request-id
metadata; orders passes it to both parallel legs in their call options;
inventory and pricing say back what they got as their response header
x-request-id; orders reports those as x-inventory-request-id and
x-pricing-request-id; the gateway forwards its backend's response headers
as Grpc-Metadata-*. So the two headers below are what the two handlers
saw."""
import http.client
import json
import os
import sys
import tempfile

from svc_test import Proc, check, failures

GATEWAY, KV, SHOP = sys.argv[1:4]


def post(port, path, body, headers):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("POST", path, body=json.dumps(body),
              headers=dict(headers, **{"Content-Type": "application/json"}))
    r = c.getresponse()
    text = r.read().decode()
    hdrs = {k.lower(): v for k, v in r.getheaders()}
    c.close()
    return r.status, hdrs, text


def main():
    tmp = tempfile.mkdtemp(prefix="shopgw-")
    os.chmod(tmp, 0o700)
    env = dict(os.environ, LAZYRPC_DIR=tmp)
    procs = []
    try:
        for argv in ([KV, "--dir", os.path.join(tmp, "kvdata"), "lrpc://kv"],
                     [SHOP, "--role", "pricing", "--price", "apple=120", "lrpc://pricing"],
                     [SHOP, "--role", "inventory", "--kv", "lrpc://kv", "lrpc://inventory"],
                     [SHOP, "--role", "orders", "--kv", "lrpc://kv", "--inventory",
                      "lrpc://inventory", "--pricing", "lrpc://pricing", "lrpc://orders"]):
            procs.append(Proc(argv, env))
            procs[-1].expect("ready")
        cfg = {"listen": "127.0.0.1:0",
               "backends": [{"uri": "lrpc://orders", "services": ["lazyrpc.shop.Orders"]},
                            {"uri": "lrpc://inventory",
                             "services": ["lazyrpc.shop.Inventory"]}]}
        path = os.path.join(tmp, "gateway.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        procs.append(Proc([GATEWAY, path], env))
        port = int(procs[-1].expect("gateway: listening on http://127.0.0.1:"))

        st, _, text = post(port, "/lazyrpc.shop.Inventory/SetStock",
                           {"items": [{"sku": "apple", "qty": 5}]}, {})
        check(st == 200, "SetStock: %s %s" % (st, text))
        rid = "rid-gw.42"
        st, h, text = post(port, "/lazyrpc.shop.Orders/Place",
                           {"items": [{"sku": "apple", "qty": 2}]}, {"X-Request-Id": rid})
        check(st == 200 and json.loads(text).get("totalCents") == "240",
              "Place: %s %s" % (st, text))
        check(h.get("x-request-id") == rid, "X-Request-Id back: %r" % h.get("x-request-id"))
        check(h.get("grpc-metadata-x-request-id") == rid,
              "orders saw %r" % h.get("grpc-metadata-x-request-id"))
        check(h.get("grpc-metadata-x-inventory-request-id") == rid,
              "inventory saw %r" % h.get("grpc-metadata-x-inventory-request-id"))
        check(h.get("grpc-metadata-x-pricing-request-id") == rid,
              "pricing saw %r" % h.get("grpc-metadata-x-pricing-request-id"))
        # Browse fans out the same way.
        st, h, text = post(port, "/lazyrpc.shop.Orders/Browse", {"skus": ["apple"]},
                           {"X-Request-Id": "rid-browse"})
        check(st == 200, "Browse: %s %s" % (st, text))
        check(h.get("grpc-metadata-x-inventory-request-id") == "rid-browse" and
              h.get("grpc-metadata-x-pricing-request-id") == "rid-browse",
              "Browse legs saw %r, %r" % (h.get("grpc-metadata-x-inventory-request-id"),
                                          h.get("grpc-metadata-x-pricing-request-id")))
        # Without one the gateway makes one up, and that one goes through.
        st, h, text = post(port, "/lazyrpc.shop.Orders/Browse", {"skus": ["apple"]}, {})
        made = h.get("x-request-id", "")
        check(st == 200 and len(made) == 32, "a made-up id: %s %r" % (st, made))
        check(h.get("grpc-metadata-x-pricing-request-id") == made,
              "pricing saw %r, not %r" % (h.get("grpc-metadata-x-pricing-request-id"), made))
    finally:
        for p in reversed(procs):
            p.stop()
    if failures:
        print("%d failed" % len(failures))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
