#!/bin/sh
# firedrill report metrics through the CLI, checked by Prometheus' own
# linter (promtool check metrics, Debian package prometheus): every store
# seed_store makes (plain, with objectives, freshness cases, hostile
# strings), -o FILE.prom, label sets bounded to {scenario, environment},
# and usage errors. Prints "skipped: ..." and exits 77 without promtool.
#   test_metrics_cli.sh FIREDRILL SEED_STORE
set -u
fd=$1
seed=$2
if ! command -v promtool >/dev/null 2>&1; then
	echo "skipped: promtool not found (apt-get install prometheus)"
	exit 77
fi
dir=$(mktemp -d /tmp/fdt-metrics-XXXXXX)
trap 'rm -rf "$dir"' EXIT INT TERM
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

check() { # NAME DB: metrics to stdout pass promtool, one label set per series
	"$fd" --db "$2" report metrics >"$dir/$1.prom" 2>"$dir/err" || bad "$1: exit $? $(cat "$dir/err")"
	promtool check metrics <"$dir/$1.prom" >"$dir/lint" 2>&1 || bad "$1: promtool: $(cat "$dir/lint")"
	[ -s "$dir/lint" ] && bad "$1: promtool says: $(cat "$dir/lint")"
	# every labelled sample has exactly scenario= and environment=
	grep -v '^#' "$dir/$1.prom" | grep '{' | grep -v '^[a-z_]*{scenario="[^"]*\(\\.[^"]*\)*",environment=".*"} [-0-9.e+]*$' >"$dir/odd"
	[ -s "$dir/odd" ] && bad "$1: samples with other labels: $(head -3 "$dir/odd")"
	series=$(grep -c '^firedrill_drills{' "$dir/$1.prom")
	[ "$(grep '^firedrill_scenarios ' "$dir/$1.prom" | cut -d' ' -f2)" = "$series" ] ||
		bad "$1: firedrill_scenarios is not the number of series ($series)"
	echo "ok: $1 ($series series)"
}

"$seed" "$dir/more.db" more >/dev/null || { echo "seeding failed"; exit 1; }
check more "$dir/more.db"
grep -q '^firedrill_last_rto_seconds{scenario="cli-more",environment="test"} 3$' "$dir/more.prom" ||
	bad "more: RTO median 3 s"
grep -q '^firedrill_rto_objective_seconds{scenario="cli-more",environment="test"} 120$' "$dir/more.prom" ||
	bad "more: RTO objective 120 s"
grep -q '^firedrill_last_rto_seconds{scenario="cli-test"' "$dir/more.prom" &&
	bad "more: cli-test's last drill did not recover, yet has an RTO sample"

mkdir "$dir/fresh"
"$seed" "$dir/fresh.db" fresh "$dir/fresh" >/dev/null || { echo "seeding failed"; exit 1; }
check fresh "$dir/fresh.db"
grep -q '^firedrill_plan_stale{scenario="stale-one",environment="prod"} 1$' "$dir/fresh.prom" ||
	bad "fresh: stale-one is stale"
grep -q '^firedrill_plan_stale{scenario="nop",environment="dr"} 0$' "$dir/fresh.prom" ||
	bad "fresh: nop (no prove-every) is never stale"
grep -q '^firedrill_last_proven_timestamp_seconds{scenario="stale-one",environment="prod"} 1779580800$' \
	"$dir/fresh.prom" || bad "fresh: stale-one last proven T-100d"
grep -q '^firedrill_last_proven_timestamp_seconds{scenario="nop"' "$dir/fresh.prom" &&
	bad "fresh: nop was never proven, yet has a timestamp"
grep -q '^firedrill_prove_every_seconds{scenario="fresh-one",environment="prod"} 7776000$' \
	"$dir/fresh.prom" || bad "fresh: prove-every 90d"

"$seed" "$dir/long.db" long >/dev/null || { echo "seeding failed"; exit 1; }
check long "$dir/long.db"
grep -q 'environment="staging <eu>"' "$dir/long.prom" || bad "long: environment label"

# -o FILE.prom (written beside, then renamed: the textfile collector never reads half)
"$fd" --db "$dir/more.db" report metrics -o "$dir/out.prom" || bad "-o: exit $?"
grep -v generated_timestamp "$dir/out.prom" >"$dir/a"
grep -v generated_timestamp "$dir/more.prom" >"$dir/b"
cmp -s "$dir/a" "$dir/b" || bad "-o FILE differs from stdout"
[ -e "$dir/out.prom.tmp" ] && bad "-o left its .tmp"
"$fd" --db "$dir/more.db" report metrics --scenario cli-more >"$dir/one.prom" || bad "--scenario: exit $?"
grep -q 'scenario="cli-test"' "$dir/one.prom" && bad "--scenario cli-more shows cli-test"

"$fd" --db "$dir/more.db" report metrics --format html >/dev/null 2>&1
[ $? -eq 2 ] || bad "--format html: want exit 2"
"$fd" --db "$dir/more.db" report metrics extra >/dev/null 2>&1
[ $? -eq 2 ] || bad "extra argument: want exit 2"
"$fd" --db "$dir/more.db" report trend --format metrics >/dev/null 2>&1
[ $? -eq 2 ] || bad "trend --format metrics: want exit 2"

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
