#!/usr/bin/env python3
"""Parquet out and in (issue 14), measured in one run on one machine, against DuckDB.

  Benchmarks/parquet.py [--strata .build/release/strata] [--data DIR] [--work DIR]

Needs duckdb and pyarrow in the running Python (e.g. the interop venv: .build/interop-venv/bin/python).
DIR holds `strata generate --preset large` output (generated when missing).
1. Export of the bars table: Strata (zstd, lz4, none; one file and symbol,month) against DuckDB's
   COPY bars TO ... (FORMAT parquet) with the same codecs (2 threads each): time, bytes, peak RSS.
2. Import: Strata's CSV import of the bars against its import of Strata's, DuckDB's and pyarrow's
   Parquet files of the same rows: time and peak RSS.
Prints a Markdown table.
"""
import argparse, os, resource, shutil, subprocess, sys, time

import duckdb
import pyarrow.parquet as pq

p = argparse.ArgumentParser()
p.add_argument("--strata", default=".build/release/strata")
p.add_argument("--data", default="/tmp/strata-anyorder/data")
p.add_argument("--work", default="/tmp/strata-parquet-bench")
args = p.parse_args()
S, W = os.path.abspath(args.strata), args.work
shutil.rmtree(W, ignore_errors=True)
os.makedirs(W)


def run(cmd):
    """Runs cmd; returns (seconds, peak RSS in MB of that child)."""
    t = time.perf_counter()
    r = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr}")
    return time.perf_counter() - t, int(r.stderr.strip().splitlines()[-1]) / 1024


def size(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


if not os.path.exists(f"{args.data}/bars_1m.csv"):
    subprocess.run([S, "generate", args.data, "--preset", "large"], check=True)
csv = f"{args.data}/bars_1m.csv"
rows = []
t_csv, rss_csv = run([S, "import", f"{W}/bars.db", "bars", csv])

con = duckdb.connect()
con.execute("SET threads TO 2")
con.execute(f"CREATE TABLE bars AS SELECT * FROM read_csv('{csv}', types = {{'symbol': 'VARCHAR'}})")
for codec, duck in (("zstd", "zstd"), ("lz4", "lz4_raw"), ("none", "uncompressed")):
    t, rss = run([S, "export", f"{W}/bars.db", "bars", f"{W}/strata_{codec}.parquet", "--codec", codec])
    start = time.perf_counter()
    con.execute(f"COPY bars TO '{W}/duckdb_{codec}.parquet' (FORMAT parquet, COMPRESSION {duck})")
    td = time.perf_counter() - start
    ss, sd = size(f"{W}/strata_{codec}.parquet"), size(f"{W}/duckdb_{codec}.parquet")
    rows.append((f"export bars, {codec}: Strata / DuckDB time", f"{t:.2f} s / {td:.2f} s", f"{td / t:.2f}× faster"))
    rows.append((f"export bars, {codec}: Strata / DuckDB bytes", f"{ss:,} / {sd:,}", f"{ss / sd:.3f}×"))
    if codec == "zstd":
        rows.append(("export bars, zstd: Strata peak RSS", f"{rss:.0f} MB", ""))
t, rss = run([S, "export", f"{W}/bars.db", "bars", f"{W}/lake", "--partition", "symbol,month"])
start = time.perf_counter()
con.execute(f"COPY bars TO '{W}/duck_lake' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (symbol))")
td = time.perf_counter() - start
files = sum(len(fs) for _, _, fs in os.walk(f"{W}/lake"))
rows.append((f"export bars, symbol,month ({files:,} files): Strata; DuckDB PARTITION_BY symbol", f"{t:.2f} s; {td:.2f} s",
             f"{size(f'{W}/lake'):,} / {size(f'{W}/duck_lake'):,} bytes"))

con.execute(f"COPY bars TO '{W}/duckdb_snappy.parquet' (FORMAT parquet)")
pq.write_table(pq.read_table(f"{W}/duckdb_snappy.parquet"), f"{W}/pyarrow.parquet")
rows.append(("import bars from CSV (the reference)", f"{t_csv:.2f} s", f"peak RSS {rss_csv:.0f} MB"))
for name in ("strata_zstd", "duckdb_snappy", "pyarrow"):
    t, rss = run([S, "import", f"{W}/{name}.db", "bars", f"{W}/{name}.parquet", "--time-unit", "ms"])
    rows.append((f"import bars from {name}.parquet", f"{t:.2f} s", f"{t_csv / t:.2f}× the CSV speed, peak RSS {rss:.0f} MB"))

print("| measure | value | ratio |\n| --- | ---: | ---: |")
for r in rows:
    print(f"| {r[0]} | {r[1]} | {r[2]} |")
