#!/bin/sh
# taskwheel(1) keeps up with the binary: every subcommand of `taskwheel --help` and every
# option of every `taskwheel COMMAND --help` is in the man page, so are the exit codes, the
# environment variables and the commands issue 11 adds (user sessions-revoke, user remove);
# and groff renders it without a warning.
#   test_manpage.sh BINARY MAN_SOURCE
set -eu
. "$(dirname "$0")/lib.sh"
BIN=$1
MAN=$2
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tw-man.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# The source as plain text: roff escapes of hyphens and fonts dropped.
sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\(aq/'"'"'/g' "$MAN" > "$TMP/man.txt"
has() {
    grep -qF -- "$1" "$TMP/man.txt"
}

"$BIN" --help > "$TMP/help.txt" || tw_fail "taskwheel --help exited non-zero"
cmds=$(awk '/^  [a-z]/ { print $1 }' "$TMP/help.txt")
[ -n "$cmds" ] || tw_fail "taskwheel --help lists no commands"
for c in $cmds; do
    grep -q "^\.B taskwheel $c\b" "$TMP/man.txt" || tw_fail "SYNOPSIS lacks 'taskwheel $c'"
    grep -qE "^\.(TP|B|BR) *$c\b|^\.B $c\b|^\.BR $c\b" "$TMP/man.txt" ||
        grep -q "^\.B $c" "$TMP/man.txt" || tw_fail "COMMANDS lacks $c"
    "$BIN" "$c" --help > "$TMP/$c.txt" 2>&1 || tw_fail "taskwheel $c --help exited non-zero"
    for opt in $(grep -oE -- '(^|[^a-z-])--?[a-z][a-z-]*' "$TMP/$c.txt" |
                 sed 's/^[^-]*//' | sort -u); do
        has "$opt" || tw_fail "option $opt of 'taskwheel $c' is not in the man page"
    done
    # Sub-subcommands ("token create", "user add"): every "taskwheel C SUB" in the usage.
    for sub in $(sed -n "s/.*taskwheel $c \([a-z][a-z-]*\).*/\1/p" "$TMP/$c.txt" | sort -u); do
        grep -q "^\.B taskwheel $c $sub\b" "$TMP/man.txt" ||
            tw_fail "SYNOPSIS lacks 'taskwheel $c $sub'"
    done
done
for want in "taskwheel user sessions-revoke" "taskwheel user remove" "taskwheel --version" \
    TASKWHEEL_CONFIG /etc/taskwheel/config.yaml /var/lib/taskwheel taskwheel-plugin.pc \
    "SH EXIT STATUS" "SH ENVIRONMENT" "SH FILES"; do
    has "$want" || tw_fail "the man page does not mention $want"
done
for code in 0 1 2; do
    grep -A1 '^\.TP' "$TMP/man.txt" | grep -qx "\.B $code" || tw_fail "exit status $code undocumented"
done
# Every key of the configuration (config.yaml.example is the reference, a test keeps it whole).
example=$(dirname "$MAN")/../config.yaml.example
if [ -f "$example" ]; then
    for key in $(sed -n 's/^\([a-z_]*\):.*/\1/p' "$example" | sort -u); do
        has "$key" || tw_fail "configuration key $key is not in the man page"
    done
fi

warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$MAN" 2>&1 >/dev/null || true)
[ -z "$warnings" ] || tw_fail "groff warns: $warnings"
echo "PASS: taskwheel(1) covers $(echo "$cmds" | wc -w) commands, their options, exit codes, environment and files"
