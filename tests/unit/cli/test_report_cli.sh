#!/bin/sh
# firedrill report / keygen / verify end to end, with their exit codes.
#   test_report_cli.sh FIREDRILL SEED_STORE
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
expect 2 "unknown format" "$fd" --db "$db" report trend --format docx
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

# history and the trend share one summary rule (report_summarize): on the
# same store they give the same median RTO for every drill. Drill 1 is
# [4.2 s, not recovered] -> "not recovered"; drill 2 [not recovered, 1 s, 3 s]
# -> 3 s (leaving not-recovered out would give 4.2 s and 2 s).
more=$dir/more.db
"$seed" "$more" more || { echo "seeding the second store failed"; exit 1; }
expect 0 "history --json" "$fd" --db "$more" history --json
cp "$dir/out" "$dir/history.json"
expect 0 "trend --format json" "$fd" --db "$more" report trend --format json
cp "$dir/out" "$dir/trend.json"
if command -v jq >/dev/null 2>&1; then
	h=$(jq -c '[.drills[] | [.id, .median_rto_ms, .median_rto_not_recovered]]' "$dir/history.json")
	t=$(jq -c '[.series[].drills[] | [.id, .rto_median_ms, .rto_median_not_recovered]] | sort' "$dir/trend.json")
	if [ "$h" = '[[1,null,true],[2,3000,false]]' ] && [ "$t" = "$h" ]; then
		echo "ok: history and trend agree: $h"
	else
		echo "FAIL: history $h, trend $t, expected both [[1,null,true],[2,3000,false]]"; fail=1
	fi
else
	echo "skipped: history/trend agreement (JSON): jq is not installed"
fi
expect 0 "history table" "$fd" --db "$more" history
grep -q '^ *1 .* not recovered  not-recovered' "$dir/out" ||
	{ echo "FAIL: history does not show drill 1's median as not recovered"; cat "$dir/out"; fail=1; }
grep -q '^ *2 .*  3\.0 s  not-recovered' "$dir/out" ||
	{ echo "FAIL: history does not show drill 2's median as 3.0 s"; cat "$dir/out"; fail=1; }

# Iterations are labelled by number: drill 2's iteration 1 has row id 3.
for ext in md html json; do
	expect 0 "evidence of drill 2 (.$ext)" "$fd" --db "$more" report evidence 2 -o "$dir/e2.$ext"
done
grep -q '^| 1 | answers | yes |' "$dir/e2.md" ||
	{ echo "FAIL: md fault evidence not labelled iteration 1"; grep answers "$dir/e2.md"; fail=1; }
if grep -q '^| 3 | answers' "$dir/e2.md"; then
	echo "FAIL: md fault evidence labelled by row id 3"; fail=1
fi
grep -q '<td class="n">1</td><td>answers</td>' "$dir/e2.html" ||
	{ echo "FAIL: html fault evidence not labelled iteration 1"; fail=1; }
if command -v jq >/dev/null 2>&1; then
	[ "$(jq -c '[.fault_evidence[].iteration]' "$dir/e2.json")" = '[1]' ] ||
		{ echo "FAIL: json fault_evidence iteration is not 1"; fail=1; }
else
	echo "skipped: JSON iteration label: jq is not installed"
fi
# Objectives come from the drill row: drill 2 recorded them, drill 1 (as if
# migrated from schema version 1) did not, and says so rather than "none".
grep -q '^| RTO | 2m00s |' "$dir/e2.md" || { echo "FAIL: drill 2's recorded RTO objective"; grep '| RTO' "$dir/e2.md"; fail=1; }
grep -qF 'Recovery criterion: all of \[api\] stable 1s within 2m' "$dir/e2.md" ||
	{ echo "FAIL: drill 2's recovery criterion"; grep -i criterion "$dir/e2.md"; fail=1; }
expect 0 "evidence of drill 1 (.md)" "$fd" --db "$more" report evidence 1 -o "$dir/e1.md"
grep -q '^| RTO | unknown |' "$dir/e1.md" || { echo "FAIL: drill 1's objective is not 'unknown'"; grep '| RTO' "$dir/e1.md"; fail=1; }
grep -q 'objective unknown' "$dir/e1.md" || { echo "FAIL: drill 1's verdict does not say the objective is unknown"; fail=1; }

# --controls (docs/controls.md): known ids, all, another mapping file; every
# mistake in the ids or the file is a usage error naming what is wrong.
expect 0 "evidence --controls soc2,dora" "$fd" --db "$more" report evidence 2 --controls soc2,dora
expect 0 "evidence --controls all" "$fd" --db "$more" report evidence 2 --controls all -o "$dir/c.json"
expect 2 "evidence --controls with an unknown id" "$fd" --db "$more" report evidence 2 --controls soc2,sox
grep -q 'unknown control "sox" (known in built-in controls.json: soc2, iso27001,' "$dir/out" ||
	{ echo "FAIL: unknown control id not named with the known ones"; cat "$dir/out"; fail=1; }
printf '{"version": 1, "controls": [{"id": "ours", "name": "Ours 1", "text": "t", "requires": ["scope", "nope"]}]}\n' >"$dir/ctl.json"
expect 2 "--controls-file with an unknown check" "$fd" --db "$more" report evidence 2 --controls ours --controls-file "$dir/ctl.json"
grep -q "ctl.json: control \"ours\": unknown check \"nope\"" "$dir/out" ||
	{ echo "FAIL: unknown check not named with its file and control"; cat "$dir/out"; fail=1; }
sed -i 's/"nope"/"signoff"/' "$dir/ctl.json"
expect 0 "--controls-file" "$fd" --db "$more" report evidence 2 --controls ours --controls-file "$dir/ctl.json"
expect 2 "--controls-file that does not exist" "$fd" --db "$more" report evidence 2 --controls ours --controls-file "$dir/none.json"
expect 2 "--controls-file without --controls" "$fd" --db "$more" report evidence 2 --controls-file "$dir/ctl.json"
expect 2 "--controls on a trend" "$fd" --db "$more" report trend --controls all

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
expect 0 "a pdf report made after the seal" "$fd" --db "$sdb" report evidence 1 -o "$dir/later.pdf"
expect 0 "verify --seal PDF" "$fd" --db "$sdb" verify --seal "$seal" "$dir/later.pdf" --pubkey "$dir/k.pub"
grep -q "report: .*later.pdf was made from the sealed drill" "$dir/out" ||
	{ echo "FAIL: verify --seal does not bind the pdf report"; cat "$dir/out"; fail=1; }
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
# A real outage over 3 iterations, a drill killed with SIGKILL (its fault
# reverted by the guardian, the drill marked aborted by the next run), and
# a drill after it: every one sealed, and the store verifies on its own.
cat >"$dir/outage.yaml" <<'YAML'
name: seal-outage
environment: unit
iterations: 3
faults:
  - id: hook
    kind: exec
    duration: 20s
    inject: "echo $(( $(date +%s%N) + 300000000 )) > until"
    revert: "rm -f until"
probes:
  - id: self
    interval: 50ms
    command: { run: "[ ! -e until ] || [ $(date +%s%N) -gt $(cat until) ]" }
steady-state:
  probes: [self]
recovery:
  all: [self]
  timeout: 5s
YAML
sed 's/300000000/60000000000/; s/timeout: 5s/timeout: 30s/; s/iterations: 3/iterations: 1/' \
	"$dir/outage.yaml" >"$dir/hang.yaml"
odb=$dir/outage.db
afd=$(readlink -f "$fd") # the runs below work in $dir, where the scenario's files go
(cd "$dir" && FIREDRILL_RUN_DIR="$dir/run" exec "$afd" --db "$odb" -q run outage.yaml >"$dir/o1" 2>&1)
grep -c "recovered" "$dir/o1" | grep -q 4 || { echo "FAIL: 3 measured iterations expected"; cat "$dir/o1"; fail=1; }
(cd "$dir" && FIREDRILL_RUN_DIR="$dir/run" exec "$afd" --db "$odb" -q run hang.yaml >/dev/null 2>&1) &
hang=$!
sleep 2
kill -9 "$hang" 2>/dev/null
wait "$hang" 2>/dev/null
for _ in 1 2 3 4 5 6 7 8 9 10; do
	"$fd" --db "$odb" status 2>/dev/null | grep -q "no faults applied" && break
	sleep 0.5
done
(cd "$dir" && FIREDRILL_RUN_DIR="$dir/run" exec "$afd" --db "$odb" -q run outage.yaml >/dev/null 2>&1)
python3 -c 'import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute("SELECT outcome, evidence IS NOT NULL FROM drills ORDER BY id").fetchall()
sys.exit(0 if rows == [("recovered", 1), ("aborted", 1), ("recovered", 1)] else "drills %r" % rows)' "$odb" ||
	{ echo "FAIL: recovered, aborted (sealed), recovered expected"; fail=1; }
expect 0 "verify --store after a SIGKILL" "$fd" --db "$odb" verify --store
expect 2 "verify --store takes no report" "$fd" --db "$odb" verify --store "$dir/e.md"
python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("DELETE FROM samples WHERE id = 5")
c.commit()' "$odb"
expect 1 "verify --store after a sample was removed" "$fd" --db "$odb" verify --store
grep -q "samples: 1 row(s) of iteration 1 of drill 1 removed after sealing (sealed positions 5..5, before row 6)" "$dir/out" ||
	{ echo "FAIL: the removed sample is not named"; cat "$dir/out"; fail=1; }
expect 3 "verify missing report" "$fd" --db "$db" verify "$dir/nothing.html"
expect 2 "verify usage" "$fd" verify
exit $fail
