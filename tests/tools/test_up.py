#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`lazyrpc up`: services start in order once each is ready, one killed is
restarted and serves again, one that keeps failing makes the supervisor
give up, a stop signal stops them in reverse order, a supervisor killed
outright takes its services along, and bad manifests are refused with the
line and the reason.

Usage: test_up.py LAZYRPC GREETER_SERVER GREETER_CLIENT KV_SERVER
Every wait is for a line of output or a process's end, bounded by a
deadline; nothing sleeps.
"""
import os
import select
import signal
import subprocess
import sys
import tempfile
import time

from checks import WAIT, check, verdict  # tests/tools/checks.py

TOOL, GREETER, CLIENT, KV = sys.argv[1:5]


class Up:
    """A `lazyrpc up` run whose stdout is read line by line."""

    def __init__(self, manifest):
        self.p = subprocess.Popen([TOOL, "up", manifest], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT)
        self.lines = []
        self.buf = b""

    def expect(self, text, timeout=WAIT):
        """The first line (since the last expect) containing text, or None."""
        end = time.monotonic() + timeout
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                line = line.decode(errors="replace")
                self.lines.append(line)
                if text in line:
                    return line
            left = end - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if not r:
                return None
            chunk = os.read(self.p.stdout.fileno(), 4096)
            if not chunk:
                return None
            self.buf += chunk

    def finish(self, timeout=WAIT):
        """Read to the end; the exit status."""
        self.expect("\0never\0", timeout)
        return self.p.wait(timeout=timeout)


def pid_of(line):
    return int(line.rsplit("pid ", 1)[1].rstrip(")"))


def gone(pid, timeout=WAIT):
    """Wait for a process we are not the parent of to end."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        r, _, _ = select.select([fd], [], [], timeout)
        return bool(r)
    finally:
        os.close(fd)


def write(d, name, text):
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def greet(name):
    r = subprocess.run([CLIENT, "lrpc://greeter", name], capture_output=True,
                       text=True, timeout=WAIT)
    return r.returncode == 0 and ("Hello, %s!" % name) in r.stdout


def greeter_section():
    return f"""
[greeter]
run = {GREETER} lrpc://greeter
ready = lrpc://greeter
"""


def mesh(d):
    """The greeter, then a kv store."""
    return write(d, "mesh.conf", greeter_section() + f"""
[kv]
run = {KV} --dir {d}/kvdata lrpc://kv
ready = lrpc://kv
restart = always
""")


def test_mesh(d):
    up = Up(mesh(d))
    g = up.expect("started greeter")
    check(g is not None and up.expect("greeter is ready") is not None,
          "the greeter starts and is ready")
    k = up.expect("started kv")
    check(k is not None and up.expect("all 2 services are up") is not None,
          "kv starts after it, then all are up")
    check(greet("Ada"), "a call through the mesh")
    os.kill(pid_of(g), signal.SIGKILL)
    check(up.expect("greeter was killed by signal 9") is not None and
          up.expect("restarting greeter in") is not None, "a killed service is seen")
    g2 = up.expect("started greeter")
    check(g2 is not None and pid_of(g2) != pid_of(g) and
          up.expect("greeter is ready") is not None, "...and restarted")
    check(greet("Grace"), "the restarted service serves")
    up.p.send_signal(signal.SIGTERM)
    s1 = up.expect("stopped kv")
    s2 = up.expect("stopped greeter")
    check(s1 is not None and s2 is not None, "SIGTERM stops kv, then the greeter")
    check(up.finish() == 0, "and the supervisor exits 0")
    check(gone(pid_of(k), 1) and gone(pid_of(g2), 1), "no service is left running")


def test_supervisor_killed(d):
    up = Up(mesh(d))
    g = up.expect("started greeter")
    check(up.expect("all 2 services are up") is not None, "up again")
    up.p.kill()
    up.p.wait()
    check(g is not None and gone(pid_of(g)), "a supervisor killed outright takes its services along")


def test_gives_up(d):
    m = write(d, "flaky.conf", greeter_section() + """
[flaky]
run = /bin/false
restart = always
""")
    up = Up(m)
    check(up.expect("giving up: flaky ended 6 times within 60 s") is not None,
          "a service that keeps failing is given up on after 5 restarts")
    check(up.expect("stopped greeter") is not None, "and the rest is stopped")
    check(up.finish() == 1, "with exit status 1")


def test_not_restarted(d):
    m = write(d, "once.conf", greeter_section() + """
[once]
run = /bin/true
restart = on-failure
""")
    up = Up(m)
    check(up.expect("once is not restarted (restart = on-failure)") is not None,
          "a service that ends well is not restarted on-failure")
    check(greet("Linus"), "and the others go on")
    up.p.send_signal(signal.SIGINT)
    check(up.finish() == 0, "SIGINT stops too")


def test_never_ready(d):
    m = write(d, "slow.conf", f"""
[sleepy]
run = /bin/sleep 600
ready = lrpc://nobody-serves-this
ready_timeout_ms = 300
[after]
run = {GREETER} lrpc://greeter
""")
    up = Up(m)
    s = up.expect("started sleepy")
    check(up.expect("sleepy was not ready within 300 ms") is not None,
          "a service that never gets ready fails the start")
    check(up.finish() == 1, "the supervisor exits 1")
    check(s is not None and gone(pid_of(s), 1), "having killed it")
    check(not any("started after" in l for l in up.lines), "and nothing after it started")
    m = write(d, "missing.conf", "[x]\nrun = /nonexistent/binary\nready = lrpc://x\n")
    up = Up(m)
    check(up.expect("/nonexistent/binary: No such file or directory") is not None and
          up.expect("x exited with status 127 before it was ready") is not None,
          "a command that does not exist says so")
    check(up.finish() == 1, "and fails")


def test_bad_manifests(d):
    cases = [
        ("[a]\nrun = /bin/true\nrnu = x\n", ":3: unknown key 'rnu'"),
        ("run = /bin/true\n", ":1: 'run' before the first [service]"),
        ("[a]\nready = lrpc://a\n", "[a] has no 'run'"),
        ("[a]\nrun = /bin/true\n[a]\nrun = /bin/true\n", ":3: service [a] given twice"),
        ("[a b]\nrun = x\n", ":1: bad service name 'a b'"),
        ("[a]\nrun = x\nrestart = sometimes\n", ":3: 'restart' is always, on-failure or never"),
        ("[a]\nrun = x\nready_timeout_ms = 0\n", ":3: 'ready_timeout_ms' must be 1..3600000"),
        ("[a]\nrun = x\nenv = NOEQUALS\n", ":3: 'env' needs KEY=VALUE"),
        ("[a]\nrun = " + "x" * 5000 + "\n", ":2: line longer than 4096 bytes"),
        ("# nothing\n", "no [service] sections"),
    ]
    for i, (text, want) in enumerate(cases):
        m = write(d, "bad%d.conf" % i, text)
        r = subprocess.run([TOOL, "up", m], capture_output=True, text=True, timeout=WAIT)
        check(r.returncode == 2 and want in r.stderr and not r.stdout,
              "bad manifest refused: %r (%s)" % (want, r.stderr.strip()))
    r = subprocess.run([TOOL, "up", os.path.join(d, "absent.conf")], capture_output=True,
                       text=True, timeout=WAIT)
    check(r.returncode == 2 and "absent.conf: No such file" in r.stderr, "a missing manifest")
    r = subprocess.run([TOOL, "frobnicate"], capture_output=True, text=True, timeout=WAIT)
    check(r.returncode == 2 and "unknown subcommand 'frobnicate'" in r.stderr and
          " up " in r.stderr, "an unknown subcommand lists the known ones")


def main():
    with tempfile.TemporaryDirectory(prefix="lazyrpc-up-") as d:
        os.chmod(d, 0o700)
        os.environ["LAZYRPC_DIR"] = d
        for t in (test_bad_manifests, test_mesh, test_supervisor_killed, test_gives_up,
                  test_not_restarted, test_never_ready):
            t(d)
    return verdict()


if __name__ == "__main__":
    sys.exit(main())
