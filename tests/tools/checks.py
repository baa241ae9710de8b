# SPDX-License-Identifier: MIT
"""What the tools' tests share: a check that reports and is counted."""
import sys

WAIT = 20.0  # seconds any one wait may take
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def verdict():
    """The exit status: 1 if any check failed."""
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit("checks.py is imported by the tests, not run")
