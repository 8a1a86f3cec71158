#!/usr/bin/env python3
"""Q1-Q10 of ../shared/peers/queries.md, Strata against DuckDB, side by side in one run.

Usage: queries.py DATA_DIR STRATA_BINARY WORKDIR [RUNS]
DATA_DIR holds bars_1m.csv and fund_shares.csv (the peers' generator); expected answers are read from
../shared/peers/expected/<preset>.json when present. Strata is timed by `strata query --timing`
with --repeat 3 (the median of three in-process runs: execution from the parsed query to the last row,
mappings warm, process start-up excluded), RUNS processes; DuckDB in-process through its Python API
(result as Arrow), RUNS runs.
Both warm: the page cache holds the data. Prints the median and p90 of RUNS warm runs per engine."""
import json, os, statistics, subprocess, sys, time

data, strata, work = sys.argv[1], sys.argv[2], sys.argv[3]
runs = int(sys.argv[4]) if len(sys.argv) > 4 else 7
preset = os.path.basename(os.path.normpath(data))
here = os.path.dirname(os.path.abspath(__file__))
expected_path = os.path.join(here, "../../../shared/peers/expected", preset + ".json")
expected = json.load(open(expected_path)) if os.path.exists(expected_path) else None
os.makedirs(work, exist_ok=True)

db = os.path.join(work, "strata.db")
if not os.path.exists(db):
    for table, f in (("bars", "bars_1m.csv"), ("fund_shares", "fund_shares.csv")):
        subprocess.run([strata, "import", db, table, os.path.join(data, f)], check=True, stdout=subprocess.DEVNULL)

import duckdb
duck_path = os.path.join(work, "duck.db")
if not os.path.exists(duck_path):
    con = duckdb.connect(duck_path)
    con.execute(f"CREATE TABLE bars AS SELECT * FROM read_csv('{data}/bars_1m.csv', header=true) ORDER BY symbol, ts")
    con.execute(f"CREATE TABLE fund_shares AS SELECT * FROM read_csv('{data}/fund_shares.csv', header=true) ORDER BY symbol, ts")
    con.execute("CHECKPOINT")
    con.close()

if expected:
    p = expected["params"]
else:
    con = duckdb.connect(duck_path, read_only=True)
    lo, hi = con.execute("SELECT min(ts), max(ts) FROM bars WHERE symbol = (SELECT min(symbol) FROM bars)").fetchone()
    mid = (lo + hi) // 2 // 86400000 * 86400000 - 28800000
    p = {"symbol": con.execute("SELECT min(symbol) FROM bars").fetchone()[0], "day_lo": mid, "day_hi": mid + 86400000,
         "month_lo": mid - 15 * 86400000, "month_hi": mid + 15 * 86400000, "asof_ts": mid + 36000000}
    con.close()
S, D0, D1, M0, M1, T = p["symbol"], p["day_lo"], p["day_hi"], p["month_lo"], p["month_hi"], p["asof_ts"]

STRATA = {
    "q1": f"SELECT sum(volume) FROM bars WHERE symbol = '{S}'",
    "q2": f"SELECT ts, open, high, low, close, volume, amount FROM bars WHERE symbol = '{S}' AND ts >= {D0} AND ts < {D1} ORDER BY ts",
    "q3": f"SELECT min(low), max(high), first(open), last(close), count(*) FROM bars WHERE symbol = '{S}' AND ts >= {M0} AND ts < {M1}",
    "q4": f"SELECT * FROM (SELECT symbol, sum(amount) AS a, sum(volume) AS v, sum(amount) / sum(volume) AS vwap FROM bars "
          f"WHERE ts >= {M0} AND ts < {M1}) WHERE v > 0 ORDER BY symbol",
    "q5": f"SELECT ts, first(open), max(high), min(low), last(close), sum(volume), sum(amount) FROM bars WHERE symbol = '{S}' SAMPLE BY 1h",
    "q6": "SELECT symbol, ts, first(open), max(high), min(low), last(close), sum(volume), sum(amount) FROM bars "
          "SAMPLE BY 1d ALIGN TO CALENDAR TIME ZONE 'Asia/Shanghai'",
    "q7": f"SELECT symbol, ts, close FROM bars WHERE ts <= {T} LATEST ON ts PARTITION BY symbol",
    "q8": f"SELECT count(*), count(f.shares), sum(b.close * f.shares) FROM bars b ASOF JOIN fund_shares f ON (symbol) WHERE b.symbol = '{S}'",
    "q9": "SELECT symbol, count(*) FROM bars GROUP BY symbol",
    "q10": "SELECT sum(amount), count(*) FROM bars",
}
DUCK = {
    "q1": f"SELECT sum(volume) FROM bars WHERE symbol = '{S}'",
    "q2": f"SELECT ts, open, high, low, close, volume, amount FROM bars WHERE symbol = '{S}' AND ts >= {D0} AND ts < {D1} ORDER BY ts",
    "q3": f"SELECT min(low), max(high), arg_min(open, ts), arg_max(close, ts), count(*) FROM bars WHERE symbol = '{S}' AND ts >= {M0} AND ts < {M1}",
    "q4": f"SELECT symbol, sum(amount), sum(volume), sum(amount) / sum(volume) FROM bars WHERE ts >= {M0} AND ts < {M1} "
          "GROUP BY symbol HAVING sum(volume) > 0 ORDER BY symbol",
    "q5": f"SELECT ts - ts % 3600000 AS bucket, arg_min(open, ts), max(high), min(low), arg_max(close, ts), sum(volume), sum(amount) "
          f"FROM bars WHERE symbol = '{S}' GROUP BY bucket ORDER BY bucket",
    "q6": "SELECT symbol, (ts + 28800000) // 86400000 AS day, arg_min(open, ts), max(high), min(low), arg_max(close, ts), "
          "sum(volume), sum(amount) FROM bars GROUP BY symbol, day ORDER BY symbol, day",
    "q7": f"SELECT symbol, max(ts), arg_max(close, ts) FROM bars WHERE ts <= {T} GROUP BY symbol ORDER BY symbol",
    "q8": f"SELECT count(*), count(f.shares), sum(b.close * f.shares) FROM (SELECT ts, close FROM bars WHERE symbol = '{S}') b "
          f"ASOF LEFT JOIN (SELECT ts, shares FROM fund_shares WHERE symbol = '{S}') f ON b.ts >= f.ts",
    "q9": "SELECT symbol, count(*) FROM bars GROUP BY symbol ORDER BY symbol",
    "q10": "SELECT sum(amount), count(*) FROM bars",
}


def strata_run(sql):
    r = subprocess.run([strata, "query", db, sql, "--format", "jsonl", "--timing", "--repeat", "3"],
                       capture_output=True, text=True, check=True)
    ms = float(r.stderr.strip().split()[-2])
    rows = [list(json.loads(line).values()) for line in r.stdout.splitlines()]
    return ms, rows


def same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))
    return a == b


def check(q, rows):
    if not expected:
        return "n/a"
    want = expected["answers"][q]
    if isinstance(want, dict):  # large Q6: row count and column sums (the day column differs in form)
        if len(rows) != want["rows"]:
            return f"rows {len(rows)} != {want['rows']}"
        for c in range(2, len(rows[0])):
            if not same(float(sum(r[c] for r in rows)), float(want["column_sums"][c])):
                return f"column {c} sum differs"
        return "ok"
    if len(rows) != len(want):
        return f"rows {len(rows)} != {len(want)}"
    for r, w in zip(rows, want):
        # Q5's bucket and Q6's day are computed differently; compare the aggregate columns.
        cols = range(1, len(w)) if q == "q5" else range(len(w))
        if not all(same(r[c], w[c]) for c in cols):
            return f"differs: {r} vs {w}"
    return "ok"


con = duckdb.connect(duck_path, read_only=True)
print(f"data: {data} ({preset}); {runs} warm runs per query, medians and p90 in ms")
print("| query | DuckDB median | DuckDB p90 | Strata median | Strata p90 | Strata speed-up | Strata answer |")
print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
for q in STRATA:
    con.sql(DUCK[q]).arrow()
    dt = []
    for _ in range(runs):
        t0 = time.perf_counter()
        con.sql(DUCK[q]).arrow()
        dt.append((time.perf_counter() - t0) * 1000)
    strata_run(STRATA[q])
    st, rows = [], None
    for _ in range(runs):
        ms, rows = strata_run(STRATA[q])
        st.append(ms)
    dm, sm = statistics.median(dt), statistics.median(st)
    p90 = lambda xs: sorted(xs)[min(len(xs) - 1, int(round(0.9 * (len(xs) - 1))))]
    print(f"| {q.upper()} | {dm:.2f} | {p90(dt):.2f} | {sm:.2f} | {p90(st):.2f} | {dm / sm:.1f}x | {check(q, rows)} |", flush=True)
