#!/bin/sh
# The rootless tour (docs/local.md), run by an unprivileged user the test
# creates (fdt-sbx-PID, home in a temp dir, removed at the end): `firedrill
# sandbox --name web -- python3 -m http.server` makes a user + network
# namespace; as that user: validate, `run --sandbox web` a drop of the
# service's port (recovered when the elements expire, the flow named with
# its sender: firedrill's probe),
# `report evidence`, the operator recorded as the user (not "root");
# the sandbox's ruleset is empty after (read by root through the sandbox's
# pid); a freeze fault (cgroup) refused with exit 3 naming the privilege;
# `run --sandbox` of a sandbox that is not running: exit 3. Then a drill
# with a drop and a blackhole route (60 s) SIGKILLed mid-fault with its
# guardian: the route outlives them; `firedrill revert --sandbox web` as the
# user reverts the rows (the route gone, the ruleset empty, the service
# answering) and leaves a row of another place applied, saying so; a second
# one has nothing to do. Before it, `firedrill revert` without --sandbox
# reverts the first row, cannot come back out of the sandbox and stops
# there (exit 3, naming --sandbox), the other rows untouched. Then `inject
# --sandbox web --detach` of a 60 s drop: held (the table in the sandbox's
# ruleset, the service silent), scenarios with a scope or a place of their
# own refused (exit 2, nothing journaled), `revert --sandbox web` ends it
# (the holder gone, the ruleset empty, the service answering), and a
# freeze refused as run --sandbox refuses it (exit 3). Skipped (77)
# without root to make the user, or when user namespaces are disabled.
# usage: test_sandbox.sh FIREDRILL
set -u
fd=$(realpath "$1")
[ "$(id -u)" -eq 0 ] || { echo "skipped: needs root to create the test's unprivileged user"; exit 77; }
for c in useradd userdel runuser python3 nft nsenter sqlite3; do
	command -v $c >/dev/null || { echo "skipped: $c missing"; exit 77; }
done
max=$(cat /proc/sys/user/max_user_namespaces 2>/dev/null || echo 1)
[ "$max" -gt 0 ] || { echo "skipped: user.max_user_namespaces is 0 (user namespaces disabled)"; exit 77; }
if [ "$(cat /proc/sys/kernel/unprivileged_userns_clone 2>/dev/null || echo 1)" = 0 ]; then
	echo "skipped: kernel.unprivileged_userns_clone is 0 (user namespaces disabled for unprivileged users)"
	exit 77
fi
u=fdt-sbx-$$
h=$(mktemp -d /tmp/fdt-sbx-home.XXXXXX)
useradd -M -d "$h" -s /bin/sh "$u" || { echo "cannot create user $u"; exit 1; }
uid=$(id -u "$u")
sbx=
cleanup() {
	[ -n "$sbx" ] && kill "$sbx" 2>/dev/null
	pkill -u "$u" 2>/dev/null # only the test's own user's processes
	sleep 0.2
	userdel "$u" 2>/dev/null
	rm -rf "$h" "/tmp/firedrill-$uid" # its run directory: locks, sandbox records
}
trap cleanup EXIT INT TERM
. "$(dirname "$0")/local_lib.sh"
# the binary where the user can read it (the build tree may be private)
cp "$fd" "$h/firedrill"
mkdir "$h/www" && echo ok >"$h/www/index.html"
cat >"$h/drop.yaml" <<'YAML'
name: sandbox-drop
probes:
  - { id: web, interval: 100ms, timeout: 300ms, http: { url: "http://127.0.0.1:18081/" } }
faults:
  - id: cut
    kind: drop
    duration: 2s
    targets: { cidrs: [127.0.0.1/32], ports: [18081], protocol: tcp }
steady-state: { probes: [web] }
recovery: { all: [web], timeout: 15s }
YAML
sed -e 's/name: sandbox-drop/name: sandbox-freeze/' -e '/^faults:/,/^steady-state:/c\
faults:\
  - { id: freeze, kind: freeze, duration: 2s, process: { match: "^python3" } }\
steady-state: { probes: [web] }' "$h/drop.yaml" >"$h/freeze.yaml"
chown -R "$u" "$h"
as_user() { (cd "$h" && runuser -u "$u" -- env -i PATH=/usr/bin:/bin HOME="$h" XDG_RUNTIME_DIR= "$@"); }

as_user ./firedrill sandbox --name web -- python3 -m http.server 18081 --bind 127.0.0.1 --directory www \
	>"$h/sbx.out" 2>"$h/sbx.err" &
for _ in $(seq 50); do
	sbx=$(cat /tmp/firedrill-"$uid"/sandbox-web.pid 2>/dev/null) && [ -n "$sbx" ] &&
		nsenter -t "$sbx" -n python3 -c 'import urllib.request; urllib.request.urlopen("http://127.0.0.1:18081/", timeout=1)' 2>/dev/null && break
	sleep 0.1
done
if [ -z "$sbx" ]; then
	if grep -q "cannot make a user and network namespace" "$h/sbx.err"; then
		echo "skipped: $(cat "$h/sbx.err")"
		exit 77
	fi
	echo "FAIL: the sandbox did not start: $(cat "$h/sbx.err")"
	exit 1
fi
check
[ "$(stat -c %U /proc/"$sbx")" = "$u" ] || bad "the sandbox runs as $(stat -c %U /proc/"$sbx"), not $u"
echo "sandbox: $(cat "$h/sbx.err")"

check
as_user ./firedrill validate drop.yaml freeze.yaml >"$h/v.out" 2>&1 || bad "validate: $(cat "$h/v.out")"
as_user ./firedrill --db fd.db --json run --sandbox web drop.yaml >"$h/run.json" 2>"$h/run.err"
rc=$?
check
[ $rc -eq 0 ] || bad "run --sandbox: exit $rc: $(cat "$h/run.err")"
check
python3 - "$h/run.json" <<'PY' || bad "run --sandbox: not what a drop of 2 s gives"
import json, sys
r = json.load(open(sys.argv[1]))
i = r["iterations"][0]
flows = i.get("blackholed_flows") or []
print(f"sandbox drill: {i['outcome']}, RTO {i['rto_ms']} ms, flows "
      f"{[(f['flow'], f['sender']['text']) for f in flows]}")
ok = i["outcome"] == "recovered" and 1500 <= (i["rto_ms"] or 0) <= 4000
ok = ok and any(f["dport"] == 18081 for f in flows)
sys.exit(0 if ok else 1)
PY
check
# Who sent it: firedrill's own probe, as uid 0 of the sandbox's user namespace (you, outside).
python3 - "$h/run.json" <<'PY' || bad "run --sandbox: the flow's sender is not firedrill's probe"
import json, sys
f = [f for f in json.load(open(sys.argv[1]))["iterations"][0]["blackholed_flows"] if f["dport"] == 18081]
s = f[0]["sender"] if f else {}
sys.exit(0 if s.get("known") and s.get("comm") == "firedrill" and s.get("uid") == 0 else 1)
PY
check
op=$(sqlite3 "$h/fd.db" "select operator from drills")
[ "$op" = "$u" ] || bad "operator recorded as \"$op\", not $u"
check
st=$(sqlite3 "$h/fd.db" "select netns || ' ' || state from faults")
[ "$st" = "/proc/$sbx/ns/net reverted" ] || bad "journal row: \"$st\""
check
r=$(nsenter -t "$sbx" -n nft list ruleset 2>&1)
[ -z "$r" ] || bad "the sandbox's ruleset is not empty: $r"
check
as_user ./firedrill --db fd.db report evidence 1 --format json -o evidence.json >"$h/rep.err" 2>&1 ||
	bad "report evidence: $(cat "$h/rep.err")"
check
grep -q '"sandbox-drop"' "$h/evidence.json" 2>/dev/null || bad "the evidence report does not name the scenario"

as_user ./firedrill --db fd.db run --sandbox web freeze.yaml >"$h/fr.out" 2>"$h/fr.err"
rc=$?
check
[ $rc -eq 3 ] || bad "freeze in a sandbox: exit $rc, want 3: $(cat "$h/fr.err")"
check
grep -q "sandbox" "$h/fr.err" && grep -qi "cgroup" "$h/fr.err" ||
	bad "freeze in a sandbox: the error does not say which privilege: $(cat "$h/fr.err")"
echo "freeze refused: $(cat "$h/fr.err")"
check
n=$(sqlite3 "$h/fd.db" "select count(*) from faults where fault_id = 'freeze'")
[ "$n" -eq 0 ] || bad "freeze: $n journal rows"

as_user ./firedrill --db fd.db run --sandbox nope drop.yaml >/dev/null 2>"$h/nope.err"
rc=$?
check
[ $rc -eq 3 ] || bad "a sandbox that is not running: exit $rc: $(cat "$h/nope.err")"

# A drill killed mid-fault with its guardian, reverted with revert --sandbox
sed -e 's/name: sandbox-drop/name: sandbox-held/' -e 's/duration: 2s/duration: 60s/' \
	-e 's/timeout: 15s/timeout: 120s/' "$h/drop.yaml" >"$h/held.yaml"
sed -i '/^steady-state:/i\
  - { id: hole, kind: blackhole-route, duration: 60s, targets: { cidrs: [10.250.99.0/24] } }' "$h/held.yaml"
chown "$u" "$h/held.yaml"
# read as the user (root's reads could leave -wal/-shm files the user cannot write)
q() { [ -e "$h/held.db" ] && as_user sqlite3 -cmd ".timeout 5000" held.db "$1" 2>/dev/null; }
sbx_route() { nsenter -t "$sbx" -n ip route show 10.250.99.0/24; }
as_user ./firedrill --db held.db run --sandbox web held.yaml >"$h/held.out" 2>&1 &
holder=
for _ in $(seq 150); do
	[ "$(q "select count(*) from faults where state = 'applied'")" = 2 ] &&
		holder=$(q "select distinct holder_pid from faults") && break
	sleep 0.1
done
check
[ -n "$holder" ] || bad "the held drill did not apply its two faults: $(cat "$h/held.out")"
guardian=
for c in $([ -n "$holder" ] && ps -o pid= --ppid "$holder"); do
	grep -q firedrill-guardian "/proc/$c/cmdline" 2>/dev/null && guardian=$c
done
check
[ -n "$guardian" ] || bad "no guardian among the held drill's ($holder) children"
[ -n "$holder$guardian" ] && kill -KILL $holder $guardian
for _ in $(seq 50); do kill -0 "${holder:-0}" 2>/dev/null || break; sleep 0.1; done
sleep 0.5
check
sbx_route | grep -q blackhole && [ "$(q "select count(*) from faults where state = 'applied'")" = 2 ] ||
	bad "the route or the rows did not outlive the holder and its guardian: $(sbx_route); $(q "select fault_id, state from faults")"
# a row of another place (a namespace file that is not the sandbox's): left alone
as_user sqlite3 held.db "insert into faults (fault_id, kind, netns, spec, state, planned_real_ns,
	planned_utc) values ('elsewhere', 'blackhole-route', '/proc/1/ns/net', '{}', 'applied', 0, '-')"
# without --sandbox: the first row enters the sandbox for good; it stops there
as_user ./firedrill --db held.db revert >"$h/plain.out" 2>&1
rc=$?
echo "revert without --sandbox: $(cat "$h/plain.out")"
check
[ $rc -eq 3 ] && grep -q "revert --sandbox" "$h/plain.out" ||
	bad "revert without --sandbox: exit $rc, does not point to --sandbox: $(cat "$h/plain.out")"
check
[ "$(q "select group_concat(fault_id || ' ' || state, ', ') from faults")" = "cut reverted, hole applied, elsewhere applied" ] ||
	bad "revert without --sandbox went past the row it could not come back from: $(q "select group_concat(fault_id || ' ' || state, ', ') from faults")"
as_user ./firedrill --db held.db revert --sandbox web >"$h/rev.out" 2>"$h/rev.err"
rc=$?
echo "revert --sandbox: $(cat "$h/rev.out" "$h/rev.err")"
check
[ $rc -eq 0 ] || bad "revert --sandbox: exit $rc"
check
[ "$(q "select group_concat(fault_id || ' ' || state, ', ') from faults where fault_id != 'elsewhere'")" = "cut reverted, hole reverted" ] ||
	bad "revert --sandbox: the rows are $(q "select group_concat(fault_id || ' ' || state, ', ') from faults")"
check
[ -z "$(sbx_route)" ] || bad "revert --sandbox: the route is left: $(sbx_route)"
check
r=$(nsenter -t "$sbx" -n nft list ruleset 2>&1)
[ -z "$r" ] || bad "revert --sandbox: the sandbox's ruleset is not empty: $r"
check
nsenter -t "$sbx" -n python3 -c 'import urllib.request; urllib.request.urlopen("http://127.0.0.1:18081/", timeout=1)' ||
	bad "revert --sandbox: the service does not answer"
check
[ "$(q "select state from faults where fault_id = 'elsewhere'")" = applied ] ||
	bad "revert --sandbox touched the row of another place"
check
grep -q "1 journal row not in sandbox web left applied" "$h/rev.err" ||
	bad "revert --sandbox does not say a row of another place is left: $(cat "$h/rev.err")"
as_user sqlite3 held.db "delete from faults where fault_id = 'elsewhere'"
as_user ./firedrill --db held.db revert --sandbox web >"$h/rev2.out" 2>&1
rc=$?
check
[ $rc -eq 0 ] && grep -qx "nothing to revert" "$h/rev2.out" ||
	bad "a second revert --sandbox: exit $rc: $(cat "$h/rev2.out")"


# inject --sandbox: a manual game day in the sandbox, held by a detached
# holder until `revert --sandbox`; the scenario's drop held for 60 s
sed -e 's/name: sandbox-drop/name: sandbox-inject/' -e 's/duration: 2s/duration: 60s/' \
	"$h/drop.yaml" >"$h/inj.yaml"
# with a scope, or a fault of its own place: the sandbox is the only place
sed -e 's/name: sandbox-drop/name: sandbox-scoped/' -e '/^faults:/i\
scope: { netns-path: /proc/1/ns/net }' "$h/drop.yaml" >"$h/scoped.yaml"
sed -e 's/name: sandbox-drop/name: sandbox-placed/' -e 's/kind: drop/kind: drop\
    netns-path: \/proc\/1\/ns\/net/' "$h/drop.yaml" >"$h/placed.yaml"
chown "$u" "$h/inj.yaml" "$h/scoped.yaml" "$h/placed.yaml"
answers() { nsenter -t "$sbx" -n python3 -c 'import urllib.request; urllib.request.urlopen("http://127.0.0.1:18081/", timeout=1)' 2>/dev/null; }
as_user ./firedrill --db inj.db inject --sandbox web --detach inj.yaml >"$h/inj.out" 2>&1
rc=$?
echo "inject --sandbox: $(cat "$h/inj.out")"
check
[ $rc -eq 0 ] && grep -q "^holding in namespace /proc/$sbx/ns/net" "$h/inj.out" ||
	bad "inject --sandbox --detach: exit $rc: $(cat "$h/inj.out")"
check
nsenter -t "$sbx" -n nft list ruleset 2>&1 | grep -q "^table" ||
	bad "inject --sandbox: no table in the sandbox's ruleset while held"
check
answers && bad "inject --sandbox: the service answers while its port is dropped"
ih=$(as_user sqlite3 -cmd ".timeout 5000" inj.db "select distinct holder_pid from faults" 2>/dev/null)
check
[ "$(as_user sqlite3 -cmd ".timeout 5000" inj.db "select netns || ' ' || state from faults" 2>/dev/null)" = "/proc/$sbx/ns/net applied" ] ||
	bad "inject --sandbox: journal row: $(as_user sqlite3 inj.db "select netns, state from faults" 2>&1)"
as_user ./firedrill --db inj.db inject --sandbox web scoped.yaml >"$h/sc.out" 2>&1
rc=$?
echo "inject --sandbox, a scenario with a scope: $(cat "$h/sc.out")"
check
[ $rc -eq 2 ] && grep -q "has its own scope; a sandbox replaces none" "$h/sc.out" ||
	bad "inject --sandbox of a scenario with its own scope: exit $rc: $(cat "$h/sc.out")"
as_user ./firedrill --db inj.db inject --sandbox web placed.yaml >"$h/pl.out" 2>&1
rc=$?
check
[ $rc -eq 2 ] && grep -q "names places of its own" "$h/pl.out" ||
	bad "inject --sandbox of a fault with a place of its own: exit $rc: $(cat "$h/pl.out")"
as_user ./firedrill --db inj.db revert --sandbox web >"$h/irev.out" 2>&1
rc=$?
check
[ $rc -eq 0 ] || bad "revert --sandbox of the inject: exit $rc: $(cat "$h/irev.out")"
for _ in $(seq 50); do kill -0 "${ih:-0}" 2>/dev/null || break; sleep 0.1; done
check
[ -n "$ih" ] && ! kill -0 "$ih" 2>/dev/null || bad "the inject's holder ($ih) did not end with the revert"
check
r=$(nsenter -t "$sbx" -n nft list ruleset 2>&1)
[ -z "$r" ] || bad "inject reverted: the sandbox's ruleset is not empty: $r"
check
answers || bad "inject reverted: the service does not answer"
check
[ "$(as_user sqlite3 -cmd ".timeout 5000" inj.db "select state from faults" 2>/dev/null)" = reverted ] ||
	bad "inject reverted: the row is $(as_user sqlite3 inj.db "select state from faults" 2>&1)"

# a freeze (cgroup) refused as run --sandbox refuses it (once the scope is free)
as_user ./firedrill --db inj.db inject --sandbox web freeze.yaml >"$h/ifr.out" 2>&1
rc=$?
check
[ $rc -eq 3 ] && grep -q "sandbox" "$h/ifr.out" && grep -qi "cgroup" "$h/ifr.out" ||
	bad "inject --sandbox of a freeze: exit $rc, want 3 naming the cgroup: $(cat "$h/ifr.out")"
check
[ "$(as_user sqlite3 -cmd ".timeout 5000" inj.db "select count(*) from faults" 2>/dev/null)" = 1 ] ||
	bad "the refused injects journaled: $(as_user sqlite3 inj.db "select fault_id, state from faults" 2>&1)"

local_end
