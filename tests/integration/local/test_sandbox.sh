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
# `run --sandbox` of a sandbox that is not running: exit 3. Skipped (77)
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
sbx=
cleanup() {
	[ -n "$sbx" ] && kill "$sbx" 2>/dev/null
	pkill -u "$u" 2>/dev/null # only the test's own user's processes
	sleep 0.2
	userdel "$u" 2>/dev/null
	rm -rf "$h"
}
trap cleanup EXIT INT TERM
fails=0
checks=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { checks=$((checks + 1)); }
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
	sbx=$(cat /tmp/firedrill-"$(id -u "$u")"/sandbox-web.pid 2>/dev/null) && [ -n "$sbx" ] &&
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

echo "$checks checks, $fails failed"
[ "$fails" -eq 0 ]
