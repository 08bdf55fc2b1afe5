#!/bin/sh
# A place per fault (docs/local.md, "A place per fault, probe and step"):
# faults that name their own namespace or container, end to end through
# `firedrill run`, `inject`, `revert` (root; 77 otherwise). Three namespaces
# the test makes: fdt-fp-c-PID (the drill's scope, where the probes run)
# joined by a veth to fdt-fp-a-PID (10.250.92.0/24) and one to fdt-fp-b-PID
# (10.250.93.0/24); a web server in A (18081) and two in B (18082, 18083).
#  1. One scenario, 2 iterations, scope C: cut-a drops C's traffic to A's
#     18081 (netns: A), cut-b drops C's traffic to B's 18083 (pid: of B's
#     server), hole-b blackholes B's route back to C (netns-path:
#     /run/netns/B; the guardian reverts it at its max duration, inside
#     B). While applied: A's ruleset holds cut-a alone, B's cut-b alone,
#     C's and the host's none, the route is in B only; the journal rows
#     name each fault's own namespace; a blackholed flow is listed in A and
#     in B; after, every ruleset and route as before.
#  2. `firedrill inject --detach` of cut-a and hole-b; while it holds, an
#     inject of a scenario without scope whose fault names A is refused
#     (A's lock, exit 3) and journals nothing; holder and guardian
#     SIGKILLed: the route stays in B; `firedrill revert` removes it (it
#     enters B) and marks both rows reverted.
#  3. A kill with `container: ctr` on the fault through a stand-in podman
#     whose container is a process in A in a cgroup of the test's: only the
#     process in that cgroup is killed, not its twin with the same command
#     line in the same namespace. Then a container whose process is alone
#     in a namespace of its own, killed: the namespace goes with it, and
#     the revert of the kill runs from the scope instead (inject exit 0).
#  4. A fault in a namespace that does not exist: exit 3, nothing journaled.
# usage: test_fault_places.sh FIREDRILL
set -u
fd=$(realpath "$1")
. "$(dirname "$0")/local_lib.sh"
local_need_root ip nft python3 sqlite3 setsid
tmp=$(mktemp -d)
A=fdt-fp-a-$$
B=fdt-fp-b-$$
C=fdt-fp-c-$$
pids=
cg=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	[ -n "$cg" ] && rmdir "$cg" 2>/dev/null
	for n in "$A" "$B" "$C"; do ip netns del "$n" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

host_rules_before=$(nft list ruleset 2>/dev/null | sha256sum)
for n in "$A" "$B" "$C"; do ip netns add "$n" || { echo "cannot make namespaces"; exit 1; }; done
ip -n "$C" link add v-ca type veth peer name v-a netns "$A" || exit 1
ip -n "$C" link add v-cb type veth peer name v-b netns "$B" || exit 1
ip -n "$C" addr add 10.250.92.2/24 dev v-ca
ip -n "$A" addr add 10.250.92.1/24 dev v-a
ip -n "$C" addr add 10.250.93.2/24 dev v-cb
ip -n "$B" addr add 10.250.93.1/24 dev v-b
for n in "$A" "$B" "$C"; do ip -n "$n" link set lo up; done
ip -n "$C" link set v-ca up
ip -n "$C" link set v-cb up
ip -n "$A" link set v-a up
ip -n "$B" link set v-b up
mkdir "$tmp/www" && echo ok >"$tmp/www/index.html"
serve() { # NS PORT
	ip netns exec "$1" python3 -m http.server "$2" --bind 0.0.0.0 --directory "$tmp/www" \
		>>"$tmp/srv.log" 2>&1 &
	pids="$pids $!"
}
serve "$A" 18081
serve "$B" 18082
bpid=$!
serve "$B" 18083
up() { # URL
	ip netns exec "$C" python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "$1" 2>/dev/null
}
for _ in $(seq 50); do
	up http://10.250.92.1:18081/ && up http://10.250.93.1:18082/ && up http://10.250.93.1:18083/ && break
	sleep 0.1
done
export FIREDRILL_RUN_DIR=$tmp/run
state() { # NS: its ruleset and routes
	ip netns exec "$1" nft list ruleset
	ip -4 -n "$1" route show table all
}
a_before=$(state "$A")
b_before=$(state "$B")
c_before=$(state "$C")
all_as_before() { # LABEL
	check
	[ "$(state "$A")" = "$a_before" ] || bad "$1: namespace A not as before: $(state "$A")"
	check
	[ "$(state "$B")" = "$b_before" ] || bad "$1: namespace B not as before: $(state "$B")"
	check
	[ "$(state "$C")" = "$c_before" ] || bad "$1: namespace C (the scope) not as before: $(state "$C")"
	check
	[ "$(nft list ruleset 2>/dev/null | sha256sum)" = "$host_rules_before" ] ||
		bad "$1: the host's ruleset changed"
}

# 1. one scenario, a fault in A, two in B, probes from C
cat >"$tmp/two.yaml" <<YAML
name: fault-places
scope: { netns: $C }
iterations: 2
cool-down: 500ms
probes:
  - { id: web-a, interval: 100ms, timeout: 300ms, http: { url: "http://10.250.92.1:18081/" } }
  - { id: web-b, interval: 100ms, timeout: 300ms, http: { url: "http://10.250.93.1:18082/" } }
  - { id: web-b3, interval: 100ms, timeout: 300ms, http: { url: "http://10.250.93.1:18083/" } }
faults:
  - id: cut-a
    kind: drop
    netns: $A
    direction: ingress
    duration: 3s
    targets: { cidrs: [10.250.92.2/32], ports: [18081], protocol: tcp }
  - id: cut-b
    kind: drop
    pid: $bpid
    direction: ingress
    duration: 3s
    targets: { cidrs: [10.250.93.2/32], ports: [18083], protocol: tcp }
  - id: hole-b
    kind: blackhole-route
    netns-path: /run/netns/$B
    duration: 3s
    targets: { cidrs: [10.250.93.2/32] }
steady-state: { probes: [web-a, web-b, web-b3] }
recovery: { all: [web-a, web-b, web-b3], timeout: 20s }
YAML
check
"$fd" validate "$tmp/two.yaml" >/dev/null 2>"$tmp/v.err" || bad "validate: $(cat "$tmp/v.err")"
"$fd" --db "$tmp/two.db" --json run "$tmp/two.yaml" >"$tmp/two.json" 2>"$tmp/two.err" &
drill=$!
# while the first iteration's faults are applied: each namespace its own
seen=
for _ in $(seq 200); do
	ra=$(ip netns exec "$A" nft list ruleset)
	rb=$(ip netns exec "$B" nft list ruleset)
	case "$ra$rb" in *cut-a*cut-b*) seen=1; break ;; esac
	sleep 0.05
done
rc_=$(ip netns exec "$C" nft list ruleset)
qb=$(ip -n "$B" route show type blackhole)
qc=$(ip -n "$C" route show type blackhole; ip -n "$A" route show type blackhole)
check
[ -n "$seen" ] || bad "applied: never saw both tables (A: $ra; B: $rb)"
check
case "$ra" in *'"firedrill cut-a '*) case "$ra" in *cut-b*) bad "A's ruleset holds cut-b: $ra" ;; esac ;;
	*) bad "A's ruleset does not hold cut-a: $ra" ;; esac
check
case "$rb" in *'"firedrill cut-b '*) case "$rb" in *cut-a*) bad "B's ruleset holds cut-a: $rb" ;; esac ;;
	*) bad "B's ruleset does not hold cut-b: $rb" ;; esac
check
[ -z "$rc_" ] || bad "applied: the scope C has rules of its own: $rc_"
check
case "$qb" in *10.250.93.2*) ;; *) bad "applied: no blackhole route in B: $qb" ;; esac
check
[ -z "$qc" ] || bad "applied: a blackhole route outside B: $qc"
check
[ "$(nft list ruleset 2>/dev/null | sha256sum)" = "$host_rules_before" ] ||
	bad "applied: the host's ruleset changed"
wait "$drill"
rc=$?
check
[ $rc -eq 0 ] || bad "run: exit $rc: $(cat "$tmp/two.err")"
check
python3 - "$tmp/two.json" <<'PY' || bad "run: not 2 recovered iterations"
import json, sys
its = json.load(open(sys.argv[1]))["iterations"]
print("fault places: " + ", ".join(f"{i['outcome']} (RTO {i['rto_ms']} ms)" for i in its))
sys.exit(0 if len(its) == 2 and all(i["outcome"] == "recovered" for i in its) else 1)
PY
check
rows=$(sqlite3 "$tmp/two.db" "select fault_id || ' ' || netns || ' ' || state from faults order by id")
want="cut-a $A reverted
cut-b /proc/$bpid/ns/net reverted
hole-b /run/netns/$B reverted
cut-a $A reverted
cut-b /proc/$bpid/ns/net reverted
hole-b /run/netns/$B reverted"
[ "$rows" = "$want" ] || bad "journal rows: $rows"
check
n=$(sqlite3 "$tmp/two.db" "select count(*) from faults where fault_id = 'hole-b' and detail like '%guardian%'")
[ "$n" -ge 1 ] || bad "hole-b: no row reverted by the guardian at its max duration (in B): $(sqlite3 "$tmp/two.db" "select fault_id, detail from faults")"
for f in cut-a:10.250.92.2:10.250.92.1:18081 cut-b:10.250.93.2:10.250.93.1:18083; do
	id=${f%%:*}
	rest=${f#*:}
	src=${rest%%:*}
	rest=${rest#*:}
	dst=${rest%%:*}
	port=${rest#*:}
	check
	n=$(sqlite3 "$tmp/two.db" "select count(*) from events where kind = 'blackholed-flow' and subject like '%$src%$dst%$port%' and (detail like '%fault $id' or detail like '%fault $id, sender %')")
	[ "$n" -ge 1 ] || bad "$id: no blackholed flow $src -> $dst:$port: $(sqlite3 "$tmp/two.db" "select subject, detail from events where kind like 'blackholed%'")"
done
all_as_before run

# 2. a holder and its guardian SIGKILLed; `firedrill revert` enters each
cat >"$tmp/hold.yaml" <<YAML
name: fault-places-hold
scope: { netns: $C }
faults:
  - { id: cut-a, kind: drop, netns: $A, duration: 1m, targets: { cidrs: [10.250.92.2/32], ports: [18081], protocol: tcp } }
  - { id: hole-b, kind: blackhole-route, netns-path: /run/netns/$B, duration: 1m, targets: { cidrs: [10.250.93.2/32] } }
YAML
out=$("$fd" --db "$tmp/hold.db" inject --detach "$tmp/hold.yaml" 2>&1)
rc=$?
check
[ $rc -eq 0 ] || bad "inject --detach: exit $rc: $out"
holder=$(sqlite3 "$tmp/hold.db" "select distinct holder_pid from faults")
guardian=$(ps -o pid= --ppid "${holder:-0}" | tr -d ' ' | head -n 1)
check
grep -q firedrill-guardian "/proc/${guardian:-0}/cmdline" 2>/dev/null || bad "no guardian of holder $holder"
check
case "$(ip netns exec "$A" nft list ruleset)" in *'"firedrill cut-a '*) ;; *) bad "inject: no cut-a in A" ;; esac
cat >"$tmp/second.yaml" <<YAML
name: fault-places-second
faults:
  - { id: again-a, kind: drop, netns: $A, duration: 5s, targets: { cidrs: [10.250.92.9/32] } }
YAML
out=$("$fd" --db "$tmp/second.db" inject "$tmp/second.yaml" 2>&1)
rc=$?
check
{ [ $rc -eq 3 ] && echo "$out" | grep -q "scope \"$A\" is held by a live \`firedrill inject\` (pid $holder"; } ||
	bad "a second inject into A while it is held: exit $rc: $out"
check
n=$(sqlite3 "$tmp/second.db" "select count(*) from faults" 2>/dev/null || echo 0)
[ "$n" -eq 0 ] || bad "the refused second inject journaled $n rows"
[ -n "$guardian" ] && [ -n "$holder" ] && kill -KILL "$guardian" "$holder"
for _ in $(seq 100); do kill -0 "$holder" 2>/dev/null || break; sleep 0.05; done
check
case "$(ip -n "$B" route show type blackhole)" in *10.250.93.2*) ;; *) bad "SIGKILL: the route in B did not outlive its holder" ;; esac
out=$("$fd" --db "$tmp/hold.db" revert 2>&1)
rc=$?
check
[ $rc -eq 0 ] || bad "revert: exit $rc: $out"
check
rows=$(sqlite3 "$tmp/hold.db" "select fault_id || ' ' || netns || ' ' || state from faults order by id")
[ "$rows" = "cut-a $A reverted
hole-b /run/netns/$B reverted" ] || bad "revert: journal rows: $rows"
all_as_before revert

# 3. a kill in a container named on the fault: its cgroup only
if [ -d /sys/fs/cgroup/freezer ]; then
	cg=/sys/fs/cgroup/freezer/fdt-fp-$$
elif [ -e /sys/fs/cgroup/cgroup.controllers ]; then
	cg=/sys/fs/cgroup/fdt-fp-$$
fi
if [ -z "$cg" ] || ! mkdir "$cg" 2>/dev/null; then
	echo "skipped: container kill (no cgroup of the test's own: ${cg:-no freezer or cgroup2})"
	cg=
	checks=$((checks + 5))
	fails=$((fails + 5))
else
	victim="import time; time.sleep(600)  # fdt-fp-victim-$$"
	# sessions of their own, as a container's are (firedrill refuses its
	# own session); `ip netns exec` and setsid exec (not a group leader
	# here), so these pids are the processes
	ip netns exec "$A" setsid sleep 600 &
	ctr=$!
	pids="$pids $ctr"
	ip netns exec "$A" setsid python3 -c "$victim" &
	inside=$!
	pids="$pids $inside"
	ip netns exec "$A" setsid python3 -c "$victim" &
	twin=$!
	pids="$pids $twin"
	sleep 0.3
	echo "$ctr" >"$cg/cgroup.procs" && echo "$inside" >"$cg/cgroup.procs"
	local_stand_in_podman "$tmp/bin" ctr=$ctr lone="$tmp/lone.pid"
	cat >"$tmp/kill.yaml" <<YAML
name: fault-places-kill
scope: { netns: $C }
faults:
  - { id: kill-ctr, kind: kill, container: ctr, signal: KILL, duration: 1s, process: { match: "fdt-fp-victim-$$" } }
YAML
	out=$(PATH=$tmp/bin:$PATH "$fd" --db "$tmp/kill.db" inject "$tmp/kill.yaml" 2>&1)
	rc=$?
	check
	[ $rc -eq 0 ] || bad "container kill: exit $rc: $out"
	sleep 0.2
	check
	{ ! kill -0 "$inside" 2>/dev/null && kill -0 "$twin" 2>/dev/null; } ||
		bad "container kill: the process in ctr's cgroup ($inside) should be dead, its twin ($twin) alive"
	check
	row=$(sqlite3 "$tmp/kill.db" "select netns || ' ' || json_extract(spec, '\$.procs[0].pid') || ' ' || json_array_length(json_extract(spec, '\$.procs')) from faults")
	[ "$row" = "/proc/$ctr/ns/net $inside 1" ] || bad "container kill: journal row $row"
	kill "$ctr" "$inside" "$twin" 2>/dev/null
	wait "$ctr" "$inside" "$twin" 2>/dev/null
	# alone in its namespace: killing it ends the namespace
	unshare -n setsid python3 -c "import time; time.sleep(600)  # fdt-fp-lone-$$" &
	lone=$!
	pids="$pids $lone"
	echo "$lone" >"$tmp/lone.pid"
	echo "$lone" >"$cg/cgroup.procs"
	sed -e 's/container: ctr/container: lone/' -e "s/fdt-fp-victim-$$/fdt-fp-lone-$$/" \
		"$tmp/kill.yaml" >"$tmp/lone.yaml"
	out=$(PATH=$tmp/bin:$PATH "$fd" --db "$tmp/lone.db" inject "$tmp/lone.yaml" 2>&1)
	rc=$?
	check
	[ $rc -eq 0 ] || bad "lone container kill: exit $rc (its namespace went with it): $out"
	check
	row=$(sqlite3 "$tmp/lone.db" "select netns || ' ' || state from faults")
	[ "$row" = "/proc/$lone/ns/net reverted" ] || bad "lone container kill: journal row $row"
	kill "$lone" 2>/dev/null
	wait "$lone" 2>/dev/null
	rmdir "$cg" 2>/dev/null && cg=
fi

# 4. a namespace that does not exist
sed -e "s/netns: $A/netns: fdt-fp-nope-$$/" "$tmp/two.yaml" >"$tmp/nope.yaml"
"$fd" --db "$tmp/nope.db" run "$tmp/nope.yaml" >/dev/null 2>"$tmp/nope.err"
rc=$?
check
[ $rc -eq 3 ] || bad "missing namespace: exit $rc, want 3: $(cat "$tmp/nope.err")"
check
grep -q "fdt-fp-nope-$$" "$tmp/nope.err" || bad "missing namespace: not named: $(cat "$tmp/nope.err")"
check
n=$(sqlite3 "$tmp/nope.db" "select (select count(*) from drills) + (select count(*) from faults)" 2>/dev/null || echo 0)
[ "$n" -eq 0 ] || bad "missing namespace: $n drill or journal rows"
echo "a missing namespace: $(sed -n 1p "$tmp/nope.err")"
all_as_before end

local_end
