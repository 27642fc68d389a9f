#!/bin/bash
# Run start lateness of several bench_sched_lateness binaries, alternated so that they share
# the machine's state (bench/README.md): for each of N rounds, "1000 10 100" with each binary,
# then "1000 10 8" with each; one line per run with the 1-minute load before it.
#
#   bench/sched/rounds.sh N bin1 bin2 ...
set -u
n=${1:?rounds}
shift
for _ in $(seq 1 "$n"); do
    for a in "1000 10 100" "1000 10 8"; do
        for b in "$@"; do
            # shellcheck disable=SC2086 # $a is the bench's three arguments
            echo "$(date +%H:%M:%S) $(basename "$b") $a load $(cut -d' ' -f1 /proc/loadavg):" \
                "$("$b" $a 2>/dev/null | grep -E '^run start' | sed 's/.*runs [0-9]*, //')"
        done
    done
done
