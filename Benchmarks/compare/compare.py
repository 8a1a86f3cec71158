#!/usr/bin/env python3
"""Strata against DuckDB, SQLite, chDB and ArcticDB on the same data, in one run, one table.

Started by ./run (which makes the virtual environment and builds Strata). Steps:
1. data: `strata generate --preset P` (the project's own generator) into WORK/data;
2. ingest: each engine loads bars_1m.csv and fund_shares.csv durably (timed: bars only);
3. queries: Q1-Q10 of ../shared/peers/queries.md, each engine in its own process through its own API
   (Strata: `strata bench`, the library's standard suite timed in-process); a cold run after dropping
   the page cache where root allows, then RUNS warm runs;
4. answers: every engine's rows are checked against Strata's (integers exactly, floats to 1e-9);
5. the table: ingest rows/s, bytes per bar, each query's median and p90, and Strata's ratio to the best
   other engine. With --update, the table replaces the comparison section of BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from engines import DAY_MS, SHANGHAI_MS, QUERIES, dir_bytes, drop_caches  # noqa: E402

ENGINE_NAMES = {"duckdb": "DuckDB", "chdb": "chDB", "sqlite": "SQLite", "arcticdb": "ArcticDB"}
WHAT = {
    "q1": "sum(volume), 1 symbol", "q2": "one symbol-day, 240 rows", "q3": "month min/max/first/last",
    "q4": "monthly VWAP, all symbols", "q5": "1-hour OHLCV, 1 symbol", "q6": "daily OHLCV, all symbols",
    "q7": "latest bar per symbol at T", "q8": "as-of join with fund shares", "q9": "bars per symbol",
    "q10": "sum(amount), full table",
}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def median(xs):
    s = sorted(xs)
    return s[len(s) // 2]


def p90(xs):
    s = sorted(xs)
    return s[min(len(s) - 1, math.ceil(len(s) * 0.9) - 1)]


def run_json(cmd):
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    return out


def strata_ingest(strata, data, db):
    shutil.rmtree(db, ignore_errors=True)
    start = time.perf_counter()
    subprocess.run([strata, "import", db, "bars", os.path.join(data, "bars_1m.csv")], check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    bars_bytes = dir_bytes(db)
    subprocess.run([strata, "import", db, "fund_shares", os.path.join(data, "fund_shares.csv")], check=True, stdout=subprocess.DEVNULL)
    return seconds, bars_bytes


def strata_queries(strata, db, runs, cold):
    base = [strata, "bench", db, "--format", "jsonl", "--time-zone", "Asia/Shanghai"]
    lines = [json.loads(x) for x in run_json(base + ["--runs", str(runs)]).splitlines() if x.strip()]
    params = lines[0]["params"]
    out = {}
    for entry in lines[1:]:
        q = entry["query"]
        rows = entry["rows"]
        if q == "q6":  # Strata gives the local day's start; the others give the day number
            rows = [[r[0], (r[1] + SHANGHAI_MS) // DAY_MS] + r[2:] for r in rows]
        out[q] = {"times_ms": entry["times_ms"], "rows": rows, "sql": entry["sql"]}
        if cold and drop_caches():
            one = [json.loads(x) for x in run_json(base + ["--runs", "1", "--no-warm-up", "--only", q]).splitlines() if x.strip()]
            out[q]["cold_ms"] = one[1]["times_ms"][0]
    return params, out


def strata_fresh(strata, db, results, runs):
    """Each query as a user's script runs it: a fresh `strata query --timing` process (the page cache
    warm), its own reported time (parsed query to last row printed) and the whole process's wall time."""
    out = {}
    for q, r in results.items():
        times, walls = [], []
        for i in range(runs + 1):
            start = time.perf_counter()
            p = subprocess.run([strata, "query", db, r["sql"], "--timing", "--format", "csv"], check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            wall = (time.perf_counter() - start) * 1000
            if i == 0:
                continue  # the first process warms the page cache and the binary
            times.append(float(p.stderr.split("time:")[1].split()[0]))
            walls.append(wall)
        out[q] = {"times_ms": times, "wall_ms": walls}
    return out


def same(a, b):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        a, b = float(a), float(b)
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1e-300) or a == b
    return a == b


def check(reference, rows):
    if len(reference) != len(rows):
        return f"{len(rows)} rows, Strata {len(reference)}"
    for i, (x, y) in enumerate(zip(reference, rows)):
        if len(x) != len(y) or not all(same(u, v) for u, v in zip(x, y)):
            return f"row {i}: {list(y)} vs Strata {list(x)}"
    return "ok"


def fmt_ms(x):
    if x is None:
        return "–"
    return f"{x:.2f}" if x < 100 else f"{x:.0f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--strata", required=True)
    ap.add_argument("--preset", choices=["tiny", "small", "large"], default="small")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--engines", default="duckdb,chdb,sqlite,arcticdb")
    ap.add_argument("--work", default=None, help="where data and stores go (default /tmp/strata-compare/PRESET)")
    ap.add_argument("--no-cold", action="store_true", help="skip the runs after dropping the page cache")
    ap.add_argument("--reuse", action="store_true", help="keep stores that exist (skip their ingest)")
    ap.add_argument("--update", action="store_true", help="write the table into BENCHMARKS.md")
    a = ap.parse_args()
    engines = [e for e in a.engines.split(",") if e]
    work = a.work or f"/tmp/strata-compare/{a.preset}"
    data = os.path.join(work, "data")
    os.makedirs(work, exist_ok=True)
    if not os.path.exists(os.path.join(data, "fund_shares.csv")):
        log(f"generating the {a.preset} data set into {data}")
        subprocess.run([a.strata, "generate", data, "--preset", a.preset], check=True)
    with open(os.path.join(data, "bars_1m.csv")) as f:
        bars = sum(1 for _ in f) - 1
    cold = not a.no_cold
    if cold and not drop_caches():
        log("cannot drop the page cache (not root): cold runs are left out")
        cold = False

    # Ingest figures are kept beside each store, so that --reuse still reports them.
    ingest = {}

    def remembered(store):
        path = store.rstrip("/") + ".ingest.json"
        return tuple(json.load(open(path))) if a.reuse and os.path.exists(store) and os.path.exists(path) else None

    def remember(store, figures):
        json.dump(list(figures), open(store.rstrip("/") + ".ingest.json", "w"))
        return figures

    db = os.path.join(work, "strata.db")
    ingest["Strata"] = remembered(db)
    if ingest["Strata"] is None:
        log("ingest: Strata")
        ingest["Strata"] = remember(db, strata_ingest(a.strata, data, db))
    for e in engines:
        store = os.path.join(work, e)
        ingest[ENGINE_NAMES[e]] = remembered(store)
        if ingest[ENGINE_NAMES[e]] is None:
            log(f"ingest: {ENGINE_NAMES[e]}")
            r = json.loads(run_json([sys.executable, os.path.join(HERE, "engines.py"), "ingest", e, data, store]))
            ingest[ENGINE_NAMES[e]] = remember(store, (r["seconds"], r["bars_bytes"]))

    log("queries: Strata")
    params, results = strata_queries(a.strata, db, a.runs, cold)
    log("queries: Strata, a fresh process per query")
    fresh = strata_fresh(a.strata, db, results, a.runs)
    results = {"Strata": results}
    for e in engines:
        log(f"queries: {ENGINE_NAMES[e]}")
        out = run_json([sys.executable, os.path.join(HERE, "engines.py"), "query", e, os.path.join(work, e), json.dumps(params),
                        str(a.runs), "1" if cold else "0"])
        results[ENGINE_NAMES[e]] = json.loads(out)

    names = ["Strata"] + [ENGINE_NAMES[e] for e in engines]
    others = names[1:]
    results["Strata, fresh process"] = fresh
    problems = []
    for n in others:
        for q in QUERIES:
            if q in results["Strata"] and q in results[n]:
                verdict = check(results["Strata"][q]["rows"], results[n][q]["rows"])
                results[n][q]["check"] = verdict
                if verdict != "ok":
                    problems.append(f"{n} {q}: {verdict}")

    lines = []
    lines.append(f"Preset `{a.preset}`: {bars:,} bars; {a.runs} warm runs per query; machine: {platform.machine()}, "
                 f"{os.cpu_count()} CPUs; {time.strftime('%Y-%m-%d')}.")
    lines.append("")
    header = ("| | Strata | Strata, fresh process | " + " | ".join(others)
              + " | Strata vs best other | fresh process vs best other |")
    lines.append(header)
    lines.append("| --- |" + " ---: |" * (len(names) + 3))

    def ratio_cell(strata_value, other_values, higher_better):
        vals = [v for v in other_values if v is not None]
        if strata_value is None or not vals:
            return "–"
        best = max(vals) if higher_better else min(vals)
        if higher_better:
            r = strata_value / best
            return f"{r:.2f}× {'faster' if r >= 1 else '**slower**'}"
        r = strata_value / best
        return f"{r:.2f}× the size" if r <= 1 else f"**{r:.2f}× the size**"

    rates = {n: (bars / ingest[n][0] if ingest.get(n) else None) for n in names}
    sizes = {n: (ingest[n][1] / bars if ingest.get(n) else None) for n in names}
    def row(cells):  # Strata's cell, an empty fresh-process cell, then the others'
        return cells[:1] + ["–"] + cells[1:]
    lines.append("| ingest, rows/s | " + " | ".join(row([f"{rates[n] / 1e6:.2f} M" if rates[n] else "–" for n in names]))
                 + " | " + ratio_cell(rates["Strata"], [rates[n] for n in others], True) + " | – |")
    lines.append("| bytes per bar | " + " | ".join(row([f"{sizes[n]:.2f}" if sizes[n] else "–" for n in names]))
                 + " | " + ratio_cell(sizes["Strata"], [sizes[n] for n in others], False) + " | – |")
    def versus(strata_ms, best):
        # Issue 16's target: at most a third of the fastest other engine's time.
        if strata_ms is None or best is None:
            return "–"
        share = strata_ms / best
        return f"{share:.2f}" + ("" if share <= 1 / 3 else " **(target 0.33)**")

    for q in QUERIES:
        cells = []
        meds = {}
        for n in ["Strata", "Strata, fresh process"] + others:
            r = results[n].get(q)
            if not r:
                cells.append("–")
                meds[n] = None
                continue
            m, p = median(r["times_ms"]), p90(r["times_ms"])
            meds[n] = m
            cell = f"{fmt_ms(m)} / {fmt_ms(p)}"
            if "cold_ms" in r:
                cell += f" (cold {fmt_ms(r['cold_ms'])})"
            if "wall_ms" in r:
                cell += f" (process {fmt_ms(median(r['wall_ms']))})"
            if r.get("check", "ok") != "ok":
                cell += " ✗"
            cells.append(cell)
        vals = [meds[n] for n in others if meds[n] is not None]
        best = min(vals) if vals else None
        cells.append(versus(meds["Strata"], best))
        cells.append(versus(meds["Strata, fresh process"], best))
        lines.append(f"| {q.upper()} {WHAT[q]} (ms median / p90) | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Answers: " + ("every engine returned Strata's answers on every query." if not problems
                                else "differences (✗ in the table): " + "; ".join(problems)))
    table = "\n".join(lines)
    print(table)
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump({"params": params, "ingest": ingest, "results": {n: {q: {k: v for k, v in r.items() if k != "rows"}
                                                                        for q, r in results[n].items()} for n in results}}, f, indent=1)
    if a.update:
        path = os.path.join(ROOT, "BENCHMARKS.md")
        text = open(path).read()
        begin, end = f"<!-- compare {a.preset} begin -->", f"<!-- compare {a.preset} end -->"
        block = f"{begin}\n{table}\n{end}"
        if begin in text and end in text:
            text = text[:text.index(begin)] + block + text[text.index(end) + len(end):]
        else:
            text += f"\n## Comparison, `{a.preset}` preset (generated by `Benchmarks/compare/run --preset {a.preset} --update`)\n\n{block}\n"
        open(path, "w").write(text)
        log(f"updated {path}")


if __name__ == "__main__":
    main()
