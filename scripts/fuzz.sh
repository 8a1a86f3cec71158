#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser of input Strata did not write (libFuzzer, with AddressSanitizer).
#   scripts/fuzz.sh --list                  the targets
#   scripts/fuzz.sh [TARGET [SECONDS]]      fuzz one target (default 60 s), or every target in turn
#   scripts/fuzz.sh --runs N [TARGET]       N executions per target instead of a time (CI: a few thousand)
#   scripts/fuzz.sh --jobs J ...            J targets at a time (one core each; the long job uses 2)
# STRATA_FUZZ_WORK names another folder for corpora, findings and logs (the long job's, so that a
# short run beside it neither rebuilds its fuzzer nor mixes their logs).
# Builds Sources/StrataFuzz into .build-fuzz (its own folder: the normal build never has the sanitizer
# flags). Seeds: Tests/Fuzz/Corpus/TARGET (copied into .build-fuzz/corpus/TARGET, where new inputs
# go), words: Tests/Fuzz/strata.dict. A trap, an out-of-bounds access, a hang (-timeout) or too much
# memory (-rss_limit_mb) is a finding: it is saved under .build-fuzz/findings/TARGET/, the script
# says how to minimise it, and exits 1. A finding becomes a regression test by committing its
# minimised input to Tests/Fuzz/Crashes/TARGET/ (FuzzReplayTests replays them).
# Prints per target: executions, coverage features, corpus size; and the total executions.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=(csv parquet database sql manifest block calendar tzif time)  # slowest first: --jobs balances
if [ "${1:-}" = "--list" ]; then printf '%s\n' "${targets[@]}"; exit 0; fi
runs="" jobs=1
while [ $# -ge 2 ] && [[ "$1" == --runs || "$1" == --jobs ]]; do
    if [ "$1" = "--runs" ]; then runs=$2; else jobs=$2; fi
    shift 2
done
chosen=("${targets[@]}")
seconds=${2:-60}
if [ $# -ge 1 ]; then
    if [[ ! " ${targets[*]} " =~ " $1 " ]]; then echo "unknown target $1 (${targets[*]})" >&2; exit 1; fi
    chosen=("$1")
fi
scripts/deps.sh
linker=()
if command -v ld.lld >/dev/null 2>&1 || [ -x "$(dirname "$(command -v swift)")/ld.lld" ]; then
    linker=(-Xswiftc -use-ld=lld)  # gold fails on the sanitizers' objects
fi
mkdir -p .build-fuzz
if ! STRATA_FUZZ=1 swift build -c release --product StrataFuzz --scratch-path .build-fuzz \
    -Xswiftc -sanitize=fuzzer,address "${linker[@]}" >.build-fuzz/build.log 2>&1; then
    grep -aE "error" .build-fuzz/build.log | head -20 >&2
    exit 1
fi
# The commit the fuzzer was built from (with "+changes" when the tree differs from it), for the ledger.
built=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- Sources Package.swift 2>/dev/null || built="$built+changes"
work=${STRATA_FUZZ_WORK:-.build-fuzz}
fuzzer=.build-fuzz/release/StrataFuzz
if [ "$work" != .build-fuzz ]; then
    mkdir -p "$work" && cp .build-fuzz/release/StrataFuzz "$work"/StrataFuzz && fuzzer=$work/StrataFuzz
fi
# With STRATA_FUZZ_RESUME=1 (the long job), --runs N is each target's total over any number of
# runs: $work/ledger keeps a line per run (target, commit, executions, features, corpus, date, how it
# ended), a target starts with what is left (and a seed of its own, not the first run's inputs
# again). To stop the job and keep what it did: `touch $work/STOP; pkill -INT -f $work/StrataFuzz`
# (the running targets record their executions, no other starts); the next run goes on.
ledger=$work/ledger
done_before() {  # executions of target $1 in the ledger
    [ -f "$ledger" ] || { echo 0; return; }
    awk -v t="$1" '$1 == t { n += $3 } END { print n + 0 }' "$ledger"
}
# Runs one target; its summary line goes to $work/TARGET.summary, exit status 1 on a finding.
fuzz_one() {
    local target=$1 corpus=$work/corpus/$1 findings=$work/findings/$1 log=$work/$1.log
    mkdir -p "$corpus" "$findings"
    cp -n Tests/Fuzz/Corpus/"$target"/* "$corpus"/ 2>/dev/null || true
    local limit=(-max_total_time="$seconds") before=0
    [ -n "$runs" ] && limit=(-runs="$runs" -seed=1)  # the same inputs each time: CI is repeatable
    if [ -n "$runs" ] && [ "${STRATA_FUZZ_RESUME:-}" = 1 ]; then
        before=$(done_before "$target")
        if [ "$before" -ge "$runs" ]; then
            printf '%-9s %12s executions (ledger, done)\n' "$target" "$before" >"$work/$target.summary"
            echo 0 >"$work/$target.execs"
            return 0
        fi
        limit=(-runs=$((runs - before)) -seed=$((before + 1)))
    fi
    local status=0 pid max_len=65536
    # Calendar files are a few KB (the built-in ones 1-2 KB); at 64 KB its inputs grew past 20 KB of
    # repeated lines and the target slowed from 3,500 to 800 executions/s without new coverage.
    [ "$target" = calendar ] && max_len=8192
    # Small allocation stacks and quarantine: a finding is replayed with the defaults to see it whole.
    STRATA_FUZZ_TARGET=$target ASAN_OPTIONS=detect_leaks=0:malloc_context_size=2:quarantine_size_mb=32 \
        SWIFT_BACKTRACE=enable=no "$fuzzer" "$corpus" \
        -dict=Tests/Fuzz/strata.dict -timeout=10 -rss_limit_mb=2048 -max_len="$max_len" -print_final_stats=1 \
        -artifact_prefix="$findings/" "${limit[@]}" >"$log" 2>&1 &
    pid=$!
    wait "$pid" || status=$?
    local execs line ft corp how=done
    execs=$(grep -ao 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}' | tail -1 || true)
    line=$(grep -aE '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -1 || true)
    [ -z "$execs" ] && execs=$(echo "$line" | grep -aoE '^#[0-9]+' | tr -d '#' || true)  # stopped: a lower bound
    ft=$(echo "$line" | grep -ao 'ft: [0-9]*' | awk '{print $2}' || true)
    corp=$(echo "$line" | grep -ao 'corp: [0-9]*' | awk '{print $2}' || true)
    echo "${execs:-0}" >"$work/$target.execs"
    if [ $status -ne 0 ] && grep -aq "run interrupted" "$log"; then status=0 how=interrupted; fi
    [ $status -ne 0 ] && how=finding
    if [ "${STRATA_FUZZ_RESUME:-}" = 1 ]; then
        echo "$target $built ${execs:-0} ${ft:-0} ${corp:-0} $(date -u +%Y-%m-%dT%H:%MZ) $how" >>"$ledger"
    fi
    if [ $status -ne 0 ]; then
        local artifact
        artifact=$(grep -ao "Test unit written to [^ ]*" "$log" | tail -1 | awk '{print $5}' || true)
        {
            echo "$target: FINDING after ${execs:-?} executions: ${artifact:-see $log}"
            grep -aE "ERROR|SUMMARY|Fatal error|panic" "$log" | head -5
            echo "  minimise: STRATA_FUZZ_TARGET=$target $fuzzer -minimize_crash=1 -runs=10000 $artifact"
            echo "  then commit it to Tests/Fuzz/Crashes/$target/ and fix it"
        } >"$work/$target.summary"
        return 1
    fi
    local total=$((before + ${execs:-0})) note=""
    [ "$before" -gt 0 ] && note="  ($total with the ledger's earlier runs)"
    [ "$how" = interrupted ] && note="$note  (interrupted)"
    printf '%-9s %12s executions  %7s features  %6s inputs in the corpus%s\n' "$target" "${execs:-0}" "${ft:-?}" "${corp:-?}" "$note" \
        >"$work/$target.summary"
}
rm -f "$work/STOP"
for target in "${chosen[@]}"; do
    rm -f "$work"/"$target".summary "$work"/"$target".execs
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
    [ -e "$work/STOP" ] && break
    fuzz_one "$target" &
done
wait || true
total=0 failed=0
for target in "${chosen[@]}"; do
    if [ ! -s "$work"/"$target".summary ] && [ -e "$work/STOP" ]; then echo "$target: not started (stopped)"; continue; fi
    if [ ! -s "$work"/"$target".summary ]; then echo "$target: did not finish (see $work/$target.log)" >&2; failed=1; continue; fi
    if grep -q FINDING "$work"/"$target".summary; then cat "$work"/"$target".summary >&2; failed=1; else cat "$work"/"$target".summary; fi
    total=$((total + $(cat "$work"/"$target".execs)))
done
echo "total: $total executions"
exit $failed
