#!/usr/bin/env python3
"""The scenario JSON Schema (docs/firedrill-scenario.schema.json).

  1. the committed file is exactly what the build generates from the
     loader's key tables (else: ninja -C build update-schema);
  2. it is a valid draft 2020-12 schema;
  3. every scenario of scenarios/library and scenarios/templates validates;
  4. every file of tests/data/bad listed below as a schema-level error is
     rejected; every other bad file is one only the loader can judge
     (values, references, cross-key rules) and must be listed as such, so a
     new bad file is classified when it is added.

Uses the Debian packages python3-jsonschema and python3-yaml; prints
"skipped: ..." and exits 77 without them.
usage: test_schema.py GENERATED_SCHEMA SOURCE_ROOT
"""
import glob
import json
import re
import os
import sys

try:
    import yaml
    from jsonschema import Draft202012Validator
except ImportError as e:
    print(f"skipped: {e} (apt-get install python3-jsonschema python3-yaml)")
    sys.exit(77)

# Schema-level errors: an unknown key, a value of the wrong type or outside
# an enumeration or range a schema can state, a missing required key.
SCHEMA_LEVEL = {
    # unknown keys (or a key another kind refuses)
    "02-unknown-top-key", "19-webhook-url-literal", "27-key-wrong-kind", "141-pause-with-process",
    "28-alias-bomb", "37-probe-two-kinds", "42-prefix-list-on-route",
    "49-connection-on-canary", "56-failback-detect", "72-no-answer-exit-on-http",
    "85-resolution-on-failback", "94-prove-every-misspelt",
    # missing required keys
    "03-missing-duration", "23-delay-without-link", "26-exec-without-inject",
    "36-missing-recovery-timeout", "41-probe-missing-kind",
    # wrong types, enumerations, ranges and patterns
    "01-unknown-kind", "04-bare-number-duration", "10-port-zero", "11-port-too-big",
    "13-unknown-signal", "14-bad-rate", "18-bad-name", "29-deep-nesting",
    "31-top-level-list", "35-unknown-notify-event", "38-iterations-zero",
    "44-webhook-env-not-a-name", "48-empty", "50-connection-mode",
    "51-headers-env-name", "54-pcap-expect", "57-recovery-detect-list",
    "70-no-answer-exit-zero", "71-no-answer-exit-word", "75-no-answer-exit-256",
    "80-resolution-not-duration", "92-prove-every-bare-number", "93-prove-every-list",
    "96-team-role-not-a-name",
    "104-host-without-ssh", "108-host-unknown-key", "109-hosts-not-a-list",
    "121-scope-pid-zero", "123-scope-engine-unknown", "125-scope-probes-from-word",
    "128-scope-pid-word", "152-log-probe-with-place", "154-canary-pid-one",
}
# Not YAML a JSON Schema validator is ever given (refused by the YAML reader).
NOT_YAML = {"30-two-documents", "39-unknown-alias", "45-invalid-utf8", "46-nul-byte",
            "47-syntax-error"}
# Only the loader can tell: values (CIDR host bits, regexes, pcap filters,
# ranges inside strings), probe references, duplicates, cross-key rules.
LOADER_ONLY = {
    "05-duplicate-fault-id", "06-unknown-probe-ref", "07-cidr-host-bits", "08-bad-ipv4",
    "09-bad-ipv6-length", "12-status-range-reversed", "15-loss-over-100", "16-bad-regex",
    "17-bad-pcap-filter", "20-interval-too-short", "21-drop-without-targets",
    "22-route-without-cidrs", "24-kill-two-selectors", "25-kill-no-selector",
    "32-recovery-all-and-any", "33-step-run-and-manual", "34-duplicate-key",
    "40-value-match-without-group", "43-zero-duration", "52-headers-env-twice",
    "53-evidence-in-recovery", "55-recovery-detect-unknown", "60-failback-manual-step",
    "61-failback-step-without-run", "73-lead-in-zero", "74-lead-in-too-long",
    "81-resolution-too-small", "82-resolution-not-finer", "83-resolution-too-many-in-flight",
    "84-resolution-log-probe", "90-prove-every-not-whole-days", "91-prove-every-zero",
    "95-team-duplicate-role",
    "100-on-unknown-host", "101-on-unknown-group", "102-host-named-local", "103-host-twice",
    "120-scope-two-places", "122-scope-netns-path-relative", "124-scope-engine-without-container",
    "126-scope-probes-from-host-alone", "127-scope-container-bad-name",
    "140-pause-without-container",
    "150-fault-two-places", "151-probe-engine-without-container", "153-manual-step-with-place",
    "155-fault-place-on-remote-host", "156-fault-container-not-a-name",
    "105-ssh-destination-option", "106-lease-too-short", "107-on-not-a-host",
}

generated, root = sys.argv[1], sys.argv[2]
fails = 0


def bad(msg):
    global fails
    fails += 1
    print("FAIL:", msg)


committed_path = os.path.join(root, "docs", "firedrill-scenario.schema.json")
with open(generated, "rb") as f:
    gen_bytes = f.read()
with open(committed_path, "rb") as f:
    if f.read() != gen_bytes:
        bad("docs/firedrill-scenario.schema.json differs from the generated schema "
            "(ninja -C build update-schema)")

schema = json.loads(gen_bytes)
try:
    Draft202012Validator.check_schema(schema)
except Exception as e:  # jsonschema.SchemaError
    bad(f"not a valid draft 2020-12 schema: {e}")
if schema.get("$schema") != "https://json-schema.org/draft/2020-12/schema":
    bad("$schema is not draft 2020-12")
validator = Draft202012Validator(schema)


class Yaml12Loader(yaml.SafeLoader):
    """YAML 1.2's booleans, as libfyaml (firedrill) and yaml-language-server read
    them: only true and false. PyYAML's YAML 1.1 would read a fault's `on:`
    key, and on/off/yes/no values, as booleans."""


Yaml12Loader.yaml_implicit_resolvers = {
    k: [r for r in v if r[0] != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=Yaml12Loader)


good = sorted(glob.glob(os.path.join(root, "scenarios", "library", "*.yaml")) +
              glob.glob(os.path.join(root, "scenarios", "templates", "*.yaml")))
for path in good:
    errs = list(validator.iter_errors(load(path)))
    for e in errs[:3]:
        bad(f"{os.path.relpath(path, root)}: {e.message} at /{'/'.join(map(str, e.absolute_path))}")
if len(good) < 10:
    bad(f"only {len(good)} good scenarios")

rejected = 0
bad_dir = os.path.join(root, "tests", "data", "bad")
names = sorted(os.path.basename(p)[:-5] for p in glob.glob(os.path.join(bad_dir, "*.yaml")))
for name in names:
    if name not in SCHEMA_LEVEL | NOT_YAML | LOADER_ONLY:
        bad(f"tests/data/bad/{name}.yaml is not classified in test_schema.py")
        continue
    if name not in SCHEMA_LEVEL:
        continue
    doc = load(os.path.join(bad_dir, name + ".yaml"))
    if validator.is_valid(doc):
        bad(f"tests/data/bad/{name}.yaml: a schema-level error the schema accepts")
    else:
        rejected += 1
for name in sorted(SCHEMA_LEVEL - set(names)):
    bad(f"SCHEMA_LEVEL names {name}, which tests/data/bad does not hold")

print(f"{len(good)} scenarios valid, {rejected} schema-level bad files rejected; "
      f"{fails} failure(s)")
sys.exit(1 if fails else 0)
