#!/bin/sh
# firedrill freshness end to end: statuses, --env, FILEs, --json and the
# exit codes a CI gate relies on, on a store from seed_store's "fresh" mode
# (its drills and dates: tests/unit/reports/seed_store.c). Every check is
# one command and is counted; the script fails when any check fails.
#   test_freshness_cli.sh FIREDRILL SEED_STORE
set -u
fd=$1
seed=$2
dir=$(mktemp -d /tmp/fdt-freshness-cli-XXXXXX)
trap 'rm -rf "$dir"' EXIT INT TERM
db=$dir/store.db
checks=0
fails=0

pass() { checks=$((checks + 1)); echo "ok: $1"; }
bad() { checks=$((checks + 1)); fails=$((fails + 1)); echo "FAIL: $1"; }

# expect CODE WHAT COMMAND...: the exit code; the output is kept in $dir/out
expect() {
	want=$1; what=$2; shift 2
	"$@" >"$dir/out" 2>"$dir/err"
	got=$?
	if [ "$got" = "$want" ]; then pass "$what (exit $got)"; else
		bad "$what: exit $got, expected $want"; cat "$dir/out" "$dir/err"; fi
}
# has WHAT REGEX: a line of the last output matches
has() {
	if grep -qE "$2" "$dir/out" "$dir/err"; then pass "$1"; else
		bad "$1: no line matches /$2/"; cat "$dir/out" "$dir/err"; fi
}
# lacks WHAT REGEX: no line of the last output matches
lacks() {
	if grep -qE "$2" "$dir/out"; then bad "$1: a line matches /$2/"; cat "$dir/out"; else
		pass "$1"; fi
}
# json WHAT PYTHON-EXPRESSION: true of the last output parsed as JSON (as j)
json() {
	if python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
rows = {(r["scenario"], r["environment"]): r for r in j["scenarios"]}
sys.exit(0 if eval(sys.argv[2]) else 1)' "$dir/out" "$2"; then pass "$1"; else
		bad "$1: not true of the JSON: $2"; cat "$dir/out"; fi
}

mkdir "$dir/yaml"
"$seed" "$db" fresh "$dir/yaml" || { echo "seeding failed"; exit 1; }
now="--now 2026-10-01"

# the store alone: one row per scenario x environment
expect 1 "stale rows fail the gate" "$fd" freshness --store "$db" $now
has "fresh-one in prod is fresh" '^fresh-one +prod .* 90d +fresh: proven 30 days ago'
has "fresh-one in staging was never proven" '^fresh-one +staging .*never +90d +stale: never proven'
has "stale-one is stale after 130 days" '^stale-one +prod +2026-05-24 \(130d\) .*stale: last proven 130 days ago, more than 90 days'
has "changed-one: its newest text was not proven" '^changed-one +prod .*plan changed, not yet proven'
has "nop has no period" '^nop +dr .* - +no period'
lacks "the running drill is not the newest of stale-one" '2026-09-03'

# --env: only that environment
expect 0 "no period never fails the gate" "$fd" freshness --store "$db" $now --env dr
has "--env dr lists nop" '^nop +dr'
lacks "--env dr leaves prod out" 'prod'
expect 1 "--env staging: never proven" "$fd" freshness --store "$db" $now --env staging
lacks "--env staging leaves prod out" 'prod'
expect 0 "an environment with no drill" "$fd" --db "$db" freshness $now --env nowhere
has "says there is nothing" 'no finished drills in .* in environment "nowhere"'

# FILEs: each judged by its current text and its own prove-every
expect 0 "a fresh file passes" "$fd" freshness --store "$db" $now "$dir/yaml/fresh-one.yaml"
has "the file's row is fresh" '^fresh-one +prod .*fresh: proven 30 days ago'
expect 1 "a changed file fails" "$fd" freshness --store "$db" $now "$dir/yaml/changed-one.yaml"
has "the file's text was not proven" "plan changed, not yet proven: the file's text"
sed 's/^name: fresh-one$/name: brand-new/' "$dir/yaml/fresh-one.yaml" >"$dir/yaml/brand-new.yaml"
expect 0 "a file never drilled is listed, not failed" "$fd" freshness --store "$db" $now "$dir/yaml/brand-new.yaml"
has "never drilled" '^brand-new +prod +never +never +90d +never drilled'
expect 1 "--env applies to the files" "$fd" freshness --store "$db" $now --env staging "$dir/yaml/fresh-one.yaml"
has "fresh-one's file in staging: never proven" '^fresh-one +staging .*stale: never proven'

# the boundary: proven 2026-05-24, prove every 90 days
expect 0 "exactly 90 days after the proof is fresh" "$fd" freshness --store "$db" --now 2026-08-22T23:59:59Z "$dir/yaml/stale-one.yaml"
has "90 days, due today" 'fresh: proven 90 days ago, due within 0 days'
expect 1 "the 91st day is stale" "$fd" freshness --store "$db" --now 2026-08-23 "$dir/yaml/stale-one.yaml"
has "91 days" 'stale: last proven 91 days ago'

# a clock behind the store: unknown, exit 3 (nothing stale to report)
expect 3 "a clock behind the data" "$fd" freshness --store "$db" --now 2026-08-01 --env prod
has "unknown with a reason" '^fresh-one +prod .*unknown: the clock \(2026-08-01T00:00:00.000Z\) is behind the newest drill'
lacks "never a negative age" '\(-[0-9]+d\)'

# --json, parsed
expect 1 "--json" "$fd" freshness --store "$db" $now --json
json "five rows, sorted" '[ (r["scenario"], r["environment"]) for r in j["scenarios"]] == [("changed-one", "prod"), ("fresh-one", "prod"), ("fresh-one", "staging"), ("nop", "dr"), ("stale-one", "prod")]'
json "the gate verdict" 'j["ok"] is False and j["now"] == "2026-10-01T00:00:00.000Z"'
json "stale-one" 'rows[("stale-one", "prod")]["status"] == "stale" and rows[("stale-one", "prod")]["days_since_proven"] == 130 and rows[("stale-one", "prod")]["prove_every_days"] == 90 and rows[("stale-one", "prod")]["fails"]'
json "fresh-one in staging" 'rows[("fresh-one", "staging")]["last_proven"] is None and rows[("fresh-one", "staging")]["days_since_proven"] is None and rows[("fresh-one", "staging")]["drills"] == 1'
json "changed-one" 'rows[("changed-one", "prod")]["status"] == "plan changed, not yet proven" and rows[("changed-one", "prod")]["plan_changed"] and rows[("changed-one", "prod")]["current_sha256"] != rows[("changed-one", "prod")]["last_proven_sha256"]'
json "nop" 'rows[("nop", "dr")]["status"] == "no period" and rows[("nop", "dr")]["prove_every_ms"] is None and not rows[("nop", "dr")]["fails"]'
json "fresh-one in prod" 'rows[("fresh-one", "prod")]["status"] == "fresh" and rows[("fresh-one", "prod")]["file"] is None and rows[("fresh-one", "prod")]["last_proven"] == "2026-09-01T00:00:00.000Z"'
expect 0 "--json with a file" "$fd" --json freshness --store "$db" $now "$dir/yaml/fresh-one.yaml"
json "the file is named, the gate passes" 'j["ok"] is True and j["scenarios"][0]["file"].endswith("yaml/fresh-one.yaml")'

# bad input: 2; the environment: 3
expect 2 "--now not a time" "$fd" freshness --store "$db" --now yesterday
expect 2 "an unknown flag" "$fd" freshness --store "$db" --stale
expect 2 "--env without a value" "$fd" freshness --store "$db" --env
sed 's/^prove-every: 90d$/prove-every: 36h/' "$dir/yaml/fresh-one.yaml" >"$dir/yaml/bad.yaml"
expect 2 "an invalid FILE" "$fd" freshness --store "$db" "$dir/yaml/bad.yaml"
has "its error with file:line:col" 'bad.yaml:3:14: error: prove-every: expected a whole number of days'
expect 3 "a missing store" "$fd" freshness --store "$dir/none.db"
has "says so" 'no such database'
expect 3 "a FILE cannot be read" "$fd" freshness --store "$db" "$dir/yaml/none.yaml"

echo "$checks checks, $fails failed"
[ "$fails" -eq 0 ] && [ "$checks" -gt 0 ]
