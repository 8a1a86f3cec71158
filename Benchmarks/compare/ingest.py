#!/usr/bin/env python3
"""Side-by-side ingest of one bars CSV: DuckDB (read_csv + CREATE TABLE ... ORDER BY + CHECKPOINT)
against `strata import`, in one run on one machine; then the same rows from a Parquet file (written
by DuckDB, zstd, before the timing): DuckDB's read_parquet against `strata import` of the file.
Prints rows/s and bytes per row for each and Strata's ratios.
Usage: ingest.py BARS_CSV STRATA_BINARY WORKDIR (needs the duckdb Python package)."""
import os, shutil, subprocess, sys, time

csv, strata, work = sys.argv[1], sys.argv[2], sys.argv[3]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
with open(csv, "rb") as f:  # warm the page cache for both
    while f.read(1 << 24):
        pass
rows = sum(1 for _ in open(csv, "rb")) - 1

import duckdb


def duck_ingest(source, name):
    path = os.path.join(work, name)
    t0 = time.perf_counter()
    con = duckdb.connect(path)
    con.execute(f"CREATE TABLE bars AS SELECT * FROM {source} ORDER BY symbol, ts")
    con.execute("CHECKPOINT")
    con.close()
    return time.perf_counter() - t0, os.path.getsize(path)


def strata_ingest(source, name):
    db = os.path.join(work, name)
    t0 = time.perf_counter()
    subprocess.run([strata, "import", db, "bars", source], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0, sum(os.path.getsize(os.path.join(db, n)) for n in os.listdir(db))


parquet = os.path.join(work, "bars.parquet")
con = duckdb.connect()
con.execute(f"COPY (SELECT * FROM read_csv('{csv}', header=true)) TO '{parquet}' (FORMAT parquet, COMPRESSION zstd)")
con.close()
with open(parquet, "rb") as f:
    while f.read(1 << 24):
        pass
results = []
for kind, duck_source, strata_source in [("CSV", f"read_csv('{csv}', header=true)", csv), ("Parquet", f"read_parquet('{parquet}')", parquet)]:
    duck_s, duck_bytes = duck_ingest(duck_source, f"duck-{kind}.db")
    strata_s, strata_bytes = strata_ingest(strata_source, f"strata-{kind}.db")
    results.append((kind, duck_s, duck_bytes, strata_s, strata_bytes))

print(f"rows: {rows:,}")
print("| from | engine | ingest s | rows/s | bytes/row |")
print("| --- | --- | ---: | ---: | ---: |")
for kind, duck_s, duck_bytes, strata_s, strata_bytes in results:
    print(f"| {kind} | DuckDB {duckdb.__version__} | {duck_s:.2f} | {rows / duck_s / 1e6:.2f} M | {duck_bytes / rows:.2f} |")
    print(f"| {kind} | Strata | {strata_s:.2f} | {rows / strata_s / 1e6:.2f} M | {strata_bytes / rows:.2f} |")
for kind, duck_s, duck_bytes, strata_s, strata_bytes in results:
    print(f"{kind}: Strata ingest speed {duck_s / strata_s:.2f}x DuckDB's; size {strata_bytes / duck_bytes:.2f}x DuckDB's bytes")
