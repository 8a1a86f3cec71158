#!/usr/bin/env bash
# Instruction counts (valgrind --tool=callgrind) of a strata binary on the small sample data: one
# CSV import of the bars and the standard query suite. Counts are repeatable where times are not,
# so two builds can be compared on a busy machine.
#   Benchmarks/instructions.sh [STRATA_BINARY] [WORK_DIR]
set -euo pipefail
WORK=${2:-/tmp/strata-instructions}
command -v valgrind >/dev/null || { echo "valgrind is missing (apt-get install valgrind)" >&2; exit 1; }
mkdir -p "$WORK"
# Valgrind 3.19 gives up on the debug information clang writes for the C kernel target: count a
# copy without it (function names stay, line numbers go).
objcopy --strip-debug "$(realpath "${1:-.build/release/strata}")" "$WORK/strata"
STRATA="$WORK/strata"
[ -f "$WORK/data/bars_1m.csv" ] || "$STRATA" generate "$WORK/data" --preset small >/dev/null
count() {  # a label, then the command; prints the label and the total instructions
    local label=$1; shift
    valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out" "$@" >/dev/null 2>"$WORK/valgrind.log"
    printf '%-28s %s\n' "$label" "$(grep -E '^(summary|totals):' "$WORK/callgrind.out" | head -1 | awk '{print $2}')"
}
rm -rf "$WORK/import.db"
count "import bars (232,080 rows)" "$STRATA" import "$WORK/import.db" bars "$WORK/data/bars_1m.csv"
rm -rf "$WORK/bench.db"
"$STRATA" import "$WORK/bench.db" bars "$WORK/data/bars_1m.csv" >/dev/null
"$STRATA" import "$WORK/bench.db" fund_shares "$WORK/data/fund_shares.csv" >/dev/null
count "bench Q1-Q10 (3 runs)" "$STRATA" bench "$WORK/bench.db" --time-zone Asia/Shanghai --runs 3
