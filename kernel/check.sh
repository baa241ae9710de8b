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
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The header as the series leaves it: apply only its hunks, in order.
for p in "${patches[@]}"; do
	(cd "$tmp" && git apply --include=include/uapi/linux/rpal.h "$p") ||
		{ echo "check.sh: $(basename "$p"): uapi hunks do not apply"; status=1; }
done
if ! cmp -s "$tmp/include/uapi/linux/rpal.h" "$here/include/uapi/linux/rpal.h"; then
	echo "check.sh: kernel/include/uapi/linux/rpal.h differs from the series"
	status=1
fi
[ $status = 0 ] && echo "check.sh: checkpatch --strict clean, uapi header in sync"
exit $status
