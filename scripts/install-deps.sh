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
podman runc busybox-static docker.io
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

# docker.io's maintainer scripts start the system's dockerd (invoke-rc.d on
# sysvinit, deb-systemd-invoke on systemd), and a dockerd started with its
# defaults adds iptables rules, a docker0 bridge and sets ip_forward on the
# host. firedrill's tests start their own dockerd without any of that
# (tests/integration/local/test_docker.sh), so no service may start during
# this install: a policy-rc.d that answers 101 ("action forbidden") is put
# in place for the install only. One that forbids already is left alone;
# one that would allow is moved aside and put back afterwards.
policy=/usr/sbin/policy-rc.d
policy_saved=
policy_ours=
restore_policy() {
	if [ -n "$policy_ours" ]; then
		rm -f "$policy"
		policy_ours=
	fi
	if [ -n "$policy_saved" ]; then
		mv "$policy_saved" "$policy"
		policy_saved=
	fi
}
case " $missing " in
*" docker.io "* | *" containerd "*)
	if [ -e "$policy" ]; then
		rc=0
		"$policy" docker start >/dev/null 2>&1 || rc=$?
		if [ "$rc" -ne 101 ]; then
			policy_saved=$policy.firedrill-saved
			mv "$policy" "$policy_saved"
		fi
	fi
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\n# firedrill install-deps: no service starts during this install\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		policy_ours=1
	fi
	trap restore_policy EXIT INT TERM
	;;
esac

# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
restore_policy

# On systemd hosts docker.io enables docker.service and docker.socket: the
# next boot, or any client on /var/run/docker.sock, would start the system's
# dockerd with its defaults. Installed here, they are left disabled
# (`systemctl enable --now docker` to use the system's Docker).
case " $missing " in
*" docker.io "*)
	if [ -d /run/systemd/system ]; then
		systemctl disable --now docker.socket docker.service >/dev/null 2>&1 || true
	fi
	;;
esac
