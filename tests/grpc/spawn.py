# SPDX-License-Identifier: MIT
"""Start a lazyrpc server that prints "listen URI" lines, then "ready"
(tests/integration/probe.c, tests/std/std_server.c), for the grpc tests."""
import subprocess


def grpc_server(argv, env):
    """Run argv; return (process, HOST:PORT of its grpc:// listener), or
    (process, None) after killing a server that printed none."""
    server = subprocess.Popen(argv, stdout=subprocess.PIPE, env=env, text=True)
    target = None
    for line in server.stdout:
        if line.startswith("listen grpc://"):
            target = line.split("grpc://", 1)[1].strip()
        if line.strip() == "ready":
            break
    if not target:
        server.kill()
    return server, target
