#!/usr/bin/env python3
"""Parquet interop of Strata with pyarrow, DuckDB and Polars (run by ParquetInteropTests).

  parquet_interop.py STRATA WORK

1. Rows with the hard values (NaN, -0.0, 5e-324, Int64 extremes, nulls, empty text, leading-zero and
   UTF-8 symbols) are imported into Strata from CSV and exported as one Parquet file and as a
   symbol/month hive data set; pyarrow must read every value back bit for bit, DuckDB and Polars must
   answer counts, sums and extremes per symbol as Python computes them.
2. The same rows written by pyarrow, DuckDB (COPY ... TO) and Polars with their defaults must import
   into Strata and dump exactly as the CSV import dumps.
Prints one line per check; exits 1 on the first mismatch.
"""
import math, os, shutil, struct, subprocess, sys

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

STRATA, WORK = sys.argv[1], sys.argv[2]
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)


def strata(*args):
    r = subprocess.run([STRATA, *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"strata {' '.join(args)}: exit {r.returncode}: {r.stderr}")
    return r.stdout


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        sys.exit(1)


def bits(d):
    return None if d is None else struct.pack("<d", d)


SYMBOLS = ["000001", "510300", "银华日利", "a b"]
DOUBLES = [1.5, float("nan"), -0.0, 5e-324, 1.7976931348623157e308, 0.30000000000000004, None, 3.745]
INTS = [0, -9223372036854775808, 9223372036854775807, None, 42, -1]
TEXTS = ["", "B", None, "多字节", "S"]
rows = []
for i in range(4000):
    s = SYMBOLS[i % 4]
    t = 1_735_000_000_000 + (i // 4) * 3_600_000  # hourly, across two months
    rows.append((s, t, DOUBLES[i % 8], INTS[i % 6], TEXTS[i % 5]))


def csv_text(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return "nan" if math.isnan(v) else repr(v)
    if isinstance(v, str):
        return '""' if v == "" else v
    return str(v)


with open(f"{WORK}/rows.csv", "w") as f:
    f.write("symbol,ts,price,size,note\n")
    for r in rows:
        f.write(",".join([r[0], str(r[1])] + [csv_text(v) for v in r[2:]]) + "\n")
strata("import", f"{WORK}/db", "t", f"{WORK}/rows.csv", "--types", "price=float64,size=int64,note=string")
reference = strata("dump", f"{WORK}/db", "t")

# 1. Strata's files through the other readers.
strata("export", f"{WORK}/db", "t", f"{WORK}/one.parquet")
strata("export", f"{WORK}/db", "t", f"{WORK}/lake", "--partition", "symbol,month")
got = pq.read_table(f"{WORK}/one.parquet").to_pylist()
expect = sorted(rows, key=lambda r: (r[0].encode(), r[1]))
same = len(got) == len(expect) and all(
    g["symbol"] == e[0] and int(g["ts"].timestamp() * 1000) == e[1] and bits(g["price"]) == bits(e[2])
    and g["size"] == e[3] and g["note"] == e[4] for g, e in zip(got, expect))
check(same, "pyarrow reads every value of a Strata file bit for bit (NaN, -0.0, 5e-324, extremes, nulls, UTF-8)")
schema = pq.read_schema(f"{WORK}/one.parquet")
check(str(schema.field("ts").type) == "timestamp[ms, tz=UTC]" and not schema.field("symbol").nullable,
      "time is TIMESTAMP(ms, UTC), symbol REQUIRED")

per = {}
for s, t, p, q, n in rows:
    a = per.setdefault(s, [0, 0, 0, None])
    a[0] += 1
    a[1] += 0 if p is None else 1
    if q is not None:
        a[2] += q
        a[3] = q if a[3] is None else max(a[3], q)
sql = f"""SELECT symbol, count(*), count(price), sum(size)::HUGEINT, max(size)
          FROM read_parquet('{WORK}/lake/**/*.parquet', hive_partitioning = true, hive_types = {{'symbol': 'VARCHAR'}})
          GROUP BY symbol ORDER BY symbol"""
answer = {r[0]: [r[1], r[2], int(r[3]), r[4]] for r in duckdb.sql(sql).fetchall()}
check(answer == per, "DuckDB answers counts, sums and extremes per symbol over the hive data set")
lake = pl.scan_parquet(f"{WORK}/lake/**/*.parquet", hive_partitioning=True, hive_schema={"symbol": pl.String, "month": pl.String})
counts = dict(lake.group_by("symbol").agg(pl.len()).collect().iter_rows())
check(counts == {s: v[0] for s, v in per.items()}, "Polars reads the hive data set with symbols as text")
dataset = ds.dataset(f"{WORK}/lake", format="parquet", partitioning=ds.partitioning(pa.schema([("symbol", pa.string()), ("month", pa.string())]), flavor="hive"))
check(dataset.count_rows() == len(rows), "pyarrow.dataset reads the hive layout")

# 2. Other writers' files into Strata.
table = pa.table({
    "symbol": pa.array([r[0] for r in rows], pa.string()),
    "ts": pa.array([r[1] for r in rows], pa.timestamp("ms", tz="UTC")),
    "price": pa.array([r[2] for r in rows], pa.float64()),
    "size": pa.array([r[3] for r in rows], pa.int64()),
    "note": pa.array([r[4] for r in rows], pa.string()),
})
pq.write_table(table, f"{WORK}/pyarrow.parquet")
pq.write_table(table, f"{WORK}/pyarrow_v2.parquet", data_page_version="2.0", compression="zstd",
               column_encoding={"size": "DELTA_BINARY_PACKED", "price": "BYTE_STREAM_SPLIT"}, use_dictionary=["symbol", "note"])
con = duckdb.connect()
con.register("t", table)
con.execute(f"COPY (SELECT * FROM t) TO '{WORK}/duckdb.parquet' (FORMAT parquet)")
pl.from_arrow(table).write_parquet(f"{WORK}/polars.parquet")
for name in ["pyarrow", "pyarrow_v2", "duckdb", "polars"]:
    db = f"{WORK}/{name}.db"
    strata("import", db, "t", f"{WORK}/{name}.parquet", "--time-unit", "ms")
    check(strata("dump", db, "t") == reference, f"a file written by {name} imports to the same dump")
strata("import", f"{WORK}/back.db", "t", f"{WORK}/lake")
check(strata("dump", f"{WORK}/back.db", "t") == reference, "Strata's own hive data set imports back to the same dump")

# Conversions: BOOLEAN, INT32, FLOAT, DECIMAL and DATE; INT96 (Spark's old timestamps) as the time.
import datetime, decimal
conv = pa.table({
    "symbol": ["a", "a", "b"],
    "day": pa.array([datetime.date(2024, 1, 2), datetime.date(2024, 1, 3), datetime.date(1969, 12, 31)], pa.date32()),
    "flag": [True, False, None],
    "small": pa.array([1, -2, 2147483647], pa.int32()),
    "half": pa.array([0.5, -1.25, None], pa.float32()),
    "price": pa.array([decimal.Decimal("12.34"), decimal.Decimal("-0.01"), decimal.Decimal("9999999.99")], pa.decimal128(9, 2)),
})
pq.write_table(conv, f"{WORK}/conv.parquet")
strata("import", f"{WORK}/conv.db", "t", f"{WORK}/conv.parquet", "--time-column", "day")
check(strata("dump", f"{WORK}/conv.db", "t") == "symbol,day,flag,small,half,price\n"
      "a,1704153600000,1,1,0.5,12.34\na,1704240000000,0,-2,-1.25,-0.01\nb,-86400000,,2147483647,,9999999.99\n",
      "BOOLEAN, INT32, FLOAT, DECIMAL(9,2) and a DATE time column convert exactly")
int96 = pa.table({"symbol": ["a"], "ts": pa.array([1_700_000_000_123_456_789], pa.timestamp("ns"))})
pq.write_table(int96, f"{WORK}/int96.parquet", use_deprecated_int96_timestamps=True)
strata("import", f"{WORK}/int96.db", "t", f"{WORK}/int96.parquet", "--time-unit", "ns")
check(strata("dump", f"{WORK}/int96.db", "t") == "symbol,ts\na,1700000000123456789\n", "an INT96 timestamp imports exactly in ns")
r = subprocess.run([STRATA, "import", f"{WORK}/int96ms.db", "t", f"{WORK}/int96.parquet", "--time-unit", "ms"], capture_output=True, text=True)
check(r.returncode == 1 and "not a whole number" in r.stderr, "a time that is not whole in the table's unit is refused")

# Symbols a path cannot hold as they are: percent-encoded by the export, decoded by every reader.
hostile = ["a/b", "x=y", "%41", "sp ace", ".", "..", "c:d"]
with open(f"{WORK}/hostile.csv", "w") as f:
    f.write("symbol,ts,v\n" + "".join(f"{s},{k},{k}\n" for k, s in enumerate(hostile)))
strata("import", f"{WORK}/hostile.db", "t", f"{WORK}/hostile.csv")
strata("export", f"{WORK}/hostile.db", "t", f"{WORK}/hostile", "--partition", "symbol")
got = duckdb.sql(f"SELECT symbol FROM read_parquet('{WORK}/hostile/**/*.parquet', hive_partitioning = true, "
                 "hive_types = {'symbol': 'VARCHAR'}) ORDER BY v").fetchall()
check([g[0] for g in got] == hostile, "path-hostile symbols (/, =, %, space, ., .., :) come back from DuckDB's hive reader")
got = pl.scan_parquet(f"{WORK}/hostile/**/*.parquet", hive_partitioning=True, hive_schema={"symbol": pl.String}).sort("v").collect()
check(got["symbol"].to_list() == hostile, "and from Polars'")
strata("import", f"{WORK}/hostile2.db", "t", f"{WORK}/hostile")
check(strata("dump", f"{WORK}/hostile2.db", "t") == strata("dump", f"{WORK}/hostile.db", "t"), "and from Strata's own")

# 3. What Strata refuses, with the file and column named and nothing imported.
nested = pa.table({"symbol": ["a"], "ts": pa.array([1], pa.timestamp("ms", tz="UTC")), "tags": [[1, 2]]})
pq.write_table(nested, f"{WORK}/nested.parquet")
r = subprocess.run([STRATA, "import", f"{WORK}/refused.db", "t", f"{WORK}/nested.parquet"], capture_output=True, text=True)
check(r.returncode == 1 and "nested" in r.stderr and "nested.parquet" in r.stderr and not os.path.exists(f"{WORK}/refused.db"),
      "a nested (list) column is refused naming the file, and no database is left")
