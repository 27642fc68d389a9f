#!/bin/sh
# Small export runs per second and worker RSS (issue 16), by hand on a Release build:
# a chain of 10 users, N csv exports of it due in the same second, `workers: W`; the time from
# that second to all DONE (bench/runs/small_runs.py), BATCHES times in a row; N may be a list
# of batch sizes (100,9900) and then BATCHES is ignored.
#   bench/runs/run.sh [BUILD_DIR] [N=1000] [BATCHES=1] [WORKERS=4] [extra config YAML line]
# e.g. worker RSS after 100 and after 10,000 runs of one worker:
#   bench/runs/run.sh build-rel 100,9900 1 1 'workers_max_runs: 1000000'
set -eu
BUILD=${1:-build-rel}
N=${2:-1000}
BATCHES=${3:-1}
WORKERS=${4:-4}
EXTRA=${5:-}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
TW=$BUILD/engine/taskwheel
D=$(mktemp -d)
TWPID=
trap '[ -n "$TWPID" ] && kill $TWPID 2>/dev/null; rm -rf "$D"' EXIT
cat > "$D/config.yaml" <<YAML
listen: "127.0.0.1:0"
data_dir: "$D/var"
plugins_dir: "$BUILD/plugins"
lua_dir: "$ROOT/lua"
workers: $WORKERS
log: { level: error }
limits: { max_tasks_per_chain: 100000000 }
$EXTRA
YAML
"$TW" seed -c "$D/config.yaml" --rows 10 --chains 1764 >/dev/null
TOKEN=$("$TW" token create -c "$D/config.yaml" --chain 1764 --level write)
"$TW" serve -c "$D/config.yaml" --ready-file "$D/port" 2>"$D/server.log" & TWPID=$!
while [ ! -s "$D/port" ]; do sleep 0.1; done
echo "$N exports (users of a 10-user chain, csv) due in one second, workers: $WORKERS ${EXTRA:+($EXTRA)}"
python3 "$ROOT/bench/runs/small_runs.py" "http://127.0.0.1:$(cat "$D/port")" "$TOKEN" 1764 \
  --sizes "$(echo "$N" | awk -F, -v b="$BATCHES" '{ if (NF > 1) print $0; else { s = $1; for (i = 1; i < b; i++) s = s "," $1; print s } }')" \
  --pid "$TWPID" --lead 4
