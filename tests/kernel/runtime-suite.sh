#!/usr/bin/env bash
# Stage the runtime's own tests into a guest root: the greeter and the
# lrpc:// integration tests, built by meson in BUILD, with the shared
# libraries they load, and a line per test in the guest's list. Inside the
# RPAL kernel they must run over the rpal-kernel hand-off.
#
# Usage: runtime-suite.sh BUILD ROOT LIST
set -euo pipefail
build=$(cd "$1" && pwd) root=$2 list=$3
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

tests="greeter load server_death client_death deadline errors hostile setup_errors peercred graceful_stop"
for t in $tests; do
	stage "$build/tests/integration/test_$t"
done
stage "$build/tests/integration/probe"
stage "$build/tests/integration/hostile"
stage "$build/examples/greeter/greeter-server"
stage "$build/examples/greeter/greeter-client"

# Guest-side wrapper: the environment meson sets on the host.
b=/rt$build
cat >"$rt/run" <<SH
#!/bin/sh
export LRPC_PROBE=$b/tests/integration/probe
export LRPC_HOSTILE=$b/tests/integration/hostile
export LRPC_GREETER_SERVER=$b/examples/greeter/greeter-server
export LRPC_GREETER_CLIENT=$b/examples/greeter/greeter-client
export LRPC_TEST_TRANSPORT=lrpc LRPC_EXPECT_HANDOFF=rpal-kernel
# Software emulation is slow: fewer calls, same checks.
export LRPC_LOAD_CALLS=1000
export CK_DEFAULT_TIMEOUT=300
exec $b/tests/integration/\$1
SH
chmod +x "$rt/run"
for t in $tests; do
	echo "test runtime/$t 600 /rt/run test_$t" >>"$list"
done
