#!/usr/bin/env bash
# Run the guest round-trip benchmark (tests/kernel/rpal_bench.c) under QEMU
# and keep its numbers.
#
# Usage: tests/kernel/bench.sh [--out FILE] [tests/kernel/run options]
#   --out FILE  where to write the JSON (default bench/results/guest-latest.json)
#
# Prints the guest's report and a markdown table on stdout. The guest is QEMU
# TCG software emulation: absolute times mean nothing there, ratios do.
# Exit status: that of tests/kernel/run, or 1 if no KBENCH-JSON line came back.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=$top/bench/results/guest-latest.json
args=()
while [ $# -gt 0 ]; do
	case "$1" in
	--out) out=$2; shift ;;
	-h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) args+=("$1") ;;
	esac
	shift
done

log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$here/run" --only rpal_bench "${args[@]}" | tee "$log" >&2
rc=${PIPESTATUS[0]}
json=$(grep -o 'KBENCH-JSON {.*}' "$log" | tail -1 | cut -d' ' -f2-)
if [ -z "$json" ]; then
	echo "bench.sh: no KBENCH-JSON line in the guest output" >&2
	exit 1
fi
kernel=$(sed -n 's/^kernel: //p' "$log" | head -1)
mkdir -p "$(dirname "$out")"
python3 - "$json" "$kernel" "$out" <<'EOF'
import datetime, json, sys
data = json.loads(sys.argv[1])
data["kernel"] = sys.argv[2]
data["date"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
with open(sys.argv[3], "w") as f:
    json.dump(data, f, indent=1)
    f.write("\n")
print(f"Guest round trips, {data['msg_bytes']}-byte messages, {data['rounds']} per row, "
      f"{data['env']} (software emulation: compare ratios, not times).\n")
print("| mechanism | placement | p50 ns | p99 ns | mean ns | mean / rpal | p50 / rpal |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
for r in data["results"]:
    mr = r.get("mean_ratio_to_rpal")
    pr = r.get("p50_ratio_to_rpal")
    print(f"| {r['mech']} | {r['placement']} | {r['p50_ns']:.0f} | {r['p99_ns']:.0f} | "
          f"{r['mean_ns']:.0f} | {'-' if mr is None else f'{mr:.2f}x'} | "
          f"{'-' if pr is None else f'{pr:.2f}x'} |")
EOF
echo "bench.sh: wrote $out" >&2
exit "$rc"
