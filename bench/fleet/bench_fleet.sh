#!/bin/bash
# Fleet drills over real OpenSSH: how T0's spread and the apply time grow
# with the fleet (issue 14). As root, with openssh-server installed:
#   bench/fleet/bench_fleet.sh [RUNS] build/cli/firedrill
# For 1, 3 and 10 hosts (network namespaces on a bridge, each with its own
# sshd: tests/integration/fleet/fleet_lab.sh), RUNS drills (default 5) of a
# drop on every host; prints the median and the range of:
#   spread   the last host's confirmation - the first's (coordinator clock)
#   apply    T0 - the start of the inject phase (apply sent to all, all
#            confirmations read)
#   setup    the whole `firedrill run` minus its watch: ssh to every host,
#            hello, prepare everywhere, apply, revert, bye (wall clock of
#            the process, which never fails on time)
# Never fails on time; exits 77 when it cannot run.
set -u
RUNS=5
[ $# -ge 2 ] && { RUNS=$1; shift; }
FD=${1:?usage: bench_fleet.sh [RUNS] FIREDRILL_BINARY}
skip() { echo "skipped: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root"
[ -x /usr/sbin/sshd ] || skip "no /usr/sbin/sshd (apt-get install openssh-server)"
command -v sqlite3 >/dev/null || skip "needs the sqlite3 shell"
FD=$(readlink -f "$FD")
HERE=$(cd "$(dirname "$0")" && pwd)
LAB=$HERE/../../tests/integration/fleet/fleet_lab.sh
[ -f "$LAB" ] || skip "no $LAB"

median_range() { # numbers on stdin -> "median (min-max)"
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit }
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.2f (%.2f-%.2f)", m, v[1], v[NR] }'
}

printf "%-6s %-26s %-26s %-26s\n" hosts "spread ms" "apply ms" "run ms (setup+revert)"
for N in 1 3 10; do
	DIR=$(mktemp -d /tmp/fdt-flbench.XXXXXX)
	TAG=b$$
	NET=10.250.41
	# shellcheck source=/dev/null
	. "$LAB"
	trap 'fleet_down; rm -rf "$DIR"' EXIT
	fleet_up "$N" >/dev/null || { echo "$N hosts: the fleet does not come up"; fleet_down; rm -rf "$DIR"; continue; }
	fleet_inventory "$DIR/inv.yaml" 10s
	cat >"$DIR/s.yaml" <<EOF
name: fleet-bench
probes:
  - id: p
    interval: 100ms
    command: { run: "true" }
faults:
  - id: drop
    kind: drop
    duration: 1m
    on: group:app
    targets: { cidrs: [10.250.99.0/24] }
recovery:
  all: [p]
  timeout: 30s
EOF
	: >"$DIR/spread"; : >"$DIR/apply"; : >"$DIR/run"
	for r in $(seq "$RUNS"); do
		t=$(date +%s%N)
		ip netns exec "$FL_C" "$FD" -q --db "$DIR/c.db" --inventory "$DIR/inv.yaml" run "$DIR/s.yaml" \
			>/dev/null 2>"$DIR/err" || { echo "run $r: $(tail -1 "$DIR/err")"; continue; }
		awk -v ns="$(($(date +%s%N) - t))" 'BEGIN { print ns / 1e6 }' >>"$DIR/run"
		sqlite3 "$DIR/c.db" "select (max(mono_ns) - min(mono_ns)) / 1e6 from events
			where kind = 'host-applied' and drill_id = (select max(id) from drills)" >>"$DIR/spread"
		sqlite3 "$DIR/c.db" "select ((select mono_ns from events where kind = 'fleet-spread' and drill_id = d)
			- (select mono_ns from events where kind = 'phase' and subject = 'inject' and drill_id = d)) / 1e6
			from (select max(id) as d from drills)" >>"$DIR/apply"
	done
	# the watch is the stable-for of 0 s plus the probe's first answer;
	# run - watch is what the fleet costs around the drill
	printf "%-6s %-26s %-26s %-26s\n" "$N" "$(median_range <"$DIR/spread")" \
		"$(median_range <"$DIR/apply")" "$(median_range <"$DIR/run")"
	fleet_down
	rm -rf "$DIR"
	trap - EXIT
done
