#!/bin/sh
# CLI contract of `firedrill validate` and `firedrill plan`: exit codes,
# the exact error line on stderr, "FILE: ok", -q, --json.
# usage: test_validate_plan.sh FIREDRILL SOURCE_ROOT
set -u
fd=$1
root=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

# every malformed scenario: exit 2 and exactly its expected line on stderr
cd "$root/tests/data/bad" || exit 1
n=0
for f in *.yaml; do
	n=$((n + 1))
	"$fd" validate "$f" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ "$rc" -eq 2 ] || bad "$f: exit $rc, want 2"
	cmp -s "$tmp/err" "${f%.yaml}.expected" || bad "$f: stderr $(cat "$tmp/err") want $(cat "${f%.yaml}.expected")"
	[ -s "$tmp/out" ] && bad "$f: stdout not empty"
done
[ "$n" -ge 30 ] || bad "only $n bad scenarios"

# the library: exit 0, one "FILE: ok" line each, plan prints for each
cd "$root/scenarios/library" || exit 1
"$fd" validate *.yaml >"$tmp/out" 2>"$tmp/err" || bad "library: exit $? $(cat "$tmp/err")"
[ "$(grep -c ': ok$' "$tmp/out")" -eq "$(ls *.yaml | wc -l)" ] || bad "library: ok lines"
for f in *.yaml; do
	"$fd" plan "$f" >"$tmp/plan" 2>"$tmp/err" || bad "plan $f: exit $? $(cat "$tmp/err")"
	grep -q '^plan for scenario' "$tmp/plan" || bad "plan $f: no header"
done

# the library's inventories: a fleet scenario validates with them (on:
# resolved), plan says which hosts; an inventory lacking a group is refused
# at the scenario's on: (file:line:col), a bad inventory at its own line
for inv in inventories/*.yaml; do
	"$fd" --inventory "$inv" validate fleet-app-tier-eu-drop.yaml >"$tmp/out" 2>"$tmp/err" ||
		bad "--inventory $inv: exit $? $(cat "$tmp/err")"
	"$fd" --inventory "$inv" plan fleet-app-tier-eu-drop.yaml >"$tmp/plan" 2>"$tmp/err" ||
		bad "plan --inventory $inv: exit $?"
	grep -q '^       on: app-1 (ssh ' "$tmp/plan" || bad "plan --inventory $inv: no on: line"
done
printf 'hosts:\n  - name: web-1\n    ssh: root@web-1\n    groups: [web]\n' >"$tmp/inv.yaml"
"$fd" --inventory "$tmp/inv.yaml" validate fleet-app-tier-eu-drop.yaml >"$tmp/out" 2>"$tmp/err"
[ $? -eq 2 ] || bad "inventory without group app: want exit 2"
grep -q '^fleet-app-tier-eu-drop.yaml:[0-9]*:[0-9]*: error: fault "eu-endpoints": on: no host is in group "app"' "$tmp/err" ||
	bad "inventory without group app: $(cat "$tmp/err")"
printf 'hosts:\n  - name: web-1\n    shh: root@web-1\n' >"$tmp/inv.yaml"
"$fd" --inventory "$tmp/inv.yaml" validate fleet-app-tier-eu-drop.yaml >"$tmp/out" 2>"$tmp/err"
[ $? -eq 2 ] || bad "bad inventory: want exit 2"
grep -q "^$tmp/inv.yaml:3:5: error: host \"web-1\": unknown key \"shh\"" "$tmp/err" || bad "bad inventory: $(cat "$tmp/err")"

# -q prints nothing for good files; a mix of good and bad validates all, exits 2
out=$("$fd" -q validate region-endpoint-drop.yaml) || bad "-q: exit $?"
[ -z "$out" ] || bad "-q printed $out"
"$fd" validate region-endpoint-drop.yaml "$root/tests/data/bad/01-unknown-kind.yaml" dns-outage.yaml \
	>"$tmp/out" 2>"$tmp/err"
[ $? -eq 2 ] || bad "mixed: want exit 2"
[ "$(wc -l <"$tmp/out")" -eq 2 ] || bad "mixed: want 2 ok lines"
grep -q 'unknown kind "blackhol"' "$tmp/err" || bad "mixed: error line missing"

# --json: an array of {file, ok, error}
"$fd" validate --json dns-outage.yaml "$root/tests/data/bad/13-unknown-signal.yaml" >"$tmp/json"
[ $? -eq 2 ] || bad "json: want exit 2"
grep -q '"ok": true' "$tmp/json" || bad "json: no ok entry"
grep -q '"ok": false' "$tmp/json" || bad "json: no failed entry"
grep -q '"error": null' "$tmp/json" || bad "json: error null for a good file"
grep -q 'unknown signal' "$tmp/json" || bad "json: error text"

# unreadable file: environment error (3); usage errors: 2; --help: 0
"$fd" validate "$tmp/missing.yaml" 2>/dev/null
[ $? -eq 3 ] || bad "missing file: want exit 3"
"$fd" validate 2>/dev/null
[ $? -eq 2 ] || bad "no files: want exit 2"
"$fd" plan a.yaml b.yaml 2>/dev/null
[ $? -eq 2 ] || bad "plan two files: want exit 2"
"$fd" validate --help >/dev/null || bad "validate --help"
"$fd" plan --help >/dev/null || bad "plan --help"

# every error of a file, sorted by position, exactly as tests/data/multi says
cd "$root/tests/data/multi" || exit 1
"$fd" validate many-errors.yaml >"$tmp/out" 2>"$tmp/err"
[ $? -eq 2 ] || bad "many-errors: want exit 2"
cmp -s "$tmp/err" many-errors.expected || bad "many-errors: stderr $(cat "$tmp/err")"
"$fd" validate --json many-errors.yaml >"$tmp/json"
[ "$(grep -c '"many-errors.yaml:' "$tmp/json")" -eq $(($(wc -l <many-errors.expected) + 1)) ] ||
	bad "many-errors --json: want error + every line of errors"

# a file of faults alone: good for inject (validate --inject), run says what it lacks
cat >"$tmp/faults.yaml" <<'EOT'
name: by-hand
faults:
  - { id: f, kind: drop, duration: 5m, targets: { cidrs: [10.9.0.0/16] } }
EOT
"$fd" validate --inject "$tmp/faults.yaml" >"$tmp/out" 2>"$tmp/err" || bad "--inject: exit $? $(cat "$tmp/err")"
grep -q ': ok$' "$tmp/out" || bad "--inject: no ok line"
"$fd" validate "$tmp/faults.yaml" >"$tmp/out" 2>"$tmp/err"
[ $? -eq 2 ] || bad "faults only for run: want exit 2"
grep -q 'a drill (firedrill run) needs key "probes"' "$tmp/err" || bad "faults only: $(cat "$tmp/err")"
"$fd" validate --bogus x.yaml 2>/dev/null
[ $? -eq 2 ] || bad "unknown option: want exit 2"

echo "$n bad scenarios, $(ls *.yaml | wc -l) library scenarios; $fails failure(s)"
[ "$fails" -eq 0 ]
