#!/bin/sh
# Render a bench results JSON (default bench/results/latest.json) as a
# markdown section for docs/performance.md: environment, targets with
# PASS/MISS, contenders (with skip reasons), the full table.
# Usage: bench/report.sh [results.json]
exec python3 "$(dirname "$0")/run" --report "$@"
