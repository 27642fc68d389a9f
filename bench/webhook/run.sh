#!/bin/sh
# Webhook figures, one run (issue 15): a real server with the fixture index "testrun"
# (tests/runplugin: chain 9001 ends DONE at once) and bench_webhook's receiver.
#   1. delivery latency from run end: N runs, each delivered to a receiver answering 200 at
#      once; latency = the receiver's arrival time - the server's "run.finished" log time (ms);
#   2. deliveries per second: N deliveries left pending (the receiver answered 503, the server
#      was stopped), then the receiver answers 200 and the server starts: the outbox drains
#      them all at once; rate = N / (last arrival - first arrival);
#   3. p99 of GET /tasks/{id} (GETS sequential requests on one keep-alive connection) with no
#      pending delivery, then with 50 deliveries hanging (the receiver never answers, and
#      webhooks.timeout is 120 s), side by side.
# Usage: bench/webhook/run.sh [BUILD_DIR] [N] [GETS]   (BUILD_DIR must have built the tests,
#        for tests/runplugins; a Release build is recommended)
set -eu
BUILD=${1:-build-rel}
N=${2:-300}
[ "$N" -ge 50 ] || { echo "N must be at least 50 (phase 3 hangs 50 deliveries)"; exit 2; }
GETS=${3:-5000}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TW=$ROOT/$BUILD/engine/taskwheel
BW=$ROOT/$BUILD/bench/bench_webhook
command -v sqlite3 >/dev/null || { echo "needs the sqlite3 shell (apt-get install sqlite3)"; exit 2; }
D=$(mktemp -d)
TWPID=""
PEERPID=""
trap 'kill $TWPID $PEERPID 2>/dev/null; rm -rf "$D"' EXIT
cat > "$D/config.yaml" <<YAML
listen: "127.0.0.1:0"
data_dir: "$D/var"
plugins_dir: "$ROOT/$BUILD/tests/runplugins"
lua_dir: "$ROOT/lua"
log: { level: info }
workers: 2
webhooks: { allow_private: true, timeout: 120 }
YAML
TOKEN=$("$TW" token create -c "$D/config.yaml" --chain 9001 --level write)
"$TW" webhook-secret -c "$D/config.yaml" --chain 9001 > /dev/null
"$BW" peer "$D/peerport" "$D/peer.log" & PEERPID=$!
start() {
  rm -f "$D/port"
  "$TW" serve -c "$D/config.yaml" --ready-file "$D/port" 2>> "$D/server.log" & TWPID=$!
  while [ ! -s "$D/port" ]; do sleep 0.1; done
  PORT=$(cat "$D/port")
}
start
while [ ! -s "$D/peerport" ]; do sleep 0.1; done
HOOK="http://127.0.0.1:$(cat "$D/peerport")/hook"
API="http://127.0.0.1:$PORT"
create() {
  curl -sf -X POST "$API/tasks" -H "Authorization: Bearer $TOKEN" \
    -d "{\"chain\":9001,\"desc\":\"bench\",\"target\":{\"action\":\"export\",\"export_index\":\"testrun\",\"export_format\":\"csv\"},\"trigger\":{\"once\":\"2099-01-01T00:00:00Z\"},\"webhook\":{\"url\":\"$HOOK\"}}" |
    sed 's/^{"id":\([0-9]*\).*/\1/'
}
execute() { curl -sf -o /dev/null -X POST "$API/tasks/$1/execute" -H "Authorization: Bearer $TOKEN" -H "Prefer: respond-async"; }
lines() { wc -l < "$D/peer.log"; }
wait_lines() { while [ "$(lines)" -lt "$1" ]; do sleep 0.2; done; }
# wait until N distinct tasks got a delivery after line MARK (any status)
wait_tasks() {
  while [ "$(tail -n +$(($1 + 1)) "$D/peer.log" | awk '{print $2}' | sort -u | wc -l)" -lt "$2" ]; do
    sleep 0.2
  done
}

for i in $(seq "$N"); do create >> "$D/ids"; echo >> "$D/ids"; done

# 1. latency from run end
for id in $(cat "$D/ids"); do execute "$id"; done
wait_lines "$N"
python3 - "$D/server.log" "$D/peer.log" <<'PY'
import json, sys, datetime
ends = {}
for line in open(sys.argv[1]):
    try: j = json.loads(line)
    except ValueError: continue
    if j.get("event") == "run.finished":
        t = datetime.datetime.strptime(j["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
        ends[int(j["task"])] = t.timestamp() * 1000
lat = sorted(int(a) - ends[int(t)] for a, t, s in (l.split() for l in open(sys.argv[2])) if int(t) in ends)
p = lambda q: lat[min(len(lat) - 1, int(len(lat) * q))]
print("1. delivery latency from run end, %d deliveries: p50 %.0f ms, p99 %.0f ms, max %.0f ms" % (len(lat), p(0.5), p(0.99), lat[-1]))
PY

# 2. deliveries per second: N pending deliveries drained at start-up
kill -USR1 $PEERPID
BASE=$(lines)
for id in $(cat "$D/ids"); do execute "$id"; done
wait_tasks "$BASE" "$N"
kill -TERM $TWPID; wait $TWPID || true
kill -HUP $PEERPID
# The pending deliveries' retry times are spread by the backoff: make them all due now, so
# the start-up drains them at once and the rate is the pump's, not the backoff's.
sqlite3 "$D/var/taskwheel.db" "UPDATE webhook_outbox SET next_at = 0"
PENDING=$(sqlite3 "$D/var/taskwheel.db" "SELECT count(*) FROM webhook_outbox")
MARK=$(lines)
start
API="http://127.0.0.1:$PORT"
python3 - "$D/peer.log" "$MARK" "$PENDING" <<'PY'
import sys, time
log, mark, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
while True:
    rows = [l.split() for l in open(log).read().splitlines()[mark:]]
    ok = [r for r in rows if r[2] == "200"]
    if len({r[1] for r in ok}) >= n: break
    time.sleep(0.2)
t = [int(r[0]) for r in ok]
span = (max(t) - min(t)) / 1000.0
print("2. deliveries per second: %d pending deliveries drained in %.3f s after start: %.0f/s" % (len(ok), span, len(ok) / span if span > 0 else float("inf")))
PY

# 3. GET /tasks/{id} p99 without and with 50 hanging deliveries
ID=$(head -1 "$D/ids")
printf '3. GET /tasks/{id}, %s requests, no pending delivery:      p50/p99/max ms ' "$GETS"
"$BW" get "$API/tasks/$ID" "$TOKEN" "$GETS"
kill -USR2 $PEERPID
MARK=$(lines)
for id in $(head -50 "$D/ids"); do execute "$id"; done
wait_tasks "$MARK" 50
printf '3. GET /tasks/{id}, %s requests, 50 deliveries hanging:    p50/p99/max ms ' "$GETS"
"$BW" get "$API/tasks/$ID" "$TOKEN" "$GETS"
kill -HUP $PEERPID
