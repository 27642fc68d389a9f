#!/bin/sh
# Export throughput and memory: taskwheel's export path (bench_export: plugin -> record ->
# writer -> file, in-process) against the sqlite3 CLI writing the equivalent SELECT over the
# same rows (`sqlite3 -csv -header` / `sqlite3 -json`, money via printf('%.2f', x/100.0),
# booleans via CASE). Wall time and peak RSS from /usr/bin/time -v, side by side.
#
#   bench/export/run.sh [BUILD_DIR] [ROWS...]       e.g. bench/export/run.sh build-rel 1000000 10000000
#
# BUILD_DIR (default build-rel) must hold bench/bench_export and plugins/*.so (Release build:
#   cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release
#   cmake --build build-rel --target bench_export bench_export_floor bench_seed tw_index_users tw_index_transactions
#         tw_index_vouchers tw_index_wallet_ledger tw_index_products tw_index_product_variants).
# Environment:
#   SEED=1       the database is `bench_seed` (ROWS/10 users: realistic values) grown by
#                amplify.sql to ROWS rows in each of the six indexes; otherwise gen.sql's
#                synthetic users and transactions (only those two indexes).
#   INDEXES="users products"  which indexes (default: all six with SEED=1, else the two).
#   FORMATS="csv json"        which formats.
#   ROUNDS=n     repeat every cell n times (default 1); the commands of a cell run back to back
#                and their order rotates each round, so drift in the machine's load spreads
#                over all of them.
#   BEFORE=dir   a second build (e.g. the commit before a change) run in the same rounds:
#                each cell then reports taskwheel/sqlite3 for both and before/after.
#   SOURCE_DB=path  an existing (seeded) database instead of generating one per row count;
#   WORK=dir     (default /tmp/tw-bench-export) holds the databases and results.
# Each round also runs bench_export_floor once per index (stepping the plugin's SELECT and
# converting every column to text, no output: what no exporter reading SQLite goes below).
# The last lines are a summary per cell: the ratios' spread over the rounds.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-build-rel}
[ "$#" -gt 0 ] && shift
rows_list=${*:-1000000}
case $build in /*) ;; *) build=$root/$build ;; esac
before=${BEFORE:-}
case $before in /* | "") ;; *) before=$root/$before ;; esac
work=${WORK:-/tmp/tw-bench-export}
seed=${SEED:-0}
rounds=${ROUNDS:-1}
formats=${FORMATS:-csv json}
if [ "$seed" = 1 ]; then
    indexes=${INDEXES:-users transactions vouchers wallet-ledger products product-variants}
else
    indexes=${INDEXES:-users transactions}
fi
bench=$build/bench/bench_export
mkdir -p "$work"
[ -x "$bench" ] || { echo "build $bench first (see the header of $0)" >&2; exit 1; }
[ -z "$before" ] || [ -x "$before/bench/bench_export" ] ||
    { echo "BEFORE: no $before/bench/bench_export" >&2; exit 1; }

. "$here/common.sh"

results=$work/results.txt
: > "$results"

# run_tw LABEL BUILD INDEX FMT: one taskwheel export; prints its wall time.
run_tw() {
    rm -rf "$work/out"; mkdir -p "$work/out"
    measure "$1" "$work/out/"'*'"_Export-1.$4" \
        "$2/bench/bench_export" "$2/plugins" "$db" "$3" "$4" 1764 "$work/out" |
        tee /dev/stderr | tail -1
}

# run_sq INDEX FMT: the sqlite3 shell over the same rows; prints its wall time.
run_sq() {
    mode=-csv; [ "$2" = json ] && mode=-json
    measure "sqlite3 $mode $1" "$work/sqlite.out" \
        sh -c 'sqlite3 -readonly '"$mode"' -header "$1" "$2" > "$3"' sh "$db" "$(index_sql "$1")" \
        "$work/sqlite.out" | tee /dev/stderr | tail -1
}

# run_fl INDEX: the floor (bench_export_floor: step and convert to text, no output).
run_fl() {
    measure "floor $1" "$work/stdout.txt" \
        "$build/bench/bench_export_floor" "$db" "$(floor_sql "$1")" | tee /dev/stderr | tail -1
}

for rows in $rows_list; do
    if [ "$seed" = 1 ]; then
        db=${SOURCE_DB:-$work/seed-$rows.db}
        if [ ! -f "$db" ]; then
            echo "generating $db (bench_seed $((rows / 10)) users, grown to $rows rows each)..." >&2
            "$build/bench/bench_seed" $((rows / 10)) 1764 "$db" >&2
            sed "s/\$rows/$rows/g" "$here/amplify.sql" | sqlite3 "$db" > /dev/null
        fi
    else
        db=${SOURCE_DB:-$work/retail-$rows.db}
        if [ ! -f "$db" ]; then
            echo "generating $db ($rows users, $rows transactions)..." >&2
            { cat "$root/plugins/sql/source_schema.sql"; sed "s/\$rows/$rows/g" "$here/gen.sql"; } |
                sqlite3 "$db" > /dev/null
        fi
    fi
    # Warm the page cache so both sides read from memory.
    cat "$db" > /dev/null
    echo "== $rows rows: $db ($(uptime | sed 's/.*load/load/'))"
    round=1
    while [ "$round" -le "$rounds" ]; do
        for fmt in $formats; do
            for idx in $indexes; do
                tw=0 bf=0 sq=0 fl=0
                # Rotate the order each round: after, before, sqlite3 / before, sqlite3, after / ...
                case $(((round - 1) % 3)) in
                0) order="tw bf sq fl" ;;
                1) order="bf sq tw fl" ;;
                *) order="sq tw bf fl" ;;
                esac
                for what in $order; do
                    case $what in
                    tw) tw=$(run_tw "taskwheel $idx $fmt" "$build" "$idx" "$fmt") ;;
                    bf) [ -z "$before" ] ||
                        bf=$(run_tw "before $idx $fmt" "$before" "$idx" "$fmt") ;;
                    sq) sq=$(run_sq "$idx" "$fmt") ;;
                    fl) [ "$fmt" != "$(echo $formats | cut -d' ' -f1)" ] ||
                        fl=$(run_fl "$idx") ;; # once per index and round
                    esac
                done
                echo "$rows $idx $fmt $round $tw $bf $sq $fl" >> "$results"
                awk -v a="$tw" -v b="$bf" -v s="$sq" -v f="$fl" 'BEGIN {
                    printf "%-38s %8.2f\n", "  ratio taskwheel/sqlite3", (s > 0 ? a / s : 0)
                    if (f > 0) printf "%-38s %8.2f\n", "  ratio floor/sqlite3", f / s
                    if (b > 0) printf "%-38s %8.2f   after/before %.2f\n",
                        "  ratio before/sqlite3", b / s, a / b }'
            done
        done
        round=$((round + 1))
    done
    echo "   (after: $(uptime | sed 's/.*load/load/'))"
done 2>&1 | grep -v '^[0-9.]*$'

# Summary: per cell, the spread of each ratio over the rounds.
awk '{ k = $1 " " $2 " " $3; a = $5 / $7; n[k]++; if (!(k in lo) || a < lo[k]) lo[k] = a;
       if (!(k in hi) || a > hi[k]) hi[k] = a
       if ($6 > 0) { b = $6 / $7; if (!(k in blo) || b < blo[k]) blo[k] = b;
                     if (!(k in bhi) || b > bhi[k]) bhi[k] = b }
       if ($8 > 0) { f = $8 / $7; if (!(k in flo) || f < flo[k]) flo[k] = f;
                     if (!(k in fhi) || f > fhi[k]) fhi[k] = f }
       if (!(k in order)) order[k] = NR; keys[NR] = k }
     END { printf "\n%-30s %6s %17s %17s %17s\n", "rows index format", "rounds",
                  "taskwheel/sqlite3", "before/sqlite3", "floor/sqlite3"
           for (i = 1; i <= NR; i++) { k = keys[i]; if (order[k] != i) continue
               printf "%-30s %6d %8.2f-%-8.2f", k, n[k], lo[k], hi[k]
               printf " %8s", (k in blo) ? sprintf("%.2f", blo[k]) : ""
               printf "-%-8s", (k in blo) ? sprintf("%.2f", bhi[k]) : ""
               if (k in flo) printf " %8.2f-%-8.2f", flo[k], fhi[k]
               printf "\n" } }' "$results"
