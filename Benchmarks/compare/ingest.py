#!/usr/bin/env python3
"""Side-by-side ingest of one bars CSV: DuckDB (read_csv + CREATE TABLE ... ORDER BY + CHECKPOINT)
against `strata import`, in one run on one machine. Prints rows/s and bytes per row for each and
Strata's ratios. Usage: ingest.py BARS_CSV STRATA_BINARY WORKDIR (needs the duckdb Python package)."""
import os, shutil, subprocess, sys, time

csv, strata, work = sys.argv[1], sys.argv[2], sys.argv[3]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
with open(csv, "rb") as f:  # warm the page cache for both
    while f.read(1 << 24):
        pass
rows = sum(1 for _ in open(csv, "rb")) - 1

import duckdb
path = os.path.join(work, "duck.db")
t0 = time.perf_counter()
con = duckdb.connect(path)
con.execute(f"CREATE TABLE bars AS SELECT * FROM read_csv('{csv}', header=true) ORDER BY symbol, ts")
con.execute("CHECKPOINT")
con.close()
duck_s = time.perf_counter() - t0
duck_bytes = os.path.getsize(path)

db = os.path.join(work, "strata.db")
t0 = time.perf_counter()
subprocess.run([strata, "import", db, "bars", csv], check=True, stdout=subprocess.DEVNULL)
strata_s = time.perf_counter() - t0
strata_bytes = sum(os.path.getsize(os.path.join(db, n)) for n in os.listdir(db))

print(f"rows: {rows:,}")
print("| engine | ingest s | rows/s | bytes/row |")
print("| --- | ---: | ---: | ---: |")
print(f"| DuckDB {duckdb.__version__} | {duck_s:.2f} | {rows / duck_s / 1e6:.2f} M | {duck_bytes / rows:.2f} |")
print(f"| Strata | {strata_s:.2f} | {rows / strata_s / 1e6:.2f} M | {strata_bytes / rows:.2f} |")
print(f"Strata ingest speed: {duck_s / strata_s:.2f}x DuckDB's; size: {strata_bytes / duck_bytes:.2f}x DuckDB's bytes")
