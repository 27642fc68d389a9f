#!/bin/sh
# API throughput, side by side in one run (issue #2's measurement):
#   1. GET /tasks/{id} with a privileged token against taskwheel, and the same-size fixed JSON
#      from a bare evhttp server (bench_bare_evhttp), alternated twice; the bare server also
#      with the epoll change list taskwheel serve turns on, to show what that setting is worth;
#   2. POST /tasks per second.
# Usage: bench/api/run.sh [BUILD_DIR] [SECONDS] [CONNECTIONS]    (Release build recommended)
set -eu
BUILD=${1:-build-rel}
SECS=${2:-10}
CONNS=${3:-50}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TW=${TW:-$ROOT/$BUILD/engine/taskwheel} # TW=path/to/taskwheel: another build (A/B)
BARE=$ROOT/$BUILD/bench/bench_bare_evhttp
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)"; exit 2; }
D=$(mktemp -d)
TWPID= BAREPID= BARE2PID=
trap 'kill $TWPID $BAREPID $BARE2PID 2>/dev/null; rm -rf "$D"' EXIT
cat > "$D/config.yaml" <<YAML
listen: "127.0.0.1:0"
data_dir: "$D/var"
plugins_dir: "$ROOT/$BUILD/plugins"
lua_dir: "$ROOT/lua"
log: { level: error }
http: { max_connections: 10000 }
# POST creates tens of thousands of tasks in one chain: far past the default quota (10,000),
# which would turn the rest into 409s. A cap this high still counts the chain on every create.
limits: { max_tasks_per_chain: 100000000 }
YAML
TOKEN=$("$TW" token create -c "$D/config.yaml" --chain 1764 --level write)
"$TW" serve -c "$D/config.yaml" --ready-file "$D/port" & TWPID=$!
while [ ! -s "$D/port" ]; do sleep 0.1; done
PORT=$(cat "$D/port")
ID=$(curl -s -X POST "http://127.0.0.1:$PORT/tasks" -H "Authorization: Bearer $TOKEN" \
  -d '{"chain":1764,"desc":"bench task","target":{"action":"export","export_index":"users","export_format":"csv"},"trigger":{"once":"2099-01-01T00:00:00Z"}}' |
  sed -n 's/^{"id":\([0-9]*\).*/\1/p')
[ -n "$ID" ] || { echo "POST /tasks failed (are the index plugins built? tw_index_users)"; exit 1; }
curl -s "http://127.0.0.1:$PORT/tasks/$ID" -H "Authorization: Bearer $TOKEN" > "$D/body.json"
BAREPORT=$((PORT + 1))
"$BARE" "$BAREPORT" "$D/body.json" & BAREPID=$!
"$BARE" $((BAREPORT + 1)) "$D/body.json" changelist & BARE2PID=$!
sleep 0.3
echo "body: $(wc -c < "$D/body.json") bytes; $CONNS connections, ${SECS}s each, wrk 2 threads"
export TW_TOKEN="$TOKEN" TW_PATH="/tasks/$ID"
for round in $(seq "${ROUNDS:-2}"); do
  printf 'round %s taskwheel GET /tasks/{id}: ' $round
  wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -s "$ROOT/bench/api/get.lua" "http://127.0.0.1:$PORT" |
    awk '/Requests\/sec/{r=$2} / 99%/{p=$2} END{print r " req/s, p99 " p}'
  printf 'round %s bare evhttp same body:   ' $round
  wrk -t2 -c"$CONNS" -d"${SECS}s" --latency "http://127.0.0.1:$BAREPORT/tasks/$ID" |
    awk '/Requests\/sec/{r=$2} / 99%/{p=$2} END{print r " req/s, p99 " p}'
  printf 'round %s bare + epoll changelist:   ' $round
  wrk -t2 -c"$CONNS" -d"${SECS}s" --latency "http://127.0.0.1:$((BAREPORT + 1))/tasks/$ID" |
    awk '/Requests\/sec/{r=$2} / 99%/{p=$2} END{print r " req/s, p99 " p}'
done
printf 'taskwheel POST /tasks: '
wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -s "$ROOT/bench/api/post.lua" "http://127.0.0.1:$PORT" |
  awk '/Requests\/sec/{r=$2} / 99%/{p=$2} /Non-2xx/{e=$0} END{print r " req/s, p99 " p " " e}'
