#!/usr/bin/env bash
# Install a build into a scratch root, then build the greeter the way an
# outside project would: the installed plugin, headers and pkg-config file
# only. Also compile the public header and generated stubs as C++.
set -euo pipefail
build=$(realpath "${1:?usage: check.sh BUILD_DIR}")
src=$(realpath "$(dirname "$0")/../..")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

DESTDIR="$work/root" meson install -C "$build" --quiet >/dev/null
prefix=$(meson introspect "$build" --buildoptions |
	 python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"))')
root="$work/root$prefix"
pc=$(dirname "$(find "$root" -name lazyrpc.pc | head -n1)")
export PKG_CONFIG_PATH="$pc" PKG_CONFIG_SYSROOT_DIR="$work/root"

mkdir "$work/app"
cp "$src"/examples/greeter/{greeter.proto,server.c,client.c} "$work/app/"
cd "$work/app"
protoc --plugin=protoc-gen-lazyrpc="$root/bin/protoc-gen-lazyrpc" \
	--c_out=. --lazyrpc_out=. greeter.proto
flags=(-std=gnu11 -Wall -Wextra -Werror -I.)
cc "${flags[@]}" -o server server.c greeter.pb-c.c greeter.lrpc.c $(pkg-config --cflags --libs lazyrpc)
cc "${flags[@]}" -o client client.c greeter.pb-c.c greeter.lrpc.c $(pkg-config --cflags --libs lazyrpc)
printf '#include <lazyrpc/lazyrpc.h>\n#include "greeter.lrpc.h"\nint main() { return lrpc_code_name(LRPC_OK)[0] != 79; }\n' > cxx.cc
cc "${flags[@]}" -c greeter.pb-c.c greeter.lrpc.c $(pkg-config --cflags lazyrpc)
c++ -std=c++17 -Wall -Wextra -Werror -I. -o cxx cxx.cc greeter.pb-c.o greeter.lrpc.o \
	$(pkg-config --cflags --libs lazyrpc)

# lazyrpc-std through its own pkg-config file: health and reflection on a
# server, as C and C++.
cat > std.c <<'EOF'
#include <lazyrpc/std.h>
#include "greeter.lrpc.h"
int main(void)
{
	static const Greeter__Greeter_Handlers h = { 0 };
	lrpc_server *srv;
	lrpc_health *health;

	if (lrpc_server_new(NULL, &srv) || lrpc_server_add_health(srv, &health) ||
	    lrpc_server_add_reflection(srv) || greeter__greeter__register(srv, &h, NULL) ||
	    lrpc_health_set(health, "greeter.Greeter", LRPC_HEALTH_SERVING))
		return 1;
	lrpc_server_free(srv);
	return 0;
}
EOF
cc "${flags[@]}" -o std std.c greeter.pb-c.o greeter.lrpc.o $(pkg-config --cflags --libs lazyrpc-std)
cp std.c std.cc
c++ -std=c++17 -Wall -Wextra -Werror -I. -o std_cxx std.cc greeter.pb-c.o greeter.lrpc.o \
	$(pkg-config --cflags --libs lazyrpc-std)

libdir=$(dirname "$(find "$root" -name 'liblazyrpc.so.0' | head -n1)")
export LD_LIBRARY_PATH="$libdir" LAZYRPC_DIR="$work/run"
./cxx
./std
./std_cxx
coproc SERVER { exec ./server lrpc://installed; }
# Copied at once: bash 5.2 now and then unsets SERVER_PID while the server
# still runs (after the command substitution below), which left it running.
server_pid=$SERVER_PID
read -r -t 10 _ <&"${SERVER[0]}"
out=$(./client lrpc://installed outsider)
kill "$server_pid"
wait "$server_pid" || true
case "$out" in
"Hello, outsider!"*) echo "install check: $out" ;;
*) echo "install check: unexpected reply: $out" >&2; exit 1 ;;
esac
