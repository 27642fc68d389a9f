#!/bin/sh
# Build the Debian package from the build tree under test (packaging/build-deb.sh --no-build)
# and inspect it without installing: file name, control fields, Depends against the shared
# libraries the ELF files actually need, the file list, the conffile and maintainer scripts,
# lintian (errors fail the test, all findings are printed) and the systemd unit's exposure
# (systemd-analyze security --offline=true; the figure is printed). The .deb is left in OUT for
# packaging_deb_install.
#   test_deb_build.sh BUILD_DIR SOURCE_DIR OUT_DIR [SANITIZERS]
set -eu
. "$(dirname "$0")/lib.sh"
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
OUT=$3
SANITIZE=${4:-}
for tool in dpkg-deb dpkg-shlibdeps lintian systemd-analyze cpack; do
    command -v "$tool" >/dev/null || tw_fail "$tool is missing (scripts/dev installs it)"
done
rm -rf "$OUT"
mkdir -p "$OUT"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tw-deb.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

deb=$("$SRC/packaging/build-deb.sh" --no-build "$BUILD" "$OUT" 2>"$TMP/cpack.log" | tail -1) ||
    { cat "$TMP/cpack.log" >&2; tw_fail "packaging/build-deb.sh failed"; }
version=$(sed -n 's/^project(taskwheel VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
arch=$(dpkg --print-architecture)
[ "$(basename "$deb")" = "taskwheel_${version}_${arch}.deb" ] ||
    tw_fail "the package is $(basename "$deb"), not taskwheel_${version}_${arch}.deb"

# Control fields.
dpkg-deb --info "$deb" > "$TMP/info" || tw_fail "dpkg-deb --info failed"
cat "$TMP/info"
field() {
    dpkg-deb --field "$deb" "$1"
}
[ "$(field Package)" = taskwheel ] || tw_fail "Package is not taskwheel"
[ "$(field Version)" = "$version" ] || tw_fail "Version is not $version"
[ "$(field Architecture)" = "$arch" ] || tw_fail "Architecture is not $arch"
depends=$(field Depends)
for want in adduser libc6 libevent-2.1-7 libsqlite3-0 libjansson4 liblua5.4-0 libyaml-0-2 \
    libssl3 zlib1g libcurl4 libcrypt1; do
    echo "$depends" | tr ',' '\n' | grep -q "^ *$want\b" ||
        tw_fail "Depends lacks $want: $depends"
done

# Depends is derived, not guessed: every library an ELF file of the package needs comes from
# a package named in Depends.
mkdir "$TMP/x"
dpkg-deb -x "$deb" "$TMP/x"
find "$TMP/x" -type f \( -name '*.so' -o -perm -u+x \) | while read -r f; do
    readelf -d "$f" 2>/dev/null | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'
done | sort -u > "$TMP/needed"
[ -s "$TMP/needed" ] || tw_fail "no ELF file in the package needs a shared library?"
while read -r lib; do
    path=$(ldconfig -p | awk -v l="$lib" '$1 == l { print $NF; exit }')
    [ -n "$path" ] || tw_fail "$lib is needed but not found by ldconfig"
    real=$(readlink -f "$path")
    pkg=$(dpkg -S "$real" 2>/dev/null || dpkg -S "$path" 2>/dev/null || dpkg -S "/usr$path" 2>/dev/null) ||
        tw_fail "no package owns $path"
    pkg=${pkg%%:*}
    echo "$depends" | tr ',' '\n' | grep -q "^ *$pkg\b" ||
        tw_fail "$lib comes from $pkg, which Depends does not name: $depends"
done < "$TMP/needed"
echo "Depends covers the $(wc -l < "$TMP/needed") shared libraries the package's ELF files need"

# Contents: docs/reference.md §14's layout under /usr, the conffile and the unit; nothing in /usr/local,
# /var or /tmp (the state directory is made by postinst and systemd).
dpkg-deb --contents "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' > "$TMP/contents"
for f in /usr/bin/taskwheel /usr/include/taskwheel/plugin.h \
    /usr/share/pkgconfig/taskwheel-plugin.pc /usr/share/man/man1/taskwheel.1.gz \
    /usr/share/taskwheel/lua/formats/ndjson.lua /usr/share/taskwheel/lua/formats/tsv.lua \
    /usr/share/doc/taskwheel/copyright /usr/share/doc/taskwheel/changelog.gz \
    /usr/share/doc/taskwheel/config.yaml.example /usr/share/doc/taskwheel/README.md \
    /etc/taskwheel/config.yaml /lib/systemd/system/taskwheel.service \
    /usr/lib/taskwheel/plugins/users.so /usr/lib/taskwheel/plugins/transactions.so \
    /usr/lib/taskwheel/plugins/vouchers.so /usr/lib/taskwheel/plugins/wallet_ledger.so \
    /usr/lib/taskwheel/plugins/products.so /usr/lib/taskwheel/plugins/product_variants.so; do
    grep -qx "$f" "$TMP/contents" || tw_fail "the package lacks $f"
done
if grep -E '^/(usr/local|var|tmp|home|root)/' "$TMP/contents"; then
    tw_fail "the package ships files outside the Debian layout"
fi
dpkg-deb --contents "$deb" | awk '$2 != "root/root" { print; bad = 1 } END { exit bad }' ||
    tw_fail "files not owned by root"

# Control area: the conffile, executable maintainer scripts that parse.
mkdir "$TMP/ctl"
dpkg-deb -e "$deb" "$TMP/ctl"
[ "$(cat "$TMP/ctl/conffiles")" = /etc/taskwheel/config.yaml ] || tw_fail "conffiles is wrong"
for s in postinst prerm postrm; do
    [ -x "$TMP/ctl/$s" ] || tw_fail "$s is missing or not executable"
    sh -n "$TMP/ctl/$s" || tw_fail "$s does not parse"
done
grep -q '^data_dir: "/var/lib/taskwheel"' "$TMP/x/etc/taskwheel/config.yaml" ||
    tw_fail "the packaged config does not keep its data in /var/lib/taskwheel"

# lintian: print every finding; errors fail (a sanitizer build is reported, not judged).
lintian --info "$deb" > "$TMP/lintian" 2>&1 || true
grep -v 'running with root privileges' "$TMP/lintian" || true
if grep -q '^E:' "$TMP/lintian"; then
    if [ -z "$SANITIZE" ]; then
        tw_fail "lintian reports errors"
    fi
    echo "lintian errors on a $SANITIZE build are reported only"
fi
echo "lintian: $(grep -c '^E:' "$TMP/lintian" || true) errors, $(grep -c '^W:' "$TMP/lintian" || true) warnings"

# The unit's exposure, as systemd judges it (lower is better; 10 is unprotected).
unit="$TMP/x/lib/systemd/system/taskwheel.service"
systemd-analyze security --offline=true --no-pager "$unit" > "$TMP/security" 2>&1 || true
exposure=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$TMP/security")
[ -n "$exposure" ] || { cat "$TMP/security"; tw_fail "systemd-analyze security gave no figure"; }
echo "systemd-analyze security --offline=true: exposure $exposure"
awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }' ||
    { grep '✗' "$TMP/security"; tw_fail "exposure $exposure is above 2.0: hardening was lost"; }
for k in NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes StateDirectory=taskwheel \
    User=taskwheel UMask=0027; do
    grep -qx "$k" "$unit" || tw_fail "the unit lacks $k"
done
echo "PASS: $(basename "$deb"): control, Depends, contents, lintian and unit exposure $exposure"
