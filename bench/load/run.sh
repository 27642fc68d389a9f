#!/bin/sh
# Load and soak (issue #6), by hand on a Release build:
#   1. load: wrk, 200 connections, DURATION s (default 60) of mixed GET /tasks/{id},
#      GET /tasks and POST /tasks (posted tasks are due at once, so small exports run all the
#      time); reports req/s, p50/p99, non-2xx by status, the server's RSS and open file
#      descriptors before and after, and its child processes after the queue drains.
#   2. soak: SOAK (default 10000) short export runs (tasks due now); every one must end DONE,
#      with no leaked worker processes, temp files or descriptors.
# Usage: bench/load/run.sh [BUILD_DIR] [DURATION] [SOAK]
set -eu
BUILD=${1:-build-rel}
SECS=${2:-60}
SOAK=${3:-10000}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
TW=$BUILD/engine/taskwheel
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)"; exit 2; }
D=$(mktemp -d)
trap 'kill $TWPID 2>/dev/null; rm -rf "$D"' EXIT
cat > "$D/config.yaml" <<YAML
listen: "127.0.0.1:0"
data_dir: "$D/var"
plugins_dir: "$BUILD/plugins"
lua_dir: "$ROOT/lua"
workers: 2
log: { level: error }
http: { max_connections: 10000 }
YAML
"$TW" seed -c "$D/config.yaml" --rows 200 --chains 1764 >/dev/null
TOKEN=$("$TW" token create -c "$D/config.yaml" --chain 1764 --level write)
"$TW" serve -c "$D/config.yaml" --ready-file "$D/port" 2>"$D/server.log" & TWPID=$!
while [ ! -s "$D/port" ]; do sleep 0.1; done
URL=http://127.0.0.1:$(cat "$D/port")
H="Authorization: Bearer $TOKEN"
ID=$(curl -s -X POST "$URL/tasks" -H "$H" -d '{"chain":1764,"desc":"probe","target":{"action":"export","export_index":"users"},"trigger":{"once":"2099-01-01T00:00:00Z"}}' |
  sed 's/^{"id":\([0-9]*\).*/\1/')
rss() { awk '/VmRSS/ { print $2 }' "/proc/$TWPID/status"; }
fds() { ls "/proc/$TWPID/fd" | wc -l; }
kids() { pgrep -P "$TWPID" | wc -l; }
count() { curl -s "$URL/tasks?status=$1&limit=1" -H "$H" -D - -o /dev/null |
  awk -F': ' 'tolower($1) == "x-total-count" { print $2 + 0 }'; }
drain() {   # wait until nothing is READY or INPROGRESS
  while [ "$(count READY)" -gt 1 ] || [ "$(count INPROGRESS)" -gt 0 ]; do sleep 1; done
}
# Warm up so "before" is not a cold start. SQLite's page cache and malloc's arenas still fill
# during the first minute of load (RSS grows a few MB, then stays flat: the soak's RSS line
# compares against the end of the load, when they are full).
TW_TOKEN=$TOKEN TW_PATH=/tasks/$ID wrk -t2 -c200 -d5s -s "$ROOT/bench/load/mixed.lua" "$URL" >/dev/null
drain
r0=$(rss); f0=$(fds)
echo "== load: 200 connections, ${SECS}s, mix 70% GET /tasks/{id}, 20% GET /tasks, 10% POST /tasks"
TW_TOKEN=$TOKEN TW_PATH=/tasks/$ID wrk -t2 -c200 -d"${SECS}s" --latency \
  -s "$ROOT/bench/load/mixed.lua" "$URL" | grep -E 'non-2xx|p50|Socket errors'
echo "draining the export queue..."; drain
r1=$(rss); f1=$(fds)
echo "RSS before $r0 kB, after $r1 kB ($(awk -v a="$r0" -v b="$r1" 'BEGIN { printf "%+.1f", (b - a) * 100 / a }') %)"
echo "fds before $f0, after $f1; worker processes left: $(kids)"
echo "tasks DONE $(count DONE), ERROR $(count ERROR)"

echo "== soak: $SOAK short export runs"
e0=$(count ERROR); d0=$(count DONE); f0=$(fds); t0=$(date +%s)
i=0
while [ $i -lt "$SOAK" ]; do
  printf '{"chain":1764,"desc":"soak %d","target":{"action":"export","export_index":"users"},"trigger":{"once":"2020-01-01T00:00:00Z"}}' $i
  echo
  i=$((i + 1))
done > "$D/bodies"
xargs -P 8 -d '\n' -I{} curl -s -o /dev/null -X POST "$URL/tasks" -H "$H" -d '{}' < "$D/bodies"
drain
t1=$(date +%s)
echo "soak: $(( $(count DONE) - d0 )) DONE, $(( $(count ERROR) - e0 )) ERROR in $((t1 - t0)) s"
echo "RSS after the load $r1 kB, after the soak $(rss) kB" \
  "($(awk -v a="$r1" -v b="$(rss)" 'BEGIN { printf "%+.1f", (b - a) * 100 / a }') %)"
echo "fds before $f0, after $(fds); worker processes left: $(kids);" \
  "temp files left: $(find "$D/var" -name '.partial' -o -name '*.tmp-*' | wc -l)"
