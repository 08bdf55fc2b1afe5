#!/bin/sh
# The text plan (`firedrill plan FILE`) says everything the JSON plan
# (`plan FILE --json`) says: every field of the JSON with a value has its
# text counterpart in the text plan (strings verbatim, durations as the
# text writes them, true flags as their words). Run over every library
# scenario and tests/data/plan/everything.yaml (every key, with values found
# nowhere else). A new JSON field without a text counterpart fails here.
# usage: test_plan_text.sh FIREDRILL SOURCE_ROOT
set -u
fd=$1
root=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
command -v python3 >/dev/null || { echo "skipped: python3 missing (scripts/install-deps.sh installs it)"; exit 77; }

cat >"$tmp/parity.py" <<'PY'
import json, sys

def duration(ns):
    """fd_duration_format (common/fd_time.c), as the text plan writes durations."""
    if ns == 0:
        return "0 ms"
    if ns < 1000:
        return "%d ns" % ns
    if ns < 1000000:
        return "%.0f us" % (ns / 1e3)
    if ns < 10000000:
        return "%.1f ms" % (ns / 1e6)
    if ns < 1000000000:
        return "%.0f ms" % (ns / 1e6)
    if ns < 60 * 1000000000:
        return "%.1f s" % (ns / 1e9)
    s = ns // 1000000000
    if s < 3600:
        return "%dm%02ds" % (s // 60, s % 60)
    m = s // 60
    return "%dh%02dm" % (m // 60, m % 60)

# true flags: the words the text uses for them (false is the default: unsaid)
FLAGS = {
    "resolved_at_inject": "resolved at inject time",
    "include_global": "+ GLOBAL",
    "insecure": "TLS not verified",
    "follow_redirects": "follows redirects",
    "manual": "[manual]",
}
# JSON-only by design, each with its reason
SKIP = {
    "plan_version": "the version of the JSON format itself",
}

def wants(path, key, v, ctx):
    """(what, text) pairs the text plan must contain for this JSON value."""
    if key in SKIP or v is None:
        return []
    if isinstance(v, bool):
        if not v:
            return []
        if key not in FLAGS:
            return [(path, "<no text word for flag %s>" % key)]
        return [(path, FLAGS[key])]
    if key == "expect_status":
        return [(path, ",".join(str(lo) if lo == hi else "%d-%d" % (lo, hi) for lo, hi in v))]
    if isinstance(v, dict):
        out = []
        for k, x in v.items():
            out += wants(path + "." + k, k, x, v)
        return out
    if isinstance(v, list):
        out = []
        for i, x in enumerate(v):
            out += wants("%s[%d]" % (path, i), key, x, ctx)
        return out
    if key.endswith("_ms"):
        return [(path, duration(round(v * 1000000)))]
    if key in ("line", "col"):
        return [(path, "(line %d, col %d)" % (ctx["line"], ctx["col"]))]
    if isinstance(v, float):
        return [(path, "%g" % v)]
    return [(path, str(v))]

def strip(plan):
    """What is not a field of the scenario, or says nothing for some kinds."""
    for r in ("canary", "query"):
        x = plan["rpo"][r]
        if not x:
            continue
        # requests of the canary and the query refuse `connection` (docs/scenarios.md)
        for a in ([x["write"], x["read"]] if r == "canary" else [x["action"]]):
            if a["kind"] == "http":
                a["http"]["connection"] = None
    for f in plan["faults"]:
        t = f.get("targets")
        # routes match every protocol and port: the loader refuses both keys
        if t and f["kind"] not in ("drop", "reject"):
            t["protocol"] = None
        # no jitter is said by saying none
        if f.get("jitter_ms") == 0:
            f["jitter_ms"] = None
    return plan

plan = strip(json.load(open(sys.argv[1])))
text = open(sys.argv[2]).read()
missing = [(p, w) for p, w in wants("", "", plan, plan) if w not in text]
for p, w in missing:
    print("  %s: %r not in the text plan" % (p, w))
print("  %d fields checked" % len(wants("", "", plan, plan)), file=sys.stderr)
sys.exit(1 if missing else 0)
PY

check() {
	"$fd" plan --json "$1" >"$tmp/p.json" 2>"$tmp/err" || { bad "plan --json $1: $(cat "$tmp/err")"; return; }
	"$fd" plan "$1" >"$tmp/p.txt" 2>"$tmp/err" || { bad "plan $1: $(cat "$tmp/err")"; return; }
	python3 "$tmp/parity.py" "$tmp/p.json" "$tmp/p.txt" 2>"$tmp/count" || bad "$1: JSON fields missing from the text plan"
	echo "$1: $(cat "$tmp/count")"
}

for f in "$root"/scenarios/library/*.yaml "$root"/tests/data/plan/everything.yaml; do
	check "$f"
done

# representative fields of everything.yaml, each named: the check above must see them
ev=$root/tests/data/plan/everything.yaml
"$fd" plan "$ev" >"$tmp/ev.txt" || bad "plan everything.yaml"
for want in "read (http, timeout 2.7 s)" "query (command, timeout 3.3 s)" \
	"write (command, timeout 1.9 s)" "at JSON path data.parity_ts must equal v{{ts}}" \
	"from 3.7 s before T0" "killed by a signal or exit 2, 124" "TLS verified against /etc/parity/ca.pem" \
	"(line 9, col 5)" "revert: delete the routes" "fault f-kill: kill has no revert" \
	"connection reuse"; do
	grep -qF "$want" "$tmp/ev.txt" || bad "everything.yaml: text plan lacks '$want'"
done

# the check can fail: the text plan without the action timeouts or the value check
"$fd" plan --json "$ev" >"$tmp/ev.json"
grep -v "read (http" "$tmp/ev.txt" >"$tmp/cut.txt"
python3 "$tmp/parity.py" "$tmp/ev.json" "$tmp/cut.txt" >"$tmp/out" 2>/dev/null &&
	bad "a text plan without the read's timeout passed"
grep -q "rpo.canary.read.timeout_ms" "$tmp/out" || bad "the missing read timeout is not named: $(cat "$tmp/out")"
grep -v "must equal" "$tmp/ev.txt" >"$tmp/cut.txt"
python3 "$tmp/parity.py" "$tmp/ev.json" "$tmp/cut.txt" >"$tmp/out" 2>/dev/null &&
	bad "a text plan without the read-back value check passed"
grep -q "rpo.canary.expect_value" "$tmp/out" || bad "the missing value check is not named: $(cat "$tmp/out")"

[ "$fails" -eq 0 ] && echo "ok" || echo "$fails failure(s)"
[ "$fails" -eq 0 ]
