#!/usr/bin/env bash
# Build the libFuzzer targets (if needed) and run each for N seconds, one after the other.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]      (default 60 s, or $FUZZ_SECONDS; all targets)
#
# Targets: task segment config time (tests/fuzz/fuzz_<target>.c). Each runs with its seed
# corpus tests/fuzz/corpus/<target>/ (read only) and a working corpus in the build tree (where
# new inputs go), its dictionary <target>.dict when present, and -max_total_time=SECONDS.
# Crash, leak, timeout and OOM inputs are saved as tests/fuzz/crashes/<target>-crash-<sha1>
# etc. Prints executions, exec/s (libFuzzer's -print_final_stats) and new crash files per
# target; exits 1 when any target crashed (or failed to run), 2 when the build failed.
#
# Environment: FUZZ_SECONDS, FUZZ_BUILD_DIR (default <repo>/build-fuzz), FUZZ_JOBS (build -j,
# default 2), FUZZ_ARGS (extra libFuzzer flags, e.g. "-max_len=8192").
# Reproduce a crash: build-fuzz/tests/fuzz/fuzz_<target> tests/fuzz/crashes/<file>
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
secs=${FUZZ_SECONDS:-60}
if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then
    secs=$1
    shift
fi
if [ $# -gt 0 ]; then
    targets=("$@")
else
    targets=(task segment config time tz)
fi
crashes=$here/crashes
out=$build/tests/fuzz
mkdir -p "$crashes"

# Configure once (clang, TW_FUZZ); the build itself is incremental, so a built tree is a no-op.
if [ ! -f "$build/CMakeCache.txt" ]; then
    CC=${CC:-clang} cmake -S "$root" -B "$build" -DTW_FUZZ=ON -DTW_WERROR=OFF \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || exit 2
fi
build_targets=()
for t in "${targets[@]}"; do
    build_targets+=(--target "fuzz_$t")
done
if ! cmake --build "$build" "${build_targets[@]}" -j"${FUZZ_JOBS:-2}" \
        >"$build/fuzz-build.log" 2>&1; then
    tail -n 30 "$build/fuzz-build.log" >&2
    echo "run.sh: build failed (log: $build/fuzz-build.log)" >&2
    exit 2
fi

status=0
printf '%-10s %12s %10s %8s  %s\n' target executions exec/s crashes log
for t in "${targets[@]}"; do
    bin=$out/fuzz_$t
    work=$out/corpus/$t
    log=$out/$t.log
    stamp=$out/$t.stamp
    mkdir -p "$work"
    dict=()
    [ -f "$here/$t.dict" ] && dict=(-dict="$here/$t.dict")
    touch "$stamp"
    # shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
    "$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$crashes/$t-" "${dict[@]}" ${FUZZ_ARGS:-} "$work" "$here/corpus/$t" \
        >"$log" 2>&1
    rc=$?
    execs=$(awk '/^stat::number_of_executed_units:/ {print $2}' "$log" | tail -n 1)
    eps=$(awk '/^stat::average_exec_per_sec:/ {print $2}' "$log" | tail -n 1)
    new=$(find "$crashes" -maxdepth 1 -type f -newer "$stamp" \
          \( -name "$t-crash-*" -o -name "$t-leak-*" -o -name "$t-timeout-*" \
             -o -name "$t-oom-*" \) \
          | wc -l)
    printf '%-10s %12s %10s %8s  %s\n' "$t" "${execs:-?}" "${eps:-?}" "$new" "$log"
    if [ "$new" -gt 0 ] || [ "$rc" -ne 0 ]; then
        status=1
        [ "$new" -eq 0 ] && echo "  $t: exited $rc without a crash file; see $log" >&2
        why='^==[0-9]+==ERROR|^SUMMARY|runtime error|refused|changed|differs|outside|tw_seg_'
        grep -m 2 -E "$why" "$log" | sed "s/^/  $t: /" >&2
        find "$crashes" -maxdepth 1 -type f -name "$t-*" -newer "$stamp" \
            | sed "s/^/  $t: input /" >&2
    fi
    rm -f "$stamp"
done
exit $status
