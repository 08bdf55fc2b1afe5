#!/bin/sh
# Soak: N drills against the built-in lab, each SIGKILLed at a random
# instant, then counts what the killed drill left behind.
#
#   soak.sh [-n N] [-s SEED] [--no-revert] [-p "POINT..."] [-k SOAK_KILL] [-w WORKDIR] FIREDRILL
#
# Each drill runs bench/soak/soak-lab.yaml (generated below): an nft drop of
# region A, a blackhole route, link-down of a veth, a tbf rate limit on its
# peer, SIGSTOP of a victim process, a runbook step, a canary and a
# failback, all in netns fdlab-client. A kill point is drawn (seeded) from:
#   start      0-400 ms after exec (setup, before the drill is recorded)
#   steady     0-1 s after "phase steady-state" (before injection)
#   inject     0-25 ms after "phase inject" (while faults are applied)
#   apply      0-2 ms after "phase inject" (inside apply, which now takes
#              about a millisecond: faults half applied; not in the default
#              draw, -p apply)
#   step       0-1.2 s after "phase watch" (the runbook step runs 1.5 s)
#   watch      1.5-3 s after "phase watch" (after the step, still watching)
#   readback   0-150 ms after "phase readback"
#   revert     0-20 ms after "phase revert" (while faults are removed)
#   failback   0-300 ms after "phase failback" (everything reverted)
# (-p restricts the draw to the listed points.) The phase the drill was
# really in is read back from its store timeline.
# Then `firedrill revert` (skipped with --no-revert: the guardian and the
# kernel must end every fault by themselves; what remains after 10 s is
# counted, then counted again after the faults' max duration) and, with
# the scope lock held so that no other drill interferes, the leftovers:
#   nft     firedrill tables (and their set elements) in the lab namespaces
#   route   blackhole/unreachable/prohibit routes in fdlab-client
#   link    lab links without IFF_UP (the veth pair included)
#   qdisc   non-default root qdiscs in fdlab-client
#   stop    lab processes and the victim in state T (stopped)
#   stray   guardians of this soak's store, runbook steps still running
#   journal fault rows still planned/applied in the store
# Exit 0 when every count is 0, 1 otherwise, 2 when it cannot run, 77 when
# not root. It never judges time.
#
# The lab's namespace names are fixed, so the soak runs in a private mount
# and pid namespace with its own /run/netns and /proc (unshare -m -p): its
# fdlab-* namespaces, lab processes,
# lab state dir and run dir (scope locks) are its own, invisible to any
# other lab on the machine, and gone with it. It brings its lab up and
# down itself.
set -u
umask 022

if [ "${FDSOAK_PRIVATE:-0}" != 1 ] && [ "$(id -u)" -eq 0 ]; then
	command -v unshare >/dev/null || { echo "soak: SKIP: needs unshare"; exit 77; }
	FDSOAK_PRIVATE=1 exec unshare -m -p -f --mount-proc --propagation private sh "$0" "$@"
fi

N=100
SEED=1
POINTS="start steady inject step watch readback revert failback"
REVERT=1
KILLER=""
WORK=""
FD=""
while [ $# -gt 0 ]; do
	case $1 in
	-n) N=$2; shift 2 ;;
	-s) SEED=$2; shift 2 ;;
	-k) KILLER=$2; shift 2 ;;
	-w) WORK=$2; shift 2 ;;
	-p) POINTS=$2; shift 2 ;;
	--no-revert) REVERT=0; shift ;;
	-*) echo "usage: soak.sh [-n N] [-s SEED] [--no-revert] [-p \"POINT...\"] [-k SOAK_KILL] [-w DIR] FIREDRILL" >&2; exit 2 ;;
	*) FD=$1; shift ;;
	esac
done
[ "$(id -u)" -eq 0 ] || { echo "soak: SKIP: needs root (network namespaces)"; exit 77; }
[ -n "$FD" ] && [ -x "$FD" ] || { echo "soak: no firedrill binary (soak.sh [...] FIREDRILL)" >&2; exit 2; }
FD=$(realpath "$FD")
[ -n "$KILLER" ] || KILLER=$(dirname "$FD")/../bench/soak/soak_kill
[ -x "$KILLER" ] || { echo "soak: no soak_kill at $KILLER (-k PATH)" >&2; exit 2; }
for t in nft ip tc sqlite3 flock awk setsid; do
	command -v $t >/dev/null || { echo "soak: SKIP: needs $t"; exit 77; }
done

OWN_WORK=0
if [ -z "$WORK" ]; then WORK=$(mktemp -d /tmp/fdsoak.XXXXXX); OWN_WORK=1; fi
mkdir -p "$WORK"
DB=$WORK/soak.db
SCEN=$WORK/soak-lab.yaml
mkdir -p /run/netns "$WORK/run" && mount -t tmpfs fdsoak-netns /run/netns || exit 2
export FIREDRILL_RUN_DIR="$WORK/run" FIREDRILL_LAB_DIR="$WORK/lab"
LOCK=$FIREDRILL_RUN_DIR/scope-fdlab-client.lock
C="ip netns exec fdlab-client"
VICTIM_ARG=$((7000000 + $$ % 1000000))
DUR=2m
[ $REVERT -eq 1 ] || DUR=20s
OWN_LAB=0
VICTIM=""

cleanup() {
	[ -n "$VICTIM" ] && kill -CONT "$VICTIM" 2>/dev/null && kill -KILL "$VICTIM" 2>/dev/null
	ip -n fdlab-client link del fdsoak0 2>/dev/null
	[ $OWN_LAB -eq 1 ] && "$FD" -q lab down >/dev/null 2>&1
	umount /run/netns 2>/dev/null
	[ $OWN_WORK -eq 1 ] && [ "${KEEP:-0}" != 1 ] && rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the lab and the fixtures ------------------------------------------------
OWN_LAB=1
"$FD" -q lab up --check-interval 100ms || exit 2
ip -n fdlab-client link add fdsoak0 type veth peer name fdsoak1 || exit 2
ip -n fdlab-client link set fdsoak0 up && ip -n fdlab-client link set fdsoak1 up
$C setsid -f sleep $VICTIM_ARG
sleep 0.2
VICTIM=$(pgrep -x -f "sleep $VICTIM_ARG" | head -n 1)
[ -n "$VICTIM" ] || { echo "soak: victim process did not start" >&2; exit 2; }

cat >"$SCEN" <<EOF
# generated by bench/soak/soak.sh: every kind of fault the lab can take
name: soak-lab
description: soak test of SIGKILL at random instants (bench/soak/soak.sh)
environment: soak
objectives: { rto: 10s, rpo: 2s }
scope: { netns: fdlab-client }
faults:
  - { id: region-a, kind: drop, direction: egress, duration: $DUR, targets: { cidrs: [10.66.1.0/24] } }
  - { id: decoy-route, kind: blackhole-route, duration: $DUR, targets: { cidrs: [10.250.99.0/24] } }
  - { id: veth-down, kind: link-down, link: fdsoak0, duration: $DUR }
  - { id: veth-rate, kind: rate, link: fdsoak1, rate: 1mbit, duration: $DUR }
  - { id: victim, kind: stop, duration: $DUR, process: { match: '^sleep\\x00$VICTIM_ARG\$' } }
probes:
  - id: frontdoor
    interval: 25ms
    timeout: 1s
    http: { url: http://10.66.0.1:8080/health, expect-status: [200] }
steady-state: { probes: [frontdoor] }
recovery:
  all: [frontdoor]
  stable-for: 500ms
  timeout: 30s
  steps:
    - { name: soak step, run: "sleep 1.5 # $WORK", timeout: 10s }
rpo:
  canary:
    interval: 50ms
    write: { method: PUT, url: "http://10.66.0.1:8080/kv/soak-{{seq}}", body: '{"seq": {{seq}}}' }
    read: { url: "http://10.66.0.1:8080/kv/soak-{{seq}}", expect-status: [200] }
failback: { all: [frontdoor], stable-for: 300ms, timeout: 10s }
EOF
"$FD" -q validate "$SCEN" || exit 2

# ---- helpers -----------------------------------------------------------------
rnd() { # rnd I SALT MAX: deterministic 0..MAX-1 from the seed
	awk -v s="$SEED" -v i="$1" -v k="$2" -v m="$3" 'BEGIN { srand(s * 7919 + i * 131 + k); print int(rand() * m) }'
}
q() { sqlite3 -cmd ".timeout 5000" "$DB" "$1" 2>/dev/null; }

count_nft() {
	n=0
	for ns in fdlab-client fdlab-a fdlab-b fdlab-core; do
		t=$(ip netns exec $ns nft list tables 2>/dev/null | grep -c 'firedrill')
		e=$(ip netns exec $ns nft list ruleset 2>/dev/null | awk '/table .*firedrill/ { f = 1 } f && /elements/ { n++ } END { print n + 0 }')
		n=$((n + t + e))
	done
	echo $n
}
count_route() {
	{ $C ip -4 route show table all; $C ip -6 route show table all; } 2>/dev/null |
		grep -cE '^(blackhole|unreachable|prohibit) '
}
count_link() {
	n=0
	for ns in fdlab-client fdlab-a fdlab-b fdlab-core; do
		d=$(ip -n $ns -o link show 2>/dev/null | grep -v ': lo:' | grep -vc '[<,]UP[,>]')
		n=$((n + d))
	done
	echo $n
}
count_qdisc() {
	tc -n fdlab-client qdisc show 2>/dev/null | grep -E ' root ' | grep -vcE 'qdisc (noqueue|pfifo_fast|fq_codel|mq|noop) '
}
count_stop() {
	n=0
	for p in $VICTIM $(cat "$FIREDRILL_LAB_DIR"/*.pid 2>/dev/null); do
		s=$(awk '{ sub(/.*\) /, ""); print $1 }' /proc/$p/stat 2>/dev/null)
		[ "$s" = T ] && n=$((n + 1))
	done
	echo $n
}
count_stray() {
	n=0
	for p in $(pgrep -f firedrill-guardian) $(pgrep -f "# $WORK"); do
		if tr '\0' '\n' </proc/$p/environ 2>/dev/null | grep -q "FIREDRILL_GUARDIAN=.*;$DB\$" ||
			tr '\0' ' ' </proc/$p/cmdline 2>/dev/null | grep -qF "# $WORK"; then
			n=$((n + 1))
		fi
	done
	echo $n
}
# With revert: every active row in the store. Without: this drill's rows.
JFILTER=""
count_journal() { q "SELECT count(*) FROM faults WHERE state IN ('planned', 'applied') $JFILTER"; }

# "nft route link qdisc stop stray journal", counted while no drill runs
count_all() {
	(
		flock -w 120 9 || true
		echo "$(count_nft) $(count_route) $(count_link) $(count_qdisc) $(count_stop) $(count_stray) $(count_journal)"
	) 9<>"$LOCK"
}
# Without revert, journal rows of a drill killed between journaling its
# faults and telling its guardian (nothing applied yet) stay "planned" until
# the next `firedrill run` or `firedrill revert`: bookkeeping, not a fault in
# the system, so shown but not summed.
sum_of() { echo "$1" | awk -v j="$REVERT" '{ print $1 + $2 + $3 + $4 + $5 + $6 + j * $7 }'; }

# Waits up to $1 s for the leftovers to reach 0 (the guardian works
# asynchronously); prints the last count.
settle() {
	end_s=$(($(date +%s) + $1))
	while :; do
		c=$(count_all)
		[ "$(sum_of "$c")" -eq 0 ] && break
		[ "$(date +%s)" -ge $end_s ] && break
		sleep 0.25
	done
	echo "$c"
}

# Brings the fixtures back when a drill left them changed (counted first).
restore_fixtures() {
	ip -n fdlab-client link set fdsoak0 up 2>/dev/null
	ip -n fdlab-client link set fdsoak1 up 2>/dev/null
	tc -n fdlab-client qdisc del dev fdsoak1 root 2>/dev/null
	kill -CONT "$VICTIM" 2>/dev/null
	for ns in fdlab-client fdlab-a fdlab-b fdlab-core; do
		ip netns exec $ns nft list tables 2>/dev/null | awk '/firedrill/ { print $2, $3 }' |
			while read -r fam name; do ip netns exec $ns nft delete table "$fam" "$name"; done
	done
	$C ip route del blackhole 10.250.99.0/24 2>/dev/null
	true
}

KILLPOINTS=$POINTS
NPOINTS=$(echo $KILLPOINTS | wc -w)
kp_pattern() {
	case $1 in
	start) echo "" ;; steady) echo "phase steady-state" ;; inject | apply) echo "phase inject" ;;
	step | watch) echo "phase watch" ;; readback) echo "phase readback" ;;
	revert) echo "phase revert" ;; failback) echo "phase failback" ;;
	esac
}
kp_delay_us() { # kp_delay_us POINT I
	case $1 in
	start) echo $(($(rnd "$2" 2 400) * 1000)) ;;
	steady) echo $(($(rnd "$2" 2 1000) * 1000)) ;;
	inject) echo $(rnd "$2" 2 25000) ;;
	apply) echo $(rnd "$2" 2 2000) ;;
	step) echo $(($(rnd "$2" 2 1200) * 1000)) ;;
	watch) echo $(((1500 + $(rnd "$2" 2 1500)) * 1000)) ;;
	readback) echo $(($(rnd "$2" 2 150) * 1000)) ;;
	revert) echo $(rnd "$2" 2 20000) ;;
	failback) echo $(($(rnd "$2" 2 300) * 1000)) ;;
	esac
}

# The phase the killed drill was in, from its own timeline.
real_phase() { # real_phase PREV_MAX_DRILL_ID
	id=$(q "SELECT coalesce(max(id), 0) FROM drills")
	if [ "${id:-0}" -le "$1" ]; then echo "setup(unrecorded)"; return; fi
	ph=$(q "SELECT subject FROM events WHERE drill_id = $id AND kind = 'phase' ORDER BY id DESC LIMIT 1")
	if [ "$ph" = watch ] && [ "$(q "SELECT count(*) FROM events WHERE drill_id = $id AND kind = 'lap'")" -eq 0 ]; then
		ph=step
	elif [ "$ph" = inject ]; then
		na=$(q "SELECT count(*) FROM faults WHERE drill_id = $id AND state <> 'planned'")
		ph="inject($na/5)"
	elif [ "$ph" = done ]; then
		ph="done"
	fi
	echo "$ph"
}

# ---- the soak ----------------------------------------------------------------
RES=$WORK/results.txt
: >"$RES"
START=$(date +%s)
i=1
refused=0
echo "soak: $N drills, seed $SEED, $([ $REVERT -eq 1 ] && echo "each followed by firedrill revert" || echo "no revert (guardian and kernel timeouts only; max duration $DUR)"), work dir $WORK"
while [ $i -le "$N" ]; do
	kp=$(echo $KILLPOINTS | awk -v r="$(rnd "$i" 1 "$NPOINTS")" '{ print $(r + 1) }')
	pat=$(kp_pattern "$kp")
	dl=$(kp_delay_us "$kp" "$i")
	prev=$(q "SELECT coalesce(max(id), 0) FROM drills")
	prev=${prev:-0}
	[ $REVERT -eq 1 ] || JFILTER="AND drill_id > $prev"
	flock -w 300 "$LOCK" "$FD" -q lab reset --check-interval 100ms >/dev/null 2>&1
	if [ -n "$pat" ]; then
		out=$("$KILLER" -l "$WORK/run-$i.log" -p "$pat" -d "$dl" -t 60 -- "$FD" -v --db "$DB" run "$SCEN")
	else
		out=$("$KILLER" -l "$WORK/run-$i.log" -d "$dl" -t 60 -- "$FD" -v --db "$DB" run "$SCEN")
	fi
	if grep -q "another drill is running" "$WORK/run-$i.log"; then
		refused=$((refused + 1))
		[ $refused -gt 50 ] && { echo "soak: the lab stays busy (scope lock held elsewhere)" >&2; exit 2; }
		sleep 2
		continue
	fi
	real=$(real_phase "$prev")
	case $out in killed*) ;; *) real="not-killed" ;; esac
	rv=-
	if [ $REVERT -eq 1 ]; then
		"$FD" -q --db "$DB" revert >>"$WORK/run-$i.log" 2>&1
		rv=$?
	fi
	left=$(settle 10)
	late="-"
	if [ "$(sum_of "$left")" -ne 0 ] && [ $REVERT -eq 0 ]; then
		sleep 22 # the faults' max duration (20s) and some
		late=$(sum_of "$(count_all)")
	fi
	echo "$i $kp $real $rv $left $late" >>"$RES"
	printf '%3d %-9s %-18s revert=%s leftovers(nft route link qdisc stop stray journal)=%s%s\n' \
		"$i" "$kp" "$real" "$rv" "$left" "$([ "$late" != - ] && echo " after max duration: $late")"
	[ "$(sum_of "$left")" -eq 0 ] || restore_fixtures
	i=$((i + 1))
done
END=$(date +%s)

# ---- the table ---------------------------------------------------------------
echo
echo "kill points x leftovers ($N drills, seed $SEED, $((END - START)) s, $([ $REVERT -eq 1 ] && echo "with revert" || echo "without revert"))"
awk -v jr="$REVERT" '
{ k = $3; runs[k]++; for (j = 5; j <= 11; j++) s[k, j] += $j; if ($4 != "-" && $4 != 0) rvfail[k]++
  if ($12 != "-") late[k] += $12; order[k] = 1 }
END {
	printf "%-18s %5s %5s %6s %5s %6s %5s %6s %8s %9s %s\n", "phase at kill", "runs", "nft", "route", "link", "qdisc", "stop", "stray", "journal", "revert!=0", "after-max-duration"
	for (k in order) {
		printf "%-18s %5d", k, runs[k]
		for (j = 5; j <= 11; j++) { printf " %5d", s[k, j]; tot[j] += s[k, j] }
		printf " %9d %d\n", rvfail[k], late[k]
		n += runs[k]; rv += rvfail[k]; lt += late[k]
	}
	printf "%-18s %5d", "total", n
	for (j = 5; j <= 11; j++) printf " %5d", tot[j]
	printf " %9d %d\n", rv, lt
}' "$RES" | { read -r h; echo "$h"; sort; }
[ $REVERT -eq 1 ] || echo "(journal: rows a drill killed before telling its guardian (nothing applied yet) leaves planned for the next firedrill run or revert; bookkeeping, not faults in the system: not summed)"
echo
echo "drill outcomes in the store: $(q "SELECT group_concat(outcome || '=' || n, ' ') FROM (SELECT outcome, count(*) n FROM drills GROUP BY outcome)")"
echo "integrity_check: $(q 'PRAGMA integrity_check')"
TOTAL=$(awk -v jr="$REVERT" '{ for (j = 5; j <= 10; j++) t += $j; t += jr * $11 } END { print t + 0 }' "$RES")
echo "leftovers: $TOTAL in $N drills, $((END - START)) s"
[ "$TOTAL" -eq 0 ]
