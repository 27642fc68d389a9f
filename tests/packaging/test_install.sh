#!/bin/sh
# cmake --install into a temporary DESTDIR (docs/reference.md §14), then, from another directory:
#   - every file of the layout is there;
#   - with an empty config, check-config passes and `plugins` lists the six built-in indexes
#     (found through the installed default plugins_dir, not the build tree);
#   - an out-of-tree plugin built with nothing but the installed header and
#     `pkg-config --cflags taskwheel-plugin`, dropped into the installed plugins directory,
#     is a seventh index;
#   - the installed server exports a built-in index, the seventh index, and a Lua format
#     (found through the installed default lua_dir).
#   test_install.sh BUILD_DIR SOURCE_DIR
set -eu
. "$(dirname "$0")/lib.sh"
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tw-install.XXXXXX")
TW_PID=""
cleanup() {
    tw_stop_server
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

DESTDIR="$TMP/root" cmake --install "$BUILD" --prefix /usr/local >"$TMP/install.log" ||
    { cat "$TMP/install.log" >&2; tw_fail "cmake --install failed"; }
P="$TMP/root/usr/local"
for f in bin/taskwheel include/taskwheel/plugin.h share/pkgconfig/taskwheel-plugin.pc \
    share/taskwheel/lua/formats/ndjson.lua share/taskwheel/lua/formats/tsv.lua \
    share/taskwheel/lua/segments/high_value.lua share/doc/taskwheel/config.yaml.example \
    share/doc/taskwheel/README.md share/doc/taskwheel/configuration.md \
    share/doc/taskwheel/plugin-abi.md share/man/man1/taskwheel.1.gz; do
    [ -f "$P/$f" ] || tw_fail "cmake --install did not install $f"
done
for p in users transactions vouchers wallet_ledger products product_variants; do
    [ -f "$P/lib/taskwheel/plugins/$p.so" ] || tw_fail "plugin $p.so not installed"
done
[ -x "$P/bin/taskwheel" ] || tw_fail "bin/taskwheel is not executable"
gzip -t "$P/share/man/man1/taskwheel.1.gz" || tw_fail "the man page is not valid gzip"
echo "layout: ok"

# Another directory, an empty config: the installed defaults must find the plugins.
mkdir "$TMP/work"
cd "$TMP/work"
: > empty.yaml
TW="$P/bin/taskwheel"
"$TW" check-config -c empty.yaml 2>>cli.log || tw_fail "check-config with an empty config failed"
TASKWHEEL_CONFIG=empty.yaml "$TW" check-config 2>>cli.log || tw_fail "check-config via TASKWHEEL_CONFIG failed"
"$TW" plugins -c empty.yaml > plugins.txt 2>>cli.log || { cat plugins.txt; tw_fail "plugins failed"; }
for i in users transactions vouchers wallet-ledger products product-variants; do
    grep -q "^$i\b" plugins.txt || { cat plugins.txt; tw_fail "plugins does not list $i"; }
done
n=$(grep -c '^[a-z]' plugins.txt || true)
[ "$n" -eq 6 ] || { cat plugins.txt; tw_fail "plugins lists $n indexes, not 6"; }
echo "empty config: check-config ok, plugins lists 6"

# Without -c (docs/reference.md §14): $TASKWHEEL_CONFIG, ./config.yaml, <sysconfdir>/taskwheel/config.yaml
# (here <prefix>/etc: the prefix is not /usr), then the built-in defaults.
used() {
    "$@" 2>>cli.log | sed -n 's/^configuration OK: \(.*\) (.*/\1/p'
}
[ "$(used "$TW" check-config)" = "(built-in defaults)" ] || tw_fail "no config file should mean the defaults"
mkdir -p "$P/etc/taskwheel"
echo 'workers: 3' > "$P/etc/taskwheel/config.yaml"
[ "$(used "$TW" check-config)" = "$P/etc/taskwheel/config.yaml" ] ||
    tw_fail "an installed binary does not read <sysconfdir>/taskwheel/config.yaml"
echo 'workers: 4' > config.yaml
[ "$(used "$TW" check-config)" = config.yaml ] || tw_fail "./config.yaml does not come first"
[ "$(TASKWHEEL_CONFIG=empty.yaml used "$TW" check-config)" = empty.yaml ] ||
    tw_fail "\$TASKWHEEL_CONFIG does not come first"
TASKWHEEL_CONFIG=missing.yaml "$TW" check-config 2>>cli.log &&
    tw_fail "a missing \$TASKWHEEL_CONFIG file must be an error"
[ "$(TASKWHEEL_CONFIG=empty.yaml used "$TW" check-config -c config.yaml)" = config.yaml ] ||
    tw_fail "-c does not win over \$TASKWHEEL_CONFIG"
rm config.yaml "$P/etc/taskwheel/config.yaml"
echo "config search order: -c, TASKWHEEL_CONFIG, ./config.yaml, <sysconfdir>, defaults"

# The out-of-tree plugin: only the installed header, through the installed .pc file.
export PKG_CONFIG_PATH="$P/share/pkgconfig"
cflags=$(pkg-config --cflags taskwheel-plugin) || tw_fail "pkg-config knows no taskwheel-plugin"
case "$cflags" in
    *"$SRC"*) tw_fail "pkg-config points into the source tree: $cflags" ;;
esac
plugindir=$(pkg-config --variable=plugindir taskwheel-plugin)
[ "$(cd "$plugindir" && pwd)" = "$P/lib/taskwheel/plugins" ] ||
    tw_fail "plugindir $plugindir is not the installed plugins directory"
# shellcheck disable=SC2086
cc -shared -fPIC -Wall -Wextra -Werror $cflags -o stores.so "$SRC/tests/packaging/stores_plugin.c" \
    $(pkg-config --cflags --libs sqlite3) || tw_fail "the out-of-tree plugin does not build"
cp stores.so "$plugindir/"
"$TW" plugins -c empty.yaml > plugins.txt 2>>cli.log || { cat plugins.txt; tw_fail "plugins failed"; }
n=$(grep -c '^[a-z]' plugins.txt || true)
grep -q '^stores\b' plugins.txt && [ "$n" -eq 7 ] ||
    { cat plugins.txt; tw_fail "the seventh index is not listed ($n indexes)"; }
echo "out-of-tree plugin: built with pkg-config, listed as the seventh index"

# Export through the installed server. Only listen differs from the empty config (port 0:
# a free port, as any test must); plugins_dir and lua_dir are the installed defaults.
echo 'listen: "127.0.0.1:0"' > serve.yaml
"$TW" seed -c serve.yaml --rows 20 --chains 1764,1765 >/dev/null 2>>cli.log || tw_fail "seed failed"
sqlite3 var/retail.db "CREATE TABLE stores (id INTEGER PRIMARY KEY, chain_id INTEGER,
    code TEXT, name TEXT, opened TEXT);
    INSERT INTO stores VALUES (1, 1764, 'AMS-1', 'Amsterdam, Centraal', '2019-03-01'),
        (2, 1765, 'RTM-1', 'Rotterdam', '2020-01-15'), (3, 1764, 'UTR-1', 'Utrecht', NULL);" ||
    tw_fail "cannot add the stores table"
token=$("$TW" token create -c serve.yaml --chain 1764 --level write --desc packaging 2>>cli.log) ||
    tw_fail "token create failed"
tw_start_server "$TMP/work" "$TW" serve -c serve.yaml

tw_export "$TW_PORT" "$token" 1764 users csv users.csv
head -1 users.csv | grep -q '^id,entity_code,username,' || tw_fail "users.csv has no header"
[ "$(wc -l < users.csv)" -eq 21 ] || tw_fail "users.csv does not hold 20 users"

tw_export "$TW_PORT" "$token" 1764 stores csv stores.csv
printf 'id,code,name,opened\r\n1,AMS-1,"Amsterdam, Centraal",2019-03-01\r\n3,UTR-1,Utrecht,\r\n' \
    > want.csv
cmp -s stores.csv want.csv || { cat -A stores.csv; tw_fail "stores.csv is not the chain's stores"; }

tw_export "$TW_PORT" "$token" 1764 stores ndjson stores.ndjson
[ "$(jq -s -c 'map(.code)' stores.ndjson)" = '["AMS-1","UTR-1"]' ] ||
    { cat stores.ndjson; tw_fail "the ndjson Lua format did not export the stores"; }
tw_stop_server
echo "PASS: installed tree works from another directory: 6 plugins, a seventh built out of tree, csv and Lua-format exports"
