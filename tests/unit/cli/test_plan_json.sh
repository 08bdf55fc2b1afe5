#!/bin/sh
# `firedrill plan FILE --json` and `firedrill run --dry-run --json`: the JSON
# parses (python3's json), its fields match a library scenario, guards and
# warnings are listed, and the dry run prints the same plan plus "preflight".
# usage: test_plan_json.sh FIREDRILL SOURCE_ROOT
set -u
fd=$1
root=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
command -v python3 >/dev/null || { echo "python3 missing (scripts/install-deps.sh installs it)"; exit 77; }

lib=$root/scenarios/library
"$fd" plan "$lib/region-endpoint-drop.yaml" --json >"$tmp/plan.json" 2>"$tmp/err" ||
	bad "plan --json: exit $? $(cat "$tmp/err")"
"$fd" --json plan "$lib/region-endpoint-drop.yaml" >"$tmp/plan2.json" || bad "--json plan: exit $?"
cmp -s "$tmp/plan.json" "$tmp/plan2.json" || bad "global --json and plan --json differ"
sha=$(sha256sum "$lib/region-endpoint-drop.yaml" | cut -d' ' -f1)
python3 - "$tmp/plan.json" "$sha" <<'PY' || bad "region-endpoint-drop fields"
import json, sys
p = json.load(open(sys.argv[1]))
def eq(what, got, want):
    if got != want:
        print(f"  {what}: {got!r}, want {want!r}")
        sys.exit(1)
eq("plan_version", p["plan_version"], 1)
eq("scenario", p["scenario"], "eu-west-1-endpoints-drop")
eq("sha256", p["sha256"], sys.argv[2])
eq("environment", p["environment"], "staging")
eq("iterations", p["iterations"], 3)
eq("cool_down_ms", p["cool_down_ms"], 120000)
eq("objectives", p["objectives"], {"rto_ms": 300000, "rpo_ms": 60000})
eq("prove_every_ms", p["prove_every_ms"], 90 * 86400 * 1000)
eq("scope", p["scope"], {"netns": None})
eq("probe ids", [x["id"] for x in p["probes"]], ["api", "api-region", "db-east"])
api = p["probes"][0]
eq("api kind", api["kind"], "http")
eq("api interval", api["interval_ms"], 250)
eq("api timeout", api["timeout_ms"], 2000)
eq("api url", api["http"]["url"], "https://api.staging.example.com/health")
eq("api status", api["http"]["expect_status"], [[200, 299]])
eq("api latency", api["http"]["max_latency_ms"], 800)
eq("db-east", p["probes"][2]["tcp"], {"host": "db.us-east-1.staging.example.com", "port": 5432})
eq("steady state", p["steady_state"], {"probes": ["api", "db-east"]})
eq("faults", len(p["faults"]), 1)
f = p["faults"][0]
eq("fault id", f["id"], "eu-endpoints")
eq("fault kind", f["kind"], "drop")
eq("fault duration", f["max_duration_ms"], 20 * 60000)
eq("fault line", f["line"], 18)
t = f["targets"]
eq("cidrs", t["cidrs"], ["10.40.0.0/16", "fd00:40::/48"])
eq("hosts", t["hosts"], ["api.eu-west-1.staging.example.com", "db.eu-west-1.staging.example.com"])
eq("resolved_at_inject", t["resolved_at_inject"], True)
eq("protocol", t["protocol"], "tcp")
eq("ports", t["ports"], [443, 5432])
eq("direction", t["direction"], "egress")
eq("stop_if_failing", p["stop_if_failing"], [{"probe": "db-east", "for_ms": 60000}])
eq("recovery", p["recovery"], {"mode": "all", "probes": ["api", "api-region"],
                               "stable_for_ms": 15000, "timeout_ms": 1200000,
                               "resolution_ms": None, "detect": None})
eq("steps", [(s["step"], s["manual"], s["run"], s["timeout_ms"]) for s in p["runbook"]],
   [(1, False, "./runbook/lb-drain.sh eu-west-1", 300000), (2, True, None, 1200000)])
eq("canary interval", p["rpo"]["canary"]["interval_ms"], 500)
eq("canary write", p["rpo"]["canary"]["write"]["http"]["method"], "PUT")
eq("canary statuses", p["rpo"]["canary"]["write"]["http"]["expect_status"], [[200, 200], [201, 201], [204, 204]])
eq("query", p["rpo"]["query"], None)
eq("failback probes", p["failback"]["probes"], ["api"])
eq("notify", p["notify"], [{"webhook_env": "FIREDRILL_SLACK_WEBHOOK",
                            "events": ["start", "recovered", "objectives-missed", "end"],
                            "secret_env": None, "format": "json", "status_every_ms": 3600000}])
eq("guards", p["guards"], [])
if not any("resolved at inject time" in w for w in p["warnings"]):
    print("  no warning about hosts resolved at inject time"); sys.exit(1)
PY

# every library scenario gives JSON with the same top-level keys
for f in "$lib"/*.yaml; do
	"$fd" plan --json "$f" >"$tmp/p.json" 2>"$tmp/err" || bad "plan --json $f: exit $?"
	python3 -c '
import json, sys
keys = ["plan_version", "scenario", "path", "sha256", "description", "environment", "iterations",
        "cool_down_ms", "objectives", "prove_every_ms", "scope", "probes", "steady_state", "faults", "stop_if_failing",
        "recovery", "runbook", "rpo", "failback", "notify", "guards", "warnings", "revert"]
p = json.load(open(sys.argv[1]))
missing = [k for k in keys if k not in p]
sys.exit("missing keys %s" % missing if missing else 0)' "$tmp/p.json" || bad "$f: keys"
	# an older record under the same key must never count as survived
	python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))["rpo"]["canary"]
sys.exit("canary read-back without a value check" if c and not c["expect_value"] else 0)' \
		"$tmp/p.json" || bad "$f: canary read-back checks no value"
done

# the keys of issue 11: lead-in (set and defaulted), no-answer exit statuses
"$fd" plan --json "$root/tests/data/plan/everything.yaml" >"$tmp/ev.json" || bad "plan --json everything.yaml: exit $?"
python3 - "$tmp/ev.json" "$tmp/plan.json" <<'PY' || bad "lead_in_ms, no_answer_exit"
import json, sys
p = json.load(open(sys.argv[1]))
d = json.load(open(sys.argv[2]))
def eq(what, got, want):
    if got != want:
        print(f"  {what}: {got!r}, want {want!r}")
        sys.exit(1)
c = p["rpo"]["canary"]
eq("lead_in_ms", c["lead_in_ms"], 3700)
eq("default lead_in_ms (3 x 500 ms)", d["rpo"]["canary"]["lead_in_ms"], 1500)
eq("probe no_answer_exit", [x for x in p["probes"] if x["id"] == "p-cmd"][0]["command"]["no_answer_exit"], [2, 124])
eq("default no_answer_exit", c["write"]["command"]["no_answer_exit"], [124, 125, 126, 127])
eq("query no_answer_exit", p["rpo"]["query"]["action"]["command"]["no_answer_exit"], [2])
eq("read value check", (c["value_json"], c["expect_value"], c["read"]["timeout_ms"]), ("data.parity_ts", "v{{ts}}", 2700))
PY

# guards: the whole address space, loopback without a scope
cat >"$tmp/guarded.yaml" <<'YAML'
name: guarded
faults:
  - id: everything
    kind: drop
    duration: 1m
    targets:
      cidrs: [0.0.0.0/0, 127.0.0.1/32]
probes:
  - id: self
    command: { run: "true" }
recovery:
  all: [self]
  timeout: 2s
YAML
"$fd" plan --json "$tmp/guarded.yaml" >"$tmp/g.json" || bad "plan --json guarded: exit $?"
python3 -c '
import json, sys
p = json.load(open(sys.argv[1]))
g = [(x["fault"], x["target"]) for x in p["guards"]]
if g != [("everything", "0.0.0.0/0"), ("everything", "127.0.0.1/32")]:
    sys.exit("guards %r" % g)
if not any("steady-state" in w for w in p["warnings"]):
    sys.exit("no warning for the missing steady state")' "$tmp/g.json" || bad "guards"

# recovery.detect names the probe time to detect is measured from, in both plans
cat >"$tmp/detect.yaml" <<'YAML'
name: detect
faults:
  - id: hook
    kind: exec
    duration: 10s
    inject: "true"
probes:
  - id: self
    command: { run: "true" }
  - id: canary-path
    command: { run: "true" }
recovery:
  all: [self]
  timeout: 2s
  detect: canary-path
YAML
"$fd" plan --json "$tmp/detect.yaml" >"$tmp/d.json" || bad "plan --json detect: exit $?"
python3 -c '
import json, sys
p = json.load(open(sys.argv[1]))
if p["recovery"]["detect"] != "canary-path":
    sys.exit("recovery.detect %r" % p["recovery"]["detect"])' "$tmp/d.json" || bad "detect in the JSON plan"
"$fd" plan "$tmp/detect.yaml" >"$tmp/d.txt" || bad "plan detect: exit $?"
grep -q "time to detect: the first failure after T0 of probe canary-path" "$tmp/d.txt" ||
	bad "detect in the text plan: $(grep 'time to detect' "$tmp/d.txt")"
"$fd" plan "$lib/region-endpoint-drop.yaml" >"$tmp/r.txt" || bad "plan: exit $?"
grep -q "time to detect: the first failure after T0 of a criterion probe healthy at T0" "$tmp/r.txt" ||
	bad "default detect in the text plan"
# failback steps: in the JSON plan (timeout defaults to the failback's) and the text plan
cat >"$tmp/fb.yaml" <<'YAML'
name: failback-steps
faults:
  - { id: hook, kind: exec, duration: 10s, inject: "true" }
probes:
  - id: self
    command: { run: "true" }
recovery: { all: [self], timeout: 2s }
failback:
  all: [self]
  timeout: 40s
  steps:
    - { name: promote A, run: ./promote a, timeout: 5s }
    - { name: check A, run: ./check a }
YAML
"$fd" plan --json "$tmp/fb.yaml" >"$tmp/fb.json" || bad "plan --json failback steps: exit $?"
python3 -c '
import json, sys
p = json.load(open(sys.argv[1]))
s = [(x["step"], x["name"], x["run"], x["timeout_ms"]) for x in p["failback"]["steps"]]
want = [(1, "promote A", "./promote a", 5000), (2, "check A", "./check a", 40000)]
sys.exit(0 if s == want else "failback steps %r" % s)' "$tmp/fb.json" || bad "failback steps json"
"$fd" plan "$tmp/fb.yaml" >"$tmp/fb.txt" || bad "plan failback steps: exit $?"
grep -q 'failback step 2: check A \[run: ./check a\], timeout 40.0 s' "$tmp/fb.txt" ||
	bad "failback steps text: $(grep 'failback step' "$tmp/fb.txt")"

# an invalid scenario: exit 2, nothing on stdout
"$fd" plan --json "$root/tests/data/bad/01-unknown-kind.yaml" >"$tmp/out" 2>/dev/null
[ $? -eq 2 ] || bad "invalid scenario: want exit 2"
[ -s "$tmp/out" ] && bad "invalid scenario: stdout not empty"
"$fd" plan --bogus "$lib/region-endpoint-drop.yaml" >/dev/null 2>&1
[ $? -eq 2 ] || bad "unknown option: want exit 2"

# run --dry-run --json: the same plan plus "preflight" (an exec fault and a
# command probe: nothing needs privileges, nothing is injected or recorded)
cat >"$tmp/dry.yaml" <<'YAML'
name: dry-run-json
environment: unit
faults:
  - id: hook
    kind: exec
    duration: 10s
    inject: "touch injected"
    revert: "true"
probes:
  - id: self
    interval: 50ms
    command: { run: "true" }
steady-state:
  probes: [self]
recovery:
  all: [self]
  timeout: 2s
YAML
cd "$tmp" || exit 1
FIREDRILL_RUN_DIR=$tmp/run "$fd" --db "$tmp/dry.db" -q run --dry-run --json dry.yaml >"$tmp/dry.json" 2>"$tmp/err" ||
	bad "run --dry-run --json: exit $? $(cat "$tmp/err")"
"$fd" plan --json dry.yaml >"$tmp/dryplan.json" || bad "plan --json dry.yaml: exit $?"
python3 -c '
import json, sys
run = json.load(open(sys.argv[1]))
plan = json.load(open(sys.argv[2]))
pre = run.pop("preflight", None)
if run != plan:
    sys.exit("the dry run printed another plan")
if not pre or pre["ok"] is not True or pre["outcome"] != "recovered" or not pre["detail"]:
    sys.exit("preflight %r" % pre)' "$tmp/dry.json" "$tmp/dryplan.json" || bad "dry run JSON"
[ -e "$tmp/injected" ] && bad "the dry run injected"

# recovery.resolution: in the JSON plan (milliseconds) and in the text plan
cat >"$tmp/res.yaml" <<'YAML'
name: resolution
faults:
  - id: hook
    kind: exec
    duration: 10s
    inject: "true"
    revert: "true"
probes:
  - id: self
    interval: 250ms
    timeout: 400ms
    command: { run: "true" }
recovery:
  all: [self]
  resolution: 5ms
  timeout: 2s
YAML
"$fd" plan --json "$tmp/res.yaml" >"$tmp/res.json" || bad "plan --json res.yaml: exit $?"
python3 -c '
import json, sys
p = json.load(open(sys.argv[1]))
if p["recovery"]["resolution_ms"] != 5:
    sys.exit("recovery.resolution_ms %r" % p["recovery"]["resolution_ms"])
if p["failback"] is not None:
    sys.exit("failback %r" % p["failback"])' "$tmp/res.json" || bad "resolution in the JSON plan"
"$fd" plan "$tmp/res.yaml" >"$tmp/res.txt" || bad "plan res.yaml: exit $?"
grep -q "its probes send every 5.0 ms (resolution: 200 requests/s each)" "$tmp/res.txt" || bad "resolution in the text plan"

[ "$fails" -eq 0 ] && echo "ok" || echo "$fails failure(s)"
[ "$fails" -eq 0 ]
