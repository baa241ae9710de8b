#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`lazyrpc list` and `lazyrpc stats` against a live std_server (which
serves lazyrpc.stats.v1.Stats) and a greeter (which does not), and their
error messages for a missing service and bad usage.

And that its man page and bash completion know every subcommand.

Usage: test_tool.py LAZYRPC STD_SERVER GREETER_SERVER MANPAGE COMPLETION
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

from checks import WAIT, check, start, verdict  # tests/tools/checks.py

TOOL, STD, GREETER, MANPAGE, COMPLETION = sys.argv[1:6]


def tool(*args):
    return subprocess.run([TOOL] + list(args), capture_output=True, text=True, timeout=WAIT)


def docs():
    """The man page and the completion follow `lazyrpc help`."""
    r = tool("help")
    cmds = [l.split()[0] for l in r.stdout.splitlines() if l.startswith("  ")]
    check(r.returncode == 0 and {"call", "describe", "health", "list", "stats",
                                         "up"} <= set(cmds), "help lists %s" % cmds)
    man = open(MANPAGE).read()
    for c in cmds:
        check((".B lazyrpc %s" % c) in man and ("\n.B %s\n" % c) in man,
              "the man page has a synopsis and a section for '%s'" % c)
    if shutil.which("groff"):
        g = subprocess.run(["groff", "-man", "-ww", "-z", MANPAGE], capture_output=True,
                           text=True, timeout=WAIT)
        check(g.returncode == 0 and not g.stderr, "groff -ww has nothing to say: %s" % g.stderr)
    for words, want in ((["lazyrpc", ""], set(cmds) | {"help"}),
                        (["lazyrpc", "stats", "--"], {"--json", "--prefix", "--deadline",
                                                      "--handoff"}),
                        (["lazyrpc", "call", "svc", "-"], {"--json", "-H", "--deadline"}),
                        (["lazyrpc", "describe", "grpc+"], {"grpc+unix://"}),
                        (["lazyrpc", "health", "x", "--j"], {"--json"}),
                        (["lazyrpc", "list", "--handoff", "r"], {"rpal-kernel"})):
        script = ('source "%s"; COMP_WORDS=(%s); COMP_CWORD=%d; _lazyrpc; '
                  'printf "%%s\\n" "${COMPREPLY[@]}"' %
                  (COMPLETION, " ".join("'%s'" % w for w in words), len(words) - 1))
        b = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                           timeout=WAIT)
        got = set(b.stdout.split())
        check(b.returncode == 0 and want <= got, "completion of %s: %s" % (words, got))


def main():
    docs()
    with tempfile.TemporaryDirectory(prefix="lazyrpc-tool-") as d:
        os.chmod(d, 0o700)
        os.environ["LAZYRPC_DIR"] = d
        std = start([STD, "svc"], "ready")
        try:
            greeter = start([GREETER, "lrpc://greeter"], "greeter-server: serving")
            try:
                run(d, std, greeter)
            finally:
                greeter.terminate()
                greeter.wait(WAIT)
        finally:
            std.terminate()
            std.wait(WAIT)
    return verdict()


def run(d, std, greeter):
    r = tool("list", "--json")
    check(r.returncode == 0, "list --json runs (%s)" % r.stderr.strip())
    out = json.loads(r.stdout)
    by = {s["name"]: s for s in out["services"]}
    check(out["dir"] == d, "it lists LAZYRPC_DIR")
    s = by.get("svc", {})
    check(s.get("pid") == std.pid and s.get("uid") == os.geteuid() and
          s.get("program") == "std_server" and s.get("transport") == "lrpc" and
          s.get("handoff") in ("futex", "rpal-kernel") and s.get("uptime_s", -1) >= 0,
          "the std server, with its pid, uid, program and hand-off: %s" % s)
    check(by.get("greeter", {}).get("pid") == greeter.pid, "the greeter too")
    check(by.get("svc.sock", {}).get("transport") == "socket",
          "a unix:// socket is listed as one")
    r = tool("list")
    check(r.returncode == 0 and r.stdout.startswith("NAME") and
          any(l.split()[:2] == ["svc", str(std.pid)] for l in r.stdout.splitlines()),
          "list prints a table")
    r = tool("list", "--dir", os.path.join(d, "absent"), "--json")
    check(r.returncode == 0 and json.loads(r.stdout)["services"] == [],
          "a directory that does not exist lists nothing")

    for i in range(3):
        r = tool("stats", "lrpc://svc", "--json")
    check(r.returncode == 0, "stats --json runs (%s)" % r.stderr.strip())
    st = json.loads(r.stdout)
    get = [m for m in st["methods"] if m["method"] == "lazyrpc.stats.v1.Stats/Get"]
    check(len(get) == 1 and get[0]["calls"] == 2 and get[0]["errors"] == 0 and
          get[0]["codes"] == {"OK": 2} and 0 < get[0]["p50_ns"] <= get[0]["max_ns"],
          "stats counts the earlier Gets: %s" % get)
    check(st["clients_accepted"] >= 3 and st["uptime_ns"] > 0, "and the server's counts")
    r = tool("stats", "unix://%s/svc.sock" % d, "--prefix", "grpc.")
    check(r.returncode == 0 and "METHOD" in r.stdout and "Stats/Get" not in r.stdout,
          "over unix://, --prefix filters")

    r = tool("stats", "lrpc://nothere")
    check(r.returncode == 1 and "no service 'nothere' listens in " + d in r.stderr,
          "a missing service is named: %s" % r.stderr.strip())
    r = tool("stats", "lrpc://greeter")
    check(r.returncode == 1 and "UNIMPLEMENTED" in r.stderr and
          "lrpc_server_add_stats" in r.stderr,
          "a server without stats says so: %s" % r.stderr.strip())
    r = tool("stats")
    check(r.returncode == 2 and "usage: lazyrpc stats TARGET" in r.stderr, "stats without a URI")
    r = tool("stats", "lrpc://svc", "--deadline", "soon")
    check(r.returncode == 2 and "--deadline takes milliseconds" in r.stderr, "a bad deadline")
    r = tool("stats", "bogus://x")
    check(r.returncode == 1 and r.stderr.startswith("lazyrpc: "), "a bad URI: %s" % r.stderr.strip())


if __name__ == "__main__":
    sys.exit(main())
