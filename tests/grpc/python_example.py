#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""docs/grpc.md's worked example, run as written: greeter-server over
grpc://, Python stubs from greeter.proto by grpc_tools, and
examples/python/greeter_client.py, for a name and for an empty one (the
server's INVALID_ARGUMENT must reach Python with its message).

    python_example.py GREETER_SERVER GREETER_PROTO_DIR CLIENT_SCRIPT [--unix]

With --unix the greeter serves grpc+unix://PATH and Python dials it as
gRPC clients dial a Unix socket, the target "unix:PATH".

Exit 0: passed; 1: failed; 77: python3-grpcio or python3-grpc-tools missing.
"""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from grpc_peer import need_grpc  # noqa: E402

need_grpc()
try:
    import grpc_tools.protoc  # noqa: F401
except ImportError:
    print("SKIP: python3-grpc-tools is not installed")
    sys.exit(77)


def main():
    server_bin, proto_dir, client = sys.argv[1:4]
    unix = "--unix" in sys.argv[4:]
    tmp = tempfile.mkdtemp(prefix="lrpc-pyex-")
    server = None
    try:
        subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I", proto_dir,
                        "--python_out=" + tmp, "--grpc_python_out=" + tmp,
                        "greeter.proto"], check=True)
        env = dict(os.environ, LAZYRPC_DIR=tmp, PYTHONPATH=tmp)
        uri = "grpc+unix://" + tmp + "/greeter.sock" if unix else "grpc://127.0.0.1:0"
        scheme = uri.split("://", 1)[0] + "://"
        server = subprocess.Popen([server_bin, uri], stdout=subprocess.PIPE,
                                  env=env, text=True)
        line = server.stdout.readline()
        if not line.startswith("greeter-server: serving " + scheme):
            print("FAIL: the greeter said %r" % line)
            return 1
        target = line.split(scheme, 1)[1].strip()
        if unix:
            target = "unix:" + target
        r = subprocess.run([sys.executable, client, target, "Ada"], env=env,
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0 or r.stdout != "Hello, Ada!\n":
            print("FAIL: exit %d, %r %r" % (r.returncode, r.stdout, r.stderr))
            return 1
        r = subprocess.run([sys.executable, client, target, ""], env=env,
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 1 or "INVALID_ARGUMENT: name must not be empty" not in r.stderr:
            print("FAIL: empty name: exit %d, %r" % (r.returncode, r.stderr))
            return 1
        print("PASS python_example" + (" over grpc+unix://" if unix else ""))
        return 0
    finally:
        if server:
            server.terminate()
            server.wait(30)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
