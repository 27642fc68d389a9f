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
#   cmake --build build-rel --target bench_export tw_index_users tw_index_transactions).
# SOURCE_DB=path uses an existing (seeded) database instead of generating one per row count;
# WORK=dir (default /tmp/tw-bench-export) holds the databases and results.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-build-rel}
[ "$#" -gt 0 ] && shift
rows_list=${*:-1000000}
case $build in /*) ;; *) build=$root/$build ;; esac
work=${WORK:-/tmp/tw-bench-export}
bench=$build/bench/bench_export
mkdir -p "$work"
[ -x "$bench" ] || { echo "build $bench first (see the header of $0)" >&2; exit 1; }

. "$here/common.sh"

for rows in $rows_list; do
    db=${SOURCE_DB:-$work/retail-$rows.db}
    if [ ! -f "$db" ]; then
        echo "generating $db ($rows users, $rows transactions)..." >&2
        { cat "$root/plugins/sql/source_schema.sql"; sed "s/\$rows/$rows/g" "$here/gen.sql"; } |
            sqlite3 "$db" > /dev/null
    fi
    # Warm the page cache so both sides read from memory.
    cat "$db" > /dev/null
    echo "== $rows rows: $db"
    for fmt in csv json; do
        for idx in users transactions; do
            rm -rf "$work/out"; mkdir -p "$work/out"
            tw=$(measure "taskwheel $idx $fmt" "$work/out/$( [ $idx = users ] && echo User || echo Transaction)_Export-1.$fmt" \
                 "$bench" "$build/plugins" "$db" "$idx" "$fmt" 1764 "$work/out" | tee /dev/stderr | tail -1)
            if [ $idx = users ]; then sql=$users_sql; else sql=$tx_sql; fi
            mode=-csv; [ $fmt = json ] && mode=-json
            sq=$(measure "sqlite3 $mode $idx" "$work/sqlite.out" \
                 sh -c 'sqlite3 -readonly '"$mode"' -header "$1" "$2" > "$3"' sh "$db" "$sql" "$work/sqlite.out" |
                 tee /dev/stderr | tail -1)
            awk -v a="$tw" -v b="$sq" 'BEGIN { printf "%-38s %8.2f\n", "  ratio taskwheel/sqlite3", (b > 0 ? a / b : 0) }'
        done
    done
done 2>&1 | grep -v '^[0-9.]*$'
