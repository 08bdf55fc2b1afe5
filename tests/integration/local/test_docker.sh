#!/bin/sh
# Real Docker containers (root; 77 with the reason when Docker cannot run
# here). The test starts its own dockerd (Debian 12's docker.io, 20.10)
# that changes nothing of the host's network: --iptables=false
# --ip6tables=false --ip-forward=false --ip-masq=false --bridge=none, its
# data root, exec root, socket, pid file, config file and trust key all in
# the test's directory; that dockerd starts its own containerd under the
# exec root. The client is told by DOCKER_HOST; firedrill runs whichever
# `docker` is first on PATH (the test prints which, and checks that
# Debian's 20.10 client, /usr/bin/docker, answers `docker inspect` the same).
#
# No registry: the image is imported from a rootfs of busybox-static. Docker
# has no --network ns:PATH, and a --network none container's namespace dies
# with its process, so each app container joins a long-lived sandbox
# container's namespace (--network container:SANDBOX): fdt-i15d-api-PID in
# fdt-i15d-sbapi-PID's, fdt-i15d-db-PID in fdt-i15d-sbdb-PID's. The sandboxes
# run with --network none; the test puts a veth pair straight into their
# namespaces (made in one, its peer in the other: never in the host's),
# 10.250.89.1 (api) and 10.250.89.2 (db). The api's namespace outlives the
# api's restarts, so probes from inside it keep working across a kill.
#  1. drop: scope {container: api, engine: docker}, the api's egress to the
#     db's address dropped, probed from inside the api (busybox wget): 3
#     iterations, a probe-down and a `container` event ("docker NAME: id
#     ..., pid ..., image ...") in each, recovered, the journal rows in the
#     api's namespace, its ruleset empty after.
#  2. kill: SIGKILL of '^/bin/httpd\x00-f\x00-p\x00' in the api container
#     (--restart=always): Docker restarts it, every later iteration finds a
#     new pid ("(a new pid: restarted)"), each fault matched one process; a
#     twin httpd started from the host in the api's namespace (not in the
#     container's cgroup) is still alive at the end.
#  3. pause: the api container's cgroup frozen (the v1 freezer
#     /docker/ID here, cgroup.freeze on v2), probes fail, the revert thaws
#     it: 2 iterations recovered, the journal rows naming the cgroup,
#     THAWED after, the api answering.
# Then Docker's error paths through firedrill: a missing container, and a
# daemon that is not running ("Cannot connect to the Docker daemon at ...",
# firedrill adds "(is the engine running?)"): exit 3, nothing journaled;
# and without `engine:`, docker is found when podman is not on PATH.
# At the end: containers and image removed, dockerd stopped, and checked:
# none of the test's dockerd/containerd/shim processes left, no mount under
# its directories, the host's nft ruleset, iptables, routes, links,
# addresses and forwarding unchanged (compared with before dockerd started,
# also while it ran).
# usage: test_docker.sh FIREDRILL
set -u
fd=$(realpath "$1")
[ "$(id -u)" -eq 0 ] || { echo "skipped: needs root (dockerd, namespaces, cgroups)"; exit 77; }
for c in docker dockerd containerd runc nft nsenter sqlite3 python3 ip; do
	command -v $c >/dev/null || { echo "skipped: $c missing (docker.io)"; exit 77; }
done
bb=$(command -v busybox) || { echo "skipped: busybox (busybox-static) missing"; exit 77; }
tmp=$(mktemp -d /tmp/fdt-i15d.XXXXXX)
tag=$$
img=fdt-i15d-bb:$tag
api=fdt-i15d-api-$tag
db=fdt-i15d-db-$tag
sbapi=fdt-i15d-sbapi-$tag
sbdb=fdt-i15d-sbdb-$tag
dbip=10.250.89.2
dd=$tmp/docker
sock=$dd/docker.sock
opid=
dpid=
. "$(dirname "$0")/local_lib.sh"
. "$(dirname "$0")/local_containers.sh"

# What a dockerd with its defaults would change: tables, routes, links
# (docker0, veths), addresses, forwarding.
host_state() {
	echo "# nft"
	nft list ruleset 2>&1
	if command -v iptables-save >/dev/null; then
		echo "# iptables"
		iptables-save 2>&1 | grep -v '^#'
		ip6tables-save 2>&1 | grep -v '^#'
	fi
	echo "# routes"
	ip route show table all
	ip -6 route show table all
	echo "# links"
	ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort
	echo "# addresses"
	ip -o addr show | awk '{ print $2, $3, $4 }' | sort
	echo "# forwarding"
	sysctl -n net.ipv4.ip_forward net.ipv6.conf.all.forwarding
}
# The test's own processes: every dockerd, containerd and shim it started
# names its directory on its command line.
ours() { pgrep -f -- "$dd/" 2>/dev/null; }
our_mounts() { awk -v d="$dd/" 'index($5, d) == 1 || $5 == substr(d, 1, length(d) - 1) { print $5 }' /proc/self/mountinfo; }
# dockerd makes /run/docker/plugins and the shims /run/containerd/s even
# with another exec root; removed at the end when the test made them.
run_docker_was=$( [ -e /run/docker ] && echo 1)
run_containerd_was=$( [ -e /run/containerd ] && echo 1)
stop_dockerd() {
	[ -n "$dpid" ] || return 0
	kill "$dpid" 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "$dpid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$dpid" 2>/dev/null && kill -KILL "$dpid" 2>/dev/null
	dpid=
	# its containerd and shims, by pid, only if they outlived it
	for _ in $(seq 50); do
		[ -z "$(ours)" ] && break
		sleep 0.1
	done
	for p in $(ours); do kill -KILL "$p" 2>/dev/null; done
	our_mounts | sort -r | while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
	[ -n "$run_docker_was" ] || rmdir /run/docker/plugins /run/docker 2>/dev/null
	[ -n "$run_containerd_was" ] || rmdir /run/containerd/s /run/containerd 2>/dev/null
}
cleanup() {
	[ -n "$opid" ] && kill "$opid" 2>/dev/null
	if [ -n "$dpid" ]; then
		docker rm -f "$api" "$db" "$sbapi" "$sbdb" >/dev/null 2>&1
		docker rmi -f "$img" >/dev/null 2>&1
	fi
	stop_dockerd
	if [ -z "$(our_mounts)" ]; then
		rm -rf "$tmp"
	else
		echo "left $tmp: mounts remain under it"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# the test's own dockerd
mkdir -p "$dd/data" "$dd/exec"
printf '{ "deprecated-key-path": "%s/key.json" }\n' "$dd" >"$dd/daemon.json"
host_before=$(host_state)
start_dockerd() { # STORAGE-DRIVER
	rm -f "$sock" "$dd/dockerd.pid"
	setsid dockerd --config-file "$dd/daemon.json" \
		--iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
		--bridge=none --userland-proxy=false \
		--data-root "$dd/data" --exec-root "$dd/exec" --pidfile "$dd/dockerd.pid" \
		-H "unix://$sock" --storage-driver "$1" </dev/null >"$dd/dockerd-$1.log" 2>&1 &
	dpid=$!
	for _ in $(seq 150); do
		kill -0 "$dpid" 2>/dev/null || { dpid=; return 1; }
		DOCKER_HOST=unix://$sock docker version >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	stop_dockerd
	return 1
}
export DOCKER_HOST="unix://$sock"
driver=overlay2
if ! start_dockerd overlay2; then
	driver=vfs
	start_dockerd vfs || {
		echo "skipped: dockerd cannot run here: overlay2: $(grep -E 'level=(fatal|error)' "$dd/dockerd-overlay2.log" | tail -n1)" \
			"vfs: $(grep -E 'level=(fatal|error)' "$dd/dockerd-vfs.log" | tail -n1)"
		exit 77
	}
fi
check
pgrep -P "$dpid" -f "^containerd --config $dd/exec/containerd/" >/dev/null ||
	bad "dockerd (pid $dpid) did not start its own containerd under $dd/exec"
echo "dockerd $(dockerd --version | cut -d' ' -f3 | tr -d ,) ($driver, pid $dpid); docker on PATH: $(command -v docker)," \
	"client $(docker version --format '{{.Client.Version}} (API {{.Client.APIVersion}})' 2>&1)"

# the image: busybox-static and a page
mkdir -p "$tmp/root/bin" "$tmp/root/www"
cp "$bb" "$tmp/root/bin/busybox"
ln -s busybox "$tmp/root/bin/sh"
ln -s busybox "$tmp/root/bin/httpd"
ln -s busybox "$tmp/root/bin/sleep"
echo hi >"$tmp/root/www/index.html"
tar -C "$tmp/root" -cf "$tmp/bb.tar" .
docker import "$tmp/bb.tar" "$img" >/dev/null 2>"$tmp/import.err" ||
	{ echo "skipped: docker import failed: $(tail -n1 "$tmp/import.err")"; exit 77; }
run() { # NAME [docker run options] IMAGE COMMAND...
	n=$1
	shift
	docker run -d --name "$n" "$@" >/dev/null 2>"$tmp/run.err"
}
pid_of() { docker inspect --type container --format '{{.State.Pid}}' "$1" 2>/dev/null; }
run "$sbapi" --network none "$img" /bin/sleep 100000 ||
	{ echo "skipped: docker cannot run a container here: $(tail -n1 "$tmp/run.err")"; exit 77; }
run "$sbdb" --network none "$img" /bin/sleep 100000 ||
	{ echo "skipped: docker cannot run a container here: $(tail -n1 "$tmp/run.err")"; exit 77; }
sa=$(pid_of "$sbapi")
sd=$(pid_of "$sbdb")
nsenter -t "$sa" -n ip link add eth0 type veth peer name eth0 netns "$sd" &&
	nsenter -t "$sa" -n ip addr add 10.250.89.1/24 dev eth0 && nsenter -t "$sd" -n ip addr add "$dbip/24" dev eth0 &&
	nsenter -t "$sa" -n ip link set eth0 up && nsenter -t "$sd" -n ip link set eth0 up ||
	{ echo "FAIL: could not put a veth pair into the sandboxes' namespaces"; exit 1; }
run "$db" --network "container:$sbdb" "$img" /bin/httpd -f -p 8080 -h /www ||
	{ echo "skipped: docker cannot run a container here: $(tail -n1 "$tmp/run.err")"; exit 77; }
run "$api" --restart=always --network "container:$sbapi" "$img" /bin/httpd -f -p 8080 -h /www ||
	{ echo "skipped: docker cannot run a container here: $(tail -n1 "$tmp/run.err")"; exit 77; }
containers_api_reaches_db
check
[ "$(readlink "/proc/$api_pid/ns/net")" = "$(readlink "/proc/$sa/ns/net")" ] ||
	bad "the api container is not in its sandbox's network namespace"
check
a=$(docker inspect --type container --format '{{.Id}} {{.State.Pid}} {{.State.Running}} {{.Config.Image}}' "$api" 2>&1)
debian=/usr/bin/docker
[ -x "$debian" ] || debian=docker
b=$("$debian" inspect --type container --format '{{.Id}} {{.State.Pid}} {{.State.Running}} {{.Config.Image}}' "$api" 2>&1)
[ "$a" = "$b" ] && [ "${a#* "$api_pid" true "$img"}" = "" ] ||
	bad "docker inspect: \"$a\" ($(command -v docker)) vs \"$b\" ($debian), want ID $api_pid true $img"
export FIREDRILL_RUN_DIR="$tmp/run"

api_rules_empty() { # LABEL
	check
	r=$(nsenter -t "$(pid_of "$sbapi")" -n nft list ruleset 2>&1)
	[ -z "$r" ] || bad "$1: the api container's namespace keeps rules: $r"
}

api_answers() { timeout 5 nsenter -t "$sa" -n "$bb" wget -q -O /dev/null "http://127.0.0.1:8080/"; }

# 1. the api container's egress to the db container dropped
containers_drop docker "{ container: $api, engine: docker }" 8080

# 2. kill the api's httpd: Docker restarts it (3 times, by its own count);
# the host's twin lives
kill_more() {
	n=$(docker inspect --type container --format '{{.RestartCount}}' "$api" 2>&1)
	[ "$n" = 3 ]
	more_ok=$?
	more=", or Docker did not restart it 3 times ($n)"
}
containers_kill docker "{ container: $api, engine: docker }" "docker $api: % (a new pid: restarted)" "$sa"

# 3. pause the api container: its cgroup frozen, thawed by the revert; the
# cgroup (/docker/ID under the v1 freezer, else the v2 one) names its id
pause_more() {
	[ -n "$cg" ] && [ "$cg" != / ] || cg=$(sed -n 's/^0:://p' "/proc/$(pid_of "$api")/cgroup")
	check
	case "$cg" in
	*"$(docker inspect --type container --format '{{.Id}}' "$api")"*) ;;
	*) bad "pause: the api's cgroup $cg does not name its container id" ;;
	esac
}
containers_pause docker "{ container: $api, engine: docker }"

# Docker's error paths: exit 3 before anything is journaled
errcase() { # LABEL WANT-TEXT SCENARIO-ENGINE-LINE [env...]
	label=$1 want=$2 eng=$3
	shift 3
	cat >"$tmp/err.yaml" <<YAML
name: docker-$label
scope: { container: fdt-i15d-nope-$tag$eng }
probes:
  - { id: api, interval: 200ms, timeout: 500ms, http: { url: "http://127.0.0.1:8080/" } }
faults:
  - { id: cut, kind: drop, duration: 1s, targets: { cidrs: [$dbip/32] } }
steady-state: { probes: [api] }
recovery: { all: [api], timeout: 5s }
YAML
	rm -f "$tmp/err.db"
	env "$@" "$fd" --db "$tmp/err.db" run "$tmp/err.yaml" >/dev/null 2>"$tmp/err.err"
	rc=$?
	check
	[ $rc -eq 3 ] || bad "$label: exit $rc, want 3: $(cat "$tmp/err.err")"
	check
	grep -qF -- "$want" "$tmp/err.err" || bad "$label: the error does not say \"$want\": $(cat "$tmp/err.err")"
	check
	n=$(sqlite3 "$tmp/err.db" "select (select count(*) from drills) + (select count(*) from faults)" 2>/dev/null || echo 0)
	[ "$n" -eq 0 ] || bad "$label: $n drills and journal rows, want none"
}
# (Docker 20.10's client says "Error: No such container: NAME", later ones
# "Error response from daemon: No such container: NAME"; both begin with an
# empty line, which the error leaves out.)
errcase missing "container fdt-i15d-nope-$tag: \`docker inspect\` failed (exit 1): Error" ", engine: docker" \
	"PATH=$PATH"
check
grep -q "failed (exit 1): Error.*: No such container: fdt-i15d-nope-$tag\$" "$tmp/err.err" ||
	bad "missing: Docker's own words are not in the error's line: $(cat "$tmp/err.err")"
errcase no-daemon "failed (exit 1): Cannot connect to the Docker daemon at unix://$tmp/no-such.sock. Is the docker daemon running? (is the engine running?)" \
	", engine: docker" "PATH=$PATH" "DOCKER_HOST=unix://$tmp/no-such.sock"
# without engine:, and podman not on PATH: docker
mkdir -p "$tmp/bin"
ln -s "$(command -v docker)" "$tmp/bin/docker"
errcase detect "\`docker inspect\` failed" "" "PATH=$tmp/bin:/usr/sbin:/sbin"

# nothing left: the containers and the image removed, dockerd stopped
host_running=$(host_state)
docker rm -f "$api" "$db" "$sbapi" "$sbdb" >/dev/null 2>&1
docker rmi -f "$img" >/dev/null 2>&1
check
left=$(docker ps -a --format '{{.Names}}' | grep -e "^fdt-i15d-.*-$tag\$")
[ -z "$left" ] || bad "containers left: $left"
check
docker image inspect "$img" >/dev/null 2>&1 && bad "image left: $img"
stop_dockerd
check
left=$(ours)
[ -z "$left" ] || bad "processes of the test's dockerd left: $(for p in $left; do tr '\0' ' ' <"/proc/$p/cmdline"; echo; done)"
check
left=$(our_mounts)
[ -z "$left" ] || bad "mounts left under $dd: $left"
check
[ -n "$run_docker_was" ] || [ ! -e /run/docker ] || bad "/run/docker left"
check
[ -n "$run_containerd_was" ] || [ ! -e /run/containerd ] || bad "/run/containerd left"
check
[ "$host_running" = "$host_before" ] ||
	bad "the host's tables, routes, links or forwarding changed while dockerd ran: $(printf '%s\n' "$host_before" >"$tmp/h0"; printf '%s\n' "$host_running" >"$tmp/h1"; diff "$tmp/h0" "$tmp/h1")"
check
host_after=$(host_state)
[ "$host_after" = "$host_before" ] ||
	bad "the host's tables, routes, links or forwarding changed: $(printf '%s\n' "$host_before" >"$tmp/h0"; printf '%s\n' "$host_after" >"$tmp/h1"; diff "$tmp/h0" "$tmp/h1")"

local_end
