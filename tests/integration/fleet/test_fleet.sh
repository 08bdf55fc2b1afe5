#!/bin/bash
# Fleet drills over real OpenSSH (needs root and openssh-server; exits 77
# otherwise):   test_fleet.sh FIREDRILL_BINARY
# A fleet of three hosts (network namespaces on a bridge, each with its own
# sshd, fleet_lab.sh), the coordinator in a fourth namespace. Cases:
#   drill      a drop on group:app applied on every host at once (nft in
#              each namespace), reverted on every host; the timeline has
#              each host's apply instant and the spread
#   refuse     one host cannot prepare (its netns: is missing): the drill
#              is refused, nothing journaled or applied on any host, no
#              drill recorded
#   version    an agent of another version: a clear error naming both
#   status     status and revert --inventory while a drill holds, host by
#              host; revert twice
#   sigkill    SIGKILL of the coordinator mid-drill: every host reverts
#              within the lease
#   partition  one host's link to the coordinator cut (nft in its
#              namespace): that host reverts within the lease, the others
#              hold, the drill records the partition
# After every case: no nft ruleset left in any namespace, no process left
# but each host's listening sshd. At the end: sshd stopped, namespaces gone.
# The "within the lease" checks allow the lease plus 1.5 s (the agent
# looks every 100 ms; a loaded machine is slow); they are bounds, not
# measurements (bench/fleet measures).
set -u

FD=${1:?usage: test_fleet.sh FIREDRILL_BINARY}
FAILS=0
CHECKS=0
LEASE_S=2
skip() { echo "skipped: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, sshd)"
[ -x /usr/sbin/sshd ] || skip "no /usr/sbin/sshd (apt-get install openssh-server)"
command -v ssh >/dev/null || skip "no ssh client (apt-get install openssh-client)"
command -v ssh-keygen >/dev/null || skip "no ssh-keygen"
command -v nft >/dev/null || skip "needs nft (to look at the rulesets)"
command -v sqlite3 >/dev/null || skip "needs the sqlite3 shell"
[ -x "$FD" ] || skip "no firedrill binary at $FD"
FD=$(readlink -f "$FD")

DIR=$(mktemp -d /tmp/fdt-fleet.XXXXXX)
TAG=$$
NET=10.250.40
. "$(dirname "$0")/fleet_lab.sh"
COORD=
cleanup() {
	[ -n "$COORD" ] && kill -KILL "$COORD" 2>/dev/null
	fleet_down
	rm -rf "$DIR"
}
trap cleanup EXIT

ok() { CHECKS=$((CHECKS + 1)); echo "ok - $*"; }
fail() { CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)); echo "FAIL - $*"; }
check() { # check DESCRIPTION COMMAND...
	local what=$1; shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

fleet_up 3 || { fail "the test fleet comes up"; exit 1; }
H=("" "$(fl_host_ns 1)" "$(fl_host_ns 2)" "$(fl_host_ns 3)")
SSHD_PID=("" "${FL_SSHD_PIDS[1]}" "${FL_SSHD_PIDS[2]}" "${FL_SSHD_PIDS[3]}")
INV=$DIR/inventory.yaml
fleet_inventory "$INV" ${LEASE_S}s
CDB=$DIR/coordinator.db

# scenario FILE PROBE_RUN TIMEOUT STABLE: a drop of 10.250.99.0/24 on group:app.
scenario() {
	cat >"$1" <<EOF
name: fleet-test
probes:
  - id: p
    interval: 100ms
    command: { run: "$2" }
faults:
  - id: drop-eu
    kind: drop
    duration: 1m
    on: group:app
    targets: { cidrs: [10.250.99.0/24] }
recovery:
  all: [p]
  stable-for: $4
  timeout: $3
EOF
}
HOLDS=$DIR/holds.yaml      # never recovers: the faults hold for the timeout
scenario "$HOLDS" "false" 40s 0s
QUICK=$DIR/quick.yaml      # recovers at once, holds for stable-for
scenario "$QUICK" "true" 30s 4s

applied_on() { ip netns exec "${H[$1]}" nft list table inet firedrill 2>/dev/null | grep -q '10.250.99.0/24'; }
ruleset_empty() { [ -z "$(ip netns exec "$1" nft list ruleset 2>/dev/null)" ]; }
all_applied() { applied_on 1 && applied_on 2 && applied_on 3; }
none_applied() { ! applied_on 1 && ! applied_on 2 && ! applied_on 3; }
# wait_for SECONDS COMMAND...: until COMMAND holds; false at the deadline.
wait_for() {
	local end=$(($(now_ms) + $1 * 1000)); shift
	while ! "$@"; do
		[ "$(now_ms)" -ge "$end" ] && return 1
		sleep 0.05
	done
}
# only the listening sshd in each host, nothing in the coordinator's namespace
settled() {
	local i
	for i in 1 2 3; do [ "$(fl_pids "${H[$i]}")" = "${SSHD_PID[$i]}" ] || return 1; done
	[ -z "$(fl_pids "$FL_C")" ]
}
nothing_left() { # nothing_left CASE
	local i
	for i in 1 2 3; do check "$1: ruleset of host $i empty" ruleset_empty "${H[$i]}"; done
	check "$1: ruleset of the coordinator's namespace empty" ruleset_empty "$FL_C"
	if wait_for 30 settled; then ok "$1: no process left (agents, ssh, guardians)"; else
		fail "$1: processes left: coordinator [$(fl_pids "$FL_C")], hosts [$(fl_pids "${H[1]}")] [$(fl_pids "${H[2]}")] [$(fl_pids "${H[3]}")]"
		ps -o pid,args -p "$(ip netns pids "$FL_C" ; for i in 1 2 3; do ip netns pids "${H[$i]}"; done | tr '\n' ',' | sed 's/,$//')" 2>/dev/null
	fi
	for i in 1 2 3; do
		check "$1: no active journal row on host $i" \
			[ "$(sqlite3 "$DIR/h$i/agent.db" "select count(*) from faults where state in ('planned','applied')" 2>/dev/null || echo 0)" = 0 ]
	done
}
# coordinator ARGS...: firedrill in the coordinator's namespace, in the background.
coordinator() {
	ip netns exec "$FL_C" "$FD" --db "$CDB" --inventory "$INV" "$@" >"$DIR/out" 2>"$DIR/err" &
	COORD=$!
}
coordinator_wait() { wait "$COORD"; local rc=$?; COORD=; return $rc; }
events() { sqlite3 "$CDB" "select kind || ' ' || subject || ': ' || coalesce(detail, '') from events where drill_id = (select max(id) from drills) order by mono_ns"; }
fault_rows() { sqlite3 "$DIR/h$1/agent.db" "select count(*) from faults" 2>/dev/null || echo 0; }

# ---- drill: applied everywhere at once, reverted everywhere ----------------
echo "== drill"
coordinator run "$QUICK"
check "drill: in effect on every app host" wait_for 20 all_applied
coordinator_wait; rc=$?
check "drill: run exits 0 (recovered) [rc $rc: $(tail -3 "$DIR/err")]" [ $rc -eq 0 ]
check "drill: reverted on every host" none_applied
ev=$(events)
check "drill: one host-applied event per host" [ "$(grep -c '^host-applied app-[123]: 1 fault(s) confirmed at T0-' <<<"$ev")" -eq 3 ]
check "drill: the spread is recorded" grep -q '^fleet-spread apply: 3 host(s) confirmed within ' <<<"$ev"
check "drill: fault-applied per host" [ "$(grep -c '^fault-applied drop-eu@app-' <<<"$ev")" -eq 3 ]
check "drill: fault-reverted per host" [ "$(grep -c '^fault-reverted drop-eu@app-' <<<"$ev")" -eq 3 ]
for i in 1 2 3; do
	check "drill: host $i journaled its fault and reverted it" \
		[ "$(sqlite3 "$DIR/h$i/agent.db" "select state from faults order by id desc limit 1")" = reverted ]
done
nothing_left drill

# ---- refuse: one host cannot prepare -> nothing anywhere ----------------------
echo "== refuse"
fleet_inventory "$DIR/inv-missing.yaml" ${LEASE_S}s "3:netns: fdt-fl-missing-$TAG"
before=("" "$(fault_rows 1)" "$(fault_rows 2)" "$(fault_rows 3)")
drills_before=$(sqlite3 "$CDB" "select count(*) from drills")
ip netns exec "$FL_C" "$FD" --db "$CDB" --inventory "$DIR/inv-missing.yaml" run "$QUICK" >"$DIR/out" 2>"$DIR/err"
rc=$?
check "refuse: exit 3 [rc $rc]" [ $rc -eq 3 ]
check "refuse: the error names the host [$(cat "$DIR/err")]" grep -q 'host app-3 refused the drill (nothing applied anywhere)' "$DIR/err"
check "refuse: the error says why (the namespace)" grep -q "fdt-fl-missing-$TAG" "$DIR/err"
for i in 1 2 3; do
	check "refuse: nothing journaled (so nothing applied) on host $i" [ "$(fault_rows "$i")" = "${before[$i]}" ]
done
check "refuse: no drill recorded" [ "$(sqlite3 "$CDB" "select count(*) from drills")" = "$drills_before" ]
nothing_left refuse

# ---- version: an agent of another version ------------------------------------
echo "== version"
cat >"$DIR/old-firedrill" <<'EOF'
#!/bin/sh
echo '{"op":"hello","version":"0.0.1","protocol":1,"host":"old","pid":1}'
read -r line
EOF
chmod 755 "$DIR/old-firedrill"
fleet_inventory "$DIR/inv-old.yaml" ${LEASE_S}s "2:firedrill: $DIR/old-firedrill"
ip netns exec "$FL_C" "$FD" --db "$CDB" --inventory "$DIR/inv-old.yaml" run "$QUICK" >"$DIR/out" 2>"$DIR/err"
rc=$?
check "version: exit 3 [rc $rc]" [ $rc -eq 3 ]
check "version: says both versions [$(cat "$DIR/err")]" grep -q 'host app-2: its firedrill is version 0.0.1 (protocol 1), this coordinator' "$DIR/err"
check "version: agent --version prints the version" grep -q "^firedrill agent [0-9.]* protocol 1\$" <<<"$("$FD" agent --version)"
nothing_left version

# ---- status and revert --inventory --------------------------------------------
echo "== status"
coordinator run "$HOLDS"
check "status: in effect on every app host" wait_for 20 all_applied
st=$(ip netns exec "$FL_C" "$FD" --inventory "$INV" status 2>&1)
check "status: one line per host [$st]" [ "$(grep -c '^app-[123]: drop-eu (drop) applied, holder ' <<<"$st")" -eq 3 ]
rv=$(ip netns exec "$FL_C" "$FD" --inventory "$INV" revert 2>&1); rc=$?
check "revert --inventory: exit 0 [rc $rc]" [ $rc -eq 0 ]
check "revert --inventory: host by host [$rv]" [ "$(grep -c '^app-[123]: reverted drop-eu (drop)$' <<<"$rv")" -eq 3 ]
check "revert --inventory: reverted on every host" wait_for 5 none_applied
rv=$(ip netns exec "$FL_C" "$FD" --inventory "$INV" revert 2>&1); rc=$?
check "revert --inventory twice: exit 0 [rc $rc]" [ $rc -eq 0 ]
check "revert --inventory twice: nothing to revert on each host [$rv]" \
	[ "$(grep -c '^app-[123]: nothing to revert$' <<<"$rv")" -eq 3 ]
kill -TERM "$COORD"; coordinator_wait
check "status: the drill recorded that each agent reverted on a signal" \
	[ "$(events | grep -c '^fleet-reverted app-[123]: the agent reverted by itself')" -eq 3 ]
st=$(ip netns exec "$FL_C" "$FD" --inventory "$INV" status 2>&1)
check "status: afterwards no faults on any host [$st]" [ "$(grep -c '^app-[123]: no faults applied$' <<<"$st")" -eq 3 ]
nothing_left status

# ---- sigkill: the coordinator dies, every host reverts within the lease --------
echo "== sigkill"
coordinator run "$HOLDS"
check "sigkill: in effect on every app host" wait_for 20 all_applied
t=$(now_ms)
kill -KILL "$COORD"; coordinator_wait
if wait_for $((LEASE_S + 2)) none_applied && [ $(($(now_ms) - t)) -le $((LEASE_S * 1000 + 1500)) ]; then
	ok "sigkill: every host reverted within the lease ($(($(now_ms) - t)) ms)"
else
	fail "sigkill: not reverted everywhere within the lease ($(($(now_ms) - t)) ms)"
fi
nothing_left sigkill

# ---- partition: one host cut off ------------------------------------------------
echo "== partition"
scenario "$DIR/part.yaml" "false" 10s 0s
coordinator run "$DIR/part.yaml"
check "partition: in effect on every app host" wait_for 20 all_applied
t=$(now_ms)
ip netns exec "${H[2]}" nft -f - <<EOF
table inet fdtcut {
	chain in { type filter hook input priority -10; ip saddr $NET.1 drop; }
	chain out { type filter hook output priority -10; ip daddr $NET.1 drop; }
}
EOF
if wait_for $((LEASE_S + 2)) bash -c "! ip netns exec ${H[2]} nft list table inet firedrill >/dev/null 2>&1"; then
	el=$(($(now_ms) - t))
	check "partition: the cut host reverted within the lease ($el ms)" [ "$el" -le $((LEASE_S * 1000 + 1500)) ]
else
	fail "partition: the cut host did not revert within the lease"
fi
check "partition: the other hosts still hold" eval 'applied_on 1 && applied_on 3'
ip netns exec "${H[2]}" nft delete table inet fdtcut
coordinator_wait; rc=$?
check "partition: the drill ends not recovered (exit 1) [rc $rc: $(tail -2 "$DIR/err")]" [ $rc -eq 1 ]
ev=$(events)
check "partition: the drill recorded the partition of app-2" grep -q '^fleet-partition app-2: no word from its agent for ' <<<"$ev"
check "partition: and no other host's" [ "$(grep -c '^fleet-partition' <<<"$ev")" -eq 1 ]
check "partition: the other hosts reverted at the end" [ "$(grep -c '^fault-reverted drop-eu@app-[13]' <<<"$ev")" -eq 2 ]
check "partition: the cut host's agent journaled its own revert" \
	[ "$(sqlite3 "$DIR/h2/agent.db" "select state from faults order by id desc limit 1")" = reverted ]
nothing_left partition

# ---- the end: sshd stopped, namespaces gone -------------------------------------
fleet_down
for ns in "${H[1]}" "${H[2]}" "${H[3]}" "$FL_C" "$FL_BR"; do
	check "end: namespace $ns removed" bash -c "! ip netns list | grep -qw $ns"
done
for i in 1 2 3; do check "end: sshd of host $i stopped" bash -c "! kill -0 ${SSHD_PID[$i]} 2>/dev/null"; done

echo "$CHECKS checks, $FAILS failed"
[ "$FAILS" -eq 0 ]
