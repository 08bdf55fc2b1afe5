#!/bin/sh
# scope: {pid: N}, {netns-path: ...}, probes-from: host, and {container: NAME}
# through a stand-in engine, end to end through `firedrill run` (root; 77
# otherwise). Two namespaces the test makes, joined by a veth (10.250.77.0/24;
# nothing in the host's namespace): fdt-i15s-srv-PID runs python3's
# http.server; fdt-i15s-cli-PID is "the host" of the probes-from: host drill.
#  1. scope: {pid: SERVER}: probes and a drop of its own loopback port run in
#     the server's namespace; recovered when the elements expire (2 s);
#     the journal row names /proc/SERVER/ns/net.
#  2. scope: {netns-path: /proc/SERVER/ns/net, probes-from: host}, run from
#     the client namespace: an ingress drop from the client's address, so
#     only probes sent from the client see it (a probe run inside the scope
#     would never fail): probe-down is required.
#  3. scope: {container: web} through a fake `podman` on PATH that answers
#     inspect with the server's pid: 2 iterations, a `container` event each
#     (id, pid, image); a container that does not exist: exit 3, no drill,
#     no journal row.
# After each: the server's ruleset empty, the host's ruleset unchanged.
# usage: test_scope_places.sh FIREDRILL
set -u
fd=$(realpath "$1")
. "$(dirname "$0")/local_lib.sh"
local_need_root ip nft python3 sqlite3
tmp=$(mktemp -d)
srv=fdt-i15s-srv-$$
cli=fdt-i15s-cli-$$
spid=
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
	ip netns del "$srv" 2>/dev/null
	ip netns del "$cli" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

host_rules_before=$(nft list ruleset 2>/dev/null | sha256sum)
ip netns add "$srv" && ip netns add "$cli" || { echo "cannot make namespaces"; exit 1; }
ip -n "$cli" link add v-cli type veth peer name v-srv netns "$srv" || exit 1
ip -n "$cli" addr add 10.250.77.1/24 dev v-cli
ip -n "$srv" addr add 10.250.77.2/24 dev v-srv
for n in "$srv" "$cli"; do ip -n "$n" link set lo up; done
ip -n "$cli" link set v-cli up
ip -n "$srv" link set v-srv up
mkdir "$tmp/www" && echo ok >"$tmp/www/index.html"
ip netns exec "$srv" python3 -m http.server 18080 --bind 0.0.0.0 --directory "$tmp/www" \
	>"$tmp/srv.log" 2>&1 &
spid=$!
for _ in $(seq 50); do
	ip netns exec "$cli" python3 -c 'import urllib.request; urllib.request.urlopen("http://10.250.77.2:18080/", timeout=1)' 2>/dev/null && break
	sleep 0.1
done
export FIREDRILL_RUN_DIR=$tmp/run

srv_rules_empty() { # LABEL
	check
	r=$(ip netns exec "$srv" nft list ruleset)
	[ -z "$r" ] || bad "$1: the server's namespace keeps rules: $r"
	check
	[ "$(nft list ruleset 2>/dev/null | sha256sum)" = "$host_rules_before" ] ||
		bad "$1: the host's ruleset changed"
}

# 1. pid scope, probes in the scope
cat >"$tmp/pid.yaml" <<YAML
name: scope-pid
scope: { pid: $spid }
probes:
  - { id: web, interval: 100ms, timeout: 300ms, http: { url: "http://127.0.0.1:18080/" } }
faults:
  - id: cut
    kind: drop
    duration: 2s
    targets: { cidrs: [127.0.0.1/32], ports: [18080], protocol: tcp }
steady-state: { probes: [web] }
recovery: { all: [web], timeout: 15s }
YAML
check
"$fd" validate "$tmp/pid.yaml" >/dev/null 2>"$tmp/v.err" || bad "validate pid: $(cat "$tmp/v.err")"
"$fd" --db "$tmp/pid.db" --json run "$tmp/pid.yaml" >"$tmp/pid.json" 2>"$tmp/pid.err"
rc=$?
check
[ $rc -eq 0 ] || bad "pid: exit $rc: $(cat "$tmp/pid.err")"
check
python3 - "$tmp/pid.json" <<'PY' || bad "pid: not recovered after the elements expired"
import json, sys
i = json.load(open(sys.argv[1]))["iterations"][0]
print(f"pid scope: {i['outcome']}, RTO {i['rto_ms']} ms")
sys.exit(0 if i["outcome"] == "recovered" and i["rto_ms"] and 1500 <= i["rto_ms"] <= 4000 else 1)
PY
check
ns=$(sqlite3 "$tmp/pid.db" "select netns || ' ' || state from faults")
[ "$ns" = "/proc/$spid/ns/net reverted" ] || bad "pid: journal row says \"$ns\""
srv_rules_empty pid

# 2. netns-path scope, probes from the client namespace ("the host")
cat >"$tmp/path.yaml" <<YAML
name: scope-path
scope: { netns-path: /proc/$spid/ns/net, probes-from: host }
probes:
  - { id: web, interval: 100ms, timeout: 300ms, http: { url: "http://10.250.77.2:18080/" } }
faults:
  - id: cut
    kind: drop
    direction: ingress
    duration: 2s
    targets: { cidrs: [10.250.77.1/32], ports: [18080], protocol: tcp }
steady-state: { probes: [web] }
recovery: { all: [web], timeout: 15s }
YAML
ip netns exec "$cli" "$fd" --db "$tmp/path.db" --json run "$tmp/path.yaml" >"$tmp/path.json" 2>"$tmp/path.err"
rc=$?
check
[ $rc -eq 0 ] || bad "netns-path: exit $rc: $(cat "$tmp/path.err")"
check
n=$(sqlite3 "$tmp/path.db" "select count(*) from events where kind = 'probe-down'")
[ "$n" -ge 1 ] || bad "netns-path: no probe-down: the probes did not run from the client"
check
ns=$(sqlite3 "$tmp/path.db" "select netns || ' ' || state from faults")
[ "$ns" = "/proc/$spid/ns/net reverted" ] || bad "netns-path: journal row says \"$ns\""
srv_rules_empty netns-path

# 3. a container through a stand-in engine
local_stand_in_podman "$tmp/bin" web=$spid
sed -e "s/scope: { pid: $spid }/scope: { container: web }/" -e 's/name: scope-pid/name: scope-container/' \
	"$tmp/pid.yaml" >"$tmp/ctr.yaml"
echo "iterations: 2" >>"$tmp/ctr.yaml"
PATH=$tmp/bin:$PATH "$fd" --db "$tmp/ctr.db" --json run "$tmp/ctr.yaml" >"$tmp/ctr.json" 2>"$tmp/ctr.err"
rc=$?
check
[ $rc -eq 0 ] || bad "container: exit $rc: $(cat "$tmp/ctr.err")"
check
n=$(sqlite3 "$tmp/ctr.db" "select count(*) from events where kind = 'container' and detail like 'podman web: id c0ffee012345, pid $spid, image localhost/fdt-web:test%'")
[ "$n" -eq 2 ] || bad "container: $n container events, want one per iteration: $(sqlite3 "$tmp/ctr.db" "select detail from events where kind = 'container'")"
srv_rules_empty container
sed -e 's/container: web/container: nope/' "$tmp/ctr.yaml" >"$tmp/nope.yaml"
PATH=$tmp/bin:$PATH "$fd" --db "$tmp/nope.db" run "$tmp/nope.yaml" >/dev/null 2>"$tmp/nope.err"
rc=$?
check
[ $rc -eq 3 ] || bad "missing container: exit $rc, want 3"
check
grep -q 'container nope: `podman inspect` failed (exit 125): Error: no such container nope' "$tmp/nope.err" ||
	bad "missing container: $(cat "$tmp/nope.err")"
check
n=$(sqlite3 "$tmp/nope.db" "select (select count(*) from drills) + (select count(*) from faults)" 2>/dev/null || echo 0)
[ "$n" -eq 0 ] || bad "missing container: $n drill or journal rows"
echo "engine stand-in answered: $(sed -n 1p "$tmp/nope.err")"

local_end
