#!/usr/bin/env bash
# Build the kernel after each patch of the series (kernel/build.sh --upto N):
# with CONFIG_RPAL=y once a patch has added the option, =n before that, and
# the whole series once more with CONFIG_RPAL=n. Uses the shared ccache.
#
# Usage: kernel/check-series.sh [--from N]   (--from: skip the first N-1)
# Prints one "OK|FAIL <n> <rpal> <patch> <seconds>s" line per build.
# Exit 0 if every build succeeded, 1 if one failed, 77 without tools/source.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
from=1
case "${1:-}" in
--from) from=$2 ;;
'') ;;
*) echo "check-series.sh: unknown option '$1'" >&2; exit 2 ;;
esac

mapfile -t patches < <(grep -v -e '^\s*#' -e '^\s*$' "$here/patches/series")
total=${#patches[@]}
status=0 has_rpal=n
logdir=$(mktemp -d "${TMPDIR:-/tmp}/check-series.XXXXXX")

build() { # n rpal label
	local n=$1 rpal=$2 label=$3 t0 rc
	t0=$(date +%s)
	"$here/build.sh" --upto "$n" --rpal="$rpal" >"$logdir/$n-$rpal.log" 2>&1
	rc=$?
	[ $rc = 77 ] && { tail -1 "$logdir/$n-$rpal.log"; echo "SKIP check-series"; exit 77; }
	if [ $rc = 0 ]; then
		printf 'OK   %d rpal=%s %s %ds\n' "$n" "$rpal" "$label" $(( $(date +%s) - t0 ))
	else
		printf 'FAIL %d rpal=%s %s %ds (log %s)\n' "$n" "$rpal" "$label" \
			$(( $(date +%s) - t0 )) "$logdir/$n-$rpal.log"
		grep -E 'error|build.sh:' "$logdir/$n-$rpal.log" | head -10 | sed 's/^/  | /'
		status=1
	fi
}

for ((n = 1; n <= total; n++)); do
	p=${patches[n - 1]}
	grep -q '^+config RPAL$' "$here/patches/$p" && has_rpal=y
	[ $n -lt "$from" ] && continue
	build "$n" "$has_rpal" "$p"
done
[ $has_rpal = y ] && build "$total" n "(whole series, CONFIG_RPAL off)"
[ $status = 0 ] && rm -rf "$logdir"
exit $status
