#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora into Tests/Fuzz/Corpus/TARGET/ (committed; run again after a
format change). Small real inputs: blocks of every encoding and manifests with checkpoints (from the
golden databases of every format version), whole databases, CSVs of the edge cases, the SQL of the
README and the tests, Parquet files written by Strata, DuckDB, pyarrow and Polars (when importable),
a few zoneinfo files, ISO-8601 times and trading calendars.

    Benchmarks/compare/.venv/bin/python Tests/Fuzz/make-corpus.py    (python3 works, without the Parquet of others)
"""
import glob
import hashlib
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "Corpus")


def put(target, data, limit=65536):
    if isinstance(data, str):
        data = data.encode()
    if len(data) > limit:
        return
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)


def blocks(path):
    data = open(path, "rb").read()
    at = 24  # the data file header
    while at + 56 <= len(data) and data[at:at + 3] == b"SBK":
        header, payload = struct.unpack_from("<II", data, at + 4)
        yield data[at:at + header + payload]
        at += header + payload


def golden():
    for db in sorted(glob.glob(os.path.join(ROOT, "Tests/Golden/format-*/*/MANIFEST"))):
        d = os.path.dirname(db)
        manifest = open(db, "rb").read()
        put("manifest", manifest)
        files = [manifest]
        for k in range(1, 10):
            p = os.path.join(d, "d%08d.sdf" % k)
            files.append(open(p, "rb").read() if os.path.exists(p) else b"")
        while files and files[-1] == b"":
            files.pop()
        put("database", b"".join(struct.pack("<I", len(f)) + f for f in files), limit=32768)
        for p in sorted(glob.glob(os.path.join(d, "*.sdf"))):
            for i, b in enumerate(blocks(p)):
                if i < 12:
                    put("block", bytes([0x02]) + b)  # chunk checksums checked
                    put("block", bytes([0x00]) + b)


CSVS = [
    "symbol,ts,close,volume\n159363,1704159000000,1.063,122300\n159363,1704159060000,1.064,62100\n",
    "symbol,ts,close\r\nA,0,1.5\r\nA,1,\r\nB,-5,NaN\r\n",
    "\ufeffsymbol,ts,name,price\nX,1704159000000,\"a, \"\"quoted\"\" name\",1e3\nX,1704159060000,,-0.0\n",
    "symbol,ts,v\nA,9223372036854775807,1\nA,-9223372036854775808,2\nA,1,99999999999999999999\n",
    "symbol,ts,note\nA,1,\"line\nbreak\"\nA,2,\"\"\nA,3,plain\n",
    "symbol,ts\nA,1\nA,1\n",
    "symbol,ts,a,b,c\nS,10,1,2.5,x\nS,5,3,,y\nT,7,,0.1,\n",
    "ts,symbol,close\n1,A,1\n",
    "symbol,ts,close\n",
    "symbol,ts,x\nA,1,1\nA,2,1.5\nA,3,text\n",
]

TIMES = ["2024-01-02", "2024-01-02T09:30:00+08:00", "2024-01-02T09:30:00.123456789Z", "1970-01-01T00:00:00Z",
         "-0001-12-31T23:59:59-14:00", "2024-02-29T24:00:00", "9999-12-31T23:59:59.999999999+00:00", "2024-13-01", "1704159000000"]


def sql():
    texts = set()
    for path in [os.path.join(ROOT, "README.md"), os.path.join(ROOT, "scripts/demo.sh")] + glob.glob(os.path.join(ROOT, "Tests/**/*.swift"), recursive=True):
        text = open(path, encoding="utf-8").read()
        for m in re.finditer(r'"((?:EXPLAIN )?SELECT [^"\\]*(?:\\.[^"\\]*)*)"', text):
            texts.add(m.group(1).replace('\\"', '"').replace("\\n", "\n"))
        for m in re.finditer(r'"""\n(\s*(?:EXPLAIN )?SELECT .*?)"""', text, re.S):
            texts.add(m.group(1))
    for t in sorted(texts):
        if "\\(" not in t:  # skip Swift interpolations
            put("sql", t)
    put("sql", "SELECT symbol, ts, close, avg(close) OVER (PARTITION BY symbol ORDER BY ts ROWS 2 PRECEDING) FROM bars")
    put("sql", "SELECT ts, count(*) FROM bars SAMPLE BY 5m ALIGN TO SESSION 'XSHG'")
    put("sql", "SELECT b.ts, b.close * f.shares FROM bars b ASOF JOIN fund_shares f ON (symbol) WHERE venue IS NULL")


def parquet():
    strata = os.path.join(ROOT, ".build/debug/strata")
    with tempfile.TemporaryDirectory() as tmp:
        csv = os.path.join(tmp, "in.csv")
        with open(csv, "w") as f:
            f.write(CSVS[6])
        if os.path.exists(strata):
            db = os.path.join(tmp, "db")
            subprocess.run([strata, "import", db, "t", csv], check=True, capture_output=True)
            for codec in ["zstd", "lz4", "none"]:
                out = os.path.join(tmp, f"s-{codec}.parquet")
                subprocess.run([strata, "export", db, "t", out, "--codec", codec], check=True, capture_output=True)
                put("parquet", open(out, "rb").read())
        try:
            import duckdb
            for codec in ["snappy", "zstd", "gzip", "uncompressed"]:
                out = os.path.join(tmp, f"d-{codec}.parquet")
                duckdb.connect().execute(f"COPY (SELECT * FROM read_csv_auto('{csv}')) TO '{out}' (FORMAT parquet, COMPRESSION {codec})")
                put("parquet", open(out, "rb").read())
        except ImportError:
            print("no duckdb: its Parquet left out", file=sys.stderr)
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
            t = pa.table({"symbol": ["S", "S", "T"], "ts": pa.array([1, 2, 3], pa.timestamp("ns")), "a": [1, None, 3], "b": [0.5, 1.5, None]})
            for codec in ["snappy", "zstd", "none"]:
                out = os.path.join(tmp, f"p-{codec}.parquet")
                pq.write_table(t, out, compression=codec, use_dictionary=codec != "none")
                put("parquet", open(out, "rb").read())
        except ImportError:
            print("no pyarrow: its Parquet left out", file=sys.stderr)
        try:
            import polars as pl
            out = os.path.join(tmp, "polars.parquet")
            pl.DataFrame({"symbol": ["A", "B"], "ts": [1, 2], "v": [1.0, None]}).write_parquet(out)
            put("parquet", open(out, "rb").read())
        except ImportError:
            print("no polars: its Parquet left out", file=sys.stderr)


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    golden()
    for c in CSVS:
        put("csv", c)
    for t in TIMES:
        put("time", t)
    sql()
    parquet()
    for z in ["Asia/Shanghai", "America/New_York", "Europe/London", "UTC", "Australia/Lord_Howe", "America/Sao_Paulo"]:
        p = os.path.join("/usr/share/zoneinfo", z)
        if os.path.exists(p):
            put("tzif", open(p, "rb").read())
    swift = open(os.path.join(ROOT, "Sources/Strata/Time/BuiltinCalendars.swift"), encoding="utf-8").read()
    china = re.search(r'static let china = """\n(.*?)"""', swift, re.S).group(1)
    holidays = re.search(r'static let chinaHolidays = """\n(.*?)"""', swift, re.S).group(1)
    nyse = re.search(r'"XNYS": """\n(.*?)"""', swift, re.S).group(1)
    dedent = lambda s: "\n".join(line.strip() for line in s.splitlines()) + "\n"
    put("calendar", "calendar XSHG\n" + dedent(china) + dedent(holidays))
    put("calendar", dedent(nyse))
    put("calendar", "calendar T\nzone UTC\nweekdays Mon Sat\nsession a 00:00 24:00\nholiday 2024-02-29\nearly-close 2024-03-02 12:00:30\n")
    for t, d in sorted((t, len(os.listdir(os.path.join(OUT, t)))) for t in os.listdir(OUT)):
        print(f"{t}: {d} inputs")


if __name__ == "__main__":
    main()
