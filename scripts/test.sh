#!/usr/bin/env bash
# Installs what is missing and runs the whole test suite (what .ci/run calls).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
# The end-to-end tests run the real `strata` binary from the same build folder.
swift build --product strata
swift test
# The DocC catalog (Sources/Strata/Strata.docc) builds with no warning: a broken symbol link fails the suite.
swift package generate-documentation --target Strata --warnings-as-errors >/dev/null
