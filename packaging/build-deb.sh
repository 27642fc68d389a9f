#!/bin/sh
# Build the Debian package taskwheel_<version>_<arch>.deb into OUT_DIR.
#
#   packaging/build-deb.sh [--no-build] BUILD_DIR OUT_DIR
#
# A BUILD_DIR without a CMake cache is configured for a package: RelWithDebInfo with Debian's
# hardening flags (dpkg-buildflags), no tests; it is built, then CPack (cmake/tw_deb.cmake)
# installs it into a staging tree with prefix /usr, adds packaging/deb/root, strips the ELF
# files, derives Depends with dpkg-shlibdeps and writes the .deb. --no-build packages an
# existing build as it is (the package test uses it on the tree under test). The Dockerfile
# runs this same script, so the image holds exactly the package the tests check.
set -eu

BUILD=yes
if [ "${1:-}" = "--no-build" ]; then
    BUILD=no
    shift
fi
if [ $# -ne 2 ]; then
    echo "usage: packaging/build-deb.sh [--no-build] BUILD_DIR OUT_DIR" >&2
    exit 2
fi
SRC=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$2"
OUT=$(cd "$2" && pwd)
BUILD_DIR=$1

if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
    # CMake reads CFLAGS and LDFLAGS from the environment on the first configure only.
    export DEB_BUILD_MAINT_OPTIONS=hardening=+all
    CFLAGS="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)" \
    LDFLAGS=$(dpkg-buildflags --get LDFLAGS) \
        cmake -S "$SRC" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTW_TESTS=OFF >/dev/null
fi
BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
if [ "$BUILD" = yes ]; then
    cmake --build "$BUILD_DIR" -j "$(nproc 2>/dev/null || echo 2)"
fi
# CPack works in BUILD_DIR/_CPack_Packages; the .deb is moved to OUT so that only it is there.
(cd "$BUILD_DIR" && cpack -G DEB --config "$BUILD_DIR/CPackConfig.cmake" -B "$BUILD_DIR/deb" >&2)
deb=$(ls "$BUILD_DIR"/deb/taskwheel_*.deb)
mv -f "$deb" "$OUT/"
echo "$OUT/$(basename "$deb")"
