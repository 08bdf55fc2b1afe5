#!/bin/sh
# The shipped systemd units (contrib/systemd, docs/scheduling.md), as meson
# generated them: systemd-analyze verify finds nothing to say about an
# instance of the service and of the timer, neither in a copy whose
# ExecStart names the built binary (the only line that differs) nor in the
# real units (where the only thing it may say is that the installed binary
# is not there yet); an invalid key and an invalid value in a copy are
# caught (the check can fail); the bounding set is exactly common/fd_priv.c's keep[]; no
# MemoryDenyWriteExecute while the scorer uses PCRE2's JIT; and, where this
# systemd has it, `systemd-analyze security --offline=yes` rates the
# service at or under MAX_EXPOSURE (docs/scheduling.md records the figure).
# usage: test_systemd_units.sh FIREDRILL SERVICE TIMER SOURCE_ROOT
set -u
fd=$1
service=$2
timer=$3
src=$4
MAX_EXPOSURE=5.0
fails=0
checks=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { checks=$((checks + 1)); }
command -v systemd-analyze >/dev/null ||
	{ echo "skipped: systemd-analyze missing (Debian package systemd; scripts/install-deps.sh installs it)"; exit 77; }
tmp=$(mktemp -d /tmp/fdt-systemd-XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM

svc_name=$(basename "$service")   # firedrill-drill@.service
tmr_name=$(basename "$timer")
inst_svc=${svc_name%@.service}@region-a.service
inst_tmr=${tmr_name%@.timer}@region-a.timer

# verify DIR: systemd-analyze verify on region-a's service and timer in DIR,
# its whole output in $tmp/out, its exit status in $vrc.
verify() {
	systemd-analyze verify --man=no "$1/$inst_svc" "$1/$inst_tmr" >"$tmp/out" 2>&1
	vrc=$?
}

# ---- the test copy: ExecStart names the built binary -------------------------
installed=$(sed -n 's/^ExecStart=\([^ ]*\) .*/\1/p' "$service")
check
case "$installed" in
/*/firedrill) ;;
*) bad "ExecStart does not start with an absolute .../firedrill: '$installed'" ;;
esac
mkdir "$tmp/copy" "$tmp/broken"
sed "s#^ExecStart=$installed #ExecStart=$fd #" "$service" >"$tmp/copy/$svc_name"
cp "$timer" "$tmp/copy/$tmr_name"
check
n=$(diff "$service" "$tmp/copy/$svc_name" | grep -c '^>')
[ "$n" = 1 ] || bad "the test copy differs from the real service in $n lines, not 1 (ExecStart)"
check
verify "$tmp/copy"
{ [ "$vrc" = 0 ] && [ ! -s "$tmp/out" ]; } ||
	bad "verify of the test copy: exit $vrc: $(cat "$tmp/out")"

# ---- the real units ----------------------------------------------------------
check
verify "$(dirname "$service")"
if [ -x "$installed" ]; then
	{ [ "$vrc" = 0 ] && [ ! -s "$tmp/out" ]; } || bad "verify of the real units: exit $vrc: $(cat "$tmp/out")"
else
	# The one thing verify may say: the binary is not installed yet.
	grep -v "Command $installed is not executable: No such file or directory" "$tmp/out" >"$tmp/rest"
	[ ! -s "$tmp/rest" ] || bad "verify of the real units: $(cat "$tmp/rest")"
	echo "note: $installed is not installed: verify of the real units allowed that one complaint"
fi

# ---- the check can fail: an invalid key, then an invalid value ----------------
cp "$timer" "$tmp/broken/$tmr_name"
sed 's/^Type=oneshot$/Type=oneshot\nProtectSystm=strict/' "$tmp/copy/$svc_name" >"$tmp/broken/$svc_name"
check
verify "$tmp/broken"
grep -q "Unknown key 'ProtectSystm'" "$tmp/out" || bad "verify did not catch an invalid key: $(cat "$tmp/out")"
sed 's/^ProtectSystem=strict$/ProtectSystem=strictly/' "$tmp/copy/$svc_name" >"$tmp/broken/$svc_name"
check
verify "$tmp/broken"
grep -q "Failed to parse protect system value" "$tmp/out" || bad "verify did not catch an invalid value: $(cat "$tmp/out")"

# ---- the bounding set is common/fd_priv.c's keep[] ----------------------------
# (verify says nothing of a misspelt capability: systemd drops unknown names
# without a word, so this comparison is what catches one.)
caps() { grep '^CapabilityBoundingSet=' "$1" | sed 's/^CapabilityBoundingSet=//' | tr ' ' '\n' | sort; }
sed -n '/^static const int keep\[\]/,/};/p' "$src/common/fd_priv.c" | grep -o 'CAP_[A-Z_]*' | sort >"$tmp/keep"
check
[ "$(wc -l <"$tmp/keep")" -ge 5 ] || bad "no keep[] found in common/fd_priv.c"
check
caps "$service" | diff "$tmp/keep" - >"$tmp/out" ||
	bad "CapabilityBoundingSet is not fd_priv.c's keep[] (< keep, > unit): $(cat "$tmp/out")"
check
sed 's/^CapabilityBoundingSet=CAP_KILL$/CapabilityBoundingSet=CAP_KIL/' "$service" >"$tmp/broken/caps"
caps "$tmp/broken/caps" | diff "$tmp/keep" - >/dev/null && bad "a misspelt capability went unnoticed"
check
grep -q '^AmbientCapabilities=' "$service" && bad "the service grants ambient capabilities"
check
if grep -rq 'pcre2_jit_compile' "$src/scorer"; then
	grep -q '^MemoryDenyWriteExecute=yes' "$service" &&
		bad "MemoryDenyWriteExecute=yes while scorer/ JIT-compiles PCRE2 regexes"
fi

# ---- the timer ------------------------------------------------------------------
check
cal=$(sed -n 's/^OnCalendar=//p' "$timer")
[ -n "$cal" ] && systemd-analyze calendar "$cal" >"$tmp/out" 2>&1 ||
	bad "OnCalendar '$cal': $(cat "$tmp/out")"
check
grep -q '^Persistent=true$' "$timer" && grep -q '^RandomizedDelaySec=' "$timer" ||
	bad "the timer lacks Persistent=true or RandomizedDelaySec="

# ---- exposure ---------------------------------------------------------------------
if systemd-analyze security --help 2>&1 | grep -q -- '--offline'; then
	check
	systemd-analyze security --offline=yes "$tmp/copy/$inst_svc" >"$tmp/sec" 2>&1
	score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) .*/\1/p' "$tmp/sec")
	if [ -z "$score" ]; then
		bad "no exposure level in: $(tail -5 "$tmp/sec")"
	else
		echo "exposure: $(grep 'Overall exposure' "$tmp/sec" | sed 's/^→ //')"
		awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s <= m) }' ||
			bad "exposure $score is over $MAX_EXPOSURE: $(grep '✗' "$tmp/sec")"
	fi
else
	echo "skipped: exposure (this systemd-analyze has no security --offline)"
fi

echo "$checks checks, $fails failure(s)"
[ "$fails" -eq 0 ]
