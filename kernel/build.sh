#!/usr/bin/env bash
# Build a bootable x86_64 bzImage of Debian's linux-source-6.1 with the RPAL
# patch series applied.
#
# Usage: kernel/build.sh [--rpal=y|n] [--debug] [--force] [--upto N]
#   --rpal=n  build the same patched tree with CONFIG_RPAL off
#   --debug   also merge kernel/config/debug.config (lockdep, KASAN, ...)
#   --force   rebuild even if the cached bzImage matches the inputs
#   --upto N  apply only the first N patches of the series (0: none), in a
#             separate source tree and build directory under series/
#
# Everything is cached under ${LAZYRPC_CACHE:-~/.cache/lazyrpc}:
#   linux-<debver>/       the unpacked source, a git repo; tag "base" is pristine
#   build-<variant>/      the O= output directory of each variant
#   series/linux-<debver>/, series/build-upto<N>-<variant>/
#                         the same for --upto (a shared clone of the source;
#                         same relative layout, so ccache hits carry over)
#   ccache/               the compiler cache
# The last line on stdout is the path of the bzImage.
# Exit status: 0 built, 1 build failed, 2 usage, 77 missing tools or source.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${LAZYRPC_CACHE:-$HOME/.cache/lazyrpc}
tarball=${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
rpal=y debug=n force=n upto=

while [ $# -gt 0 ]; do
	arg=$1
	case "$arg" in
	--upto) upto=${2:-}; shift ;;
	--upto=*) upto=${arg#--upto=} ;;
	--rpal=y|--rpal) rpal=y ;;
	--rpal=n) rpal=n ;;
	--debug) debug=y ;;
	--force) force=y ;;
	-h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "build.sh: unknown option '$arg'" >&2; exit 2 ;;
	esac
	shift
done
case "$upto" in
''|[0-9]|[0-9][0-9]) ;;
*) echo "build.sh: --upto needs a number" >&2; exit 2 ;;
esac

say() { echo "build.sh: $*" >&2; }
skip() { say "SKIP: $*"; exit 77; }

for tool in gcc make bison flex bc perl tar xz git; do
	command -v "$tool" >/dev/null || skip "'$tool' not installed (scripts/install-deps --kernel)"
done
[ -r "$tarball" ] || skip "$tarball missing (apt-get install linux-source-6.1)"
[ -e /usr/include/libelf.h ] || skip "libelf-dev not installed"
[ -e /usr/include/openssl/ssl.h ] || skip "libssl-dev not installed"

debver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || echo unknown)
mkdir -p "$cache"
# --upto works on its own tree, so it need not wait for a main build; the
# main lock is only needed to unpack the source.
exec 8>"$cache/.lock"
if [ -n "$upto" ]; then
	exec 9>"$cache/.lock-series"
	flock 9
else
	flock 8
fi

src=$cache/linux-$debver
[ -e "$src/.git/lazyrpc-base" ] || flock 8
if [ ! -e "$src/.git/lazyrpc-base" ]; then
	say "unpacking $tarball ($debver) into $src"
	rm -rf "$src" "$src.tmp"
	mkdir -p "$src.tmp"
	# Debian's tarball is xz in blocks: decompress on every core.
	tar -I 'xz -T0' -xf "$tarball" -C "$src.tmp" --strip-components=1
	(
		cd "$src.tmp"
		git init -q
		git config user.name "lazyrpc build"
		git config user.email "lazyrpc@localhost"
		git config core.autocrlf false
		git config gc.auto 0
		git add -A -f .
		git commit -q -m "Debian linux-source-6.1 $debver"
		git tag base
	)
	mv "$src.tmp" "$src"
	kv=$(make -s -C "$src" kernelversion)
	echo "linux-source-6.1 $debver (kernel $kv)" >"$src/.git/lazyrpc-base"
fi
say "source: $(cat "$src/.git/lazyrpc-base")"

mapfile -t patches < <(grep -v -e '^\s*#' -e '^\s*$' "$here/patches/series")
prefix=$cache
if [ -n "$upto" ]; then
	[ "$upto" -le ${#patches[@]} ] ||
		{ say "--upto $upto: the series has ${#patches[@]} patches"; exit 2; }
	patches=("${patches[@]:0:$upto}")
	prefix=$cache/series
	mkdir -p "$prefix"
	if [ ! -e "$prefix/linux-$debver/.git/lazyrpc-base" ]; then
		say "cloning $src into $prefix/linux-$debver"
		rm -rf "$prefix/linux-$debver"
		git clone -q --shared --no-checkout "$src" "$prefix/linux-$debver"
		(
			cd "$prefix/linux-$debver"
			git config user.name "lazyrpc build"
			git config user.email "lazyrpc@localhost"
			git config core.autocrlf false
			git config gc.auto 0
			git checkout -q --detach base
		)
		cp "$src/.git/lazyrpc-base" "$prefix/linux-$debver/.git/lazyrpc-base"
	fi
	src=$prefix/linux-$debver
fi

# Apply the series onto a pristine tree unless it is already applied.
if [ -n "$upto" ]; then
	series_hash=$(cd "$here/patches" && { printf '%s\n' "${patches[@]}"; cat "${patches[@]}" /dev/null; } | sha256sum | cut -c1-16)
else
	series_hash=$(cd "$here/patches" && cat series $(grep -v '^\s*#' series) 2>/dev/null | sha256sum | cut -c1-16)
fi
if [ "$(cat "$src/.git/lazyrpc-applied" 2>/dev/null)" != "$series_hash" ]; then
	say "applying kernel/patches/series ($series_hash)"
	(
		cd "$src"
		git am --abort >/dev/null 2>&1 || true
		git reset -q --hard base
		git clean -q -fdx
		for p in "${patches[@]}"; do
			git am -q --keep-cr "$here/patches/$p" ||
				{ say "patch $p does not apply"; git am --abort; exit 1; }
		done
	)
	# An empty .scmversion keeps "+" out of the release string.
	: >"$src/.scmversion"
	echo "$series_hash" >"$src/.git/lazyrpc-applied"
fi

variant=rpal
[ "$rpal" = n ] && variant=norpal
[ "$debug" = y ] && variant=$variant-debug
[ -n "$upto" ] && variant=upto$upto-$variant
out=$prefix/build-$variant
mkdir -p "$out"

fragments=("$here/config/base.config")
[ "$rpal" = y ] && fragments+=("$here/config/rpal.config")
[ "$debug" = y ] && fragments+=("$here/config/debug.config")
key=$( { echo "$series_hash $debver"; cat "${fragments[@]}"; } | sha256sum | cut -c1-16)
[ "$rpal" = n ] && key=$key-norpal
image=$out/arch/x86/boot/bzImage

if [ "$force" = n ] && [ -e "$image" ] && [ "$(cat "$out/.lazyrpc-key" 2>/dev/null)" = "$key" ]; then
	say "up to date ($variant, key $key)"
	echo "$image"
	exit 0
fi
rm -f "$out/.lazyrpc-key"

export CCACHE_DIR=$cache/ccache CCACHE_BASEDIR=$cache CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
export KBUILD_BUILD_TIMESTAMP="lazyrpc" KBUILD_BUILD_USER=lazyrpc KBUILD_BUILD_HOST=lazyrpc
cc=gcc
command -v ccache >/dev/null && cc="ccache gcc"
jobs=$(( $(nproc) + 1 ))
log=$out/build.log

# allnoconfig with the fragments as KCONFIG_ALLCONFIG gives exactly what the
# fragments ask for plus whatever those options depend on and nothing else.
merged=$out/fragments.config
cat "${fragments[@]}" >"$merged"
if [ "$rpal" = n ]; then
	echo "# CONFIG_RPAL is not set" >>"$merged"
fi
start=$(date +%s)
say "configuring $variant in $out"
make -s -C "$src" O="$out" CC="$cc" KCONFIG_ALLCONFIG="$merged" allnoconfig >"$log" 2>&1 ||
	{ tail -20 "$log" >&2; say "configuration failed"; exit 1; }

# Every option the fragments set must survive; otherwise a dependency is missing.
bad=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*) want=$line ;;
	"# CONFIG_"*" is not set") want=$line ;;
	*) continue ;;
	esac
	opt=${want#\# }; opt=${opt%%[= ]*}
	got=$(grep -E "^($opt=|# $opt is not set)" "$out/.config" || true)
	if [ "$want" != "$got" ] && ! { [ -z "$got" ] && [ "${want#\# }" != "$want" ]; }; then
		say "config: wanted '$want', got '${got:-<absent>}'"
		bad=1
	fi
done <"$merged"
[ $bad = 0 ] || { say "config fragments do not apply cleanly"; exit 1; }

say "building bzImage ($variant, -j$jobs, log $log)"
if ! make -C "$src" O="$out" CC="$cc" -j"$jobs" bzImage >>"$log" 2>&1; then
	grep -E 'error|Error' "$log" | head -30 >&2
	say "build failed, see $log"
	exit 1
fi
echo "$key" >"$out/.lazyrpc-key"
say "built $(make -s -C "$src" O="$out" kernelrelease 2>/dev/null) in $(( $(date +%s) - start )) s"
echo "$image"
