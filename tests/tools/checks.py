# SPDX-License-Identifier: MIT
"""What the tools' tests share: a check that reports and is counted, and
starting a server."""
import os
import select
import subprocess
import sys

WAIT = 20.0  # seconds any one wait may take
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def start(argv, ready):
    """A server whose stdout has printed a line starting with ready; its
    lines up to then in p.banner. Read unbuffered: select() knows nothing
    of a file object's buffer."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE)
    buf = b""
    while not any(l.startswith(ready.encode()) for l in buf.split(b"\n")):
        r, _, _ = select.select([p.stdout], [], [], WAIT)
        chunk = os.read(p.stdout.fileno(), 4096) if r else b""
        if not chunk:
            p.kill()
            p.wait()
            raise SystemExit("%s did not start" % argv[0])
        buf += chunk
    p.banner = buf.decode().splitlines()
    return p


def verdict():
    """The exit status: 1 if any check failed."""
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit("checks.py is imported by the tests, not run")
