#!/bin/sh
# Install the package built by packaging_deb_build (root only; CI runs as root on a throwaway
# machine): dpkg -i; the taskwheel system user and its private /var/lib/taskwheel;
# systemd-analyze verify of the installed unit; /usr/bin/taskwheel serve started as the
# taskwheel user with the packaged config and the unit's UMask, one export, a 0640 result;
# dpkg --remove keeps the user, the state and the conffile; dpkg --purge leaves nothing behind.
# Everything is undone on failure too. Skipped, with the reason, when not root or when this
# machine already has a taskwheel package or user (the test never touches what it did not make).
#   test_deb_install.sh OUT_DIR SOURCE_DIR
set -eu
. "$(dirname "$0")/lib.sh"
OUT=$1
[ "$(id -u)" -eq 0 ] || tw_skip "dpkg -i and --purge need root (CI runs this as root)"
for tool in dpkg runuser unshare ip curl jq systemd-analyze flock; do
    command -v "$tool" >/dev/null || tw_fail "$tool is missing (scripts/dev installs it)"
done
deb=$(ls "$OUT"/taskwheel_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || tw_fail "no package in $OUT (packaging_deb_build makes it)"

# One package test at a time on this machine, whatever build tree it comes from.
exec 9>/run/lock/taskwheel-package-test.lock
flock 9
if dpkg-query -W -f='${Status}' taskwheel 2>/dev/null | grep -q 'installed\|config-files'; then
    tw_skip "a taskwheel package is already on this machine; not touching it"
fi
if getent passwd taskwheel >/dev/null || [ -e /var/lib/taskwheel ] || [ -e /etc/taskwheel ]; then
    tw_skip "a taskwheel user, /var/lib/taskwheel or /etc/taskwheel already exists; not touching it"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/tw-debi.XXXXXX")
chmod 0755 "$TMP"
INSTALLED=no
cleanup() {
    if [ -n "${NS_PID:-}" ]; then
        kill -TERM "$NS_PID" 2>/dev/null || true
        wait "$NS_PID" 2>/dev/null || true
    fi
    if [ "$INSTALLED" = yes ]; then
        dpkg --purge taskwheel >/dev/null 2>&1 || echo "cleanup: dpkg --purge taskwheel failed" >&2
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

INSTALLED=yes
dpkg -i "$deb" > "$TMP/dpkg.log" 2>&1 || { cat "$TMP/dpkg.log"; tw_fail "dpkg -i failed"; }
echo "dpkg -i: ok"
dpkg-query -W -f='${Conffiles}\n' taskwheel | grep -q '/etc/taskwheel/config.yaml' ||
    tw_fail "/etc/taskwheel/config.yaml is not a registered conffile"
uid=$(getent passwd taskwheel | cut -d: -f3) || tw_fail "postinst did not create the taskwheel user"
shell=$(getent passwd taskwheel | cut -d: -f7)
[ "$uid" -lt 1000 ] || tw_fail "taskwheel is not a system user (uid $uid)"
case "$shell" in */nologin|*/false) ;; *) tw_fail "taskwheel has a login shell: $shell" ;; esac
[ "$(stat -c '%U:%G %a' /var/lib/taskwheel)" = "taskwheel:taskwheel 750" ] ||
    tw_fail "/var/lib/taskwheel is $(stat -c '%U:%G %a' /var/lib/taskwheel), not taskwheel:taskwheel 750"
[ "$(readlink -f "$(command -v taskwheel)")" = /usr/bin/taskwheel ] || tw_fail "taskwheel is not /usr/bin/taskwheel"
man -w taskwheel >/dev/null 2>&1 || tw_fail "man taskwheel finds no page"
unit=/lib/systemd/system/taskwheel.service
systemd-analyze verify "$unit" > "$TMP/verify" 2>&1 || { cat "$TMP/verify"; tw_fail "systemd-analyze verify failed"; }
echo "systemd-analyze verify $unit: ok"

# A machine running systemd started the service in postinst: it must be up, then it makes way
# for the test's own server on the same state directory.
if [ -d /run/systemd/system ]; then
    tries=0
    until systemctl is-active --quiet taskwheel.service; do
        tries=$((tries + 1))
        [ "$tries" -lt 600 ] || { systemctl status taskwheel.service; tw_fail "taskwheel.service is not active"; }
        sleep 0.1
    done
    echo "taskwheel.service started by postinst: active"
    systemctl stop taskwheel.service
fi

# The packaged config listens on 127.0.0.1:8080. The server and its client run in a network
# namespace of their own, so that port is free whatever else this machine runs.
umask_=$(sed -n 's/^UMask=//p' "$unit")
install -d -o taskwheel -g taskwheel "$TMP/srv"  # the server writes its ready file here
cat > "$TMP/run.sh" <<SCRIPT
set -eu
ip link set lo up
cd /
runuser -u taskwheel -- /usr/bin/taskwheel seed -c /etc/taskwheel/config.yaml --rows 30 --chains 1764 >/dev/null
token=\$(runuser -u taskwheel -- /usr/bin/taskwheel token create -c /etc/taskwheel/config.yaml --chain 1764 --level write)
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
# As the unit runs it: the taskwheel user, the unit's UMask.
tw_start_server "$TMP/srv" runuser -u taskwheel -- sh -c 'umask $umask_; exec /usr/bin/taskwheel serve -c /etc/taskwheel/config.yaml "\$@"' sh
[ "\$TW_PORT" = 8080 ] || tw_fail "the packaged config should listen on 8080, got \$TW_PORT"
tw_export 8080 "\$token" 1764 users csv "$TMP/users.csv"
tw_stop_server
SCRIPT
unshare --net sh "$TMP/run.sh" 2>"$TMP/run.err" || { cat "$TMP/run.err" "$TMP/srv/server.log" 2>/dev/null; tw_fail "serving and exporting as the taskwheel user failed"; }
[ "$(wc -l < "$TMP/users.csv")" -eq 31 ] || tw_fail "the export does not hold the 30 seeded users"
result=$(find /var/lib/taskwheel/results -type f -name 'User_Export-*.csv' | head -1)
[ -n "$result" ] || tw_fail "no result file under /var/lib/taskwheel/results"
[ "$(stat -c '%U %a' "$result")" = "taskwheel 640" ] ||
    tw_fail "result $result is $(stat -c '%U %a' "$result"), not taskwheel 640"
if find /var/lib/taskwheel ! -user taskwheel | grep .; then
    tw_fail "files in /var/lib/taskwheel not owned by taskwheel"
fi
echo "serve as taskwheel with the packaged config: export ok, result mode 640"

# Reinstalling (the upgrade path of the maintainer scripts: prerm upgrade, postinst configure
# with the old version) keeps the user, its uid and the state.
dpkg -i "$deb" > "$TMP/dpkg.log" 2>&1 || { cat "$TMP/dpkg.log"; tw_fail "reinstalling failed"; }
[ "$(getent passwd taskwheel | cut -d: -f3)" = "$uid" ] || tw_fail "reinstalling changed the uid"
[ -f "$result" ] || tw_fail "reinstalling lost the state"
echo "reinstall: user and state kept"

# remove keeps the user, the state and the conffile; purge deletes them all.
dpkg-deb --contents "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' | grep -v '/$' > "$TMP/files"
dpkg --remove taskwheel > "$TMP/dpkg.log" 2>&1 || { cat "$TMP/dpkg.log"; tw_fail "dpkg --remove failed"; }
[ ! -e /usr/bin/taskwheel ] || tw_fail "dpkg --remove left /usr/bin/taskwheel"
getent passwd taskwheel >/dev/null || tw_fail "dpkg --remove deleted the taskwheel user"
[ -f "$result" ] || tw_fail "dpkg --remove deleted the state in /var/lib/taskwheel"
[ -f /etc/taskwheel/config.yaml ] || tw_fail "dpkg --remove deleted the conffile"
dpkg --purge taskwheel > "$TMP/dpkg.log" 2>&1 || { cat "$TMP/dpkg.log"; tw_fail "dpkg --purge failed"; }
INSTALLED=no
left=""
while read -r f; do
    [ -e "$f" ] && left="$left $f"
done < "$TMP/files"
for d in /var/lib/taskwheel /etc/taskwheel /usr/lib/taskwheel /usr/share/taskwheel \
    /usr/share/doc/taskwheel /usr/include/taskwheel; do
    [ -e "$d" ] && left="$left $d"
done
[ -z "$left" ] || tw_fail "dpkg --purge left:$left"
getent passwd taskwheel >/dev/null && tw_fail "dpkg --purge left the taskwheel user"
getent group taskwheel >/dev/null && tw_fail "dpkg --purge left the taskwheel group"
dpkg-query -W taskwheel >/dev/null 2>&1 && tw_fail "dpkg still knows the package after purge"
echo "PASS: dpkg -i, serve as taskwheel, export, remove keeps state, purge leaves nothing behind"
