#!/bin/bash
# Integration test of the built-in lab (needs root; exits 77 otherwise).
#   lab_test.sh FIREDRILL_BINARY
# Brings the lab up (twice: idempotent), checks the front door, replication
# after the lag, a failover caused WITHOUT firedrill's injector (an nft drop
# of region A that this script adds in fdlab-client and removes itself),
# the truth log, lost writes, reset, and that `lab down` (twice) leaves no
# namespace, process or state file. Never asserts on timing thresholds:
# waits are generous upper bounds that only catch "never happens".
set -u

FD=${1:?usage: lab_test.sh FIREDRILL_BINARY}
DIR=$(mktemp -d /tmp/fdt-lab.XXXXXX)
STATE="$DIR/state"
C="ip netns exec fdlab-client"
FRONT=http://10.66.0.1:8080
FAILS=0
BLOCKED=""

skip() { echo "SKIP: $*"; rm -rf "$DIR"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root"
command -v ip >/dev/null || skip "needs iproute2"
command -v curl >/dev/null || skip "needs curl"
[ -x "$FD" ] || skip "no firedrill binary at $FD"
ip netns list 2>/dev/null | grep -q '^fdlab-' && skip "a lab is already up (fdlab-* namespaces exist)"

cleanup() {
	[ -n "$BLOCKED" ] && unblock_a
	"$FD" lab down --state-dir "$STATE" >/dev/null 2>&1
	rm -rf "$DIR"
}
trap cleanup EXIT

ok() { echo "ok - $*"; }
fail() { echo "FAIL - $*"; FAILS=$((FAILS + 1)); }
check() { # check DESCRIPTION COMMAND...
	local what=$1; shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}

# curl from the client namespace; prints the body.
get() { $C curl -s -m 3 "$@" 2>/dev/null; }
# Waits up to $1 s for `get $2` to contain $3.
wait_for() {
	local secs=$1 url=$2 want=$3 i
	for ((i = 0; i < secs * 20; i++)); do
		get "$url" | grep -qF -- "$want" && return 0
		sleep 0.05
	done
	return 1
}
status_json() { "$FD" lab status --json --state-dir "$STATE"; }

block_a() {
	if command -v nft >/dev/null; then
		$C nft add table ip fdt_lab &&
		$C nft add chain ip fdt_lab out '{ type filter hook output priority 0; }' &&
		$C nft add rule ip fdt_lab out ip daddr 10.66.1.0/24 drop && BLOCKED=nft
	else
		$C ip route add blackhole 10.66.1.0/24 && BLOCKED=route
	fi
}
unblock_a() {
	if [ "$BLOCKED" = nft ]; then $C nft delete table ip fdt_lab; else $C ip route del blackhole 10.66.1.0/24; fi
	BLOCKED=""
}
nothing_left() {
	! ip netns list | grep -q '^fdlab-' &&
	! pgrep -f "lab serve --role [a-z]* --state-dir $STATE" >/dev/null &&
	[ ! -e "$STATE" ]
}

# ---- up, idempotent ---------------------------------------------------------
check "lab up" "$FD" -q lab up --state-dir "$STATE" --check-interval 100ms \
	--failure-threshold 3 --replication-lag 300ms
pids1=$(cat "$STATE"/*.pid 2>/dev/null | tr '\n' ' ')
check "lab up again is a no-op" "$FD" -q lab up --state-dir "$STATE" --check-interval 100ms \
	--failure-threshold 3 --replication-lag 300ms
pids2=$(cat "$STATE"/*.pid 2>/dev/null | tr '\n' ' ')
check "same services after the second up ($pids1)" test "$pids1" = "$pids2"
check "status says up" bash -c "'$FD' lab status --json --state-dir '$STATE' | grep -q '\"up\": true'"
for ns in fdlab-a fdlab-b fdlab-client fdlab-core; do
	check "namespace $ns exists" test -e "/run/netns/$ns"
done

# ---- front door, writes, replication ----------------------------------------
check "front door /health names region a" wait_for 5 "$FRONT/health" '"region":"a","role":"primary"'
check "B is a standby" wait_for 5 http://10.66.2.10:8080/health '"role":"standby"'
code=$(get -o /dev/null -w '%{http_code}' -X PUT -d hello "$FRONT/kv/k1")
check "write through the front door acknowledged (HTTP $code)" test "$code" = 200
code=$(get -o /dev/null -w '%{http_code}' -X PUT -d nope http://10.66.2.10:8080/kv/k2)
check "the standby refuses writes with 503 (HTTP $code)" test "$code" = 503
check "k1 replicated to B" wait_for 10 http://10.66.2.10:8080/kv/k1 hello
commit=$(grep '"ev":"commit"' "$STATE/truth.log" | grep '"key":"k1"' | sed 's/.*"mono_ns":\([0-9]*\).*/\1/')
apply=$(grep '"ev":"apply"' "$STATE/truth.log" | grep '"key":"k1"' | sed 's/.*"mono_ns":\([0-9]*\).*/\1/')
# The shipper never sends before ack + lag: a guarantee, not a timing threshold.
check "applied on B no earlier than the 300ms lag ($(( (apply - commit) / 1000000 )) ms)" \
	test $((apply - commit)) -ge 300000000
check "blob store in A" bash -c "$C curl -s -m 3 -X PUT -d s3 $FRONT/blob/b1 | grep -q '\"seq\"'"

# ---- the request target reaches the primary as the client sent it ----------
# A's GET /echo answers the query as received and as libmicrohttpd decodes it.
q='x=1&y=a%20b&z=c%26d%2B+e&flag'
direct=$(get "http://10.66.1.10:8080/echo?$q")
via=$(get "$FRONT/echo?$q")
echo "# /echo?$q through the front door: $via"
check "the front door forwards the query string unchanged" test -n "$via" -a "$via" = "$direct"
check "... byte for byte, as sent" grep -qF "\"query\":\"$q\"" <<<"$via"
check "... and A decodes it as the client meant (%26 stays inside z)" \
	grep -qF '"args":[["x","1"],["y","a b"],["z","c&d+ e"],["flag",null]]' <<<"$via"
check "a query does not change the path: GET /kv/k1?x=1" wait_for 5 "$FRONT/kv/k1?x=1" hello
code=$(get -o /dev/null -w '%{http_code}' -X PUT -d spaced "$FRONT/kv/sp%20ace?x=1")
check "a percent-encoded key through the front door (HTTP $code)" test "$code" = 200
check "... is the same key on A" wait_for 5 "http://10.66.1.10:8080/kv/sp%20ace" spaced

# ---- failover, caused without firedrill's injector --------------------------
for i in 1 2 3; do get -o /dev/null -X PUT -d "v$i" "$FRONT/kv/pre-$i"; done
check "block region A from fdlab-client" block_a
check "front door serves from region b after failover" wait_for 20 "$FRONT/health" '"region":"b","role":"primary"'
code=$(get -o /dev/null -w '%{http_code}' -X PUT -d after "$FRONT/kv/after")
check "writes acknowledged by B after failover (HTTP $code)" test "$code" = 200
check "pre-failover write readable on B" wait_for 5 "$FRONT/kv/k1" hello
sj=$(status_json)
failed=$(echo "$sj" | sed -n 's/^ *"failed_mono_ns": \([0-9]*\),*$/\1/p')
promoted=$(echo "$sj" | sed -n 's/^ *"promoted_mono_ns": \([0-9]*\),*$/\1/p')
switched=$(echo "$sj" | sed -n 's/^ *"switched_mono_ns": \([0-9]*\),*$/\1/p')
first_ok=$(echo "$sj" | sed -n 's/^ *"first_ok_mono_ns": \([0-9]*\),*$/\1/p')
check "truth: failure, promotion, switch, first success recorded" \
	test "${failed:-0}" -gt 0 -a "${promoted:-0}" -ge "${failed:-0}" \
	     -a "${switched:-0}" -ge "${promoted:-0}" -a "${first_ok:-0}" -ge "${switched:-0}"
check "truth: new primary b" bash -c "echo '$sj' | grep -q '\"new_primary\": \"b\"'"
echo "# failed -> first ok through the front door: $(( (first_ok - failed) / 1000000 )) ms"
check "status shows primary b" bash -c "echo '$sj' | grep -q '\"primary\": \"b\"'"
check "unblock region A" unblock_a
check "the old primary is fenced (demoted) once reachable" \
	wait_for 10 http://10.66.1.10:8080/health '"role":"demoted"'

# ---- lost writes (replication slower than failover) ------------------------
check "lab reset with a 60s replication lag" "$FD" -q lab reset --state-dir "$STATE" \
	--check-interval 100ms --failure-threshold 2 --replication-lag 60s
check "after reset A is primary again" wait_for 5 "$FRONT/health" '"region":"a","role":"primary"'
acked=0
for i in 1 2 3 4 5; do
	code=$(get -o /dev/null -w '%{http_code}' -X PUT -d "x$i" "$FRONT/kv/lost-$i")
	[ "$code" = 200 ] && acked=$((acked + 1))
done
check "5 writes acknowledged by A ($acked)" test "$acked" = 5
check "block region A again" block_a
check "failover again" wait_for 20 "$FRONT/health" '"region":"b"'
lost=$(status_json | grep -c '"key": "lost-')
check "truth: the 5 unreplicated writes are lost ($lost)" test "$lost" = 5
code=$(get -o /dev/null -w '%{http_code}' "$FRONT/kv/lost-1")
check "a lost write is absent on the new primary (HTTP $code)" test "$code" = 404
unblock_a

# ---- no controller: never recovers ------------------------------------------
check "lab reset --no-controller" "$FD" -q lab reset --state-dir "$STATE" --no-controller \
	--check-interval 100ms
check "block region A (no controller)" block_a
sleep 1
check "the front door still points at A" bash -c "'$FD' lab status --json --state-dir '$STATE' | grep -q '\"primary\": \"a\"'"
code=$(get -o /dev/null -w '%{http_code}' "$FRONT/health")
check "front door fails while A is blocked (HTTP $code)" test "$code" != 200
unblock_a

# ---- down, idempotent, privileges -------------------------------------------
check "lab down" "$FD" -q lab down --state-dir "$STATE"
check "nothing left (namespaces, processes, state dir)" nothing_left
check "lab down again is harmless" "$FD" -q lab down --state-dir "$STATE"
if command -v setpriv >/dev/null; then
	setpriv --reuid 65534 --regid 65534 --clear-groups "$FD" lab up --state-dir "$DIR/nobody" 2>/dev/null
	rc=$?
	check "lab up without root exits 3 (got $rc)" test "$rc" = 3
else
	echo "skipped - lab up without root: setpriv (util-linux) is not installed"
fi

[ "$FAILS" -eq 0 ] && echo "all lab checks passed" && exit 0
echo "$FAILS lab checks failed"
exit 1
