# Shared helpers of the packaging tests (sourced). Each test prints "PASS: ..." or
# "FAIL: ..." as its last line and exits 0 (pass), 1 (fail) or 77 (skipped, with the reason).

tw_fail() {
    echo "FAIL: $*" >&2
    exit 1
}

tw_skip() {
    echo "SKIP: $*"
    exit 77
}

# tw_start_server DIR RUN_AS_PREFIX... : start "$@ serve" in the background; waits for the
# ready file (the port) and sets TW_PID and TW_PORT. DIR receives ready and server.log.
tw_start_server() {
    dir=$1
    shift
    rm -f "$dir/ready"
    "$@" --ready-file "$dir/ready" >"$dir/server.log" 2>&1 &
    TW_PID=$!
    tries=0
    while [ ! -s "$dir/ready" ]; do
        if ! kill -0 "$TW_PID" 2>/dev/null; then
            cat "$dir/server.log" >&2
            tw_fail "the server exited before listening"
        fi
        tries=$((tries + 1))
        # Generous: a loaded CI machine; this is a bound on a condition, not a timing check.
        [ "$tries" -lt 1200 ] || tw_fail "the server did not listen within 120 s"
        sleep 0.1
    done
    TW_PORT=$(cat "$dir/ready")
}

# tw_stop_server: SIGTERM, then wait for it to exit.
tw_stop_server() {
    if [ -n "${TW_PID:-}" ] && kill -0 "$TW_PID" 2>/dev/null; then
        kill -TERM "$TW_PID" 2>/dev/null || true
        wait "$TW_PID" 2>/dev/null || true
    fi
    TW_PID=""
}

# tw_export PORT TOKEN CHAIN INDEX FORMAT OUT: create a task, execute it (the request is held
# until the run ends), check it is DONE, and download its result into OUT.
tw_export() {
    base="http://127.0.0.1:$1"
    auth="Authorization: Bearer $2"
    body=$(printf '{"chain":%s,"desc":"packaging test","target":{"action":"export","export_index":"%s","export_format":"%s"},"trigger":{"once":"2099-01-01T00:00:00Z"}}' "$3" "$4" "$5")
    created=$(curl -sS -X POST "$base/tasks" -H "$auth" -H 'Content-Type: application/json' \
        -d "$body") || tw_fail "POST /tasks failed"
    id=$(printf '%s' "$created" | jq -r '.id') || tw_fail "POST /tasks: $created"
    [ -n "$id" ] && [ "$id" != null ] || tw_fail "POST /tasks: $created"
    done_=$(curl -sS -X POST "$base/tasks/$id/execute" -H "$auth") ||
        tw_fail "POST /tasks/$id/execute failed"
    code=$(printf '%s' "$done_" | jq -r '.code')
    [ "$code" = DONE ] || tw_fail "export of $4 as $5 ended in $code: $done_"
    url=$(curl -sS "$base/tasks/$id/download_url" -H "$auth" | jq -r '.url')
    # The URL's host is results.public_url; the path is what the server signed.
    path=/${url#*://*/}
    curl -sSf -o "$6" "$base$path" || tw_fail "download of $url failed"
}
