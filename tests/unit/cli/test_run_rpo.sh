#!/bin/sh
# RPO through a whole `firedrill run` (an exec fault and command probes:
# no privileges, nothing outside the test's folder): the canary writes for
# rpo.canary.lead-in before the fault is applied; a read-back that cannot
# connect (exits 2, as psql does on connection refused, with 2 named in
# no-answer-exit) leaves the RPO unknown and loses nothing, and its detail
# keeps the exit status and stderr; the same read without no-answer-exit is
# a "no": every write lost. An RPO query that returns a record after T0
# leaves the RPO unknown; one templated with {{t0}} gives 0 (under 1 us).
# usage: test_run_rpo.sh FIREDRILL SOURCE_ROOT
set -u
fd=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0
checks=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { checks=$((checks + 1)); }
command -v python3 >/dev/null || { echo "skipped: python3 missing (scripts/install-deps.sh installs it)"; exit 77; }
cd "$tmp" || exit 1

scenario() { # NAME LEAD_IN READ [READ_EXTRA]
	cat >"$1.yaml" <<YAML
name: $1
environment: unit
faults:
  - { id: hook, kind: exec, duration: 10s, inject: "date +%s%N > injected-$1", revert: "true" }
probes:
  - { id: self, interval: 50ms, command: { run: "true" } }
steady-state: { probes: [self] }
recovery: { all: [self], timeout: 5s }
rpo:
  canary:
    interval: 100ms
    $2
    write: { run: "date +%s%N >> writes-$1" }
    read: { run: "$3"${4-} }
YAML
}
run() { FIREDRILL_RUN_DIR=$tmp/run "$fd" --db "$tmp/rpo.db" run "$1.yaml" >"$1.out" 2>&1; }

# lead-in: the first canary write starts 2.5 s before the fault (a lower bound only)
scenario lead "lead-in: 2500ms" "true"
run lead || bad "lead: exit $? $(cat lead.out)"
check
gap=$(python3 -c 'import sys; print((int(open(sys.argv[2]).read()) - int(open(sys.argv[1]).readline())) // 1000000)' \
	writes-lead injected-lead 2>/dev/null) || gap=-1
[ "$gap" -ge 2000 ] || bad "lead-in 2500ms: first write only $gap ms before the inject"
check
grep -q "RPO 0 ms, 0 of [0-9]* acknowledged writes lost" lead.out || bad "lead: $(grep rpo lead.out)"

# no answer: RPO unknown, 0 lost, the reason kept
scenario noanswer "" "echo 'psql: error: connection refused' >&2; exit 2" ", no-answer-exit: [2]"
run noanswer || bad "noanswer: exit $? $(cat noanswer.out)"
check
grep -q "RPO unknown, 0 of [1-9][0-9]* acknowledged writes lost" noanswer.out ||
	bad "no answer: $(grep rpo noanswer.out)"
check
grep -q "could not be read back: RPO unknown (3 tries; last: no answer: exit 2: psql: error: connection refused)" noanswer.out ||
	bad "no answer detail: $(grep rpo noanswer.out)"

# the same exit, not named: an answer, and it says no
scenario refused "" "exit 2"
run refused || bad "refused: exit $? $(cat refused.out)"
check
n=$(sed -n 's/.*RPO [0-9.]* [a-z]*, \([0-9]*\) of \1 acknowledged writes lost.*/\1/p' refused.out)
[ -n "$n" ] && [ "$n" -gt 0 ] || bad "refused: want every write lost: $(grep rpo refused.out)"

# the query: a record written after T0 (writers resumed) leaves the RPO
# unknown, never negative; {{t0}} lets the query ask for what was before T0
query() { # NAME RUN
	cat >"$1.yaml" <<YAML
name: $1
environment: unit
faults:
  - { id: hook, kind: exec, duration: 10s, inject: "true", revert: "true" }
probes:
  - { id: self, interval: 50ms, command: { run: "true" } }
recovery: { all: [self], timeout: 5s }
rpo:
  query: { run: "$2" }
YAML
}
query after "date -u +%Y-%m-%dT%H:%M:%S.%NZ"
run after || bad "after: exit $? $(cat after.out)"
check
grep -q "RPO unknown.*after T0 (written after the failover)" after.out || bad "after T0: $(grep rpo after.out)"
check
# a query counts no writes: the line must not claim "0 of 0 lost"
grep -q "RPO unknown (query)" after.out && ! grep -q "acknowledged writes" after.out ||
	bad "query line names writes: $(grep rpo after.out)"
query before "echo '{{t0}}' | sed 's/Z$/-00:00/'"
run before || bad "before: exit $? $(cat before.out)"
check
# T0 is floored to the microsecond: under 1 us, never negative
grep -Eq "rpo read-back: RPO ([0-9]+ ns|0 ms) \\(query\\).*newest record at 20[0-9-]*T[0-9:.]*-00:00" before.out ||
	bad "{{t0}}: $(grep rpo before.out)"

echo "$checks checks, $fails failure(s)"
[ "$fails" -eq 0 ]
