#!/bin/sh
# Installs the Debian packages firedrill needs, then configures and builds it
# in ./build (or $FD_BUILD_DIR). Extra arguments go to `meson setup`.
# Safe to run again: an existing build directory is reconfigured.
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
dir=${FD_BUILD_DIR:-build}
if [ -f "$dir/build.ninja" ]; then
	meson setup --reconfigure "$dir" "$@" >/dev/null
else
	meson setup "$dir" "$@" >/dev/null
fi
meson compile -C "$dir"
