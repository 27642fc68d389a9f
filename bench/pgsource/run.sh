#!/bin/sh
# Export from a PostgreSQL source (source.driver postgresql) against PostgreSQL's own fastest
# way out, side by side in one run: taskwheel's export path (bench_export: the wallet-ledger
# plugin over libpq single-row mode -> record -> CSV writer -> file, fsync, rename) vs
#   psql -c "\copy (SELECT <the same columns> ...) TO 'file' CSV HEADER"
# twice: the plain columns (PostgreSQL's own text for timestamps and money), and formatted
# server-side to the very bytes taskwheel writes (UTC 'Z' times, money as 12.50, true/false).
# Wall time and peak RSS from /usr/bin/time -v; the ratio is taskwheel / psql.
#
#   bench/pgsource/run.sh [BUILD_DIR] [ROWS]          e.g. bench/pgsource/run.sh build-rel 1000000
#
# BUILD_DIR (default build-rel) must hold bench/bench_export and plugins/wallet_ledger.so:
#   cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release
#   cmake --build build-rel --target bench_export tw_index_wallet_ledger
# A throwaway PostgreSQL 15 cluster is started in WORK (default /tmp/tw-bench-pgsource; as
# `nobody` when run as root) and stopped at the end; PGDSN=... uses an existing database
# instead (its wallet_ledger table is replaced).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-build-rel}
rows=${2:-1000000}
case $build in /*) ;; *) build=$root/$build ;; esac
work=${WORK:-/tmp/tw-bench-pgsource}
bench=$build/bench/bench_export
pgbin=/usr/lib/postgresql/15/bin
[ -x "$bench" ] || { echo "build $bench first (see the header of $0)" >&2; exit 1; }
mkdir -p "$work"
. "$root/bench/export/common.sh"

started=
if [ -z "${PGDSN:-}" ]; then
    rm -rf "$work/pg"; mkdir -p "$work/pg"
    as=""
    if [ "$(id -u)" = 0 ]; then chown nobody "$work/pg"; as="runuser -u nobody --"; fi
    $as "$pgbin/initdb" -D "$work/pg/data" -U tw --auth trust -E UTF8 --locale C.UTF-8 > /dev/null
    $as "$pgbin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w \
        -o "-k $work/pg -c listen_addresses='' -c shared_buffers=256MB" start > /dev/null
    started=1
    PGDSN="host=$work/pg user=tw dbname=postgres"
fi
stop() { [ -n "$started" ] && $as "$pgbin/pg_ctl" -D "$work/pg/data" -m fast -w stop > /dev/null; }
trap stop EXIT

echo "generating $rows wallet_ledger rows of chain 1764 (and 1% of another chain)..." >&2
psql -q -X "$PGDSN" -v ON_ERROR_STOP=1 <<SQL > /dev/null
SET client_min_messages = warning;
DROP TABLE IF EXISTS wallet_ledger;
\i $root/plugins/sql/source_schema_pg.sql
INSERT INTO wallet_ledger
SELECT g, CASE WHEN g % 100 = 0 THEN 1765 ELSE 1764 END, 1 + g / 7,
       timestamptz '2025-01-01 00:00:00+00' + (g * 47 % 57000000) * interval '1 second',
       (ARRAY['credit', 'debit', 'expiry'])[1 + g % 3], (g % 4001) - 2000, g % 100000,
       'EUR', CASE WHEN g % 3 = 0 THEN 100 + g % 7 END, CASE WHEN g % 3 = 1 THEN g / 3 END,
       CASE g % 5 WHEN 0 THEN NULL WHEN 1 THEN 'Cashback on basket UTR-01-' || g
            WHEN 2 THEN 'Spent, "quoted", on basket ' || g ELSE 'Welcome bonus' END
FROM generate_series(1, $rows) AS g;
ANALYZE wallet_ledger;
SQL
psql -q -X "$PGDSN" -c "SELECT count(*) FROM wallet_ledger" > /dev/null   # warm the cache

b2s() { echo "CASE WHEN $1 IS NULL THEN NULL WHEN $1 THEN 'true' ELSE 'false' END"; }
m2s() { echo "to_char($1 / 100.0, 'FM999999999990.00')"; }
t2s() { echo "to_char($1 AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"; }
plain="SELECT id, user_id, timestamp, type, amount, balance_after, currency, campaign_id,
 basket_id, description FROM wallet_ledger WHERE chain_id = 1764 ORDER BY id"
same="SELECT id, user_id, $(t2s timestamp) AS timestamp, type, $(m2s amount) AS amount,
 $(m2s balance_after) AS balance_after, currency, campaign_id, basket_id, description
 FROM wallet_ledger WHERE chain_id = 1764 ORDER BY id"

rm -rf "$work/out"; mkdir -p "$work/out"
echo "== $rows rows: wallet-ledger csv"
tw=$(TW_BENCH_SOURCE_DRIVER=postgresql measure "taskwheel wallet-ledger csv" \
     "$work/out/Wallet_Export-1.csv" "$bench" "$build/plugins" "$PGDSN" wallet-ledger csv 1764 \
     "$work/out" | tee /dev/stderr | tail -1)
p1=$(measure "psql \\copy plain columns" "$work/psql-plain.csv" \
     psql -X "$PGDSN" -c "\\copy ($(echo $plain)) TO '$work/psql-plain.csv' CSV HEADER" |
     tee /dev/stderr | tail -1)
p2=$(measure "psql \\copy same bytes" "$work/psql-same.csv" \
     psql -X "$PGDSN" -c "\\copy ($(echo $same)) TO '$work/psql-same.csv' CSV HEADER" |
     tee /dev/stderr | tail -1)
awk -v a="$tw" -v b="$p1" -v c="$p2" 'BEGIN {
    printf "%-38s %8.2f\n", "  ratio taskwheel/psql plain", (b > 0 ? a / b : 0);
    printf "%-38s %8.2f\n", "  ratio taskwheel/psql same bytes", (c > 0 ? a / c : 0) }'
# The same bytes? (psql ends lines with \n, taskwheel with \r\n as RFC 4180 says.)
if tr -d '\r' < "$work/out/Wallet_Export-1.csv" | cmp -s - "$work/psql-same.csv"; then
    echo "  files: identical apart from line ends"
else
    echo "  files: differ (first difference below)"
    tr -d '\r' < "$work/out/Wallet_Export-1.csv" | cmp - "$work/psql-same.csv" | head -1 || true
fi
