#!/bin/sh
# `firedrill run` with recovery.resolution, end to end through the drill: an
# exec fault hides a file for about 600 ms, a command probe (250 ms
# interval) looks for it. With `resolution: 5ms` the probe samples the
# outage at 5 ms, so the recorded bound is the send gap at recovery, far
# below the 250 ms interval the same drill records without it (run in the
# same invocation). The measured RTO must lie within its bound of the
# instant the file came back (between two `date` stamps around the touch):
# late by less than the bound, early by at most the probe's 400 ms timeout
# (a command sent before the file came back can see it). No privileges, no
# namespace; the background `touch` is waited for.
# usage: test_run_resolution.sh FIREDRILL
set -u
fd=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0
checks=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
command -v python3 >/dev/null || { echo "skipped: python3 missing (scripts/install-deps.sh installs it)"; exit 77; }

scenario() { # NAME RESOLUTION-LINE
	cat >"$tmp/$1.yaml" <<YAML
name: $1
environment: test
faults:
  - id: hide
    kind: exec
    duration: 30s
    inject: "rm -f ok; (sleep 0.6; date +%s.%N >b1; touch ok; date +%s.%N >b2) >/dev/null 2>&1 & echo \$! >bg.pid"
    revert: "touch ok"
probes:
  - id: file
    interval: 250ms
    timeout: 400ms
    command: { run: "test -f ok" }
steady-state:
  probes: [file]
recovery:
  all: [file]
$2
  timeout: 10s
YAML
}
scenario fine "  resolution: 5ms"
scenario coarse ""

cd "$tmp" || exit 1
for s in fine coarse; do
	touch ok
	FIREDRILL_RUN_DIR=$tmp/run "$fd" --db "$tmp/$s.db" -q --json run "$s.yaml" >"$s.json" 2>"$s.err"
	rc=$?
	checks=$((checks + 1))
	[ $rc -eq 0 ] || bad "$s: exit $rc $(cat "$s.err")"
	# the background touch has ended (it touched ok) before anything is read
	pid=$(cat bg.pid 2>/dev/null)
	while [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
	checks=$((checks + 1))
	[ -e ok ] || bad "$s: the file is still hidden"
	cat b1 b2 >"$s.truth" 2>/dev/null
	"$fd" --db "$tmp/$s.db" report evidence 1 --format json >"$s.evidence.json" 2>>"$s.err" ||
		bad "$s: report evidence: exit $?"
done

checks=$((checks + 1))
python3 - "$tmp" <<'PY' || bad "bounds and truth"
import json, sys
d = sys.argv[1]
def it(name):
    return json.load(open(f"{d}/{name}.json"))["iterations"][0]
fine, coarse = it("fine"), it("coarse")
print(f"fine:   rto {fine['rto_ms']:.3f} ms, bound {fine['rto_error_bound_ms']:.3f} ms")
print(f"coarse: rto {coarse['rto_ms']:.3f} ms, bound {coarse['rto_error_bound_ms']:.3f} ms")
ok = True
for name, i in (("fine", fine), ("coarse", coarse)):
    if i["outcome"] != "recovered" or i["rto_ms"] is None:
        print(f"  {name}: {i['outcome']}"); ok = False
if not ok:
    sys.exit(1)
# The late side is the actual send gap back to the last failing send: on the
# 250 ms grid that is the interval, shortened only by that send's lateness.
if coarse["rto_error_bound_ms"] < 200:
    print("  coarse bound is not about the interval"); ok = False
# The send gap at recovery: the resolution unless the loop fell behind by
# more than 245 ms, which the next check would then also show.
if not 0 < fine["rto_error_bound_ms"] < 250:
    print("  fine bound not below the interval"); ok = False
# The truth: the file came back between the two `date` stamps b1 and b2.
# T0 comes from the evidence report (milliseconds, so +-1 ms).
from datetime import datetime
t0s = json.load(open(f"{d}/fine.evidence.json"))["iterations"][0]["t0"]
t0 = datetime.strptime(t0s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=__import__("datetime").timezone.utc).timestamp()
b1, b2 = (float(x) for x in open(f"{d}/fine.truth").read().split())
at = t0 + fine["rto_ms"] / 1000
late_ms, early_ms = (at - b2) * 1000, (b1 - at) * 1000
print(f"fine: the file came back {(b1 - t0) * 1000:.3f}-{(b2 - t0) * 1000:.3f} ms after T0; "
      f"RTO {fine['rto_ms']:.3f} ms")
# Late by less than the send gap (the bound): guaranteed, not timing.
if late_ms > fine["rto_error_bound_ms"] + 1:
    print(f"  late by {late_ms:.3f} ms, beyond the bound"); ok = False
# Early by at most the healthy sample's run time, which its 400 ms timeout caps.
if early_ms > 400 + 1:
    print(f"  early by {early_ms:.3f} ms, more than the probe timeout"); ok = False
sys.exit(0 if ok else 1)
PY

echo "$checks checks, $fails failed"
[ "$fails" -eq 0 ]
