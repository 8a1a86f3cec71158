#!/usr/bin/env python3
"""Window functions: Strata against DuckDB on the same bars, side by side in one run.

    Benchmarks/compare/.venv/bin/python Benchmarks/windows.py STRATA DB [--table bars_1m] [--runs 5]

DB is a Strata database with a bars table (symbol, ts in ms, close, volume...). The table is exported
to Parquet once (`strata export`) and loaded into an in-memory DuckDB table (2 threads, as the
machine has 2 cores). Each question is asked of both engines in the same form: a window over every
row of the table, reduced to a count and a sum so that printing the rows does not dominate either
engine's time. DuckDB is timed in-process (execute + fetch); Strata in-process over --repeat runs
(`strata query --repeat N --timing`: the median run) and as a user's script runs it (the wall time
of a fresh `strata query` process). Answers are compared (counts exactly, sums to 1e-6 relative).
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

QUESTIONS = [
    ("20-row moving average of the close",
     "SELECT count(*), sum(ma20) FROM (SELECT avg(close) OVER (PARTITION BY symbol ORDER BY ts ROWS 19 PRECEDING) AS ma20 FROM {t})",
     None),
    ("one-bar return (lag)",
     "SELECT count(*), sum(ret) FROM (SELECT close / lag(close) OVER (PARTITION BY symbol ORDER BY ts) - 1 AS ret FROM {t})",
     None),
    ("60-row rolling standard deviation",
     "SELECT count(*), sum(sd) FROM (SELECT stddev(close) OVER (PARTITION BY symbol ORDER BY ts ROWS 59 PRECEDING) AS sd FROM {t})",
     None),
    ("5-minute time frame: average and count",
     "SELECT count(*), sum(a), sum(n) FROM (SELECT avg(close) OVER (PARTITION BY symbol ORDER BY ts RANGE '5m' PRECEDING) AS a, "
     "count(*) OVER (PARTITION BY symbol ORDER BY ts RANGE '5m' PRECEDING) AS n FROM {t})",
     "SELECT count(*), sum(a), sum(n) FROM (SELECT avg(close) OVER (PARTITION BY symbol ORDER BY ts RANGE INTERVAL 5 MINUTE PRECEDING) AS a, "
     "count(*) OVER (PARTITION BY symbol ORDER BY ts RANGE INTERVAL 5 MINUTE PRECEDING) AS n FROM {t})"),
]


def strata_run(strata, db, sql, runs):
    start = time.perf_counter()
    out = subprocess.run([strata, "query", db, sql, "--format", "csv", "--timing", "--repeat", str(runs)],
                         check=True, capture_output=True, text=True)
    wall = time.perf_counter() - start
    ms = float(out.stderr.strip().split()[1])
    row = out.stdout.strip().splitlines()[1].split(",")
    return ms, wall, [float(x) for x in row]


def strata_fresh(strata, db, sql):
    start = time.perf_counter()
    subprocess.run([strata, "query", db, sql, "--format", "csv"], check=True, capture_output=True)
    return (time.perf_counter() - start) * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("strata")
    ap.add_argument("db")
    ap.add_argument("--table", default="bars_1m")
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    import duckdb
    with tempfile.TemporaryDirectory() as tmp:
        parquet = os.path.join(tmp, "bars.parquet")
        subprocess.run([a.strata, "export", a.db, a.table, parquet], check=True, capture_output=True)
        con = duckdb.connect()
        con.execute("SET threads=2")
        con.execute(f"CREATE TABLE {a.table} AS SELECT * FROM read_parquet('{parquet}')")
        rows = con.execute(f"SELECT count(*) FROM {a.table}").fetchone()[0]
    print(f"{rows:,} rows of {a.table}; medians of {a.runs} runs; DuckDB {duckdb.__version__} with 2 threads")
    print("| question | DuckDB ms | Strata ms (in-process) | Strata ms (fresh process, wall) | Strata / DuckDB |")
    print("|---|---:|---:|---:|---:|")
    for name, sql, duck_sql in QUESTIONS:
        q_strata = sql.format(t=a.table)
        q_duck = (duck_sql or sql).format(t=a.table)
        times = []
        for _ in range(a.runs):
            t0 = time.perf_counter()
            want = con.execute(q_duck).fetchone()
            times.append((time.perf_counter() - t0) * 1000)
        duck = statistics.median(times)
        ms, _, got = strata_run(a.strata, a.db, q_strata, a.runs)
        fresh = statistics.median([strata_fresh(a.strata, a.db, q_strata) for _ in range(a.runs)])
        for x, y in zip(got, want):
            if abs(x - float(y)) > 1e-6 * max(1.0, abs(float(y))):
                sys.exit(f"answers differ for {name}: Strata {got}, DuckDB {want}")
        print(f"| {name} | {duck:.0f} | {ms:.0f} | {fresh:.0f} | {ms / duck:.2f} ({fresh / duck:.2f} fresh) |")


if __name__ == "__main__":
    main()
