#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Call lazyrpc's greeter from Python gRPC, as any gRPC client would.

Serve it over gRPC and generate the Python stubs from the same .proto:

    build/examples/greeter/greeter-server grpc://127.0.0.1:50051 &
    python3 -m grpc_tools.protoc -I examples/greeter \\
        --python_out=/tmp/gen --grpc_python_out=/tmp/gen greeter.proto
    PYTHONPATH=/tmp/gen python3 examples/python/greeter_client.py 127.0.0.1:50051 Ada

Nothing here knows the server is lazyrpc (docs/grpc.md).
"""
import sys

import grpc

import greeter_pb2
import greeter_pb2_grpc


def main():
    target = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:50051"
    name = sys.argv[2] if len(sys.argv) > 2 else "Ada"
    with grpc.insecure_channel(target) as channel:
        stub = greeter_pb2_grpc.GreeterStub(channel)
        try:
            reply = stub.SayHello(greeter_pb2.HelloRequest(name=name), timeout=5)
        except grpc.RpcError as e:
            print("error: %s: %s" % (e.code().name, e.details()), file=sys.stderr)
            return 1
        print(reply.message)
    return 0


if __name__ == "__main__":
    sys.exit(main())
