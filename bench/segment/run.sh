#!/bin/sh
# Segment export cost (issue #5): a transactions CSV export filtered by a three-rule segment
# (date range, amount range, keyword), taskwheel (segment compiler: pushdown + residual) against
# the sqlite3 shell running the equivalent WHERE, side by side in one run; then the same segment
# evaluated entirely in C (no pushdown) to show what the residual path costs per record.
#
#   bench/segment/run.sh [BUILD_DIR] [USERS]     e.g. bench/segment/run.sh build-rel 100000
#
# USERS users of chain 1764 are seeded with `taskwheel seed` (about 10 baskets each, so 100000
# gives ~1M transactions); WORK=dir (default /tmp/tw-bench-segment) keeps the database.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-build-rel}
users=${2:-100000}
case $build in /*) ;; *) build=$root/$build ;; esac
work=${WORK:-/tmp/tw-bench-segment}
bench=$build/bench/bench_export
tw=$build/engine/taskwheel
mkdir -p "$work"
[ -x "$bench" ] && [ -x "$tw" ] || { echo "build $bench and $tw first" >&2; exit 1; }
. "$root/bench/export/common.sh"

db=$work/retail-$users.db
if [ ! -f "$db" ]; then
    printf 'source: { path: "%s" }\nplugins_dir: "%s/plugins"\ndata_dir: "%s"\n' \
        "$db" "$build" "$work" > "$work/config.yaml"
    "$tw" seed -c "$work/config.yaml" --rows "$users" --chains 1764 --seed 1 >&2
fi
cat "$db" > /dev/null
echo "== $(sqlite3 "$db" 'select count(*) from transactions') transactions: $db"

segment='{"join":"all","rules":[
 {"field_name":"timestamp","field_type":"date","operator":"is_between_date","start_date":"2025-03-01","end_date":"2025-10-31"},
 {"field_name":"total_value","field_type":"number","operator":"is_between_number","min":20,"max":150},
 {"field_name":"payment_method","field_type":"keyword","operator":"is","value":"card"}]}'
where="t.chain_id = 1764 AND t.timestamp >= '2025-03-01' AND t.timestamp <= '2025-10-31T23:59:59Z'
 AND t.total_value BETWEEN 2000 AND 15000 AND t.payment_method = 'card'"
out=$work/out/Transaction_Export-1.csv
{
rm -rf "$work/out"; mkdir -p "$work/out"
a=$(TW_BENCH_SEGMENT=$segment measure "taskwheel segment (pushdown)" "$out" \
    "$bench" "$build/plugins" "$db" transactions csv 1764 "$work/out" | tee /dev/stderr | tail -1)
b=$(measure "sqlite3 -csv same WHERE" "$work/sqlite.out" \
    sh -c 'sqlite3 -readonly -csv -header "$1" "$2" > "$3"' sh "$db" \
    "$tx_cols WHERE $where ORDER BY t.id, i.position;" "$work/sqlite.out" | tee /dev/stderr | tail -1)
awk -v a="$a" -v b="$b" 'BEGIN { printf "%-38s %8.2f\n", "  ratio taskwheel/sqlite3", a / b }'
# Same rows and values? (sqlite3 quotes differently, and has no formula-injection guard.)
python3 - "$out" "$work/sqlite.out" <<'PY'
import csv, sys
unguard = lambda row: [c[1:] if c[:2] in ("'=", "'+", "'-", "'@") else c for c in row]
a = [unguard(r) for r in csv.reader(open(sys.argv[1], newline=""))]
b = list(csv.reader(open(sys.argv[2], newline="")))
print("  same %d rows as sqlite3" % (len(a) - 1) if a == b else "  OUTPUTS DIFFER")
PY
rm -rf "$work/out"; mkdir -p "$work/out"
# Per-record cost of the C path: three rules of the same types that keep every record,
# evaluated without pushdown, against no segment at all.
keep_all='{"join":"all","rules":[
 {"field_name":"timestamp","field_type":"date","operator":"is_between_date","start_date":"1971-01-01","end_date":"2099-12-31"},
 {"field_name":"total_value","field_type":"number","operator":"is_between_number","min":-1000000000,"max":1000000000},
 {"field_name":"payment_method","field_type":"keyword","operator":"is_not","value":"zzzz"}]}'
c=$(TW_BENCH_NO_PUSHDOWN=1 TW_BENCH_SEGMENT=$keep_all measure "taskwheel 3 keep-all rules in C" \
    "$out" "$bench" "$build/plugins" "$db" transactions csv 1764 "$work/out" |
    tee /dev/stderr | tail -1)
rm -rf "$work/out"; mkdir -p "$work/out"
d=$(measure "taskwheel no segment" "$out" \
    "$bench" "$build/plugins" "$db" transactions csv 1764 "$work/out" | tee /dev/stderr | tail -1)
n=$(sqlite3 "$db" 'select count(*) from transactions where chain_id = 1764')
awk -v c="$c" -v d="$d" -v n="$n" 'BEGIN { printf "%-38s %8.1f ns/record\n",
    "  residual C evaluation, 3 rules", (c > d ? (c - d) / n * 1e9 : 0) }'
# A script rule (lua/segments/high_value.lua) that keeps every record: the Lua call per record.
script='{"rules":[{"operator":"script","script":"high_value","params":{"min_spend":-1000000000}}]}'
rm -rf "$work/out"; mkdir -p "$work/out"
e=$(TW_BENCH_LUA_DIR=$root/lua TW_BENCH_SEGMENT=$script measure "taskwheel script rule (keeps all)" \
    "$out" "$bench" "$build/plugins" "$db" transactions csv 1764 "$work/out" |
    tee /dev/stderr | tail -1)
awk -v e="$e" -v d="$d" -v n="$n" 'BEGIN { printf "%-38s %8.0f ns/record\n",
    "  Lua script rule", (e > d ? (e - d) / n * 1e9 : 0) }'
# The ndjson Lua formatter against the built-in json writer, same records.
rm -rf "$work/out"; mkdir -p "$work/out"
f=$(measure "taskwheel transactions json" "$work/out/Transaction_Export-1.json" \
    "$bench" "$build/plugins" "$db" transactions json 1764 "$work/out" | tee /dev/stderr | tail -1)
g=$(TW_BENCH_LUA_DIR=$root/lua measure "taskwheel transactions ndjson (Lua)" \
    "$work/out/Transaction_Export-1.ndjson" \
    "$bench" "$build/plugins" "$db" transactions ndjson 1764 "$work/out" | tee /dev/stderr | tail -1)
awk -v f="$f" -v g="$g" 'BEGIN { printf "%-38s %8.2f\n", "  ratio ndjson(Lua)/json", g / f }'
} 2>&1 | grep -v '^[0-9.]*$'
