#!/usr/bin/env bash
# The main job: build Strata, make sample data, import it, dump a slice, answer a few of the
# questions users ask (a daily candle, the latest bar per symbol, an as-of join), show and verify it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
# The Swift runtime linked in: a fresh `strata` process starts in about two thirds of the time.
swift build -c release --product strata --static-swift-stdlib
STRATA=.build/release/strata
rm -rf sample && mkdir -p sample
$STRATA generate sample/data --preset small
$STRATA import sample/prices.db bars sample/data/bars_1m.csv
$STRATA import sample/prices.db fund_shares sample/data/fund_shares.csv
$STRATA import sample/prices.db ticks sample/data/ticks.csv --time-unit ns
echo "--- 159363, 2024-01-03 09:30 to 09:35 Asia/Shanghai:"
$STRATA dump sample/prices.db bars --symbol 159363 --from 2024-01-03T09:30:00+08:00 --to 2024-01-03T09:35:00+08:00 --format csv
run_query() {  # a title, then the SQL; prints the answer and its time (parsed query to last row)
    echo "--- $1:"
    $STRATA query sample/prices.db "$2" --format table --timing 2>&1
}
run_query "daily candles of 159363 (days cut at midnight Asia/Shanghai)" \
    "SELECT symbol, ts, first(open) AS open, max(high) AS high, min(low) AS low, last(close) AS close, sum(volume) AS volume
     FROM bars WHERE symbol = '159363' SAMPLE BY 1d ALIGN TO CALENDAR TIME ZONE 'Asia/Shanghai' LIMIT 5"
run_query "the latest bar of every symbol as of 2024-01-10 10:30 Asia/Shanghai (first 5)" \
    "SELECT symbol, ts, close, volume FROM bars WHERE ts <= '2024-01-10T10:30:00+08:00' LATEST ON ts PARTITION BY symbol LIMIT 5"
run_query "market value of 159363 in the last minutes of 2024-01-04: each close times the fund shares known then (as-of join)" \
    "SELECT b.ts, b.close, f.shares, b.close * f.shares AS market_value FROM bars b ASOF JOIN fund_shares f ON (symbol)
     WHERE b.symbol = '159363' AND b.ts >= '2024-01-04T14:55:00+08:00' AND b.ts < '2024-01-04T15:00:00+08:00'"
run_query "turnover by symbol over the whole table, from block statistics (top 5)" \
    "SELECT symbol, count(*) AS bars, sum(amount) AS turnover FROM bars GROUP BY symbol ORDER BY turnover DESC LIMIT 5"
run_query "daily returns and a 20-day moving average of the close, per ETF (window functions over daily closes; first 5)" \
    "SELECT symbol, ts, close, close / lag(close) OVER w - 1 AS ret, avg(close) OVER (w ROWS 19 PRECEDING) AS ma20
     FROM (SELECT symbol, ts, last(close) AS close FROM bars SAMPLE BY 1d ALIGN TO CALENDAR TIME ZONE 'Asia/Shanghai')
     WINDOW w AS (PARTITION BY symbol ORDER BY ts) LIMIT 5"
run_query "30-minute candles of 159363 that never straddle the lunch break, with VWAP and TWAP (first 8)" \
    "SELECT symbol, ts, first(open), max(high), min(low), last(close), sum(volume), vwap(close, volume), twap(close)
     FROM bars WHERE symbol = '159363' SAMPLE BY 30m ALIGN TO SESSION 'XSHG' LIMIT 8"
run_query "rolling 60-minute volatility of one-minute log returns of 588730, afternoon session only (first 5 with a value)" \
    "SELECT ts, vol FROM (SELECT ts, stddev(ln(close / lag(close) OVER w)) OVER (w ROWS 59 PRECEDING) AS vol
     FROM bars WHERE symbol = '588730' AND SESSION 'XSHG' = 'afternoon' WINDOW w AS (PARTITION BY symbol ORDER BY ts))
     WHERE vol IS NOT NULL LIMIT 5"
run_query "the plan of a sum over one symbol (EXPLAIN)" \
    "EXPLAIN SELECT sum(volume) FROM bars WHERE symbol = '159363'"
$STRATA info sample/prices.db
$STRATA verify sample/prices.db
