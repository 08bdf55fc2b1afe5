#!/bin/sh
# Integration tests of firedrill's crash safety (docs/reliability.md).
#   reliability_test.sh FIREDRILL SOAK_KILL SOAK_SH TEST
# TEST is one of:
#   soak       5 drills SIGKILLed at seeded random kill points, each followed
#              by `firedrill revert`, then 3 without revert at any point and
#              2 without revert mid-inject (the guardian watches from
#              before the first fault): 0 leftovers
#   lock       a second `firedrill run` on the same scope is refused (exit 3,
#              clear message) and the first drill is not disturbed
#   timeline   SIGKILL at several points: every event printed before the kill
#              is in the store, in order; integrity_check ok; the next start
#              marks the drill aborted and keeps its partial data
#   disk       a read-only database and a database on a disk that fills up
#              during the drill: exit 3, a clear message, faults reverted
#   input      a scenario writable by group/other is refused as root; a
#              webhook URL from the environment never reaches the store or
#              a report
# Needs root (exit 77 otherwise). Runs in a private mount and pid namespace
# with its own /run/netns, so its lab (fdlab-*) never meets another lab on
# the machine and nothing survives it. Never asserts on timing.
set -u
umask 022

FD=${1:?usage: reliability_test.sh FIREDRILL SOAK_KILL SOAK_SH TEST}
KILLER=${2:?}
SOAK=${3:?}
TEST=${4:?}

[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
for t in nft ip tc sqlite3 unshare setsid; do
	command -v $t >/dev/null || { echo "SKIP: needs $t"; exit 77; }
done
FD=$(realpath "$FD")
KILLER=$(realpath "$KILLER")
SOAK=$(realpath "$SOAK")

if [ "$TEST" = soak ]; then
	rc=0
	sh "$SOAK" -n 5 -s 7 -k "$KILLER" "$FD" || rc=1
	# without revert: the guardian and the kernel alone, at any point, and
	# mid-inject where faults are half applied
	sh "$SOAK" -n 3 -s 8 --no-revert -k "$KILLER" "$FD" || rc=1
	sh "$SOAK" -n 2 -s 9 --no-revert -p inject -k "$KILLER" "$FD" || rc=1
	[ $rc -eq 0 ] && echo "ok - 0 leftovers after 5 kills with revert and 5 without" ||
		echo "FAIL - leftovers after SIGKILL (tables above)"
	exit $rc
fi

if [ "${FDREL_PRIVATE:-0}" != 1 ]; then
	FDREL_PRIVATE=1 exec unshare -m -p -f --mount-proc --propagation private sh "$0" "$@"
fi

DIR=$(mktemp -d /tmp/fdt-rel.XXXXXX)
mkdir -p /run/netns "$DIR/run" "$DIR/lab" && mount -t tmpfs fdt-rel-netns /run/netns || exit 1
export FIREDRILL_RUN_DIR="$DIR/run" FIREDRILL_LAB_DIR="$DIR/lab"
C="ip netns exec fdlab-client"
FAILS=0
VICTIM=""

cleanup() {
	[ -n "$VICTIM" ] && kill -CONT "$VICTIM" 2>/dev/null && kill -KILL "$VICTIM" 2>/dev/null
	"$FD" -q lab down >/dev/null 2>&1
	umount "$DIR/small" "$DIR/ro" 2>/dev/null
	umount /run/netns 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { echo "ok - $*"; }
fail() { echo "FAIL - $*"; FAILS=$((FAILS + 1)); }
check() { # check DESCRIPTION COMMAND...
	what=$1; shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}
q() { sqlite3 -cmd ".timeout 5000" "$1" "$2"; }
# All of its files exist and are non-empty: one command, so `check` sees every file
# (`check ... [ A ] && [ B ]` would count only A).
nonempty() { for f; do [ -s "$f" ] || { echo "  empty or missing: $f"; return 1; }; done; }

lab_up() {
	"$FD" -q lab up --check-interval 100ms >/dev/null || { echo "FAIL - lab up"; exit 1; }
	ip -n fdlab-client link add fdrel0 type veth peer name fdrel1 &&
		ip -n fdlab-client link set fdrel0 up && ip -n fdlab-client link set fdrel1 up
	VICTIM_ARG=$((8000000 + $$ % 1000000))
	$C setsid -f sleep $VICTIM_ARG
	sleep 0.2
	VICTIM=$(pgrep -x -f "sleep $VICTIM_ARG" | head -n 1)
	[ -n "$VICTIM" ] || { echo "FAIL - victim did not start"; exit 1; }
}

# scenario FILE [STEP_SECONDS] [EXTRA_YAML]: every fault kind the lab takes
scenario() {
	cat >"$1" <<EOF
name: rel-lab
environment: reliability
objectives: { rto: 10s, rpo: 2s }
scope: { netns: fdlab-client }
faults:
  - { id: region-a, kind: drop, duration: 2m, targets: { cidrs: [10.66.1.0/24] } }
  - { id: decoy-route, kind: blackhole-route, duration: 2m, targets: { cidrs: [10.250.98.0/24] } }
  - { id: veth-down, kind: link-down, link: fdrel0, duration: 2m }
  - { id: veth-rate, kind: rate, link: fdrel1, rate: 1mbit, duration: 2m }
  - { id: victim, kind: stop, duration: 2m, process: { match: '^sleep\\x00$VICTIM_ARG\$' } }
probes:
  - { id: frontdoor, interval: 25ms, timeout: 1s, http: { url: "http://10.66.0.1:8080/health" } }
steady-state: { probes: [frontdoor] }
recovery:
  all: [frontdoor]
  stable-for: 500ms
  timeout: 30s
  steps:
    - { name: rel step, run: "sleep ${2:-1}", timeout: 1m }
rpo:
  canary:
    interval: 50ms
    write: { method: PUT, url: "http://10.66.0.1:8080/kv/rel-{{seq}}", body: '{"seq": {{seq}}}' }
    read: { url: "http://10.66.0.1:8080/kv/rel-{{seq}}", expect-status: [200] }
${3:-}
EOF
}

# Nothing of the scenario above is left in the lab.
nothing_left() {
	n=0
	for ns in fdlab-client fdlab-a fdlab-b fdlab-core; do
		ip netns exec $ns nft list tables 2>/dev/null | grep -q firedrill && n=$((n + 1))
	done
	$C ip route show table all 2>/dev/null | grep -qE '^(blackhole|unreachable|prohibit) ' && n=$((n + 1))
	ip -n fdlab-client -o link show fdrel0 | grep -q '[<,]UP[,>]' || n=$((n + 1))
	tc -n fdlab-client qdisc show dev fdrel1 | grep -q tbf && n=$((n + 1))
	# The victim must still be there, neither stopped nor gone (a vanished
	# victim would otherwise read as "not stopped").
	st=$(awk '{ sub(/.*\) /, ""); print $1 }' /proc/"$VICTIM"/stat 2>/dev/null)
	case $st in '' | T | t | Z) n=$((n + 1)) ;; esac
	[ $n -eq 0 ]
}
# Waits up to 10 s (the guardian works asynchronously) for nothing_left.
settled() {
	i=0
	until nothing_left; do
		[ $i -ge 40 ] && return 1
		sleep 0.25
		i=$((i + 1))
	done
}

# ---- lock ----------------------------------------------------------------------
test_lock() {
	lab_up
	scenario "$DIR/s.yaml" 4
	"$KILLER" -l "$DIR/first.log" -p "phase watch" -d 100000000 -t 120 -- \
		"$FD" -v --db "$DIR/first.db" run "$DIR/s.yaml" >"$DIR/first.out" &
	first=$!
	i=0
	until grep -q "phase watch" "$DIR/first.log" 2>/dev/null || [ $i -ge 300 ]; do sleep 0.1; i=$((i + 1)); done
	"$FD" --db "$DIR/second.db" run "$DIR/s.yaml" >"$DIR/second.out" 2>"$DIR/second.err"
	rc=$?
	check "second run on the same scope exits 3" [ $rc -eq 3 ]
	check "with a clear message" grep -q 'another drill is running on scope "fdlab-client" (pid [0-9]*, lock .*); wait for it to finish' "$DIR/second.err"
	cat "$DIR/second.err"
	check "second run recorded no drill" [ "$(q "$DIR/second.db" 'SELECT count(*) FROM drills')" = 0 ]
	wait $first
	check "first drill ran to its end undisturbed" grep -q "objectives met\|objectives NOT met" "$DIR/first.log"
	check "first drill recovered" [ "$(q "$DIR/first.db" "SELECT outcome FROM drills")" = recovered ]
	check "nothing left after both" settled
}

# ---- timeline ------------------------------------------------------------------
# The lines `run -v` printed as "[i/n] HH:MM:SS.mmm kind subject: detail", in
# order; they come in event-time order, as the store lists them.
printed_events() { sed -n 's/^\[[0-9]*\/[0-9]*\] [0-9:.]* //p' "$1"; }
stored_events() {
	q "$1" "SELECT kind || CASE WHEN subject <> '' THEN ' ' || subject ELSE '' END ||
		CASE WHEN detail <> '' THEN ': ' || detail ELSE '' END
		FROM events WHERE drill_id = $2 ORDER BY mono_ns, id"
}

test_timeline() {
	lab_up
	scenario "$DIR/s.yaml" 1
	db=$DIR/t.db
	k=0
	for point in "phase steady-state:300000" "phase watch:400000" "phase readback:1000" \
		"phase revert:3000" "phase inject:2000"; do
		k=$((k + 1))
		"$FD" -q lab reset --check-interval 100ms >/dev/null
		prev=$(q "$db" "SELECT coalesce(max(id), 0) FROM drills" 2>/dev/null || echo 0)
		out=$("$KILLER" -l "$DIR/k$k.log" -p "${point%:*}" -d "${point#*:}" -t 60 -- \
			"$FD" -v --db "$db" run "$DIR/s.yaml")
		id=$(q "$db" "SELECT max(id) FROM drills")
		echo "# kill $k after \"${point%:*}\" +${point#*:} us: $out; drill $id, last phase $(q "$db" "SELECT subject FROM events WHERE drill_id = $id AND kind = 'phase' ORDER BY id DESC LIMIT 1")"
		printed_events "$DIR/k$k.log" >"$DIR/k$k.printed"
		stored_events "$db" "$id" >"$DIR/k$k.stored"
		np=$(wc -l <"$DIR/k$k.printed")
		check "kill $k: all $np printed events are in the store, in order" \
			cmp -s "$DIR/k$k.printed" "$(head -n "$np" "$DIR/k$k.stored" >"$DIR/k$k.head"; echo "$DIR/k$k.head")"
		check "kill $k: integrity_check ok" [ "$(q "$db" 'PRAGMA integrity_check')" = ok ]
		check "kill $k: drill $id still 'running' right after the kill" \
			[ "$(q "$db" "SELECT outcome FROM drills WHERE id = $id")" = running ]
		ne=$(q "$db" "SELECT count(*) FROM events WHERE drill_id = $id")
		# iterations still open at the kill; one that had recorded its outcome keeps it
		open_its=$(q "$db" "SELECT group_concat(id) FROM iterations WHERE drill_id = $id AND outcome = 'running'")
		nsamp=$(q "$db" "SELECT count(*) FROM samples s JOIN iterations i ON s.iteration_id = i.id WHERE i.drill_id = $id")
		"$FD" -q --db "$db" revert >/dev/null
		check "kill $k: nothing left after revert" settled
		# the next start (a dry run records nothing else) marks it aborted
		"$FD" -q --db "$db" run --dry-run "$DIR/s.yaml" >/dev/null 2>&1
		check "kill $k: next start marks drill $id aborted" \
			[ "$(q "$db" "SELECT outcome FROM drills WHERE id = $id")" = aborted ]
		# Both halves in one [ ]: `check ... [ A ] && [ B ]` would count only A.
		check "kill $k: its open iterations (${open_its:-none}) are aborted too" \
			[ "$(q "$db" "SELECT count(*) FROM iterations WHERE drill_id = $id AND outcome = 'running'"):$(q "$db" "SELECT count(*) FROM iterations WHERE ',' || '$open_its' || ',' LIKE '%,' || id || ',%' AND outcome <> 'aborted'")" = 0:0 ]
		check "kill $k: its $ne events and $nsamp samples are kept" \
			[ "$(q "$db" "SELECT count(*) FROM events WHERE drill_id = $id"):$(q "$db" "SELECT count(*) FROM samples s JOIN iterations i ON s.iteration_id = i.id WHERE i.drill_id = $id")" = "$ne:$nsamp" ]
		check "kill $k: a new drill was recorded" [ "$prev" != "$id" ]
	done
	# `history` reads the store but checks no hash: verify a signed report of it.
	"$FD" -q keygen -o "$DIR/tk" >/dev/null 2>&1
	"$FD" -q --db "$db" report evidence "$id" -o "$DIR/tl.md" --sign "$DIR/tk.key" >/dev/null 2>&1
	check "hash chain and store still verify" "$FD" -q --db "$db" verify "$DIR/tl.md" --pubkey "$DIR/tk.pub"
}

# ---- disk ----------------------------------------------------------------------
test_disk() {
	lab_up
	scenario "$DIR/s.yaml" 1
	# read-only: the directory of an existing store bind-mounted read-only
	mkdir -p "$DIR/rw" "$DIR/ro"
	"$FD" -q --db "$DIR/rw/ro.db" run --dry-run "$DIR/s.yaml" >/dev/null 2>&1
	"$FD" -q --db "$DIR/rw/ro.db" history >/dev/null 2>&1
	mount --bind "$DIR/rw" "$DIR/ro" && mount -o remount,bind,ro "$DIR/ro"
	"$FD" --db "$DIR/ro/ro.db" run "$DIR/s.yaml" >"$DIR/ro.out" 2>"$DIR/ro.err"
	rc=$?
	cat "$DIR/ro.err"
	check "read-only store: exit 3" [ $rc -eq 3 ]
	check "read-only store: the message names the database" grep -q "ro.db" "$DIR/ro.err"
	check "read-only store: nothing injected" nothing_left

	# full disk: a 1 MiB tmpfs filled while the drill watches
	mkdir -p "$DIR/small"
	mount -t tmpfs -o size=1m fdt-rel-small "$DIR/small" || { fail "tmpfs"; return; }
	"$FD" -q lab reset --check-interval 100ms >/dev/null
	scenario "$DIR/s2.yaml" 3
	"$FD" -v --db "$DIR/small/full.db" run "$DIR/s2.yaml" >"$DIR/full.out" 2>"$DIR/full.err" &
	pid=$!
	i=0
	until grep -q "phase watch" "$DIR/full.err" 2>/dev/null || [ $i -ge 300 ]; do sleep 0.05; i=$((i + 1)); done
	dd if=/dev/zero of="$DIR/small/fill" bs=4k 2>/dev/null
	wait $pid
	rc=$?
	tail -n 3 "$DIR/full.err"
	check "full disk: exit 3" [ $rc -eq 3 ]
	check "full disk: the message says the disk is full" grep -qi "full" "$DIR/full.err"
	check "full disk: every fault reverted" settled
	rm -f "$DIR/small/fill"
	"$FD" -q --db "$DIR/small/full.db" revert >/dev/null 2>&1
	check "full disk: the store is intact once space is back" \
		[ "$(q "$DIR/small/full.db" 'PRAGMA integrity_check')" = ok ]
	check "full disk: the journal has nothing applied after revert" \
		[ "$(q "$DIR/small/full.db" "SELECT count(*) FROM faults WHERE state IN ('planned', 'applied')")" = 0 ]
}

# ---- input ---------------------------------------------------------------------
test_input() {
	lab_up
	scenario "$DIR/s.yaml" 0 "notify:
  - { webhook-env: FDT_REL_HOOK, events: [start, end] }"
	chmod 0664 "$DIR/s.yaml"
	"$FD" validate "$DIR/s.yaml" >/dev/null 2>"$DIR/perm.err"
	rc=$?
	cat "$DIR/perm.err"
	check "group-writable scenario refused as root (exit 2)" [ $rc -eq 2 ]
	check "with a clear message" grep -q "writable by its group (mode 0664).*chmod go-w" "$DIR/perm.err"
	chmod 0646 "$DIR/s.yaml"
	"$FD" --db "$DIR/perm.db" run "$DIR/s.yaml" >/dev/null 2>"$DIR/perm2.err"
	rc=$?
	check "world-writable scenario refused by run (exit 2)" [ $rc -eq 2 ]
	check "naming other users" grep -q "writable by other users" "$DIR/perm2.err"
	check "refused before anything: no store created" [ ! -e "$DIR/perm.db" ]
	check "refused before anything: nothing injected" nothing_left
	chmod 0644 "$DIR/s.yaml"
	check "the same file at 0644 validates" "$FD" -q validate "$DIR/s.yaml"

	# the probe's token comes from the environment too (headers-env)
	sed -i 's|http: { url: "http://10.66.0.1:8080/health" }|http: { url: "http://10.66.0.1:8080/health", headers-env: { Authorization: FDT_REL_TOKEN } }|' "$DIR/s.yaml"
	check "the probe names its token's variable" grep -q "FDT_REL_TOKEN" "$DIR/s.yaml"
	"$FD" --db "$DIR/notoken.db" run "$DIR/s.yaml" >/dev/null 2>"$DIR/notoken.err"
	rc=$?
	cat "$DIR/notoken.err"
	check "token variable unset: exit 2" [ $rc -eq 2 ]
	check "naming the probe and the variable" grep -q "frontdoor.*FDT_REL_TOKEN is not set" "$DIR/notoken.err"
	check "token variable unset: nothing injected" nothing_left
	check "token variable unset: refused before anything, no store created" [ ! -e "$DIR/notoken.db" ]

	marker="https://hooks.example.invalid/T0/B0/fdt-secret-$$-$(date +%s%N)"
	export FDT_REL_TOKEN="Bearer fdt-secret-token-$$-$(date +%s%N)"
	FDT_REL_HOOK=$marker "$FD" -q --db "$DIR/sec.db" run "$DIR/s.yaml" >/dev/null 2>&1
	id=$(q "$DIR/sec.db" "SELECT max(id) FROM drills")
	check "drill with a webhook from the environment was recorded" [ -n "$id" ]
	FDT_REL_HOOK=$marker "$FD" -q --db "$DIR/sec.db" report evidence "$id" -o "$DIR/ev.html" >/dev/null 2>&1
	FDT_REL_HOOK=$marker "$FD" -q --db "$DIR/sec.db" report evidence "$id" -o "$DIR/ev.json" >/dev/null 2>&1
	FDT_REL_HOOK=$marker "$FD" -q --db "$DIR/sec.db" report trend -o "$DIR/trend.md" >/dev/null 2>&1
	check "reports written" nonempty "$DIR/ev.html" "$DIR/ev.json" "$DIR/trend.md"
	# Sanity, one check per place (grep over two files passes if either matches):
	# the greps below would find text that is there.
	check "the variable's name is in the store (sanity)" \
		sh -c 'cat "$1"/sec.db* | grep -qaF FDT_REL_HOOK' sh "$DIR"
	check "the variable's name is in the JSON report (sanity)" grep -qF "FDT_REL_HOOK" "$DIR/ev.json"
	check "the secret is in no store file and no report" \
		sh -c '! grep -rqaF "$1" "$2"/sec.db* "$2"/ev.html "$2"/ev.json "$2"/trend.md' sh "$marker" "$DIR"
	check "nor is the probe's token" \
		sh -c '! grep -rqaF "$1" "$2"/sec.db* "$2"/ev.html "$2"/ev.json "$2"/trend.md' sh "$FDT_REL_TOKEN" "$DIR"
	unset FDT_REL_TOKEN
	check "nor any part of it" sh -c '! grep -rqaF "fdt-secret-" "$1"/sec.db* "$1"/ev.html "$1"/ev.json "$1"/trend.md' sh "$DIR"
}

case $TEST in
lock) test_lock ;;
timeline) test_timeline ;;
disk) test_disk ;;
input) test_input ;;
*) echo "unknown test $TEST"; exit 2 ;;
esac
echo "$FAILS failure(s)"
[ $FAILS -eq 0 ]
