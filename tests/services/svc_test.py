# SPDX-License-Identifier: MIT
"""What the services' Python tests share: checks that collect failures
instead of stopping, and processes whose stdout they wait on (a line, not
a sleep)."""
import signal
import subprocess

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)


class Proc:
    def __init__(self, args, env):
        self.p = subprocess.Popen(args, stdout=subprocess.PIPE, env=env, text=True)

    def expect(self, prefix):
        """The next line of the process's stdout that starts with prefix."""
        for line in self.p.stdout:
            if line.startswith(prefix):
                return line[len(prefix):].strip()
        raise SystemExit("%s ended before printing %r" % (self.p.args[0], prefix))

    def stop(self):
        """SIGTERM, and wait for it, if it still runs."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            self.p.wait(timeout=30)
