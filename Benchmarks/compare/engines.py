"""The other engines of the comparison, each loaded and queried through its own Python API, in its own
dialect. Every query returns a list of tuples shaped as in ../shared/peers/queries.md; the harness
checks them against Strata's answers.

Run as a child process per engine (so engines do not share memory or threads):
    engines.py ingest ENGINE DATA_DIR STORE        -> JSON {seconds, bars, bars_bytes}
    engines.py query ENGINE STORE PARAMS_JSON RUNS COLD(0|1) -> JSON {q1: {times_ms, cold_ms, rows}, ...}
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import time

DAY_MS = 86_400_000
SHANGHAI_MS = 28_800_000
QUERIES = [f"q{i}" for i in range(1, 11)]


def dir_bytes(path: str) -> int:
    if os.path.isfile(path):
        return os.stat(path).st_blocks * 512
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            total += os.stat(os.path.join(root, f)).st_blocks * 512
    return total


def drop_caches() -> bool:
    """Drops the page cache when root allows; False otherwise."""
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def plain(x):
    """A value as a JSON-able int, float, str or None (numpy scalars, Decimals and wide ints included)."""
    import decimal
    if hasattr(x, "item"):
        x = x.item()
    if isinstance(x, decimal.Decimal):
        return int(x) if x == x.to_integral_value() else float(x)
    if isinstance(x, float) and x != x:
        return None
    return x


def rows_of(result) -> list[tuple]:
    """Native results (Arrow tables, DataFrames, lists of tuples) as lists of tuples of plain values."""
    if isinstance(result, list):
        rows = result
    elif hasattr(result, "to_pylist"):  # pyarrow.Table
        rows = list(zip(*[c.to_pylist() for c in result.columns]))
    elif hasattr(result, "itertuples"):  # pandas.DataFrame
        rows = list(result.itertuples(index=False))
    else:
        raise TypeError(type(result))
    return [tuple(plain(x) for x in r) for r in rows]


# ------------------------------------------------------------------------------------------ DuckDB

class DuckDB:
    name = "DuckDB"
    SQL = {
        "q1": "SELECT sum(volume) FROM bars WHERE symbol = $s",
        "q2": "SELECT ts, open, high, low, close, volume, amount FROM bars WHERE symbol = $s AND ts >= $d0 AND ts < $d1 ORDER BY ts",
        "q3": "SELECT min(low), max(high), arg_min(open, ts), arg_max(close, ts), count(*) FROM bars "
              "WHERE symbol = $s AND ts >= $m0 AND ts < $m1",
        "q4": "SELECT symbol, sum(amount), sum(volume), sum(amount) / sum(volume) FROM bars WHERE ts >= $m0 AND ts < $m1 "
              "GROUP BY symbol HAVING sum(volume) > 0 ORDER BY symbol",
        "q5": "SELECT ts - ts % 3600000 AS bucket, arg_min(open, ts), max(high), min(low), arg_max(close, ts), sum(volume), sum(amount) "
              "FROM bars WHERE symbol = $s GROUP BY bucket ORDER BY bucket",
        "q6": "SELECT symbol, (ts + 28800000) // 86400000 AS day, arg_min(open, ts), max(high), min(low), arg_max(close, ts), "
              "sum(volume), sum(amount) FROM bars GROUP BY symbol, day ORDER BY symbol, day",
        "q7": "SELECT symbol, max(ts), arg_max(close, ts) FROM bars WHERE ts <= $t GROUP BY symbol ORDER BY symbol",
        "q8": "SELECT count(*), count(f.shares), sum(b.close * f.shares) FROM (SELECT ts, close FROM bars WHERE symbol = $s) b "
              "ASOF LEFT JOIN (SELECT ts, shares FROM fund_shares WHERE symbol = $s) f ON b.ts >= f.ts",
        "q9": "SELECT symbol, count(*) FROM bars GROUP BY symbol ORDER BY symbol",
        "q10": "SELECT sum(amount), count(*) FROM bars",
    }

    def ingest(self, data, store):
        import duckdb
        path = os.path.join(store, "duck.db")
        con = duckdb.connect(path)
        start = time.perf_counter()
        con.execute(f"CREATE TABLE bars AS SELECT * FROM read_csv('{data}/bars_1m.csv', header=true, types={{'symbol': 'VARCHAR'}}) ORDER BY symbol, ts")
        con.execute("CHECKPOINT")
        seconds = time.perf_counter() - start
        bars_bytes = dir_bytes(path)  # the file holds the bars table alone at this point
        con.execute(f"CREATE TABLE fund_shares AS SELECT * FROM read_csv('{data}/fund_shares.csv', header=true, types={{'symbol': 'VARCHAR'}}) ORDER BY symbol, ts")
        con.execute("CHECKPOINT")
        con.close()
        return seconds, int(bars_bytes)

    def open(self, store):
        import duckdb
        self.con = duckdb.connect(os.path.join(store, "duck.db"), read_only=True)

    def close(self):
        self.con.close()

    def run(self, q, p):
        names = {"s": p["symbol"], "d0": p["day_lo"], "d1": p["day_hi"], "m0": p["month_lo"], "m1": p["month_hi"], "t": p["asof_ts"]}
        sql = self.SQL[q]
        used = {k: v for k, v in names.items() if f"${k}" in sql}
        return self.con.sql(sql, params=used).to_arrow_table()


# ------------------------------------------------------------------------------------------ chDB

class ChDB:
    name = "chDB"
    SQL = {
        "q1": "SELECT sum(volume) FROM m.bars WHERE symbol = '{s}'",
        "q2": "SELECT ts, open, high, low, close, volume, amount FROM m.bars WHERE symbol = '{s}' AND ts >= {d0} AND ts < {d1} ORDER BY ts",
        "q3": "SELECT min(low), max(high), argMin(open, ts), argMax(close, ts), count() FROM m.bars "
              "WHERE symbol = '{s}' AND ts >= {m0} AND ts < {m1}",
        "q4": "SELECT symbol, sum(amount), sum(volume), sum(amount) / sum(volume) FROM m.bars WHERE ts >= {m0} AND ts < {m1} "
              "GROUP BY symbol HAVING sum(volume) > 0 ORDER BY symbol",
        "q5": "SELECT ts - ts % 3600000 AS bucket, argMin(open, ts), max(high), min(low), argMax(close, ts), sum(volume), sum(amount) "
              "FROM m.bars WHERE symbol = '{s}' GROUP BY bucket ORDER BY bucket",
        "q6": "SELECT symbol, intDiv(ts + 28800000, 86400000) AS day, argMin(open, ts), max(high), min(low), argMax(close, ts), "
              "sum(volume), sum(amount) FROM m.bars GROUP BY symbol, day ORDER BY symbol, day",
        "q7": "SELECT symbol, max(ts), argMax(close, ts) FROM m.bars WHERE ts <= {t} GROUP BY symbol ORDER BY symbol",
        "q8": "SELECT count(), count(f.shares), sum(b.close * f.shares) FROM (SELECT symbol, ts, close FROM m.bars WHERE symbol = '{s}') AS b "
              "ASOF LEFT JOIN (SELECT symbol, ts, shares FROM m.fund_shares WHERE symbol = '{s}') AS f "
              "ON b.symbol = f.symbol AND b.ts >= f.ts SETTINGS join_use_nulls = 1",
        "q9": "SELECT symbol, count() FROM m.bars GROUP BY symbol ORDER BY symbol",
        "q10": "SELECT sum(amount), count() FROM m.bars",
    }

    def ingest(self, data, store):
        from chdb import session
        s = session.Session(store)
        s.query("CREATE DATABASE IF NOT EXISTS m")
        s.query("CREATE TABLE m.bars (symbol LowCardinality(String), ts Int64, open Float64, high Float64, low Float64, "
                "close Float64, volume Int64, amount Float64) ENGINE = MergeTree ORDER BY (symbol, ts)")
        s.query("CREATE TABLE m.fund_shares (symbol LowCardinality(String), ts Int64, shares Int64, aum Float64, "
                "margin_balance Float64) ENGINE = MergeTree ORDER BY (symbol, ts)")
        start = time.perf_counter()
        s.query(f"INSERT INTO m.bars SELECT * FROM file('{data}/bars_1m.csv', 'CSVWithNames', "
                "'symbol String, ts Int64, open Float64, high Float64, low Float64, close Float64, volume Int64, amount Float64')")
        s.query("OPTIMIZE TABLE m.bars FINAL")
        seconds = time.perf_counter() - start
        s.query(f"INSERT INTO m.fund_shares SELECT * FROM file('{data}/fund_shares.csv', 'CSVWithNames', "
                "'symbol String, ts Int64, shares Int64, aum Float64, margin_balance Float64')")
        s.query("OPTIMIZE TABLE m.fund_shares FINAL")
        t = s.query("SELECT sum(bytes_on_disk) FROM system.parts WHERE database = 'm' AND table = 'bars' AND active", "ArrowTable")
        bars_bytes = int(t.column(0)[0].as_py())
        s.close()
        return seconds, bars_bytes

    def open(self, store):
        from chdb import session
        self.s = session.Session(store)

    def close(self):
        self.s.close()

    def run(self, q, p):
        sql = self.SQL[q].format(s=p["symbol"], d0=p["day_lo"], d1=p["day_hi"], m0=p["month_lo"], m1=p["month_hi"], t=p["asof_ts"])
        return self.s.query(sql, "ArrowTable")


# ------------------------------------------------------------------------------------------ SQLite

class SQLite:
    """WITHOUT ROWID tables keyed (symbol, ts); first/last by looking up the rows at min(ts)/max(ts)."""
    name = "SQLite"
    SQL = {
        "q1": "SELECT sum(volume) FROM bars WHERE symbol = :s",
        "q2": "SELECT ts, open, high, low, close, volume, amount FROM bars WHERE symbol = :s AND ts >= :d0 AND ts < :d1 ORDER BY ts",
        "q3": "SELECT min(low), max(high), (SELECT open FROM bars WHERE symbol = :s AND ts >= :m0 AND ts < :m1 ORDER BY ts LIMIT 1), "
              "(SELECT close FROM bars WHERE symbol = :s AND ts >= :m0 AND ts < :m1 ORDER BY ts DESC LIMIT 1), count(*) "
              "FROM bars WHERE symbol = :s AND ts >= :m0 AND ts < :m1",
        "q4": "SELECT symbol, sum(amount), sum(volume), sum(amount) / sum(volume) FROM bars WHERE ts >= :m0 AND ts < :m1 "
              "GROUP BY symbol HAVING sum(volume) > 0 ORDER BY symbol",
        "q5": "SELECT g.b, o.open, g.h, g.l, c.close, g.v, g.a FROM (SELECT ts - ts % 3600000 AS b, min(ts) AS t0, max(ts) AS t1, "
              "max(high) AS h, min(low) AS l, sum(volume) AS v, sum(amount) AS a FROM bars WHERE symbol = :s GROUP BY b) g "
              "JOIN bars o ON o.symbol = :s AND o.ts = g.t0 JOIN bars c ON c.symbol = :s AND c.ts = g.t1 ORDER BY g.b",
        "q6": "SELECT g.symbol, g.d, o.open, g.h, g.l, c.close, g.v, g.a FROM (SELECT symbol, (ts + 28800000) / 86400000 AS d, "
              "min(ts) AS t0, max(ts) AS t1, max(high) AS h, min(low) AS l, sum(volume) AS v, sum(amount) AS a FROM bars "
              "GROUP BY symbol, d) g JOIN bars o ON o.symbol = g.symbol AND o.ts = g.t0 "
              "JOIN bars c ON c.symbol = g.symbol AND c.ts = g.t1 ORDER BY g.symbol, g.d",
        "q7": "SELECT b.symbol, b.ts, b.close FROM (SELECT DISTINCT symbol FROM bars) s JOIN bars b ON b.symbol = s.symbol "
              "AND b.ts = (SELECT max(ts) FROM bars WHERE symbol = s.symbol AND ts <= :t) ORDER BY b.symbol",
        "q8": "SELECT count(*), count(f.shares), sum(b.close * f.shares) FROM bars b LEFT JOIN fund_shares f ON f.symbol = b.symbol "
              "AND f.ts = (SELECT max(ts) FROM fund_shares WHERE symbol = b.symbol AND ts <= b.ts) WHERE b.symbol = :s",
        "q9": "SELECT symbol, count(*) FROM bars GROUP BY symbol ORDER BY symbol",
        "q10": "SELECT sum(amount), count(*) FROM bars",
    }

    def ingest(self, data, store):
        import csv
        import sqlite3
        path = os.path.join(store, "bench.sqlite")
        con = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode = OFF", "synchronous = OFF", "cache_size = -1048576"):
            con.execute("PRAGMA " + pragma)
        con.execute("CREATE TABLE bars (symbol TEXT NOT NULL, ts INTEGER NOT NULL, open REAL, high REAL, low REAL, close REAL, "
                    "volume INTEGER, amount REAL, PRIMARY KEY (symbol, ts)) WITHOUT ROWID")
        con.execute("CREATE TABLE fund_shares (symbol TEXT NOT NULL, ts INTEGER NOT NULL, shares INTEGER, aum REAL, "
                    "margin_balance REAL, PRIMARY KEY (symbol, ts)) WITHOUT ROWID")

        def load(table, file, kinds):
            with open(os.path.join(data, file), newline="") as f:
                reader = csv.reader(f)
                next(reader)
                batch = []
                for r in reader:
                    batch.append(tuple(k(v) for k, v in zip(kinds, r)))
                    if len(batch) == 100_000:
                        con.executemany(f"INSERT INTO {table} VALUES ({','.join('?' * len(kinds))})", batch)
                        batch = []
                if batch:
                    con.executemany(f"INSERT INTO {table} VALUES ({','.join('?' * len(kinds))})", batch)

        start = time.perf_counter()
        con.execute("BEGIN")
        load("bars", "bars_1m.csv", (str, int, float, float, float, float, int, float))
        con.execute("COMMIT")
        seconds = time.perf_counter() - start
        bars_bytes = dir_bytes(path)
        con.execute("BEGIN")
        load("fund_shares", "fund_shares.csv", (str, int, int, float, float))
        con.execute("COMMIT")
        con.execute("ANALYZE")
        con.close()
        return seconds, bars_bytes

    def open(self, store):
        import sqlite3
        self.con = sqlite3.connect(f"file:{os.path.join(store, 'bench.sqlite')}?mode=ro", uri=True)
        self.con.execute("PRAGMA mmap_size = 17179869184")

    def close(self):
        self.con.close()

    def run(self, q, p):
        names = {"s": p["symbol"], "d0": p["day_lo"], "d1": p["day_hi"], "m0": p["month_lo"], "m1": p["month_hi"], "t": p["asof_ts"]}
        return self.con.execute(self.SQL[q], names).fetchall()


# ------------------------------------------------------------------------------------------ ArcticDB

class ArcticDB:
    """LMDB library, one symbol per ETF indexed by time; pandas for what QueryBuilder does not do."""
    name = "ArcticDB"
    COLS = ["open", "high", "low", "close", "volume", "amount"]
    AGG = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum", "amount": "sum"}

    def ingest(self, data, store):
        import arcticdb as adb
        import pandas as pd
        ac = adb.Arctic(f"lmdb://{store}")
        bars = ac.get_library("bars", create_if_missing=True)
        fund = ac.get_library("fund_shares", create_if_missing=True)

        def frames(file, cols):
            df = pd.read_csv(os.path.join(data, file), dtype={"symbol": str})
            for sym, part in df.groupby("symbol", sort=False):
                frame = part[cols].copy()
                frame.index = pd.DatetimeIndex(part["ts"].to_numpy().astype("datetime64[ms]").astype("datetime64[ns]"), name="ts")
                yield sym, frame

        start = time.perf_counter()
        from arcticdb.version_store.library import WritePayload
        batch = []
        for sym, frame in frames("bars_1m.csv", self.COLS):
            batch.append(WritePayload(sym, frame))
            if len(batch) == 50:
                bars.write_batch(batch)
                batch = []
        if batch:
            bars.write_batch(batch)
        bars.list_symbols()
        seconds = time.perf_counter() - start
        bars_bytes = dir_bytes(store)
        fund.write_batch([WritePayload(s, f) for s, f in frames("fund_shares.csv", ["shares", "aum", "margin_balance"])])
        return seconds, bars_bytes

    def open(self, store):
        import arcticdb as adb
        self.ac = adb.Arctic(f"lmdb://{store}")
        self.bars = self.ac.get_library("bars")
        self.fund = self.ac.get_library("fund_shares")
        self.symbols = sorted(self.bars.list_symbols())

    def close(self):
        self.ac = self.bars = self.fund = None

    def run(self, q, p):
        import arcticdb as adb
        import numpy as np
        import pandas as pd
        from arcticdb.version_store.library import ReadRequest

        def ts(ms):
            return pd.Timestamp(ms, unit="ms")

        def ms(index):
            return index.values.astype("datetime64[ms]").astype(np.int64)

        s = p["symbol"]
        if q == "q1":
            return [(int(self.bars.read(s, columns=["volume"]).data["volume"].sum()),)]
        if q == "q2":
            df = self.bars.read(s, date_range=(ts(p["day_lo"]), ts(p["day_hi"] - 1))).data
            return pd.DataFrame({"ts": ms(df.index), **{c: df[c].values for c in self.COLS}})
        if q == "q3":
            df = self.bars.read(s, date_range=(ts(p["month_lo"]), ts(p["month_hi"] - 1)), columns=["open", "high", "low", "close"]).data
            return [(df["low"].min(), df["high"].max(), df["open"].iloc[0], df["close"].iloc[-1], len(df))] if len(df) else [(None, None, None, None, 0)]
        if q == "q4":
            dr = (ts(p["month_lo"]), ts(p["month_hi"] - 1))
            res = self.bars.read_batch([ReadRequest(x, date_range=dr, columns=["volume", "amount"]) for x in self.symbols])
            out = []
            for x, r in zip(self.symbols, res):
                v, a = int(r.data["volume"].sum()), float(r.data["amount"].sum())
                if v > 0:
                    out.append((x, a, v, a / v))
            return out
        if q == "q5":
            df = self.bars.read(s, query_builder=adb.QueryBuilder().resample("1h").agg(self.AGG)).data
            return pd.DataFrame({"bucket": ms(df.index), **{c: df[c].values for c in self.COLS}})
        if q == "q6":
            # Sessions (09:30-15:00 +08:00) lie inside one UTC day, so UTC days are the local days.
            res = self.bars.read_batch(self.symbols, query_builder=adb.QueryBuilder().resample("1D").agg(self.AGG))
            frames = [pd.DataFrame({"symbol": x, "day": ms(r.data.index) // DAY_MS, **{c: r.data[c].values for c in self.COLS}})
                      for x, r in zip(self.symbols, res)]
            return pd.concat(frames, ignore_index=True)
        if q == "q7":
            t = ts(p["asof_ts"])
            res = self.bars.read_batch([ReadRequest(x, date_range=(None, t), columns=["close"]) for x in self.symbols])
            return [(x, int(ms(r.data.index[-1:])[0]), float(r.data["close"].iloc[-1])) for x, r in zip(self.symbols, res) if len(r.data)]
        if q == "q8":
            b = self.bars.read(s, columns=["close"]).data
            f = self.fund.read(s, columns=["shares"]).data
            m = pd.merge_asof(b, f, left_index=True, right_index=True, direction="backward")
            hit = m["shares"].notna()
            return [(len(m), int(hit.sum()), float((m["close"][hit] * m["shares"][hit]).sum()))]
        if q == "q9":
            return [(x, d.row_count) for x, d in zip(self.symbols, self.bars.get_description_batch(self.symbols))]
        if q == "q10":
            res = self.bars.read_batch([ReadRequest(x, columns=["amount"]) for x in self.symbols])
            return [(float(sum(r.data["amount"].sum() for r in res)), sum(len(r.data) for r in res))]
        raise KeyError(q)


ENGINES = {"duckdb": DuckDB, "chdb": ChDB, "sqlite": SQLite, "arcticdb": ArcticDB}


def main():
    mode, engine = sys.argv[1], ENGINES[sys.argv[2]]()
    if mode == "ingest":
        data, store = sys.argv[3], sys.argv[4]
        shutil.rmtree(store, ignore_errors=True)
        os.makedirs(store)
        seconds, bars_bytes = engine.ingest(data, store)
        print(json.dumps({"seconds": seconds, "bars_bytes": bars_bytes}))
        return
    store, params, runs, cold = sys.argv[3], json.loads(sys.argv[4]), int(sys.argv[5]), sys.argv[6] == "1"
    out = {}
    engine.open(store)
    for q in QUERIES:
        entry = {}
        if cold and drop_caches():
            engine.close()
            engine.open(store)
            start = time.perf_counter()
            engine.run(q, params)
            entry["cold_ms"] = (time.perf_counter() - start) * 1000
        result = engine.run(q, params)  # warm-up, and the answer
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            engine.run(q, params)
            times.append((time.perf_counter() - start) * 1000)
        entry["times_ms"] = times
        entry["rows"] = [list(r) for r in rows_of(result)]
        out[q] = entry
    engine.close()
    print(json.dumps(out, default=lambda x: x.item() if hasattr(x, "item") else str(x)))


if __name__ == "__main__":
    main()
