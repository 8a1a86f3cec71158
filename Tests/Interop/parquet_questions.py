#!/usr/bin/env python3
"""The ten reference questions (Q1-Q10 of the peers' workload, ../shared/peers/queries.md) asked of
DuckDB and, when installed, chDB (ClickHouse) over Strata's Parquet export, against Strata's own
answers (`strata bench --format jsonl`). Run by ParquetInteropTests.

  parquet_questions.py STRATA WORK

Exits 1 on the first answer that differs (integers exactly, floats to a relative 1e-9).
"""
import json, math, shutil, subprocess, sys

import duckdb

STRATA, WORK = sys.argv[1], sys.argv[2]
shutil.rmtree(WORK, ignore_errors=True)


def strata(*args):
    r = subprocess.run([STRATA, *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"strata {' '.join(args)}: exit {r.returncode}: {r.stderr}")
    return r.stdout


strata("generate", f"{WORK}/data", "--preset", "tiny")
strata("import", f"{WORK}/db", "bars", f"{WORK}/data/bars_1m.csv")
strata("import", f"{WORK}/db", "fund_shares", f"{WORK}/data/fund_shares.csv")
for table in ("bars", "fund_shares"):
    strata("export", f"{WORK}/db", table, f"{WORK}/lake/{table}", "--partition", "symbol,month")
lines = [json.loads(l) for l in strata("bench", f"{WORK}/db", "--time-zone", "Asia/Shanghai", "--runs", "1", "--format", "jsonl").splitlines()]
p = lines[0]["params"]
ours = {l["query"]: l["rows"] for l in lines[1:]}
# Strata's Q6 names a day by its local midnight; the reference by its day number.
ours["q6"] = [[r[0], (r[1] + 28_800_000) // 86_400_000, *r[2:]] for r in ours["q6"]]

QUESTIONS = {
    "q1": "SELECT sum(volume) FROM bars WHERE symbol = '{s}'",
    "q2": "SELECT ts, open, high, low, close, volume, amount FROM bars WHERE symbol = '{s}' AND ts >= {d0} AND ts < {d1} ORDER BY ts",
    "q3": "SELECT min(low), max(high), {argmin}(open, ts), {argmax}(close, ts), count(*) FROM bars WHERE symbol = '{s}' AND ts >= {m0} AND ts < {m1}",
    "q4": "SELECT symbol, sum(amount), sum(volume), sum(amount) / sum(volume) FROM bars WHERE ts >= {m0} AND ts < {m1} "
          "GROUP BY symbol HAVING sum(volume) > 0 ORDER BY symbol",
    "q5": "SELECT ts - ts % 3600000 AS bucket, {argmin}(open, ts), max(high), min(low), {argmax}(close, ts), sum(volume), sum(amount) "
          "FROM bars WHERE symbol = '{s}' GROUP BY bucket ORDER BY bucket",
    "q6": "SELECT symbol, {day} AS day, {argmin}(open, ts), max(high), min(low), {argmax}(close, ts), "
          "sum(volume), sum(amount) FROM bars GROUP BY symbol, day ORDER BY symbol, day",
    "q7": "SELECT symbol, max(ts), {argmax}(close, ts) FROM bars WHERE ts <= {t} GROUP BY symbol ORDER BY symbol",
    "q8": "SELECT count(*), count(f.shares), sum(b.close * f.shares) FROM (SELECT symbol, ts, close FROM bars WHERE symbol = '{s}') b "
          "ASOF LEFT JOIN (SELECT symbol, ts, shares FROM fund_shares WHERE symbol = '{s}') f ON b.symbol = f.symbol AND b.ts >= f.ts{settings}",
    "q9": "SELECT symbol, count(*) FROM bars GROUP BY symbol ORDER BY symbol",
    "q10": "SELECT sum(amount), count(*) FROM bars",
}


def same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return a == b or (math.isnan(a) and math.isnan(b)) or abs(a - b) <= 1e-9 * max(abs(a), abs(b))
    return a == b


def check(engine, ask, dialect):
    for q, sql in QUESTIONS.items():
        got = [list(r) for r in ask(sql.format(s=p["symbol"], d0=p["day_lo"], d1=p["day_hi"], m0=p["month_lo"], m1=p["month_hi"],
                                               t=p["asof_ts"], **dialect))]
        want = ours[q]
        ok = len(got) == len(want) and all(len(g) == len(w) and all(same(x, y) for x, y in zip(g, w)) for g, w in zip(got, want))
        print(("ok   " if ok else "FAIL ") + f"{engine} {q}: {len(got)} rows")
        if not ok:
            print("  strata:", want[:3], "\n  " + engine + ":", got[:3])
            sys.exit(1)


con = duckdb.connect()
for table, cols in (("bars", "open, high, low, close, volume, amount"), ("fund_shares", "shares, aum, margin_balance")):
    con.execute(f"""CREATE VIEW {table} AS SELECT symbol, epoch_ms(ts) AS ts, {cols} FROM read_parquet(
        '{WORK}/lake/{table}/**/*.parquet', hive_partitioning = true, hive_types = {{'symbol': 'VARCHAR', 'month': 'VARCHAR'}})""")
check("DuckDB", lambda sql: con.sql(sql).fetchall(), {"argmin": "arg_min", "argmax": "arg_max", "day": "(ts + 28800000) // 86400000", "settings": ""})

try:
    import chdb.session
except ImportError:
    print("chDB is not installed: its questions are skipped")
    sys.exit(0)
s = chdb.session.Session()
s.query("CREATE DATABASE IF NOT EXISTS m")
for table, cols in (("bars", "open, high, low, close, volume, amount"), ("fund_shares", "shares, aum, margin_balance")):
    s.query(f"""CREATE VIEW m.{table} AS SELECT toString(symbol) AS symbol, toUnixTimestamp64Milli(ts) AS ts, {cols}
        FROM file('{WORK}/lake/{table}/**/*.parquet', Parquet) SETTINGS use_hive_partitioning = 1""")


def ask_chdb(sql):
    table = s.query(sql.replace(" FROM bars", " FROM m.bars").replace(" FROM fund_shares", " FROM m.fund_shares"), "ArrowTable")
    return [tuple(r.values()) for r in table.to_pylist()]


check("chDB", ask_chdb, {"argmin": "argMin", "argmax": "argMax", "day": "intDiv(ts + 28800000, 86400000)", "settings": " SETTINGS join_use_nulls = 1"})
