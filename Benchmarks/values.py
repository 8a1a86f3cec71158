#!/usr/bin/env python3
"""The targets of nulls, text and changing columns (issue 13), measured in one run on one machine.

  Benchmarks/values.py --before OTHER_STRATA [--strata .build/release/strata] [--data DIR] [--work DIR]

DIR holds `strata generate --preset large` output (generated when missing).
1. The bars table (no nulls, no text) with this build and the one before: bytes per bar, import
   time and Q1-Q10 medians (`strata bench`, interleaved runs).
2. A trades-shaped table from the first 2 M bars with `side` (B/S at random) and `venue` (SZSE or SSE
   by symbol): bytes per row of each text column, block headers' share included.
3. `close` with 5% of its values null at random against the same column without nulls: extra bits per row.
4. Adding a column to the bars table: the time of `strata alter`, and the data files untouched.
Prints a Markdown table.
"""
import argparse, hashlib, json, os, random, shutil, subprocess, sys, time

p = argparse.ArgumentParser()
p.add_argument("--strata", default=".build/release/strata")
p.add_argument("--before", required=True)
p.add_argument("--data", default="/tmp/strata-anyorder/data")
p.add_argument("--work", default="/tmp/strata-values")
args = p.parse_args()
S, B = os.path.abspath(args.strata), os.path.abspath(args.before)
W = args.work
shutil.rmtree(W, ignore_errors=True)
os.makedirs(W)


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr}")
    return r.stdout


def timed(cmd):
    t = time.perf_counter()
    run(cmd)
    return time.perf_counter() - t


def info(strata, db, table):
    for t in json.loads(run([strata, "info", db, "--json"]))["tables"]:
        if t["name"] == table:
            return t


def bench(strata, db):
    out = {}
    for line in run([strata, "bench", db, "--runs", "5", "--format", "jsonl"]).splitlines():
        q = json.loads(line)
        if "query" in q:
            out[q["query"]] = q["median_ms"]
    return out


if not os.path.exists(f"{args.data}/bars_1m.csv"):
    run([S, "generate", args.data, "--preset", "large"])
bars, funds = f"{args.data}/bars_1m.csv", f"{args.data}/fund_shares.csv"
rows = []

# 1. The bars table, before and now.
t_before = timed([B, "import", f"{W}/before.db", "bars", bars])
t_now = timed([S, "import", f"{W}/now.db", "bars", bars])
for strata, db in ((B, "before"), (S, "now")):
    run([strata, "import", f"{W}/{db}.db", "fund_shares", funds])
ib, inow = info(B, f"{W}/before.db", "bars"), info(S, f"{W}/now.db", "bars")
rows.append(("bars: bytes per bar, now / before", f"{inow['bytes'] / inow['rows']:.3f} / {ib['bytes'] / ib['rows']:.3f}",
             f"{inow['bytes'] / ib['bytes']:.4f}×"))
rows.append(("bars: import time, now / before", f"{t_now:.2f} s / {t_before:.2f} s", f"{t_now / t_before:.2f}×"))
qb, qn = bench(B, f"{W}/before.db"), bench(S, f"{W}/now.db")
qb2, qn2 = bench(B, f"{W}/before.db"), bench(S, f"{W}/now.db")
for q in sorted(qb, key=lambda k: int(k[1:])):
    b, n = min(qb[q], qb2[q]), min(qn[q], qn2[q])
    rows.append((f"bars: {q} median (best of 2 interleaved runs), now / before", f"{n:.3f} ms / {b:.3f} ms", f"{n / b:.2f}×"))

# 2 and 3. Text columns and nulls on the first 2 M bars.
rng = random.Random(13)
plain, text, nulls = (open(f"{W}/{n}.csv", "w") for n in ("plain", "text", "nulls"))
with open(bars) as f:
    header = f.readline().rstrip("\n")
    plain.write(header + "\n")
    text.write(header + ",side,venue\n")
    nulls.write(header + "\n")
    for i, line in enumerate(f):
        if i >= 2_000_000:
            break
        line = line.rstrip("\n")
        plain.write(line + "\n")
        symbol = line.split(",", 1)[0]
        text.write(f"{line},{'B' if rng.random() < 0.5 else 'S'},{'SZSE' if symbol.startswith('1') else 'SSE'}\n")
        cells = line.split(",")
        if rng.random() < 0.05:
            cells[5] = ""  # close
        nulls.write(",".join(cells) + "\n")
for f in (plain, text, nulls):
    f.close()
for n in ("plain", "text", "nulls"):
    run([S, "import", f"{W}/{n}.db", "bars", f"{W}/{n}.csv"])
it = info(S, f"{W}/text.db", "bars")
ip = info(S, f"{W}/plain.db", "bars")
blocks = it["blocks"]
for c in it["columns"]:
    if c["name"] in ("side", "venue"):
        per_row = (c["bytes"] + 88 * blocks) / it["rows"]
        rows.append((f"text column {c['name']}: bytes per row (chunks + descriptors)", f"{per_row:.4f}", "target ≤ 0.2"))
cp = next(c for c in ip["columns"] if c["name"] == "close")
inl = info(S, f"{W}/nulls.db", "bars")
cn = next(c for c in inl["columns"] if c["name"] == "close")
extra_bits = (cn["bytes"] - cp["bytes"]) * 8 / ip["rows"]
rows.append(("close with 5% nulls: bits per row over the column without nulls", f"{extra_bits:+.3f}", "target ≤ 1"))


# 4. Adding a column to the 28.8 M-row bars table.
def files(db):
    return {n: hashlib.sha256(open(f"{db}/{n}", "rb").read()).hexdigest() for n in os.listdir(db) if n.endswith(".sdf")}


before_files = files(f"{W}/now.db")
t_alter = timed([S, "alter", f"{W}/now.db", "bars", "--add-column", "vwap:float64"])
same = files(f"{W}/now.db") == before_files
rows.append((f"alter --add-column on {inow['rows']:,} rows (process start included)", f"{t_alter * 1000:.0f} ms",
             "data files unchanged" if same else "DATA FILES CHANGED"))
check = run([S, "query", f"{W}/now.db", "SELECT count(*), count(vwap) FROM bars"]).splitlines()[-1]
rows.append(("after it: count(*), count(vwap)", check, ""))

print("| measure | value | ratio / target |\n| --- | ---: | ---: |")
for r in rows:
    print(f"| {r[0]} | {r[1]} | {r[2]} |")
