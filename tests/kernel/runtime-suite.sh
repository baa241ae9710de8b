#!/usr/bin/env bash
# Stage the runtime's lrpc:// tests into a guest root: every test that
# meson BUILD has in suite 'lrpc' (the greeter and the integration tests),
# with the helpers its environment names and the shared libraries they
# load, and a line per test in the guest's list. The tests rerun themselves
# once per hand-off the machine offers (tests/integration/harness.c);
# inside the RPAL kernel that must include rpal-kernel and rpal-user (whose
# run starts each test, and the servers it starts, with lazyrpc-exec).
#
# Usage: runtime-suite.sh BUILD ROOT LIST [HANDOFFS]
# HANDOFFS (space-separated) limits the reruns to those hand-offs.
# RUNTIME_BENCH=y adds the runtime's round-trip bench over each hand-off
# (guest/runtime-bench) to the list, as a bench.
# Time budget (shared 2-core host, load 7-12, session 9): the rerun over
# rpal-user adds about 200 s of guest time to the suite (550 s for all three
# hand-offs), the bench about 90 s.
set -euo pipefail
build=$(cd "$1" && pwd) root=$2 list=$3 only=${4:-}
rt=$root/rt
mkdir -p "$rt"

# A binary and everything ld.so would load for it. The build tree goes
# under /rt keeping its shape (meson's rpaths are relative to the binary;
# the guest mounts its own /tmp), system libraries at their own paths.
guest_path() {
	case "$1" in
	"$build"/*) echo "/rt$1" ;;
	*) echo "$1" ;;
	esac
}
stage() {
	local lib dst

	for lib in "$1" $(ldd "$1" | grep -o '/[^ ]*'); do
		dst=$root$(guest_path "$lib")
		mkdir -p "$(dirname "$dst")"
		cp -nL "$lib" "$dst"
	done
}

# One line per test from meson's own list: name, timeout, command, then
# the environment meson would set (NAME=VALUE, tab-separated).
tests=$(python3 - "$build/meson-info/intro-tests.json" <<'PY'
import json, sys

for t in json.load(open(sys.argv[1])):
    if not any(s.split(':')[-1] == 'lrpc' for s in t['suite']):
        continue
    env = ['%s=%s' % kv for kv in sorted(t['env'].items())]
    print('\t'.join([t['name'], str(t['timeout']), ' '.join(t['cmd'])] + env))
PY
)
[ -n "$tests" ] || { echo "runtime-suite: no lrpc tests in $build" >&2; exit 1; }

mkdir -p "$rt/t"
while IFS=$'\t' read -r -a f; do
	name=${f[0]} cmd=${f[2]}
	stage "$cmd"
	{
		echo '#!/bin/sh'
		for kv in "${f[@]:3}"; do
			val=${kv#*=}
			# Helpers the test starts come along; every path into
			# the build tree is the guest's /rt copy.
			if [ -f "$val" ] && [ -x "$val" ]; then stage "$val"; fi
			echo "export ${kv%%=*}='${val//$build//rt$build}'"
		done
		echo "export LRPC_TEST_HANDOFF_REQUIRE='rpal-kernel rpal-user'"
		[ -z "$only" ] || echo "export LRPC_TEST_HANDOFF_ONLY='$only'"
		# Software emulation is slow: fewer calls, same checks.
		echo "export LRPC_LOAD_CALLS=1000 LRPC_RACE_ROUNDS=20 CK_DEFAULT_TIMEOUT=300"
		echo "exec $(guest_path "$cmd")"
	} >"$rt/t/$name"
	chmod +x "$rt/t/$name"
	echo "test runtime/$name 600 /rt/t/$name" >>"$list"
done <<<"$tests"

# The bench takes the probe and the launcher the tests have staged.
if [ "${RUNTIME_BENCH:-n}" = y ]; then
	cp "$(dirname "$0")/guest/runtime-bench" "$rt/runtime-bench"
	{
		echo '#!/bin/sh'
		grep -E "^export (LD_LIBRARY_PATH|LRPC_PROBE|LRPC_EXEC)=" "$rt/t/$name"
		echo "exec /rt/runtime-bench"
	} >"$rt/t/pingpong"
	chmod +x "$rt/t/pingpong"
	echo "bench runtime/pingpong 900 /rt/t/pingpong" >>"$list"
fi
