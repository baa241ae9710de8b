#!/usr/bin/env bash
# The guest round-trip benchmark (rpal_bench) on two kernels, alternated:
# the series of git revision REV and the working tree's, both with the
# working tree's config fragments and test harness, one guest boot each,
# A B A B ... so that a trend of the (shared, noisy) host shows as a
# difference between rounds rather than between kernels.
#
# Usage: tests/kernel/bench-ab.sh REV [ROUNDS]   (default 3 rounds)
#
# REV's series is built in ${LAZYRPC_CACHE:-~/.cache/lazyrpc}-ab/ (a shared
# clone of the main source tree and the main ccache). Prints one line per
# boot: the p50 of rpal and the futex/rpal and socket/rpal p50 ratios per
# placement, then writes every boot's JSON to bench/results/guest-ab.json.
# Exit status: 0, 1 if a build or a boot failed, 2 usage, 77 no tools.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
rev=${1:-}
rounds=${2:-3}
[ -n "$rev" ] || { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
cache=${LAZYRPC_CACHE:-$HOME/.cache/lazyrpc}
ab=$cache-ab
say() { echo "bench-ab: $*" >&2; }

new=$("$top/kernel/build.sh") || exit $?
src=$(ls -d "$cache"/linux-*/ | head -1)
src=${src%/}
mkdir -p "$ab"
ln -sfn "$cache/ccache" "$ab/ccache"
if [ ! -e "$ab/$(basename "$src")/.git/lazyrpc-base" ]; then
	git clone -q --shared --no-checkout "$src" "$ab/$(basename "$src")" &&
	git -C "$ab/$(basename "$src")" -c advice.detachedHead=false checkout -q --detach base &&
	git -C "$ab/$(basename "$src")" config user.name "lazyrpc build" &&
	git -C "$ab/$(basename "$src")" config user.email lazyrpc@localhost &&
	cp "$src/.git/lazyrpc-base" "$ab/$(basename "$src")/.git/" || exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/kernel"
cp -r "$top/kernel/build.sh" "$top/kernel/config" "$tmp/kernel/"
git -C "$top" archive "$rev" kernel/patches | tar -x -C "$tmp" || exit 2
old=$(LAZYRPC_CACHE=$ab "$tmp/kernel/build.sh") || exit $?

: >"$tmp/all.json"
status=0
for i in $(seq 1 "$rounds"); do
	for which in "$rev" worktree; do
		img=$new
		[ "$which" = "$rev" ] && img=$old
		"$here/run" --image "$img" --only rpal_bench >"$tmp/log" 2>&1 || status=1
		json=$(grep -o 'KBENCH-JSON {.*}' "$tmp/log" | tail -1 | cut -d' ' -f2-)
		if [ -z "$json" ]; then
			say "round $i $which: no KBENCH-JSON"
			tail -20 "$tmp/log" >&2
			status=1
			continue
		fi
		python3 - "$json" "$which" "$i" "$tmp/all.json" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
d["kernel_series"] = sys.argv[2]
d["round"] = int(sys.argv[3])
with open(sys.argv[4], "a") as f:
    f.write(json.dumps(d) + "\n")
rows = {(r["mech"], r["placement"]): r for r in d["results"]}
cells = []
for place in ("same-cpu", "cross-cpu", "unpinned"):
    rp = rows.get(("rpal", place), {}).get("p50_ns", 0)
    fu = rows.get(("futex", place), {}).get("p50_ns", 0)
    so = rows.get(("socket", place), {}).get("p50_ns", 0)
    cells.append(f"{place} rpal {rp/1000:.1f} us futex/rpal {fu/rp if rp else 0:.2f}"
                 f" socket/rpal {so/rp if rp else 0:.2f}")
print(f"round {sys.argv[3]} {sys.argv[2]:>9}: " + " | ".join(cells))
PY
	done
done
mkdir -p "$top/bench/results"
python3 -c 'import json,sys; print(json.dumps([json.loads(l) for l in open(sys.argv[1])], indent=1))' \
	"$tmp/all.json" >"$top/bench/results/guest-ab.json"
say "wrote bench/results/guest-ab.json"
exit $status
