#!/bin/sh
# Renders an HTML report to PNG with headless Chromium, to look at it as a
# person would (and to check that the inline SVG charts appear).
#
#   scripts/render-report.sh REPORT.html OUT.png [WIDTHxHEIGHT]
#
# Chromium comes with scripts/install-deps.sh (the war room's browser test); this script
# installs the Debian package `chromium` with apt-get on first use (root).
# The page is loaded from a file:// URL with networking features off; the
# report itself fetches nothing (its Content-Security-Policy forbids it).
set -eu

usage() {
	echo "usage: $0 REPORT.html OUT.png [WIDTHxHEIGHT]   (default 1200x2000)" >&2
	exit 2
}

[ $# -ge 2 ] && [ $# -le 3 ] || usage
in=$1
out=$2
size=${3:-1200x2000}
[ -f "$in" ] || { echo "$0: $in: no such file" >&2; exit 3; }
case $size in *x*) ;; *) usage ;; esac

chromium_bin() {
	for b in chromium chromium-browser google-chrome; do
		if command -v "$b" >/dev/null 2>&1; then
			command -v "$b"
			return 0
		fi
	done
	return 1
}

if ! bin=$(chromium_bin); then
	if [ "$(id -u)" != 0 ]; then
		echo "$0: chromium is not installed; run as root to install it, or: apt-get install chromium" >&2
		exit 3
	fi
	echo "$0: installing chromium (once) ..." >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >&2
	bin=$(chromium_bin)
fi

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT INT TERM
abs_in=$(cd "$(dirname "$in")" && pwd)/$(basename "$in")
case $out in /*) abs_out=$out ;; *) abs_out=$(pwd)/$out ;; esac

"$bin" --headless --no-sandbox --disable-gpu --disable-background-networking \
	--disable-component-update --disable-sync --no-first-run --hide-scrollbars \
	--user-data-dir="$profile" --window-size="$(echo "$size" | tr x ,)" \
	--screenshot="$abs_out" "file://$abs_in" >/dev/null 2>&1 || {
	echo "$0: chromium failed to render $in" >&2
	exit 4
}
[ -s "$abs_out" ] || { echo "$0: no screenshot written" >&2; exit 4; }
echo "$abs_out"
