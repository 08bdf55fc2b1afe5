#!/bin/sh
# Least privilege, read off /proc while a real drill runs (docs/drill.md,
# "Who holds what capabilities, when"). A drop fault inside a namespace the
# test makes; a command probe writes its own capability sets and those of
# its parent (the drill process) while the drill watches; a runbook step
# writes its own. Checked:
#   - the probe holds nothing (CapEff, CapPrm, CapBnd all 0);
#   - the drill process, while probing, has no NET_ADMIN, KILL or SYS_ADMIN
#     effective, and has dropped e.g. SYS_MODULE from its permitted set;
#   - the runbook step (the team's own command) still has NET_ADMIN;
#   - the fault was applied and reverted: the namespace's ruleset is empty.
# usage: test_drill_priv.sh FIREDRILL   (root; exit 77 otherwise)
set -u
fd=$1
[ "$(id -u)" -eq 0 ] || { echo "skipped: needs root (capabilities to drop)"; exit 77; }
ns=fdt-priv
tmp=$(mktemp -d)
cleanup() { ip netns del "$ns" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM
fails=0
checks=0
check() { # DESCRIPTION CONDITION...
	what=$1; shift
	checks=$((checks + 1))
	if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fails=$((fails + 1)); fi
}
ip netns add "$ns" && ip -n "$ns" link set lo up || { echo "FAIL: cannot make $ns"; exit 1; }

cat >"$tmp/priv.yaml" <<YAML
name: priv
environment: test
scope: { netns: $ns }
faults:
  - id: cut
    kind: drop
    duration: 30s
    targets: { cidrs: [10.250.77.2/32], ports: [9] }
probes:
  - id: caps
    interval: 100ms
    timeout: 2s
    command: { run: "grep ^Cap /proc/\$PPID/status >$tmp/parent.new && mv $tmp/parent.new $tmp/parent; grep ^Cap /proc/self/status >$tmp/self" }
steady-state:
  probes: [caps]
recovery:
  all: [caps]
  stable-for: 500ms
  timeout: 10s
  steps:
    - { name: read own caps, run: "grep ^Cap /proc/self/status >$tmp/step", timeout: 5s }
YAML

"$fd" --db "$tmp/d.db" -q run "$tmp/priv.yaml" >"$tmp/out" 2>&1
rc=$?
check "the drill ran (exit $rc: $(head -c 300 "$tmp/out"))" [ "$rc" -le 1 ]

# hex of a /proc/PID/status line; bit N set?
cap() { awk -v k="$2:" '$1 == k { print $2 }' "$1" 2>/dev/null; }
has() { [ -n "$1" ] && [ $(( (0x$1 >> $2) & 1 )) -eq 1 ]; }
zero() { [ -n "$1" ] && [ $((0x$1)) -eq 0 ]; }
lacks() { [ -n "$1" ] && [ $(( (0x$1 >> $2) & 1 )) -eq 0 ]; }

check "probe: CapEff 0 ($(cap "$tmp/self" CapEff))" zero "$(cap "$tmp/self" CapEff)"
check "probe: CapPrm 0" zero "$(cap "$tmp/self" CapPrm)"
check "probe: CapBnd 0 (a root shell gets nothing back)" zero "$(cap "$tmp/self" CapBnd)"
eff=$(cap "$tmp/parent" CapEff); prm=$(cap "$tmp/parent" CapPrm)
echo "drill process while probing: CapEff $eff CapPrm $prm"
check "drill process: no NET_ADMIN (12) effective" lacks "$eff" 12
check "drill process: no KILL (5) effective" lacks "$eff" 5
check "drill process: no SYS_ADMIN (21) effective" lacks "$eff" 21
check "drill process: SYS_MODULE (16) no longer permitted" lacks "$prm" 16
check "drill process: NET_ADMIN still permitted (revert needs it)" has "$prm" 12
check "runbook step: NET_ADMIN effective ($(cap "$tmp/step" CapEff))" has "$(cap "$tmp/step" CapEff)" 12
sqlite3 "$tmp/d.db" "select state from faults" >"$tmp/states" 2>&1
check "the fault was applied and reverted ($(tr '\n' ' ' <"$tmp/states"))" grep -qx reverted "$tmp/states"
check "nothing left in $ns's ruleset" sh -c "[ -z \"\$(ip netns exec $ns nft list ruleset)\" ]"

echo "$checks checks, $fails failed"
[ "$fails" -eq 0 ]
