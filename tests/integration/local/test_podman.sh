#!/bin/sh
# Real Podman containers (root; 77 with the reason when podman cannot run the
# test's container here). No registry: the image is imported from a rootfs
# made of busybox-static (busybox httpd serves /www). Two containers,
# fdt-i15-api-PID and fdt-i15-db-PID, each in a network namespace the test
# makes (--network ns:PATH, a veth pair), so podman never touches the host's
# own firewall tables (checked at the end).
#  1. drop: scope {container: api}, the api container's egress to the db
#     container's address dropped, probed from inside the api container
#     (busybox wget; its -T segfaults in Debian 12's busybox-static, so the
#     probe's timeout bounds it): 3 iterations, each a `container` event,
#     each with a probe-down, recovered; the api's ruleset empty after. The
#     blackholed flows name their senders: a loop inside the api container
#     (podman exec) calling db:8081 by the container's name and id, the
#     probe's wget (in the api's namespace, not its cgroup) without one.
#  2. kill: scope {container: api}, SIGKILL to the
#     processes matching '^/bin/httpd\x00-f\x00-p\x00' (the container's
#     main process; as pid 1 of its pid namespace it takes no TERM from us),
#     3 iterations: podman restarts it (--restart=always), so every
#     iteration finds a new pid (a container event "(a new pid: restarted)"),
#     probes in the api's namespace (which outlives the restart) recover. A busybox httpd with the same
#     command line (port 8081) started from the host in the container's own
#     network namespace, in its own session but not in the container's
#     cgroup, is not killed: the netns filter cannot tell it apart (in the
#     first iteration), only the container's cgroup does.
#  3. pause: kind pause of the api container, 2
#     iterations: its cgroup frozen (the v1 freezer here, cgroup.freeze on
#     v2), probes fail, the revert thaws it, recovered; the journal rows
#     name its cgroup; freezer.state THAWED after.
#  4. compose (issue 15): a third container fdt-i15-web-PID, the client,
#     in a namespace joined to the api's (10.250.87.0/24). The api's
#     /cgi-bin/health answers 503 when it cannot reach the db. The fault is
#     the api's as in 1 (scope {container: api}); the probes name
#     `container: web`: an http probe of the api's health from the web
#     container, and a command that is healthy only in the web's
#     namespace. 2 iterations: probe-down and recovery each, a container
#     event for the api and for the web each, both rulesets empty after.
# At the end every fdt-i15-*-PID container and the image are removed, and
# the test checks that nothing of them is left.
#
# The runtime and the rlimits come from a test containers.conf
# (CONTAINERS_CONF): crun fails on hybrid cgroup hosts ("cgroups in hybrid
# mode not supported") and podman's default rlimits need CAP_SYS_RESOURCE,
# which some VMs' root lacks. firedrill itself only runs `podman inspect`.
# usage: test_podman.sh FIREDRILL
set -u
fd=$(realpath "$1")
[ "$(id -u)" -eq 0 ] || { echo "skipped: needs root (container namespaces and cgroups)"; exit 77; }
for c in podman nft nsenter sqlite3 python3; do
	command -v $c >/dev/null || { echo "skipped: $c missing"; exit 77; }
done
bb=$(command -v busybox) || { echo "skipped: busybox (busybox-static) missing"; exit 77; }
tmp=$(mktemp -d)
tag=$$
img=localhost/fdt-i15-bb:$tag
api=fdt-i15-api-$tag
db=fdt-i15-db-$tag
web=fdt-i15-web-$tag
# The containers join network namespaces this test makes (podman run
# --network ns:PATH), so podman's bridge never adds firewall rules to the
# host's own tables: api (10.250.88.1) and db (10.250.88.2) on a veth pair.
nsapi=fdt-i15-api-$tag
nsdb=fdt-i15-db-$tag
nsweb=fdt-i15-web-$tag
dbip=10.250.88.2
opid=
cat >"$tmp/containers.conf" <<'CONF'
[engine]
runtime = "runc"
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
CONF
export CONTAINERS_CONF=$tmp/containers.conf
cleanup() {
	[ -n "$opid" ] && kill "$opid" 2>/dev/null
	podman rm -f -t 0 "$api" "$db" "$web" >/dev/null 2>&1
	podman rmi -f "$img" >/dev/null 2>&1
	ip netns del "$nsapi" 2>/dev/null
	ip netns del "$nsdb" 2>/dev/null
	ip netns del "$nsweb" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
. "$(dirname "$0")/local_lib.sh"
. "$(dirname "$0")/local_containers.sh"

# the image: busybox-static and a page
mkdir -p "$tmp/root/bin" "$tmp/root/www"
cp "$bb" "$tmp/root/bin/busybox"
ln -s busybox "$tmp/root/bin/sh"
ln -s busybox "$tmp/root/bin/httpd"
echo hi >"$tmp/root/www/index.html"
# the api's health: 503 when the db does not answer within a second
mkdir "$tmp/root/www/cgi-bin"
cat >"$tmp/root/www/cgi-bin/health" <<SH
#!/bin/sh
if /bin/busybox timeout 1 /bin/busybox wget -q -O /dev/null http://$dbip:8080/; then
	printf 'Content-Type: text/plain\r\n\r\nok\n'
else
	printf 'HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain\r\n\r\nno db\n'
fi
SH
chmod +x "$tmp/root/www/cgi-bin/health"
tar -C "$tmp/root" -cf "$tmp/bb.tar" .
podman import "$tmp/bb.tar" "$img" >/dev/null 2>"$tmp/import.err" ||
	{ echo "skipped: podman import failed: $(tail -n1 "$tmp/import.err")"; exit 77; }
host_rules_before=$(nft list ruleset 2>&1)
ip netns add "$nsapi" && ip netns add "$nsdb" &&
	ip -n "$nsapi" link add eth0 type veth peer name eth0 netns "$nsdb" &&
	ip -n "$nsapi" addr add 10.250.88.1/24 dev eth0 && ip -n "$nsdb" addr add "$dbip/24" dev eth0 &&
	for n in "$nsapi" "$nsdb"; do ip -n "$n" link set lo up && ip -n "$n" link set eth0 up || exit 1; done ||
	{ echo "FAIL: could not make the test's namespaces"; exit 1; }
start() { # NAME [podman run options]
	n=$1
	shift
	podman run -d --name "$n" "$@" "$img" /bin/httpd -f -p 8080 -h /www >/dev/null 2>"$tmp/run.err"
}
pid_of() { podman inspect --format '{{.State.Pid}}' "$1" 2>/dev/null; }
start "$db" --network "ns:/run/netns/$nsdb" || { echo "skipped: podman cannot run a container here: $(tail -n1 "$tmp/run.err")"; exit 77; }
start "$api" --restart=always --network "ns:/run/netns/$nsapi" || { echo "skipped: podman cannot run a container here: $(tail -n1 "$tmp/run.err")"; exit 77; }
containers_api_reaches_db
export FIREDRILL_RUN_DIR=$tmp/run

api_rules_empty() { # LABEL
	check
	p=$(pid_of "$api")
	r=$(nsenter -t "$p" -n nft list ruleset 2>&1)
	[ -z "$r" ] || bad "$1: the api container's namespace keeps rules: $r"
}

api_answers() { ip netns exec "$nsapi" "$bb" wget -q -O /dev/null "http://127.0.0.1:8080/"; }

# 1. the api container's egress to the db container dropped (also 8081:
# the flows below). A process of the container itself (in its cgroup) calls
# db:8081 (nobody listens: refused at once, until the drop holds its SYN):
# the flow's sender.
podman exec -d "$api" /bin/sh -c "while :; do /bin/busybox wget -q -O /dev/null http://$dbip:8081/; /bin/busybox sleep 1; done" \
	>/dev/null 2>"$tmp/exec.err" || bad "podman exec the api's caller: $(cat "$tmp/exec.err")"
drop_more() {
	check
	# Who sent the blackholed flows, per iteration: the container's busybox to
	# 8081 (named by the scope's name, its full id beside), and the probe to 8080,
	# run by firedrill in the api's namespace but not in its cgroup: no container.
	api_id=$(podman inspect --format '{{.Id}}' "$api")
	n=$(sqlite3 "$tmp/drop.db" "select count(*) from flows where dport = 8081 and owner_comm = 'busybox'
		and owner_container = '$api_id' and owner_container_name = '$api' and owner_uid = 0")
	[ "$n" -eq 3 ] || bad "drop: $n flows to 8081 sent by the api container's busybox, want 3: $(sqlite3 "$tmp/drop.db" "select iteration_id, flow, owner_pid, owner_comm, owner_container_name, owner_unknown from flows")"
	check
	n=$(sqlite3 "$tmp/drop.db" "select count(*) from flows where dport = 8080 and owner_pid is not null and owner_container is null")
	[ "$n" -eq 3 ] || bad "drop: $n flows to 8080 sent from outside the container, want 3: $(sqlite3 "$tmp/drop.db" "select iteration_id, flow, owner_pid, owner_comm, owner_container, owner_unknown from flows")"
	echo "drop flows: $(sqlite3 "$tmp/drop.db" "select group_concat(flow || ' from ' || coalesce(owner_comm || ' ' || coalesce(owner_container_name, 'host'), owner_unknown), '; ') from flows where iteration_id = (select min(iteration_id) from flows)")"
}
containers_drop podman "{ container: $api }" "8080, 8081"

# 2. kill the api's httpd: podman restarts it; the host's twin lives
containers_kill podman "{ container: $api }" "% (a new pid: restarted)" "$(pid_of "$api")"

# 3. pause the api container: its cgroup frozen, thawed by the revert
containers_pause podman "{ container: $api }"

# 4. compose: the api cut off from the db, probed from the web container
web_rules_empty() { # LABEL
	check
	r=$(ip netns exec "$nsweb" nft list ruleset 2>&1)
	[ -z "$r" ] || bad "$1: the web container's namespace keeps rules: $r"
}
ip netns add "$nsweb" &&
	ip -n "$nsapi" link add eth1 type veth peer name eth0 netns "$nsweb" &&
	ip -n "$nsapi" addr add 10.250.87.1/24 dev eth1 && ip -n "$nsweb" addr add 10.250.87.2/24 dev eth0 &&
	ip -n "$nsapi" link set eth1 up && ip -n "$nsweb" link set lo up && ip -n "$nsweb" link set eth0 up ||
	{ echo "FAIL: could not make the web's namespace"; exit 1; }
check
start "$web" --network "ns:/run/netns/$nsweb" || bad "compose: podman cannot run the web container: $(tail -n1 "$tmp/run.err")"
web_ino=$(stat -L -c %i "/run/netns/$nsweb")
ok=
for _ in $(seq 50); do
	ip netns exec "$nsweb" "$bb" timeout 2 "$bb" wget -q -O /dev/null "http://10.250.87.1:8080/cgi-bin/health" 2>/dev/null && { ok=1; break; }
	sleep 0.1
done
if [ -z "$ok" ]; then
	echo "skipped: compose: the web container does not get the api's health (busybox httpd CGI); case 4 not run"
else
	cat >"$tmp/compose.yaml" <<YAML
name: podman-compose-api-cut-from-db
scope: { container: $api }
probes:
  - id: health
    container: $web
    interval: 200ms
    timeout: 1500ms
    http: { url: "http://10.250.87.1:8080/cgi-bin/health" }
  - id: where
    container: $web
    interval: 500ms
    command: { run: "readlink /proc/self/ns/net", stdout-match: 'net:\\[$web_ino\\]' }
faults:
  - id: cut
    kind: drop
    duration: 2s
    targets: { cidrs: [$dbip/32], ports: [8080], protocol: tcp }
steady-state: { probes: [health, where] }
recovery: { all: [health], timeout: 20s }
iterations: 2
YAML
	containers_run compose 2
	check
	n=$(sqlite3 "$tmp/compose.db" "select count(distinct iteration_id) from events where kind = 'probe-down' and subject = 'health'")
	[ "$n" -eq 2 ] || bad "compose: health down in $n iterations, want 2 (the web did not see the api lose the db)"
	check
	n=$(sqlite3 "$tmp/compose.db" "select count(*) || ' ' || sum(ok) from samples where probe = 'where'")
	[ "${n% *}" -ge 4 ] && [ "${n% *}" = "${n#* }" ] ||
		bad "compose: where samples total/ok $n: not run in the web's namespace ($(sqlite3 "$tmp/compose.db" "select detail from samples where probe = 'where' and ok = 0 limit 1"))"
	for c in "$api" "$web"; do
		check
		n=$(sqlite3 "$tmp/compose.db" "select count(*) from events where kind = 'container' and detail like 'podman $c: id %'")
		[ "$n" -eq 2 ] || bad "compose: $n container events of $c, want one per iteration"
	done
	check
	n=$(sqlite3 "$tmp/compose.db" "select count(*) from events where kind = 'place' and subject = 'probe health' and detail like 'from container $web (/proc/%/ns/net)'")
	[ "$n" -eq 1 ] || bad "compose: no place event for the health probe: $(sqlite3 "$tmp/compose.db" "select subject, detail from events where kind = 'place'")"
	check
	n=$(sqlite3 "$tmp/compose.db" "select count(*) from faults where state = 'reverted' and netns = '/proc/$(pid_of "$api")/ns/net'")
	[ "$n" -eq 2 ] || bad "compose: $n reverted journal rows in the api's namespace, want 2: $(sqlite3 "$tmp/compose.db" "select netns, state from faults")"
	api_rules_empty compose
	web_rules_empty compose
fi

# nothing left: the containers and the image removed
podman rm -f -t 0 "$api" "$db" "$web" >/dev/null 2>&1
podman rmi -f "$img" >/dev/null 2>&1
check
left=$(podman ps -a --format '{{.Names}}' | grep -e "^fdt-i15-.*-$tag\$")
[ -z "$left" ] || bad "containers left: $left"
check
podman image exists "$img" && bad "image left: $img"

check
[ "$(nft list ruleset 2>&1)" = "$host_rules_before" ] || bad "the host's own nft ruleset changed during the test"
ip netns del "$nsapi"; ip netns del "$nsdb"; ip netns del "$nsweb"

local_end
