#!/bin/sh
# Upload throughput to s3rver (tests/s3/s3rver.js, the store the tests use) for one file of
# SIZE_MB, the engine's S3 client (bench_s3_upload: 1 MiB writes, multipart in 8 MiB parts,
# and again with one part as large as the file, i.e. a single PUT) and `curl -T --aws-sigv4`
# of the same file, side by side, ROUNDS times each, alternating;
# then a whole 200 MB export run (fixture index testrun, chain 9007) through a real server with
# results.storage s3, reporting the run's time and the worker's peak RSS (VmHWM).
#
#   bench/s3/run.sh [BUILD_DIR] [SIZE_MB] [ROUNDS]     (default: build 200 3)
#
# Needs tests/s3/node_modules (npm ci in tests/s3) and a build with the tests (runplugins).
set -eu
build=$(cd "${1:-build}" && pwd)
mb=${2:-200}
rounds=${3:-3}
src=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(mktemp -d /tmp/tw-bench-s3.XXXXXX)
s3pid=
srvpid=
cleanup() {
    [ -n "$srvpid" ] && kill "$srvpid" 2>/dev/null && wait "$srvpid" 2>/dev/null || true
    [ -n "$s3pid" ] && kill "$s3pid" 2>/dev/null && wait "$s3pid" 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM

wait_file() { # FILE: up to 30 s
    i=0
    while [ ! -s "$1" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
    [ -s "$1" ] || { echo "timed out waiting for $1" >&2; return 1; }
}

mkdir -p "$dir/store"
node "$src/tests/s3/s3rver.js" "$dir/store" "$dir/port" exports &
s3pid=$!
wait_file "$dir/port"
ep="http://127.0.0.1:$(cat "$dir/port")"
head -c "$((mb * 1024 * 1024))" /dev/urandom >"$dir/file"
bytes=$(stat -c %s "$dir/file")
echo "file: $bytes bytes; store: s3rver 3.7.1 at $ep; $(nproc) CPUs"

r=1
while [ "$r" -le "$rounds" ]; do
    AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER \
        "$build/bench/bench_s3_upload" "$dir/file" "$ep" exports "bench/engine-$r.bin"
    # the same client with one part as large as the file: a single PUT, like curl's
    AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER \
        "$build/bench/bench_s3_upload" "$dir/file" "$ep" exports "bench/put-$r.bin" \
        "$((bytes + 1))" | sed 's/^engine:/engine, one PUT:/'
    curl -sS -f -o /dev/null -T "$dir/file" --aws-sigv4 "aws:amz:us-east-1:s3" \
        --user S3RVER:S3RVER -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
        -w "%{size_upload} %{time_total} %{speed_upload}\n" "$ep/exports/bench/curl-$r.bin" |
        awk '{ printf "curl -T: %d bytes, 1 PUT, %.2f s, %.1f MB/s\n", $1, $2, $3 / 1e6 }'
    r=$((r + 1))
done

# A whole run: 200,000 records of ~1 KB exported as CSV into the bucket.
cat >"$dir/config.yaml" <<YAML
listen: "127.0.0.1:0"
data_dir: "$dir/var"
plugins_dir: "$build/tests/runplugins"
lua_dir: "$src/lua"
execute_wait: 0
log: { level: info }
results:
  storage: s3
  s3: { endpoint: "$ep", region: us-east-1, bucket: exports, prefix: "tw/", path_style: true,
        access_key_id: S3RVER, secret_access_key: S3RVER }
YAML
"$build/engine/taskwheel" serve -c "$dir/config.yaml" --ready-file "$dir/ready" 2>"$dir/server.log" &
srvpid=$!
wait_file "$dir/ready" || { cat "$dir/server.log" >&2; exit 1; }
api="http://127.0.0.1:$(cat "$dir/ready")"
tok=$("$build/engine/taskwheel" token create --level write --chain 9007 -c "$dir/config.yaml")
auth="Authorization: Bearer $tok"
curl -sS -f -o /dev/null -X POST "$api/tasks" -H "$auth" -d '{"chain": 9007, "desc": "bench",
  "target": {"action": "export", "export_index": "testrun", "export_format": "csv"},
  "trigger": {"once": "2099-01-01T00:00:00Z"}}'
start=$(date +%s.%N)
curl -sS -f -o /dev/null -X POST "$api/tasks/1/execute" -H "$auth"
hwm=0
state=INPROGRESS
while [ "$state" = INPROGRESS ] || [ "$state" = READY ]; do
    for p in $(pgrep -P "$srvpid" 2>/dev/null || true); do
        [ "$(cat /proc/"$p"/comm 2>/dev/null)" = tw-worker ] || continue
        kb=$(awk '/^VmHWM:/ { print $2 }' /proc/"$p"/status 2>/dev/null || echo 0)
        [ "${kb:-0}" -gt "$hwm" ] && hwm=$kb
    done
    state=$(curl -sS "$api/tasks/1" -H "$auth" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["state"]["code"])')
    sleep 0.05
done
end=$(date +%s.%N)
size=$(curl -sS "$api/tasks/1/download_url" -H "$auth" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["size"])')
echo "$state" | grep -q DONE || { echo "the run ended $state" >&2; cat "$dir/server.log" >&2; exit 1; }
awk -v s="$start" -v e="$end" -v b="$size" -v h="$hwm" 'BEGIN {
    printf "server run (testrun 9007 -> csv -> s3rver): %d bytes in %.2f s (%.1f MB/s, export included); worker peak RSS %d kB\n", b, e - s, b / 1e6 / (e - s), h }'
