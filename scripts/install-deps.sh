#!/bin/sh
# Installs every Debian package firedrill needs to build, test and run the demo.
# Idempotent: when everything is present it only checks and returns.
set -eu

PACKAGES="
build-essential pkg-config meson ninja-build clang clang-tidy libclang-rt-14-dev
libnftables-dev libnftnl-dev libmnl-dev
libnl-3-dev libnl-route-3-dev libnl-nf-3-dev
libcurl4-openssl-dev libpcap-dev libpcre2-dev libsqlite3-dev
libcmocka-dev libfyaml-dev libsodium-dev libmicrohttpd-dev libjansson-dev libcap-ng-dev
libcairo2-dev libpango1.0-dev librsvg2-dev fonts-dejavu-core poppler-utils
nftables iproute2 procps util-linux sqlite3 curl ca-certificates python3 systemd
podman runc busybox-static
valgrind cppcheck
openssh-client openssh-server
python3-jsonschema python3-yaml prometheus scdoc groff-base man-db bash-completion zsh fish jq
debhelper dpkg-dev lintian fakeroot
chromium chromium-driver python3-selenium
"

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done

if [ -z "$missing" ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing (run as root)" >&2
	exit 3
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
