#!/usr/bin/env python3
"""Issue 16's scale check: the ten questions on 1x, 3x and 10x the peers' large data.

The peers' bars (29.2 M one-minute bars of 500 ETFs over 250 days, `gen_data.py --preset large`)
are imported N times into one database, copy k shifted by k x 52 weeks (whole weeks, so weekdays
and the lunch break stay where they were): the same instruments over N years, appended in time
order. After 1, 3 and 10 copies each query runs in fresh `strata query --timing` processes (page
cache warm) with the parameters of the first year, so Q2, Q3, Q4 and Q7 ask the same question at
every size while Q1, Q5, Q6, Q8, Q9 and Q10 read everything of their symbol or table. Reports
each query's median time, its process's wall time (the open included) and the peak anonymous
memory of its process (the mapped files' pages, which belong to the page cache, left out).

    python3 Benchmarks/scale.py STRATA PEERS_BARS_CSV WORK_DIR [--copies 1,3,10] [--runs 5]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

WEEK_MS = 7 * 86_400_000
SHIFT = 52 * WEEK_MS
S = "'159363'"
T = "bars"
QUERIES = {
    "q1": f"SELECT sum(volume) FROM {T} WHERE symbol = {S}",
    "q2": f"SELECT ts, open, high, low, close, volume, amount FROM {T} WHERE symbol = {S} AND ts >= 1720627200000 AND ts < 1720713600000 ORDER BY ts",
    "q3": f"SELECT min(low), max(high), first(open), last(close), count(*) FROM {T} WHERE symbol = {S} AND ts >= 1719763200000 AND ts < 1722441600000",
    "q4": f"SELECT * FROM (SELECT symbol, sum(amount) AS a, sum(volume) AS v, sum(amount) / sum(volume) AS vwap FROM {T} WHERE ts >= 1719763200000 AND ts < 1722441600000) WHERE v > 0 ORDER BY symbol",
    "q5": f"SELECT ts, first(open), max(high), min(low), last(close), sum(volume), sum(amount) FROM {T} WHERE symbol = {S} SAMPLE BY 1h",
    "q6": f"SELECT symbol, ts, first(open), max(high), min(low), last(close), sum(volume), sum(amount) FROM {T} SAMPLE BY 1d ALIGN TO CALENDAR TIME ZONE 'Asia/Shanghai'",
    "q7": f"SELECT symbol, ts, close FROM {T} WHERE ts <= 1729045050500 LATEST ON ts PARTITION BY symbol",
    "q9": f"SELECT symbol, count(*) FROM {T} GROUP BY symbol",
    "q10": f"SELECT sum(amount), count(*) FROM {T}",
}


def shifted_copy(src, dst, shift):
    """The CSV with every time moved by `shift` ms (column 2), streamed."""
    with open(src, "rb") as f, open(dst, "wb") as out:
        out.write(f.readline())
        for line in f:
            a, b, rest = line.split(b",", 2)
            out.write(b"%s,%d,%s" % (a, int(b) + shift, rest))


def peak_kb(cmd):
    """Runs `cmd`; returns (stderr, peak anonymous resident KB). The process's own memory, polled
    from /proc every millisecond: the resident size would also count the pages of the mapped
    files it touched, which are the page cache's, shared and dropped under pressure."""
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0
    while p.poll() is None:
        try:
            with open(f"/proc/{p.pid}/status") as f:
                for line in f:
                    if line.startswith("RssAnon:"):
                        peak = max(peak, int(line.split()[1]))
        except (FileNotFoundError, ProcessLookupError):
            pass
        time.sleep(0.001)
    err = p.stderr.read()
    if p.returncode != 0:
        raise SystemExit(f"{cmd} failed: {err}")
    return err, peak


def measure(strata, db, runs):
    row = {}
    for q, sql in QUERIES.items():
        times, walls, rss = [], [], 0
        for i in range(runs + 1):
            start = time.perf_counter()
            err, kb = peak_kb([strata, "query", db, sql, "--timing", "--format", "csv"])
            wall = (time.perf_counter() - start) * 1000
            if i == 0:
                continue
            times.append(float(err.split("time:")[1].split()[0]))
            walls.append(wall)
            rss = max(rss, kb)
        row[q] = (statistics.median(times), statistics.median(walls), rss)
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("strata")
    ap.add_argument("csv")
    ap.add_argument("work")
    ap.add_argument("--copies", default="1,3,10")
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    marks = sorted(int(x) for x in a.copies.split(","))
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    db = os.path.join(a.work, "db")
    results = {}
    for k in range(marks[-1]):
        part = os.path.join(a.work, "part.csv")
        if k == 0:
            part = a.csv
        else:
            shifted_copy(a.csv, part, k * SHIFT)
        subprocess.run([a.strata, "import", db, T, part], check=True, stdout=subprocess.DEVNULL)
        if k > 0:
            os.remove(part)
        if k + 1 in marks:
            size = sum(os.path.getsize(os.path.join(db, f)) for f in os.listdir(db))
            print(f"{k + 1} copies: {size / 1e9:.2f} GB on disk", file=sys.stderr, flush=True)
            results[k + 1] = (size, measure(a.strata, db, a.runs))
    print("| query | " + " | ".join(f"{m}× ({results[m][0] / 1e9:.2f} GB) ms / process ms / peak anonymous MB" for m in marks) + " |")
    print("| --- |" + " ---: |" * len(marks))
    for q in QUERIES:
        cells = []
        for m in marks:
            t, w, kb = results[m][1][q]
            cells.append(f"{t:.2f} / {w:.1f} / {kb / 1024:.0f}")
        print(f"| {q.upper()} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
