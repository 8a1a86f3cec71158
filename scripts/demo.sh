#!/usr/bin/env bash
# The main job: build Strata, make sample data, import it, dump a slice, show and verify the database.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
swift build -c release --product strata
STRATA=.build/release/strata
rm -rf sample && mkdir -p sample
$STRATA generate sample/data --preset small
$STRATA import sample/prices.db bars sample/data/bars_1m.csv
$STRATA import sample/prices.db fund_shares sample/data/fund_shares.csv
$STRATA import sample/prices.db ticks sample/data/ticks.csv --time-unit ns
echo "--- 159363, 2024-01-03 09:30 to 09:35 Asia/Shanghai:"
$STRATA dump sample/prices.db bars --symbol 159363 --from 2024-01-03T09:30:00+08:00 --to 2024-01-03T09:35:00+08:00 --format csv
$STRATA info sample/prices.db
$STRATA verify sample/prices.db
