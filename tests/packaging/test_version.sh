#!/bin/sh
# taskwheel --version and `taskwheel version`: the version, the plugin ABI version and one
# "NAME VERSION" line per library, each equal to the version of the library installed on this
# machine (pkg-config of its -dev package: the same Debian package version as the runtime).
#   test_version.sh BINARY SOURCE_DIR
set -eu
. "$(dirname "$0")/lib.sh"
BIN=$1
SRC=$2

out=$("$BIN" --version) || tw_fail "--version exited non-zero"
[ "$("$BIN" version)" = "$out" ] || tw_fail "'version' and '--version' differ"
echo "$out"

project=$(sed -n 's/^project(taskwheel VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
echo "$out" | grep -qx "taskwheel $project" || tw_fail "first line is not 'taskwheel $project'"
major=$(sed -n 's/^#define TW_ABI_MAJOR \([0-9]*\).*/\1/p' "$SRC/include/taskwheel/plugin.h")
minor=$(sed -n 's/^#define TW_ABI_MINOR \([0-9]*\).*/\1/p' "$SRC/include/taskwheel/plugin.h")
echo "$out" | grep -qx "plugin ABI $major.$minor" || tw_fail "no 'plugin ABI $major.$minor' line"

# Every library line names what it reports: "NAME VERSION", VERSION starting with a digit.
echo "$out" | awk 'NR > 2 && (NF != 2 || $2 !~ /^[0-9]/) { bad = 1; print "unnamed or bad line: " $0 }
                   END { exit bad }' >&2 || tw_fail "a line is not 'NAME VERSION'"

# NAME as printed, pkg-config module. libevent prints "2.1.12-stable", pkg-config "2.1.12".
check() {
    want=$(pkg-config --modversion "$2") || tw_fail "pkg-config knows no $2"
    got=$(echo "$out" | awk -v n="$1" '$1 == n { print $2 }')
    [ -n "$got" ] || tw_fail "--version does not name $1"
    case "$got" in
        "$want"|"$want"-*) ;;
        *) tw_fail "$1: --version says $got, the installed library is $want" ;;
    esac
}
check libevent libevent
check SQLite sqlite3
check Lua lua5.4
check jansson jansson
check libyaml yaml-0.1
check libcurl libcurl
check OpenSSL openssl
check zlib zlib

# libpq is reported exactly when the binary links it.
if readelf -d "$BIN" | grep -q 'libpq\.so'; then
    echo "$out" | grep -q '^libpq [0-9]' || tw_fail "linked with libpq but does not report it"
else
    echo "$out" | grep -q '^libpq ' && tw_fail "reports libpq without linking it"
fi
lines=$(echo "$out" | wc -l)
[ "$lines" -ge 10 ] || tw_fail "expected at least 10 lines, got $lines"
echo "PASS: --version names all $((lines - 2)) libraries with their installed versions"
