#!/usr/bin/env bash
# Installs what is missing and runs the whole test suite (what .ci/run calls).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
# The end-to-end tests run the real `strata` binary from the same build folder.
swift build --product strata
swift test
# Every fuzz target builds and starts: a few thousand executions each (scripts/fuzz.sh; the long
# runs are scripts/reliability.sh's).
scripts/fuzz.sh --runs 3000
# The DocC catalog (Sources/Strata/Strata.docc) builds with no warning: a broken symbol link fails the suite.
swift package generate-documentation --target Strata --warnings-as-errors >/dev/null
