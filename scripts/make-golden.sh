#!/usr/bin/env bash
# Writes the golden databases in Tests/Golden: small databases written by this build's format
# version, with the dumps they must read back as. Run once per format version, commit the result,
# and never regenerate an old version's files: GoldenTests opens, verifies and dumps them, so a
# change that stops Strata reading old databases fails the suite.
#   scripts/make-golden.sh            # writes Tests/Golden/format-<manifest version>/
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
swift build --product strata
STRATA=.build/debug/strata
version=$(sed -n 's/^ *static let version: UInt32 = \([0-9]*\).*/\1/p' Sources/Strata/Storage/Manifest.swift | head -1)
out=Tests/Golden/format-$version
if [ -e "$out" ]; then echo "$out exists: golden files of a format version are written once" >&2; exit 1; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out/expected"

# 1. bars: two symbols over several commits, 3-decimal prices, lots, one-decimal turnover, small
#    blocks (two imports of the generator's data, the second later in time).
$STRATA generate "$work/gen" --symbols 2 --days 2 --seed 7 >/dev/null
head -1 "$work/gen/bars_1m.csv" > "$work/bars_a.csv"
head -1 "$work/gen/bars_1m.csv" > "$work/bars_b.csv"
# The first 120 minutes of each symbol's first day in the first file, the rest in the second.
awk -F, 'NR > 1 { n[$1]++; print > (n[$1] <= 120 ? "'"$work"'/a.part" : "'"$work"'/b.part") }' "$work/gen/bars_1m.csv"
cat "$work/a.part" >> "$work/bars_a.csv"
cat "$work/b.part" >> "$work/bars_b.csv"
$STRATA import "$out/bars" bars "$work/bars_a.csv" >/dev/null
$STRATA import "$out/bars" bars "$work/bars_b.csv" >/dev/null
$STRATA import "$out/bars" fund_shares "$work/gen/fund_shares.csv" >/dev/null

# 2. edges: nanosecond ticks with ties, times before 1970, and the float values every codec must keep.
cat > "$work/edges.csv" <<'CSV'
symbol,ts,price,size
X,-86400000000000,0.1,1
X,-1,-0.0,-1
X,0,5e-324,0
X,0,1.7976931348623157e308,9223372036854775807
X,1,nan,-9223372036854775808
X,1,inf,42
X,2,-inf,43
Y,1700000000000000000,0.30000000000000004,100
Y,1700000000000000001,1234.567,200
Y,1700000000000000001,1234.568,300
CSV
$STRATA import "$out/edges" ticks "$work/edges.csv" --time-unit ns >/dev/null

# 3. compacted: many small commits (one row each), then compact: a checkpointed manifest.
for i in $(seq 0 23); do
    printf 'symbol,ts,close,volume\nA,%d,%d.25,%d\nB,%d,%d.5,%d\n' $((i * 60)) $i $((i * 100)) $((i * 60)) $i $((i * 10)) > "$work/c.csv"
    $STRATA import "$out/compacted" bars "$work/c.csv" --time-unit s >/dev/null
done
$STRATA compact "$out/compacted" >/dev/null
printf 'symbol,ts,close,volume\nA,100000,1.5,7\n' > "$work/c.csv"
$STRATA import "$out/compacted" bars "$work/c.csv" --time-unit s >/dev/null  # one commit after the checkpoint

dbs="bars edges compacted"
if [ "$version" -ge 2 ]; then
    # 4. rewrites (format 2): a dedup table with late rows, replaced keys and a range delete, a plain
    #    table with late ties, and a dropped table.
    printf 'symbol,ts,v\nA,10,1\nA,20,2\nA,30,3\nA,40,4\nB,10,5\n' > "$work/k1.csv"
    printf 'symbol,ts,v\nA,25,6\nA,20,7\nA,5,8\nB,10,9\n' > "$work/k2.csv"
    printf 'symbol,ts,p\nX,3,1.5\nX,1,2.5\nX,3,3.5\nX,2,4.5\n' > "$work/t1.csv"
    printf 'symbol,ts,p\nX,2,5.5\nX,0,6.5\n' > "$work/t2.csv"
    $STRATA import "$out/rewrites" keyed "$work/k1.csv" --dedup >/dev/null
    $STRATA import "$out/rewrites" keyed "$work/k2.csv" >/dev/null
    $STRATA import "$out/rewrites" ticks "$work/t1.csv" >/dev/null
    $STRATA import "$out/rewrites" ticks "$work/t2.csv" >/dev/null
    $STRATA import "$out/rewrites" scratch "$work/t1.csv" >/dev/null
    $STRATA delete "$out/rewrites" keyed --symbol A --from 28 --to 35 >/dev/null
    $STRATA drop "$out/rewrites" scratch >/dev/null
    dbs="$dbs rewrites"
fi
if [ "$version" -ge 3 ]; then
    # 5. values (format 3): nulls in every type, text (empty, commas, quotes, line breaks, UTF-8),
    #    a column added by an import and one by alter, one renamed, one dropped, a file lacking
    #    columns, a typed table, and a compaction that reclaims the dropped column.
    cat > "$work/v1.csv" <<'CSV'
symbol,ts,price,size,side,venue,note
159363,1000,1.5,100,B,SZSE,"hello, world"
159363,2000,,200,S,SZSE,""
159363,3000,1.7,,B,SSE,
510300,1500,3.25,10,S,SSE,"multi
line"
510300,2500,nan,20,B,SSE,"ümlaut ""quoted"""
CSV
    printf 'symbol,ts,price,size,side,venue,note,vwap\n159363,4000,1.8,5,S,SZSE,x,1.75\n' > "$work/v2.csv"
    printf 'symbol,ts,price\n159363,5000,1.9\n510300,500,\n' > "$work/v3.csv"
    printf 'symbol,ts,code,qty\nA,1,007,\nA,2,,3\n' > "$work/v4.csv"
    $STRATA import "$out/values" trades "$work/v1.csv" >/dev/null
    $STRATA import "$out/values" trades "$work/v2.csv" --add-columns >/dev/null
    $STRATA alter "$out/values" trades --rename-column vwap:avg_price >/dev/null
    $STRATA import "$out/values" trades "$work/v3.csv" >/dev/null
    $STRATA alter "$out/values" trades --add-column flag:string >/dev/null
    $STRATA import "$out/values" typed "$work/v4.csv" --types code=string,qty=int64 >/dev/null
    $STRATA alter "$out/values" trades --drop-column note >/dev/null
    $STRATA import "$out/values" trades "$work/v3.csv" >/dev/null
    $STRATA import "$out/compacted-values" trades "$work/v1.csv" >/dev/null
    $STRATA import "$out/compacted-values" trades "$work/v2.csv" --add-columns >/dev/null
    $STRATA alter "$out/compacted-values" trades --drop-column note >/dev/null
    $STRATA compact "$out/compacted-values" >/dev/null
    dbs="$dbs values compacted-values"
fi
if [ "$version" -ge 4 ]; then
    # 6. predicted (format 4): turnover stored as its difference from volume x (high + low) / 2;
    #    then the volume column dropped (the old blocks keep its chunk, which their turnover needs)
    #    and rows added without it; the same compacted (blocks rewritten without the volume).
    $STRATA generate "$work/gen4" --symbols 2 --days 3 --seed 11 >/dev/null
    printf 'symbol,ts,open,high,low,close,amount\n' > "$work/late.csv"
    tail -n +2 "$work/gen4/bars_1m.csv" | tail -5 | awk -F, -v OFS=, '{ $2 = sprintf("%.0f", $2 + 86400000 * 30); print $1, $2, $3, $4, $5, $6, $8 }' >> "$work/late.csv"
    for db in predicted predicted-compacted; do
        $STRATA import "$out/$db" bars "$work/gen4/bars_1m.csv" >/dev/null
        $STRATA alter "$out/$db" bars --drop-column volume >/dev/null
        $STRATA import "$out/$db" bars "$work/late.csv" >/dev/null
    done
    $STRATA compact "$out/predicted-compacted" >/dev/null
    dbs="$dbs predicted predicted-compacted"
fi

if [ "$version" -ge 6 ]; then
    # 7. segments (format 6): blocks of more than 2,048 rows, whose bit-packed chunks are stored in
    #    segments: generated bars (prices, volume, predicted turnover) and a column with nulls.
    $STRATA generate "$work/gen6" --symbols 2 --days 12 --seed 13 >/dev/null
    $STRATA import "$out/segments" bars "$work/gen6/bars_1m.csv" >/dev/null
    awk 'BEGIN { srand(5); print "symbol,ts,price,size"; p = 1000
        for (i = 0; i < 5000; i++) {
            p += int(rand() * 21) - 10
            printf "S,%d,%s,%s\n", i * 1000, (i % 9 == 4 ? "" : sprintf("%.2f", p / 100)), (i % 13 == 0 ? "" : int(rand() * 5000))
        } }' > "$work/s.csv"
    $STRATA import "$out/segments" quotes "$work/s.csv" >/dev/null
    dbs="$dbs segments"
fi

for db in $dbs; do
    rm -f "$out/$db/LOCK"
    $STRATA verify "$out/$db" >/dev/null
    for table in $($STRATA info "$out/$db" --json | python3 -c 'import json,sys; print(" ".join(t["name"] for t in json.load(sys.stdin)["tables"]))'); do
        $STRATA dump "$out/$db" "$table" --format csv > "$out/expected/$db.$table.csv"
    done
    rm -f "$out/$db/LOCK"
done
du -sh "$out"/*
