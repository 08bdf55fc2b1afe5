#!/bin/bash
# The manual game-day commands end to end (needs root; exits 77 otherwise):
#   test_cli_inject.sh FIREDRILL_BINARY
# `firedrill inject --detach` of a scenario scoped to a namespace this test
# creates (fdt-injcli-a, veth to fdt-injcli-b, 10.250.4.0/24 and
# fd00:250:4::/64), `firedrill status --json` while it holds, `firedrill
# revert` twice (idempotent). Afterwards the namespace's nft ruleset is
# empty, its routes are as before, the holder is gone and every journal row
# is reverted. Reads JSON with sqlite3's json functions (sqlite3 is a
# dependency, scripts/install-deps.sh). Never asserts on timing.
set -u

FD=${1:?usage: test_cli_inject.sh FIREDRILL_BINARY}
A=fdt-injcli-a
B=fdt-injcli-b
DIR=$(mktemp -d /tmp/fdt-injcli.XXXXXX)
DB="$DIR/firedrill.db"
SCEN="$DIR/scenario.yaml"
FAILS=0

skip() { echo "SKIP: $*"; rm -rf "$DIR"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root"
command -v ip >/dev/null || skip "needs iproute2"
command -v nft >/dev/null || skip "needs nft (to look at the ruleset)"
command -v sqlite3 >/dev/null || skip "needs the sqlite3 shell"
[ -x "$FD" ] || skip "no firedrill binary at $FD"

cleanup() {
	"$FD" --db "$DB" revert >/dev/null 2>&1
	[ -n "${LISTENER:-}" ] && kill "$LISTENER" 2>/dev/null
	[ -n "${HOLDER:-}" ] && kill -0 "$HOLDER" 2>/dev/null && kill -KILL "$HOLDER"
	ip netns del $A 2>/dev/null
	ip netns del $B 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT

ok() { echo "ok - $*"; }
fail() { echo "FAIL - $*"; FAILS=$((FAILS + 1)); }
check() { # check DESCRIPTION COMMAND...
	local what=$1; shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}
# sql JSON_TEXT QUERY: runs QUERY with the JSON as table j (json_each).
sql_json() {
	local json=${1//\'/\'\'}
	sqlite3 :memory: "WITH j AS (SELECT value FROM json_each('$json')) $2"
}
state_of_a() {
	ip netns exec $A sh -c 'nft list ruleset; ip route; ip -6 route' 2>&1
}
# connect_a ADDR PORT: 0 when a TCP connection from namespace A succeeds within 1 s.
connect_a() {
	ip netns exec $A timeout 1 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

ip netns del $A 2>/dev/null; ip netns del $B 2>/dev/null
ip netns add $A && ip netns add $B || skip "cannot create network namespaces"
ip -n $A link add va type veth peer name vb netns $B
ip -n $A addr add 10.250.4.1/24 dev va
ip -n $A addr add fd00:250:4::1/64 dev va nodad
ip -n $B addr add 10.250.4.2/24 dev vb
ip -n $B addr add fd00:250:4::2/64 dev vb nodad
for ns in $A $B; do ip -n $ns link set lo up; done
ip -n $A link set va up && ip -n $B link set vb up
# Something to connect to in B, if a tool for it is at hand (the C tests
# cover connectivity in depth; here it is a sanity check). Without python3
# the traffic checks say "skipped"; with it, a listener that never answers
# is a failure, never a silent skip.
LISTENER=
if command -v python3 >/dev/null; then
	ip netns exec $B python3 -c 'import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.250.4.2", 80)); s.listen(64)
while True: s.accept()[0].close()' &
	LISTENER=$!
fi

cat >"$SCEN" <<EOF
name: cli-inject-test
scope:
  netns: $A
faults:
  - id: peer
    kind: drop
    duration: 2m
    targets:
      cidrs: [10.250.4.2/32, "fd00:250:4::2/128"]
      protocol: tcp
      ports: [80]
  - id: route
    kind: blackhole-route
    duration: 2m
    targets:
      cidrs: [10.250.44.0/24]
probes:
  - id: peer
    interval: 1s
    tcp: { host: 10.250.4.2, port: 80 }
recovery:
  all: [peer]
  stable-for: 1s
  timeout: 1m
EOF

BEFORE=$(state_of_a)
HOST_TABLES=$(nft list tables 2>&1)
CAN_CONNECT=no
for ((i = 0; i < 50 && ${#LISTENER} > 0; i++)); do # python may take a while to start
	connect_a 10.250.4.2 80 && CAN_CONNECT=yes && break
	sleep 0.1
done
if [ -z "$LISTENER" ]; then
	echo "skipped - traffic checks (target dropped, answers again): python3 is not installed"
else
	check "the listener in $B answers before the inject" [ $CAN_CONNECT = yes ]
fi

OUT=$("$FD" --db "$DB" inject "$SCEN" --detach 2>&1)
RC=$?
echo "$OUT" | sed 's/^/# /'
check "inject --detach exits 0" [ $RC -eq 0 ]
check "inject names both faults" bash -c 'grep -qw peer <<<"$1" && grep -qw route <<<"$1"' _ "$OUT"

STATUS=$("$FD" --db "$DB" status --json 2>&1)
echo "$STATUS" | sed 's/^/# /'
check "status --json lists 2 applied faults" \
	[ "$(sql_json "$STATUS" "SELECT count(*) FROM j WHERE json_extract(value, '\$.state') = 'applied'")" = 2 ]
check "status --json: both in namespace $A" \
	[ "$(sql_json "$STATUS" "SELECT count(*) FROM j WHERE json_extract(value, '\$.netns') = '$A'")" = 2 ]
check "status --json: time left for both" \
	[ "$(sql_json "$STATUS" "SELECT count(*) FROM j WHERE json_extract(value, '\$.time_left_ms') > 0")" = 2 ]
HOLDER=$(sql_json "$STATUS" "SELECT DISTINCT json_extract(value, '\$.holder_pid') FROM j")
check "one live holder process ($HOLDER)" kill -0 "${HOLDER:-0}"
check "nft table inet firedrill in $A" grep -q "table inet firedrill" <<<"$(state_of_a)"
check "blackhole route in $A" grep -q "blackhole 10.250.44.0/24" <<<"$(state_of_a)"
check "the host's own nft tables untouched" [ "$(nft list tables 2>&1)" = "$HOST_TABLES" ]
# Whenever there is a listener (one that never answered already failed above).
if [ -n "$LISTENER" ]; then
	if connect_a 10.250.4.2 80; then fail "the target is dropped"; else ok "the target is dropped"; fi
fi

OUT=$("$FD" --db "$DB" revert 2>&1)
RC=$?
echo "$OUT" | sed 's/^/# /'
check "revert exits 0" [ $RC -eq 0 ]
for ((i = 0; i < 100; i++)); do kill -0 "$HOLDER" 2>/dev/null || break; sleep 0.05; done
check "the holder is gone" bash -c '[ -n "$1" ] && ! kill -0 "$1" 2>/dev/null' _ "$HOLDER"
check "nft ruleset of $A is empty" [ -z "$(ip netns exec $A nft list ruleset)" ]
check "namespace $A as before (ruleset, routes)" [ "$(state_of_a)" = "$BEFORE" ]
if [ -n "$LISTENER" ]; then
	check "the target answers again" connect_a 10.250.4.2 80
else
	echo "skipped: the target answers again (no listener: counted as a failure above)"
fi

OUT=$("$FD" --db "$DB" revert 2>&1)
RC=$?
echo "$OUT" | sed 's/^/# /'
check "second revert exits 0 (idempotent)" [ $RC -eq 0 ]
check "namespace $A still as before" [ "$(state_of_a)" = "$BEFORE" ]
STATUS=$("$FD" --db "$DB" status --json 2>&1)
check "status --json lists nothing" [ "$(sql_json "$STATUS" "SELECT count(*) FROM j")" = 0 ]
check "every journal row is reverted" \
	[ "$(sqlite3 "$DB" "SELECT group_concat(DISTINCT state) || ':' || count(*) FROM faults")" = "reverted:2" ]

# A holder and its guardian both SIGKILLed leave their faults behind (rows
# still applied); the next `firedrill run` reverts them before it injects
# and records a "reverted-leftover" event per row.
OUT=$("$FD" --db "$DB" inject "$SCEN" --detach 2>&1)
check "inject --detach again exits 0" [ $? -eq 0 ]
STATUS=$("$FD" --db "$DB" status --json 2>&1)
HOLDER=$(sql_json "$STATUS" "SELECT DISTINCT json_extract(value, '\$.holder_pid') FROM j")
GUARDIAN=$(ps -o pid= --ppid "${HOLDER:-0}" | tr -d ' ' | head -n 1)
check "the holder's guardian is running ($GUARDIAN)" \
	grep -q firedrill-guardian "/proc/${GUARDIAN:-0}/cmdline"
# (no guardian or holder found is a failure counted by the checks around)
if [ -n "$GUARDIAN" ] && [ -n "$HOLDER" ]; then
	kill -KILL "$GUARDIAN" "$HOLDER"
fi
for ((i = 0; i < 100; i++)); do kill -0 "$HOLDER" 2>/dev/null || break; sleep 0.05; done
# Else the route below would still be there only because its holder is alive.
check "the holder ($HOLDER) died of the SIGKILL" bash -c '[ -n "$1" ] && ! kill -0 "$1" 2>/dev/null' _ "$HOLDER"
check "leftover: the blackhole route outlived its holder" \
	grep -q "blackhole 10.250.44.0/24" <<<"$(state_of_a)"
RUN="$DIR/run.yaml"
cat >"$RUN" <<EOF
name: cli-leftover-test
scope:
  netns: $A
faults:
  - id: other-route
    kind: blackhole-route
    duration: 2s
    targets:
      cidrs: [10.250.45.0/24]
probes:
  - id: peer
    interval: 200ms
    tcp: { host: 10.250.4.2, port: 80 }
recovery:
  all: [peer]
  stable-for: 200ms
  timeout: 5s
EOF
OUT=$("$FD" --db "$DB" run "$RUN" 2>&1)
echo "$OUT" | tail -n 5 | sed 's/^/# /'
check "run reverted both leftover rows of the dead holder (events)" \
	[ "$(sqlite3 "$DB" "SELECT count(*) FROM events WHERE kind = 'reverted-leftover' AND detail LIKE '%dead holder pid $HOLDER %'")" = 2 ]
check "no journal row left active" \
	[ "$(sqlite3 "$DB" "SELECT count(*) FROM faults WHERE state IN ('planned', 'applied')")" = 0 ]
check "namespace $A as before after the drill" [ "$(state_of_a)" = "$BEFORE" ]

[ $FAILS -eq 0 ] && echo "all passed" || echo "$FAILS failed"
[ $FAILS -eq 0 ]
