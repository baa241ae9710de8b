#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""lazyrpc's grpc:// client against Python gRPC's server (Debian's
python3-grpcio): this script serves lrpctest.Probe's Echo, Fail and Slow
with grpcio's generic handlers and runs the probe binary's client modes
against it.

    client_interop.py PROBE

Exit 0: every case passed; 1: one failed; 77: no grpcio.
"""
import os
import subprocess
import sys
import threading
from concurrent import futures

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from grpc_peer import need_grpc  # noqa: E402

grpc = need_grpc()

from interop import echo_msg, fields, varint  # noqa: E402

FAILED = []
hold = threading.Event()


def echo(req, ctx):
    f = fields(req)
    payload, seq, size = f.get(1, b""), f.get(2, 0), f.get(3, 0)
    if size:
        payload = b"r" * size
    if seq == 3 and ctx.time_remaining() is not None and ctx.time_remaining() < 5:
        # The storm's fourth call: answer only after its deadline.
        hold.wait(ctx.time_remaining() + 1)
    return echo_msg(payload, seq)


def fail(req, ctx):
    f = fields(req)
    ctx.abort(grpc.StatusCode(next(c for c in grpc.StatusCode if c.value[0] == f.get(1, 2))),
              f.get(2, b"").decode("utf-8"))


def ident(b):
    return b


class Probe(grpc.GenericRpcHandler):
    def service(self, details):
        fn = {"/lrpctest.Probe/Echo": echo, "/lrpctest.Probe/Fail": fail}.get(details.method)
        if not fn:
            return None
        return grpc.unary_unary_rpc_method_handler(fn, request_deserializer=ident,
                                                   response_serializer=ident)


def check(name, argv, want=0):
    r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True, timeout=120)
    if r.returncode == want:
        print("PASS", name)
    else:
        print("FAIL %s: exit %d: %s" % (name, r.returncode, r.stderr.strip()))
        FAILED.append(name)


def main():
    probe = sys.argv[1]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16),
                         handlers=[Probe()],
                         options=[("grpc.max_receive_message_length", 8 << 20)])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    uri = "grpc://127.0.0.1:%d" % port
    # Echo from 4 threads at once, every reply checked against its call.
    check("unary_load", [probe, "load", uri, "4", "300"])
    for code, text in ((5, "not found here"), (10, "aborted"),
                       (2, "\t\nwhitespace\r\n, \u263a and \U0001f608 100%")):
        check("status_%d" % code, [probe, "fail", uri, str(code), text])
    # A server without lrpctest.Probe at all: UNIMPLEMENTED.
    bare = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    bare_port = bare.add_insecure_port("127.0.0.1:0")
    bare.start()
    check("unimplemented_service",
          [probe, "fail", "grpc://127.0.0.1:%d" % bare_port, "12", "*"])
    bare.stop(0).wait()
    # Calls with a 200 ms deadline until one fails: the fourth is held
    # past it, so it must end DEADLINE_EXCEEDED, and not late (exit 3).
    check("deadline", [probe, "storm", uri, "200"])
    hold.set()
    # A server that is gone: UNAVAILABLE from open or the call.
    server.stop(0).wait()
    check("server_gone", [probe, "load", uri, "1", "1"], want=1)
    if FAILED:
        print("failed:", " ".join(FAILED))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
