#!/bin/sh
# firedrill report / keygen / verify end to end, with their exit codes.
#   test_cli.sh FIREDRILL SEED_STORE
set -u
fd=$1
seed=$2
dir=$(mktemp -d /tmp/fdt-reports-cli-XXXXXX)
trap 'rm -rf "$dir"' EXIT INT TERM
db=$dir/store.db
fail=0

expect() { # CODE DESCRIPTION COMMAND...
	want=$1; what=$2; shift 2
	"$@" >"$dir/out" 2>&1
	got=$?
	if [ "$got" != "$want" ]; then
		echo "FAIL: $what: exit $got, expected $want"; cat "$dir/out"; fail=1
	else
		echo "ok: $what"
	fi
}

"$seed" "$db" || { echo "seeding failed"; exit 1; }
expect 0 "trend to stdout" "$fd" --db "$db" report trend
grep -q "not recovered" "$dir/out" || { echo "FAIL: trend lacks 'not recovered'"; fail=1; }
for ext in html md json csv xml; do
	expect 0 "trend -o .$ext" "$fd" --db "$db" report trend -o "$dir/t.$ext"
	[ -s "$dir/t.$ext" ] || { echo "FAIL: t.$ext empty"; fail=1; }
done
expect 2 "unknown format" "$fd" --db "$db" report trend --format pdf
expect 2 "bad date" "$fd" --db "$db" report trend --since yesterday
expect 3 "missing store" "$fd" --db "$dir/none.db" report trend
expect 0 "keygen" "$fd" keygen -o "$dir/k"
[ "$(stat -c %a "$dir/k.key")" = 600 ] || { echo "FAIL: key mode"; fail=1; }
expect 2 "keygen never overwrites" "$fd" keygen -o "$dir/k"
expect 2 "--sign needs -o" "$fd" --db "$db" report evidence 1 --sign "$dir/k.key"
expect 0 "signed evidence" "$fd" --db "$db" report evidence 1 -o "$dir/e.md" --sign "$dir/k.key"
expect 0 "verify" "$fd" --db "$db" verify "$dir/e.md" --pubkey "$dir/k.pub"
expect 0 "verify without store" "$fd" verify "$dir/e.md" --no-store
sed -i 's/ci/CI/' "$dir/e.md"
expect 1 "verify tampered report" "$fd" --db "$db" verify "$dir/e.md" --pubkey "$dir/k.pub"
grep -q "report text changed" "$dir/out" || { echo "FAIL: tamper not named"; fail=1; }
# a trend report is evidence too: signed, verified, tampering detected
expect 2 "trend --sign needs -o" "$fd" --db "$db" report trend --sign "$dir/k.key"
expect 0 "signed trend" "$fd" --db "$db" report trend -o "$dir/t.html" --sign "$dir/k.key"
grep -q '^report trend$' "$dir/t.html.sig" || { echo "FAIL: trend .sig lacks 'report trend'"; fail=1; }
grep -q '^trend-drill 1 ' "$dir/t.html.sig" || { echo "FAIL: trend .sig lacks drill 1"; fail=1; }
expect 0 "verify trend" "$fd" --db "$db" verify "$dir/t.html" --pubkey "$dir/k.pub"
grep -q "covers: trend report of scenario any, environment any" "$dir/out" ||
	{ echo "FAIL: verify does not say what the trend covers"; cat "$dir/out"; fail=1; }
grep -q "1 drill$" "$dir/out" || { echo "FAIL: verify does not count the drills"; fail=1; }
expect 0 "signed trend with a filter" "$fd" --db "$db" report trend --env 'te\st' --since 2025-01-01 \
	-o "$dir/f.json" --sign "$dir/k.key"
grep -q '^filter-environment te\\x5cst$' "$dir/f.json.sig" || { echo "FAIL: filter not escaped"; cat "$dir/f.json.sig"; fail=1; }
grep -q '^filter-since 2025-01-01T00:00:00' "$dir/f.json.sig" || { echo "FAIL: since not bound"; fail=1; }
expect 0 "verify filtered trend" "$fd" --db "$db" verify "$dir/f.json"
sed -i 's/^filter-environment .*/filter-environment */' "$dir/f.json.sig"
expect 1 "verify trend with an altered filter" "$fd" --db "$db" verify "$dir/f.json"
grep -q "signature invalid" "$dir/out" || { echo "FAIL: altered filter not named"; fail=1; }
sed -i 's/recovered/RECOVERED/' "$dir/t.html"
expect 1 "verify tampered trend" "$fd" --db "$db" verify "$dir/t.html" --pubkey "$dir/k.pub"
grep -q "report text changed" "$dir/out" || { echo "FAIL: trend tamper not named"; fail=1; }
# run --sign: the drill is sealed when it ends; a report made later verifies
# against the seal; an edit of the store in between fails, naming the row.
# (an exec fault and a command probe: nothing needs privileges)
cat >"$dir/seal.yaml" <<'YAML'
name: seal-cli
environment: unit
faults:
  - id: hook
    kind: exec
    duration: 10s
    inject: "true"
    revert: "true"
probes:
  - id: self
    interval: 50ms
    command: { run: "true" }
steady-state:
  probes: [self]
recovery:
  all: [self]
  timeout: 2s
YAML
sdb=$dir/seal.db
seal=$sdb.drill-1.seal
expect 2 "run --sign with a missing key" env FIREDRILL_RUN_DIR="$dir/run" "$fd" --db "$sdb" -q \
	run "$dir/seal.yaml" --sign "$dir/none.key"
[ -e "$sdb" ] && { echo "FAIL: run --sign with a missing key recorded a drill"; fail=1; }
expect 2 "run --sign --dry-run" "$fd" --db "$sdb" run "$dir/seal.yaml" --sign "$dir/k.key" --dry-run
expect 0 "run --sign" env FIREDRILL_RUN_DIR="$dir/run" "$fd" --db "$sdb" -q run "$dir/seal.yaml" \
	--sign "$dir/k.key"
grep -q "^sealed: $seal " "$dir/out" || { echo "FAIL: run --sign does not name the seal"; cat "$dir/out"; fail=1; }
grep -q '^seal drill 1$' "$seal" || { echo "FAIL: the seal lacks 'seal drill 1'"; fail=1; }
expect 0 "report made after the seal" "$fd" --db "$sdb" report evidence 1 -o "$dir/later.html"
expect 0 "verify --seal REPORT" "$fd" --db "$sdb" verify --seal "$seal" "$dir/later.html" --pubkey "$dir/k.pub"
grep -q "report: .*later.html was made from the sealed drill" "$dir/out" ||
	{ echo "FAIL: verify --seal does not bind the report"; cat "$dir/out"; fail=1; }
expect 1 "verify --seal of another drill's report" "$fd" --db "$sdb" verify --seal "$seal" "$dir/e.md"
grep -q "does not show the sealed row hash of drill 1" "$dir/out" || { echo "FAIL: foreign report not named"; fail=1; }
python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("UPDATE samples SET ok = 0 WHERE id = (SELECT max(id) FROM samples)")
c.commit()' "$sdb" || { echo "FAIL: cannot edit the store"; fail=1; }
expect 1 "verify --seal after a sample was edited" "$fd" --db "$sdb" verify --seal "$seal" "$dir/later.html"
grep -q "samples row [0-9]* (iteration 1 of drill 1): changed after sealing: ok (now 0)" "$dir/out" ||
	{ echo "FAIL: the edited sample is not named"; cat "$dir/out"; fail=1; }
sed -i 's/^seal drill 1$/seal drill 2/' "$seal"
expect 1 "verify an altered seal" "$fd" --db "$sdb" verify --seal "$seal" --no-store
grep -q "signature invalid" "$dir/out" || { echo "FAIL: altered seal not named"; fail=1; }
expect 3 "verify missing report" "$fd" --db "$db" verify "$dir/nothing.html"
expect 2 "verify usage" "$fd" verify
exit $fail
