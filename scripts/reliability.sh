#!/usr/bin/env bash
# The long reliability job (the test suite runs each part briefly):
#   1. the corruption fuzzer, STRATA_FUZZ_TRIALS damaged copies per seed over STRATA_FUZZ_SEEDS seeds;
#   2. kill -9 of strata import and strata compact, STRATA_KILL_RUNS times each;
#   3. the Thread Sanitizer over the concurrency, compaction, database and crash tests;
#   4. the compaction target: STRATA_COMPACTION_TARGET commits of one row to each of 50 symbols;
#   5. writes in any order against the reference model over STRATA_ANYORDER_SEEDS seeds;
#   6. the auto-compaction target: STRATA_AUTO_COMPACTION_TARGET commits of one row to each of 50
#      symbols with no compact(), with and without auto-compaction, against a bulk import.
# Usage: scripts/reliability.sh [fuzz|kill|tsan|target|anyorder|autotarget]...   (all when none is named)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(fuzz kill tsan target anyorder autotarget)
for part in "${parts[@]}"; do
    case "$part" in
    fuzz)
        STRATA_FUZZ_TRIALS=${STRATA_FUZZ_TRIALS:-5000} STRATA_FUZZ_SEEDS=${STRATA_FUZZ_SEEDS:-8} \
            swift test -c release --filter CorruptionTests 2>&1 | grep -E "fuzzer|passed|failed|error|Fatal" ;;
    kill)
        swift build -c release --product strata
        STRATA_KILL_RUNS=${STRATA_KILL_RUNS:-100} swift test -c release --filter KillTests 2>&1 | grep -E "kill -9|passed|failed|error|Fatal" ;;
    tsan)
        swift test --sanitize=thread --build-path .build-tsan \
            --filter "ConcurrencyTests|CompactionTests|DatabaseTests|CrashTests|MisuseTests|AnyOrderTests|AutoCompactionTests|CommitFeedTests" 2>&1 | tee /tmp/strata-tsan.log | grep -E "concurrency:|passed after|failed|ThreadSanitizer" ;;
    target)
        STRATA_COMPACTION_TARGET=${STRATA_COMPACTION_TARGET:-100000} \
            swift test -c release --filter CompactionTargetTests 2>&1 | grep -E -A5 "compaction target|failed|error" ;;
    anyorder)
        STRATA_ANYORDER_SEEDS=${STRATA_ANYORDER_SEEDS:-300} swift test -c release --filter AnyOrderTests 2>&1 | grep -E "passed|failed|error|Fatal" ;;
    autotarget)
        STRATA_AUTO_COMPACTION_TARGET=${STRATA_AUTO_COMPACTION_TARGET:-100000} \
            swift test -c release --filter CompactionTargetTests 2>&1 | grep -E -A4 "auto-compaction target|failed|error" ;;
    *) echo "unknown part $part (fuzz, kill, tsan, target, anyorder, autotarget)" >&2; exit 1 ;;
    esac
done
