#!/usr/bin/env bash
# Static checks of the RPAL series: checkpatch --strict on every patch and
# the uapi header in kernel/include identical to the one the series adds.
# Needs the unpacked source (kernel/build.sh makes it). Exit 0 clean, 1 not,
# 77 when the source is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${LAZYRPC_CACHE:-$HOME/.cache/lazyrpc}
src=$(ls -d "$cache"/linux-*/ 2>/dev/null | head -1)
[ -n "$src" ] || { echo "check.sh: SKIP: run kernel/build.sh first"; exit 77; }
status=0
mapfile -t patches < <(grep -v '^\s*#' "$here/patches/series" | sed "s|^|$here/patches/|")
"$src/scripts/checkpatch.pl" --strict --no-tree -q "${patches[@]}" || status=1
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
# The header as the last patch that touches it leaves it.
for p in "${patches[@]}"; do
	if grep -q '^+++ b/include/uapi/linux/rpal.h' "$p"; then
		awk '/^\+\+\+ b\/include\/uapi\/linux\/rpal.h/{f=1; next}
		     f && /^diff --git/{f=0} f && /^\+/{print substr($0, 2)}' "$p" >"$tmp"
	fi
done
if ! cmp -s "$tmp" "$here/include/uapi/linux/rpal.h"; then
	echo "check.sh: kernel/include/uapi/linux/rpal.h differs from the series"
	status=1
fi
[ $status = 0 ] && echo "check.sh: checkpatch --strict clean, uapi header in sync"
exit $status
