#!/bin/sh
# The record book end to end, through real drills (an exec fault and command
# probes: no privileges, nothing outside the test's folder): run --role and a
# lap recorded under its sender's role; finding, action, action close
# --retest, note, actions (past due), signoff by two approvers; verify
# --store lists and checks the sign-offs and names a tampered row; the
# evidence report (Markdown, JSON) shows scope, participants, deviations,
# findings by severity, actions, retests, lessons and the sign-off block.
# usage: test_record_cli.sh FIREDRILL
set -u
fd=$1
tmp=$(mktemp -d /tmp/fdt-record-cli-XXXXXX)
trap 'kill $drill_pid 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
drill_pid=""
fails=0
checks=0
ok() { checks=$((checks + 1)); echo "ok: $*"; }
bad() { checks=$((checks + 1)); fails=$((fails + 1)); echo "FAIL: $*"; }
# check DESCRIPTION COMMAND...: one check, its whole condition is the command
check() { what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
# code WANT DESCRIPTION COMMAND...: the command's exit status
code() {
	want=$1; what=$2; shift 2
	"$@" >"$tmp/out" 2>&1
	got=$?
	if [ "$got" = "$want" ]; then ok "$what"; else bad "$what: exit $got, expected $want"; cat "$tmp/out"; fi
}
has() { grep -q -- "$1" "$tmp/out"; }
for tool in python3 sqlite3; do
	command -v $tool >/dev/null || { echo "skipped: $tool missing (scripts/install-deps.sh installs it)"; exit 77; }
done
cd "$tmp" || exit 1
export FIREDRILL_RUN_DIR="$tmp/run"
db="$tmp/book.db"
F() { "$fd" --db "$db" "$@"; }

cat >drill.yaml <<'YAML'
name: book
description: region A's database primary is lost
scope-rationale: the primary serves every write; chosen by the 2026 risk review
environment: unit
team: [incident-commander, scribe, observer]
objectives: { rto: 30s }
faults:
  - { id: primary, kind: exec, duration: 30s, inject: "touch down", revert: "rm -f down" }
probes:
  - { id: primary-up, interval: 50ms, command: { run: "test ! -f down" } }
steady-state: { probes: [primary-up] }
recovery:
  all: [primary-up]
  timeout: 25s
  steps:
    - { name: confirm the primary is down, manual: true }
    - { name: check replica lag, run: "exit 3" }
    - { name: promote the standby, run: "rm -f down" }
YAML

# drill 1: the lap comes from "alice" (SUDO_USER names the person behind sudo)
F run drill.yaml --role incident-commander=alice --role scribe=bob >run1.out 2>&1 &
drill_pid=$!
lapped=1
for _ in $(seq 1 200); do
	SUDO_USER=alice F lap promoted by hand >lap.out 2>&1 && { lapped=0; break; }
	sleep 0.1
done
wait $drill_pid
drill_pid=""
check "the lap was taken" [ "$lapped" = 0 ]
code 2 "run --role without a name" F run drill.yaml --role scribe=
code 2 "run --role with a bad role" F run drill.yaml --role "Scribe=bob"

# the record book of drill 1
code 0 "finding (high, by bob)" F finding 1 --severity high --root-cause "the TTL is 300 s" --by bob failover took 4 minutes
check "the finding is recorded under bob's role" grep -q "by bob (scribe)" "$tmp/out"
code 0 "finding (low)" F finding 1 --severity low replica lag was not visible
code 0 "finding (critical)" F finding 1 --severity critical no alert fired
code 2 "finding with an unknown severity" F finding 1 --severity urgent x
code 2 "finding on a drill that does not exist" F finding 9 --severity low x
code 2 "finding without text" F finding 1 --severity low
code 0 "action past due" F action 1 --owner carol --due 2026-01-15 lower the DNS TTL to 30 s
code 0 "action not yet due" F action 1 --owner dan --due 2099-12-31 --json add a replica-lag alert
check "action --json is the record" python3 -c "import json,sys; r=json.load(open('$tmp/out')); sys.exit(r['kind'] != 'action' or r['owner'] != 'dan')"
code 2 "action with an impossible date" F action 1 --owner carol --due 2026-02-30 x
high=$(sqlite3 "$db" "SELECT id FROM findings WHERE severity = 'high'")
code 0 "action remedying the high finding" F action 1 --owner erin --due 2099-06-30 --finding "$high" --json page on DNS failover time
check "the action names its finding" python3 -c "import json,sys; sys.exit(json.load(open('$tmp/out')).get('finding') != $high)"
code 2 "--finding must be a finding" F action 1 --owner erin --due 2099-06-30 --finding "$(sqlite3 "$db" "SELECT max(id) FROM actions")" x
code 0 "note" F note 1 --by alice keep the runbook step for replica lag
code 0 "actions" F actions --now 2026-12-07
check "a past-due action is flagged" grep -q "PAST DUE 326d" "$tmp/out"
code 0 "actions --owner dan" F actions --owner dan
check "--owner keeps dan's only" sh -c "grep -q 'replica-lag alert' '$tmp/out' && ! grep -q carol '$tmp/out'"

# drill 2 retests the first action and closes it
F run drill.yaml --role incident-commander=erin </dev/null >run2.out 2>&1 &
drill_pid=$!
for _ in $(seq 1 200); do SUDO_USER=erin F lap >/dev/null 2>&1 && break; sleep 0.1; done
wait $drill_pid
drill_pid=""
action=$(sqlite3 "$db" "SELECT id FROM actions WHERE owner = 'carol'")
code 0 "action close --retest 2" F action close "$action" --retest 2 TTL is 30 s now
code 2 "an action closes once" F action close "$action"
code 0 "actions --open" F actions --open --json
check "the closed action is no longer open" python3 -c "import json,sys; a=json.load(open('$tmp/out')); sys.exit(sorted(x['owner'] for x in a) != ['dan', 'erin'])"

# two approvers sign off drill 1
code 0 "keygen approver 1" F keygen -o "$tmp/cio"
code 0 "keygen approver 2" F keygen -o "$tmp/ciso"
code 2 "signoff needs a role" F signoff 1 --name Ann --key "$tmp/cio.key"
code 0 "signoff 1" F signoff 1 --name "Ann Approver" --role CIO --key "$tmp/cio.key"
code 0 "signoff 2" F signoff 1 --name "Sam Sec" --role CISO --key "$tmp/ciso.key"
code 0 "verify --store" F verify --store
check "verify lists both sign-offs as good" sh -c "[ \$(grep -c 'sign-off: drill 1 by .*: good' '$tmp/out') = 2 ]"

# the evidence report of drill 1
code 0 "evidence (md)" F report evidence 1 --format md -o e1.md
md=$tmp/e1.md
check "scope and its rationale" sh -c "grep -q \"region A's database primary is lost\" '$md' && grep -q 'chosen by the 2026 risk review' '$md'"
check "participants: team roles with who filled them" grep -q "| incident-commander | alice |" "$md"
check "an expected role nobody filled is flagged" grep -q "observer\*\* | \*\*NOT FILLED" "$md"
check "the lap names who marked it and their role" grep -q "by alice (incident-commander): promoted by hand" "$md"
check "deviations: the failed step" sh -c "sed -n '/## Deviations/,/## Timeline/p' '$md' | grep -q 'step failed.*check replica lag'"
check "findings most severe first" sh -c "sed -n '/## Findings/,/## Remediation/p' '$md' | grep -o 'critical\|high\|low' | tr '\n' ' ' | grep -q '^critical high low'"
check "the retested action is closed by drill 2" grep -q "retested by drill 2" "$md"
check "lessons" grep -q "keep the runbook step for replica lag" "$md"
check "sign-off block names both approvers" sh -c "grep -q '| Ann Approver | CIO |' '$md' && grep -q '| Sam Sec | CISO |' '$md'"
order=$(grep '^## ' "$md" | tr '\n' '/')
check "sections in order" sh -c "echo '$order' | grep -q 'Who, when, where/## Scope/## Participants and roles/## Objectives.*## Data integrity.*## Deviations from the plan/## Timeline/## Findings/## Remediation actions/## Lessons learned/## Sign-off/## Scenario'"
code 0 "evidence (json)" F report evidence 1 --format json -o e1.json
check "json: the book as data" python3 - "$tmp/e1.json" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))
assert e["version"] == 2, e["version"]
assert [p["name"] for p in e["participants"]] == ["alice", "bob", None], e["participants"]
assert [f["severity"] for f in e["findings"]] == ["critical", "high", "low"]
assert {a["owner"]: a["state"] for a in e["actions"]} == {"carol": "closed", "dan": "open", "erin": "open"}
assert all(s["ok"] for s in e["signoffs"]) and len(e["signoffs"]) == 2
assert any(d["kind"] == "step failed" for d in e["deviations"])
assert e["scope"]["rationale"].startswith("the primary serves")
PY
code 0 "evidence with the SOC 2 and DORA mapping" F report evidence 1 --format json --controls soc2,dora -o e1c.json
check "controls: the linked finding is covered, the critical one is not" python3 - "$tmp/e1c.json" "$high" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))
c = {x["id"]: x for x in e["controls"]}
assert set(c) == {"soc2", "dora"}, c.keys()
m = c["soc2"]["missing"] or ""
assert "(critical) has no remediation action" in m, m
assert "finding %s (high) has no remediation action" % sys.argv[2] not in m, m
assert "observer" in m, m  # the role nobody filled
PY
code 2 "an unknown control" F report evidence 1 --controls sox
code 0 "evidence of drill 2" F report evidence 2 --format md
check "drill 2 says which action it retested" sh -c "grep -q '## Actions this drill retested' '$tmp/out' && grep -q 'lower the DNS TTL' '$tmp/out'"

# the book is evidence: an edit is named, a sign-off over it fails
sqlite3 "$db" "UPDATE records SET severity = 'low' WHERE kind = 'finding' AND severity = 'critical'"
code 1 "verify --store after an edit" F verify --store
check "the edited row and field are named" grep -q 'records row [0-9]* (chain entry [0-9]*): content does not match its hash: changed after sealing: severity (now "low")' "$tmp/out"
sqlite3 "$db" "UPDATE records SET severity = 'critical' WHERE kind = 'finding' AND text = 'no alert fired'"
code 0 "verify --store after putting it back" F verify --store
sqlite3 "$db" "DELETE FROM records WHERE kind = 'note'"
code 1 "verify --store after a removal" F verify --store
check "the sign-offs no longer hold" grep -q "FAILED: record book entries before the sign-off were removed\|chain entries .* are missing" "$tmp/out"

echo "$((checks - fails)) passed, $fails failed"
[ "$fails" = 0 ]
