#!/usr/bin/env python3
"""The targets of writes in any order (issue 12), measured in one run on one machine.

  Benchmarks/anyorder.py [--preset large|small] [--strata .build/release/strata] [--before OTHER_STRATA] [--work DIR]

1. Backfill: the preset's days, one CSV per day, imported newest first against oldest first; then
   `compact` the backfilled database and compare bytes per bar and Q1-Q10 with the in-order one.
2. One late row into a symbol with all its bars: commit time and bytes written, against one
   ordinary small commit (a row after the last).
3. Re-importing a day already in a dedup table, against importing that day fresh into it.
4. A CSV of 1 M rows in random time order against the same rows sorted.
5. With --before: the in-order import and Q1-Q10 of another build (no regression).
Prints a Markdown table of ratios.
"""
import argparse, json, os, random, shutil, subprocess, sys, time

p = argparse.ArgumentParser()
p.add_argument("--preset", default="large")
p.add_argument("--strata", default=".build/release/strata")
p.add_argument("--before")
p.add_argument("--work", default="/tmp/strata-anyorder")
args = p.parse_args()
S = os.path.abspath(args.strata)
W = args.work
os.makedirs(W, exist_ok=True)


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr}")
    return r.stdout


def timed(cmd):
    t = time.perf_counter()
    out = run(cmd)
    return time.perf_counter() - t, out


def disk(db):
    return sum(os.path.getsize(os.path.join(db, f)) for f in os.listdir(db))


def info(db):
    return json.loads(run([S, "info", db, "--json"]))


def bench(binary, db):
    out = run([binary, "bench", db, "--runs", "5", "--format", "jsonl", "--time-zone", "Asia/Shanghai"])
    return {o["query"]: o["median_ms"] for o in map(json.loads, out.splitlines()) if "query" in o}


data = os.path.join(W, "data")
if not os.path.exists(os.path.join(data, "bars_1m.csv")):
    run([S, "generate", data, "--preset", args.preset])
bars = os.path.join(data, "bars_1m.csv")

# One file per trading day (days cut at midnight Asia/Shanghai).
days_dir = os.path.join(W, "days")
if not os.path.exists(days_dir):
    os.makedirs(days_dir)
    files = {}
    with open(bars) as f:
        header = f.readline()
        for line in f:
            day = (int(line.split(",", 2)[1]) // 1000 + 8 * 3600) // 86400
            if day not in files:
                files[day] = open(os.path.join(days_dir, f"{day}.csv"), "w")
                files[day].write(header)
            files[day].write(line)
    for h in files.values():
        h.close()
days = sorted(int(n[:-4]) for n in os.listdir(days_dir))
rows_total = sum(1 for _ in open(bars)) - 1
results = []


class Results(list):
    def append(self, row):
        super().append(row)
        print(f"  {row[0]}: {row[1]} (ratio {row[2]:.2f}, target {row[3]})", file=sys.stderr, flush=True)


results = Results()


def import_days(db, order):
    shutil.rmtree(db, ignore_errors=True)
    t = time.perf_counter()
    for d in order:
        run([S, "import", db, "bars", os.path.join(days_dir, f"{d}.csv")])
    return time.perf_counter() - t


# 1. Backfill
in_order_db, backfill_db = os.path.join(W, "in-order.db"), os.path.join(W, "backfill.db")
t_in = import_days(in_order_db, days)
t_back = import_days(backfill_db, list(reversed(days)))
results.append(("backfill: days newest first / oldest first (import time)", f"{t_back:.1f} s / {t_in:.1f} s", t_back / t_in, "≤ 1.5"))
run([S, "compact", in_order_db])
run([S, "compact", backfill_db])
b_in = info(in_order_db)["tables"][0]["bytes"] / rows_total
b_back = info(backfill_db)["tables"][0]["bytes"] / rows_total
results.append(("backfill after compact: bytes per bar", f"{b_back:.3f} / {b_in:.3f}", b_back / b_in, "within 5%"))
q_in, q_back = bench(S, in_order_db), bench(S, backfill_db)
for q in sorted(q_in, key=lambda k: int(k[1:])):
    results.append((f"backfill after compact: {q} median", f"{q_back[q]:.3f} / {q_in[q]:.3f} ms", q_back[q] / q_in[q], "within noise"))

# 2. One late row (the first symbol, in the middle of its year), against one ordinary small commit.
with open(bars) as f:
    f.readline()
    symbol = f.readline().split(",")[0]
sym_rows = [l for l in open(os.path.join(days_dir, f"{days[len(days) // 2]}.csv")) if l.startswith(symbol + ",")]
t_mid = int(sym_rows[len(sym_rows) // 2].split(",")[1]) + 1  # between two bars
late = os.path.join(W, "late.csv")
with open(late, "w") as f:
    f.write("symbol,ts,open,high,low,close,volume,amount\n" + f"{symbol},{t_mid},1.0,1.0,1.0,1.0,100,100.0\n")
after = os.path.join(W, "after.csv")
with open(after, "w") as f:
    f.write("symbol,ts,open,high,low,close,volume,amount\n" + f"{symbol},{4102444800000},1.0,1.0,1.0,1.0,100,100.0\n")
before_bytes = disk(in_order_db)
t_late, _ = timed([S, "import", in_order_db, "bars", late])
late_bytes = disk(in_order_db) - before_bytes
before_bytes = disk(in_order_db)
t_after, _ = timed([S, "import", in_order_db, "bars", after])
after_bytes = disk(in_order_db) - before_bytes
results.append(("one late row / one row after the last: commit time (whole process)", f"{t_late * 1000:.0f} / {t_after * 1000:.0f} ms", t_late / t_after, "about 1"))
results.append(("one late row: bytes written (data and manifest)", f"{late_bytes} / {after_bytes}", late_bytes / max(1, after_bytes), "the overlapped block"))

# 3. Re-importing a day into a dedup table.
dedup_db = os.path.join(W, "dedup.db")
shutil.rmtree(dedup_db, ignore_errors=True)
day = days[len(days) // 2]
others = [d for d in days if d != day][:20] + [d for d in days if d != day][-20:]
run([S, "import", dedup_db, "bars", os.path.join(days_dir, f"{others[0]}.csv"), "--dedup"])
for d in others[1:]:
    run([S, "import", dedup_db, "bars", os.path.join(days_dir, f"{d}.csv")])
dump_before = None
t_fresh, _ = timed([S, "import", dedup_db, "bars", os.path.join(days_dir, f"{day}.csv")])
dump_before = run([S, "dump", dedup_db, "bars"])
t_again, _ = timed([S, "import", dedup_db, "bars", os.path.join(days_dir, f"{day}.csv")])
same = run([S, "dump", dedup_db, "bars"]) == dump_before
results.append((f"dedup: re-import of a day / importing it fresh (unchanged: {same})", f"{t_again:.2f} / {t_fresh:.2f} s", t_again / t_fresh, "≤ 2"))

# 4. 1 M rows in random order against sorted.
lines = open(bars).readlines()
header, body = lines[0], lines[1:1_000_001]
rnd = random.Random(12)
shuffled = body[:]
rnd.shuffle(shuffled)
for name, rows in (("sorted", body), ("random", shuffled)):
    with open(os.path.join(W, f"{name}.csv"), "w") as f:
        f.write(header)
        f.writelines(rows)
times = {}
for name in ("sorted", "random"):
    db = os.path.join(W, f"{name}.db")
    shutil.rmtree(db, ignore_errors=True)
    times[name], _ = timed([S, "import", db, "bars", os.path.join(W, f"{name}.csv")])
same = run([S, "dump", os.path.join(W, "sorted.db"), "bars"]) == run([S, "dump", os.path.join(W, "random.db"), "bars"])
results.append((f"1 M rows: random order / sorted, import speed (same dump: {same})", f"{len(body) / times['random'] / 1e6:.2f} / {len(body) / times['sorted'] / 1e6:.2f} M rows/s", times["sorted"] / times["random"], "≥ 0.5"))

# 5. No regression against another build.
if args.before:
    B = os.path.abspath(args.before)
    for name, binary in (("before", B), ("now", S)):
        db = os.path.join(W, f"bulk-{name}.db")
        shutil.rmtree(db, ignore_errors=True)
        times[name], _ = timed([binary, "import", db, "bars", bars])
    results.append(("in-order bulk import: this build / before", f"{times['now']:.2f} / {times['before']:.2f} s", times["now"] / times["before"], "within noise"))
    bn = info(os.path.join(W, "bulk-now.db"))["tables"][0]["bytes"] / rows_total
    bb = info(os.path.join(W, "bulk-before.db"))["tables"][0]["bytes"] / rows_total
    results.append(("in-order bulk import: bytes per bar", f"{bn:.3f} / {bb:.3f}", bn / bb, "1"))
    qn, qb = bench(S, os.path.join(W, "bulk-now.db")), bench(B, os.path.join(W, "bulk-before.db"))
    for q in sorted(qn, key=lambda k: int(k[1:])):
        results.append((f"in-order: {q} median, this build / before", f"{qn[q]:.3f} / {qb[q]:.3f} ms", qn[q] / qb[q], "within noise"))

print(f"Preset `{args.preset}`: {rows_total:,} bars, {len(days)} days; machine: {os.uname().machine}, {os.cpu_count()} CPUs.\n")
print("| measure | figures | ratio | target |\n| --- | --- | --- | --- |")
for name, figures, ratio, target in results:
    print(f"| {name} | {figures} | {ratio:.2f} | {target} |")
