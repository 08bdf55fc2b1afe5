#!/bin/sh
# Probes, canary actions and runbook steps in places of their own (issue 15),
# end to end through `firedrill run` (root; 77 otherwise). Two namespaces the
# test makes, joined by a veth (10.250.81.0/24; nothing in the host's
# namespace): fdt-pp-srv-PID runs python3's http.server on its veth address;
# fdt-pp-cli-PID is the client side.
#   scope: {netns: SRV} (faults and the probes without a place run there);
#   the fault drops SRV's ingress from CLI's address for 2 s.
#   With `netns: CLI`: an http, a tcp and a command probe (its stdout must
#   be CLI's namespace inode, so it proves where it ran), a pcap probe on
#   CLI's veth (the interface exists only there), the canary write and read
#   (commands recording their namespace); a runbook step with `netns-path:`
#   recording its namespace; a tcp probe with `container: web` through a
#   stand-in `podman` on PATH answering with the pid of a process in CLI;
#   a tcp probe with `pid:` of a process the step kills in iteration 1: in
#   iteration 2 its namespace is gone and each sample fails with the reason.
#   A probe without a place (in SRV) never sees the ingress drop.
# Two iterations: probe-down and recovery in each. Then: with probes-from:
# host, a probe with `netns: CLI` still runs there and one without runs here
# (the test's namespace); a probe naming a netns that does not exist is
# exit 3 before anything is recorded. After each: the rulesets of SRV and
# CLI empty, the host's unchanged.
# usage: test_probe_places.sh FIREDRILL
set -u
fd=$(realpath "$1")
. "$(dirname "$0")/local_lib.sh"
local_need_root ip nft python3 sqlite3
tmp=$(mktemp -d)
srv=fdt-pp-srv-$$
cli=fdt-pp-cli-$$
spid=
kpid=
gpid=
cleanup() {
	for p in $spid $kpid $gpid; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	ip netns del "$srv" 2>/dev/null
	ip netns del "$cli" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
q() { sqlite3 "$tmp/pp.db" "$1"; }

host_rules_before=$(nft list ruleset 2>/dev/null | sha256sum)
ip netns add "$srv" && ip netns add "$cli" || { echo "cannot make namespaces"; exit 1; }
ip -n "$cli" link add v-cli type veth peer name v-srv netns "$srv" || exit 1
ip -n "$cli" addr add 10.250.81.1/24 dev v-cli
ip -n "$srv" addr add 10.250.81.2/24 dev v-srv
for n in "$srv" "$cli"; do ip -n "$n" link set lo up; done
ip -n "$cli" link set v-cli up
ip -n "$srv" link set v-srv up
mkdir "$tmp/www" "$tmp/canary" && echo ok >"$tmp/www/index.html"
ip netns exec "$srv" python3 -m http.server 18081 --bind 10.250.81.2 --directory "$tmp/www" \
	>"$tmp/srv.log" 2>&1 &
spid=$!
# the stand-in container's process and the one the step kills: both in CLI
ip netns exec "$cli" sleep 600 &
kpid=$!
ip netns exec "$cli" sleep 600 &
gpid=$!
for _ in $(seq 50); do
	ip netns exec "$cli" python3 -c 'import urllib.request; urllib.request.urlopen("http://10.250.81.2:18081/", timeout=1)' 2>/dev/null && break
	sleep 0.1
done
cli_ino=$(stat -L -c %i "/run/netns/$cli")
srv_ino=$(stat -L -c %i "/run/netns/$srv")
export FIREDRILL_RUN_DIR=$tmp/run

local_stand_in_podman "$tmp/bin" web=$kpid

url=http://10.250.81.2:18081/
# the fault of both drills: SRV's ingress from CLI's address
cut='faults:
  - id: cut
    kind: drop
    direction: ingress
    duration: 2s
    targets: { cidrs: [10.250.81.1/32], ports: [18081], protocol: tcp }'
cat >"$tmp/pp.yaml" <<YAML
name: probe-places
iterations: 2
scope: { netns: $srv }
probes:
  - { id: web, interval: 100ms, timeout: 300ms, netns: $cli, http: { url: "$url" } }
  - { id: port, interval: 100ms, timeout: 300ms, netns: $cli, tcp: { host: 10.250.81.2, port: 18081 } }
  - id: where
    interval: 200ms
    netns: $cli
    command: { run: "readlink /proc/self/ns/net", stdout-match: 'net:\\[$cli_ino\\]' }
  - { id: wire, interval: 100ms, netns: $cli, pcap: { interface: v-cli, filter: "tcp port 18081" } }
  - { id: ctr, interval: 100ms, timeout: 300ms, container: web, tcp: { host: 10.250.81.2, port: 18081 } }
  - { id: gone, interval: 200ms, timeout: 300ms, pid: $gpid, tcp: { host: 10.250.81.2, port: 18081 } }
  - { id: inside, interval: 100ms, timeout: 300ms, http: { url: "$url" } }
$cut
steady-state: { probes: [web, port, where, ctr, inside] }
recovery:
  all: [web, port, ctr]
  timeout: 15s
  steps:
    - name: record where it ran
      netns-path: /run/netns/$cli
      run: "readlink /proc/self/ns/net >>$tmp/step.ns; kill $gpid 2>/dev/null; true"
rpo:
  canary:
    interval: 100ms
    write: { netns: $cli, run: "readlink /proc/self/ns/net >>$tmp/write.ns && echo {{ts}} >$tmp/canary/{{seq}}" }
    read: { netns: $cli, run: "readlink /proc/self/ns/net >>$tmp/read.ns && cat $tmp/canary/{{seq}}", expect-value: '{{ts}}' }
YAML
check
"$fd" validate "$tmp/pp.yaml" >/dev/null 2>"$tmp/v.err" || bad "validate: $(cat "$tmp/v.err")"
check
"$fd" plan "$tmp/pp.yaml" >"$tmp/plan.txt" 2>&1
n=$(grep -c "^ *from \(netns $cli\|netns-path /run/netns/$cli\|container web\|the namespace of pid $gpid\)$" "$tmp/plan.txt")
[ "$n" -eq 9 ] || bad "plan: $n lines say where (want 6 probes, the step, 2 canary actions): $(cat "$tmp/plan.txt")"

PATH=$tmp/bin:$PATH "$fd" --db "$tmp/pp.db" --json run "$tmp/pp.yaml" >"$tmp/pp.json" 2>"$tmp/pp.err"
rc=$?
check
[ $rc -eq 0 ] || bad "run: exit $rc: $(cat "$tmp/pp.err")"
check
python3 - "$tmp/pp.json" <<'PY' || bad "not recovered in both iterations"
import json, sys
its = json.load(open(sys.argv[1]))["iterations"]
for i in its:
    print(f"iteration {i['number']}: {i['outcome']}, RTO {i['rto_ms']} ms")
sys.exit(0 if len(its) == 2 and all(i["outcome"] == "recovered" for i in its) else 1)
PY
for p in web port ctr; do
	check
	n=$(q "select count(distinct iteration_id) from events where kind = 'probe-down' and subject = '$p'")
	[ "$n" -eq 2 ] || bad "$p: probe-down in $n iterations, want 2 (probes from CLI see the drop)"
done
check
n=$(q "select count(*) from events where kind = 'probe-down' and subject = 'inside'")
[ "$n" -eq 0 ] || bad "inside: $n probe-down events: the probe without a place did not run in the scope"
check
n=$(q "select count(*) || ' ' || sum(ok) from samples where probe = 'where'")
[ "${n% *}" -ge 10 ] && [ "${n% *}" = "${n#* }" ] ||
	bad "where: samples total/ok $n: the command did not always run in CLI ($(q "select detail from samples where probe = 'where' and ok = 0 limit 1"))"
check
n=$(q "select count(distinct iteration_id) from samples where probe = 'wire' and ok = 1")
[ "$n" -eq 2 ] || bad "wire: packets on v-cli in $n iterations, want 2 ($(q "select detail from samples where probe = 'wire' limit 1"))"
check
n=$(q "select count(*) from events where kind = 'container' and detail like 'podman web: id c0ffee012345, pid $kpid, image localhost/fdt-web:test%'")
[ "$n" -eq 2 ] || bad "container: $n events, want one per iteration"
check
n=$(q "select count(*) from samples s join iterations i on i.id = s.iteration_id where s.probe = 'gone' and i.number = 2 and s.ok = 0 and s.detail = 'netns /proc/$gpid/ns/net: No such file or directory'")
[ "$n" -ge 3 ] || bad "gone: $n samples of iteration 2 fail with the reason: $(q "select detail from samples s join iterations i on i.id = s.iteration_id where s.probe = 'gone' and i.number = 2 limit 1")"
check
n=$(q "select count(*) from samples s join iterations i on i.id = s.iteration_id where s.probe = 'gone' and i.number = 1 and s.ok = 1")
[ "$n" -ge 1 ] || bad "gone: no healthy sample in iteration 1 (its namespace was there)"
for f in step write read; do
	check
	want="net:[$cli_ino]"
	got=$(sort -u "$tmp/$f.ns" 2>/dev/null | tr '\n' ' ')
	lines=$(wc -l <"$tmp/$f.ns" 2>/dev/null || echo 0)
	[ "$got" = "$want " ] && [ "$lines" -ge 2 ] ||
		bad "$f: ran in \"$got\" ($lines times), want only $want (CLI; SRV is net:[$srv_ino])"
done
check
n=$(q "select count(*) from laps where ok = 1")
[ "$n" -eq 2 ] || bad "step: $n laps ok, want 2: $(q "select detail from laps")"
check
python3 - "$tmp/pp.json" <<'PY' || bad "canary: read-back did not find the writes"
import json, sys
its = json.load(open(sys.argv[1]))["iterations"]
for i in its:
    print(f"iteration {i['number']}: rpo_ms {i.get('rpo_ms')}, lost {i.get('lost_writes')}, acked {i.get('writes_acked')}")
sys.exit(0 if all(i.get("lost_writes") == 0 and (i.get("writes_acked") or 0) > 0 for i in its) else 1)
PY
check
n=$(q "select count(*) from events where kind = 'place'")
[ "$n" -eq 9 ] || bad "place events: $n, want 9 (6 probes, the step, 2 canary actions): $(q "select subject || ': ' || detail from events where kind = 'place'")"
check
"$fd" --db "$tmp/pp.db" report evidence 1 -o "$tmp/ev.md" >/dev/null 2>"$tmp/ev.err" &&
	grep -q "probe web.*from netns $cli (/run/netns/$cli)" "$tmp/ev.md" &&
	grep -q "probe ctr.*from container web (/proc/$kpid/ns/net)" "$tmp/ev.md" ||
	bad "evidence: where the probes ran is not in the report: $(cat "$tmp/ev.err"; grep -i "from " "$tmp/ev.md")"
rules_empty() { # LABEL
	for n in "$srv" "$cli"; do
		check
		r=$(ip netns exec "$n" nft list ruleset)
		[ -z "$r" ] || bad "$1: $n keeps rules: $r"
	done
	check
	[ "$(nft list ruleset 2>/dev/null | sha256sum)" = "$host_rules_before" ] ||
		bad "$1: the host's ruleset changed"
}
rules_empty run

# probes-from: host: a probe without a place runs here, one with a place there
here_ino=$(stat -L -c %i /proc/self/ns/net)
cat >"$tmp/host.yaml" <<YAML
name: probe-places-from-host
scope: { netns: $srv, probes-from: host }
probes:
  - { id: web, interval: 100ms, timeout: 300ms, netns: $cli, http: { url: "$url" } }
  - id: here
    interval: 200ms
    command: { run: "readlink /proc/self/ns/net", stdout-match: 'net:\\[$here_ino\\]' }
$cut
steady-state: { probes: [web, here] }
recovery: { all: [web], timeout: 15s }
YAML
"$fd" --db "$tmp/host.db" --json run "$tmp/host.yaml" >"$tmp/host.json" 2>"$tmp/host.err"
rc=$?
check
[ $rc -eq 0 ] || bad "probes-from host: exit $rc: $(cat "$tmp/host.err")"
check
n=$(sqlite3 "$tmp/host.db" "select count(*) from events where kind = 'probe-down' and subject = 'web'")
[ "$n" -ge 1 ] || bad "probes-from host: web never down: it did not run in CLI"
check
n=$(sqlite3 "$tmp/host.db" "select count(*) || ' ' || sum(ok) from samples where probe = 'here'")
[ "${n% *}" -ge 5 ] && [ "${n% *}" = "${n#* }" ] ||
	bad "probes-from host: here samples total/ok $n: the probe without a place did not run here"
rules_empty probes-from-host

# a probe whose namespace does not exist: exit 3 at setup, nothing recorded
sed -e "s/netns: $cli, http/netns: fdt-pp-none-$$, http/" "$tmp/pp.yaml" >"$tmp/none.yaml"
PATH=$tmp/bin:$PATH "$fd" --db "$tmp/none.db" run "$tmp/none.yaml" >/dev/null 2>"$tmp/none.err"
rc=$?
check
[ $rc -eq 3 ] || bad "missing netns: exit $rc, want 3: $(cat "$tmp/none.err")"
check
grep -q "none.yaml:5: network namespace /run/netns/fdt-pp-none-$$: No such file or directory" "$tmp/none.err" ||
	bad "missing netns: $(cat "$tmp/none.err")"
check
n=$(sqlite3 "$tmp/none.db" "select (select count(*) from drills) + (select count(*) from faults)" 2>/dev/null || echo 0)
[ "$n" -eq 0 ] || bad "missing netns: $n drill or journal rows"
rules_empty missing-netns

local_end
