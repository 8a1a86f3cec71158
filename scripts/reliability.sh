#!/usr/bin/env bash
# The long reliability job (the test suite runs each part briefly):
#   fuzzers   every libFuzzer target (scripts/fuzz.sh) for STRATA_FUZZ_EXECS executions (10^7 each),
#             STRATA_FUZZ_JOBS (2) at a time, in .build-fuzz-long; resumable: stopped with
#             `touch .build-fuzz-long/STOP; pkill -INT -f .build-fuzz-long/StrataFuzz`, a later run
#             does what is left (.build-fuzz-long/ledger: a line per run and commit);
#   corrupt   the corruption fuzzer: STRATA_FUZZ_TRIALS damaged copies per seed over STRATA_FUZZ_SEEDS
#             seeds, of a database written here and of the golden databases of every format version
#             (31,250 x 16 x 2 = 10^6 damaged copies);
#   kill      kill -9 of every kind of write (CSV and Parquet imports, first imports, out-of-order and
#             dedup imports, deletes, alter, add-columns, compaction, auto-compaction), STRATA_KILL_RUNS
#             times each (150: over 1,000 kills);
#   asan      the whole test suite under AddressSanitizer;
#   tsan      the whole test suite under ThreadSanitizer;
#   target    the compaction target: STRATA_COMPACTION_TARGET commits of one row to each of 50 symbols;
#   anyorder  writes in any order against the reference model over STRATA_ANYORDER_SEEDS seeds;
#   autotarget the auto-compaction target: STRATA_AUTO_COMPACTION_TARGET commits of one row to each of
#             50 symbols with no compact(), with and without auto-compaction, against a bulk import.
# Usage: scripts/reliability.sh [fuzzers|corrupt|kill|asan|tsan|target|anyorder|autotarget]...   (all when none is named)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(fuzzers corrupt kill asan tsan target anyorder autotarget)
for part in "${parts[@]}"; do
    case "$part" in
    fuzzers)
        STRATA_FUZZ_WORK=.build-fuzz-long STRATA_FUZZ_RESUME=1 scripts/fuzz.sh --jobs "${STRATA_FUZZ_JOBS:-2}" --runs "${STRATA_FUZZ_EXECS:-10000000}" ;;
    corrupt|fuzz)
        STRATA_FUZZ_TRIALS=${STRATA_FUZZ_TRIALS:-31250} STRATA_FUZZ_SEEDS=${STRATA_FUZZ_SEEDS:-16} \
            swift test -c release --filter CorruptionTests 2>&1 | grep -E "fuzzer|passed|failed|error|Fatal" ;;
    kill)
        swift build -c release --product strata
        STRATA_KILL_RUNS=${STRATA_KILL_RUNS:-150} swift test -c release --filter KillTests 2>&1 | grep -E "kill -9|passed|failed|error|Fatal" ;;
    asan)
        swift build --product strata --sanitize=address --build-path .build-asan
        # Leak reports off: the CLI leaves its read-only handle to the exit on purpose, and a child's
        # report filling its stderr pipe would block the test reading its stdout.
        ASAN_OPTIONS=detect_leaks=0 swift test --sanitize=address --build-path .build-asan 2>&1 | tee /tmp/strata-asan.log | grep -E "Test run with|failed|AddressSanitizer" ;;
    tsan)
        swift build --product strata --sanitize=thread --build-path .build-tsan
        swift test --sanitize=thread --build-path .build-tsan 2>&1 | tee /tmp/strata-tsan.log | grep -E "Test run with|failed|ThreadSanitizer" ;;
    target)
        STRATA_COMPACTION_TARGET=${STRATA_COMPACTION_TARGET:-100000} \
            swift test -c release --filter CompactionTargetTests 2>&1 | grep -E -A5 "compaction target|failed|error" ;;
    anyorder)
        STRATA_ANYORDER_SEEDS=${STRATA_ANYORDER_SEEDS:-300} swift test -c release --filter AnyOrderTests 2>&1 | grep -E "passed|failed|error|Fatal" ;;
    autotarget)
        STRATA_AUTO_COMPACTION_TARGET=${STRATA_AUTO_COMPACTION_TARGET:-100000} \
            swift test -c release --filter CompactionTargetTests 2>&1 | grep -E -A4 "auto-compaction target|failed|error" ;;
    *) echo "unknown part $part (fuzzers, corrupt, kill, asan, tsan, target, anyorder, autotarget)" >&2; exit 1 ;;
    esac
done
