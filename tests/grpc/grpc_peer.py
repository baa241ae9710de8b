# SPDX-License-Identifier: MIT
"""What the grpc:// test scripts share: finding Python gRPC and starting a
lazyrpc server that prints "listen URI" lines, then "ready"."""
import os
import subprocess
import sys


def need_grpc():
    """The grpc module; else rerun under Debian's python3, where
    python3-grpcio lives, or exit 77 (SKIP)."""
    try:
        import grpc
        return grpc
    except ImportError:
        if os.path.exists("/usr/bin/python3") and sys.executable != "/usr/bin/python3":
            os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
        print("SKIP: python3-grpcio is not installed")
        sys.exit(77)


def start_server(argv, env):
    """Start argv and read its output up to "ready". \\return the process
    and the HOST:PORT of its grpc:// listener (None if it has none: the
    process is then killed)."""
    server = subprocess.Popen(argv, stdout=subprocess.PIPE, env=env, text=True)
    target = None
    for line in server.stdout:
        if line.startswith("listen grpc://"):
            target = line.split("grpc://", 1)[1].strip()
        if line.strip() == "ready":
            break
    if not target:
        server.kill()
        server.wait()
    return server, target
