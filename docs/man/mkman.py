#!/usr/bin/env python3
"""Man pages from one source each, written as scdoc and run through scdoc(1).

  mkman.py cli FIREDRILL SCDOC OUT        firedrill(1): the command table
      (`firedrill --help`) and every command's own --help, from the binary
  mkman.py scenario SCHEMA SCDOC OUT      firedrill-scenario(5): the JSON
      Schema generated from the loader's key tables (every key, its type,
      what it means, which fault or probe kinds need or refuse it)
  mkman.py md DOC.md SCDOC OUT NAME SECTION "SUMMARY"   firedrill-store(5)
      from docs/store.md (headings, paragraphs, lists, code, tables)

Nothing here is written twice: the texts come from --help, the schema and
docs/*.md, so a man page cannot say other than they do.
"""
import json
import re
import subprocess
import sys


def esc(s):
    """Plain text for scdoc: its markup characters escaped."""
    return re.sub(r"([\\*_])", r"\\\1", s)


def inline(s):
    """Markdown inline markup to scdoc: `code` and **bold** as bold, links as text (url)."""
    out = []
    pos = 0
    for m in re.finditer(r"`([^`]+)`|\*\*([^*]+)\*\*|\[([^\]]+)\]\(([^)]+)\)", s):
        out.append(esc(s[pos:m.start()]))
        if m.group(1) is not None:
            out.append("*" + esc(m.group(1)) + "*")
        elif m.group(2) is not None:
            out.append("*" + inline(m.group(2)).replace("*", "") + "*")
        else:
            out.append(esc(m.group(3)) + " (" + esc(m.group(4)) + ")")
        pos = m.end()
    out.append(esc(s[pos:]))
    return "".join(out)


def literal(lines):
    body = "\n".join(l.rstrip() for l in lines)
    return "```\n" + body + "\n```\n"


def run(argv):
    p = subprocess.run(argv, capture_output=True, text=True)
    return (p.stdout + p.stderr).rstrip("\n")


# ------------------------------------------------------------- firedrill(1)

def page_cli(fd):
    main = run([fd, "--help"])
    lines = main.splitlines()
    cmds, in_cmds, globals_ = [], False, []
    for i, l in enumerate(lines):
        if l == "commands:":
            in_cmds = True
            continue
        if in_cmds and not l.strip():
            in_cmds = False
            globals_ = lines[i + 1:]
            break
        if in_cmds:
            name, summary = l.split(None, 1)
            cmds.append((name, summary))
    version = run([fd, "--version"]).split()[-1]
    out = [f"firedrill(1) \"firedrill {version}\"", "", "# NAME", "",
           "firedrill - run disaster-recovery fire drills", "", "# SYNOPSIS", ""]
    for l in lines[:2]:
        out.append("*firedrill* " + esc(re.sub(r"^\s*(usage:)?\s*firedrill ", "", l)) + "")
        out.append("")
    out += ["# DESCRIPTION", "",
            esc(lines[3]) if len(lines) > 3 else "",
            "",
            "A scenario file (YAML, firedrill-scenario(5)) says what to break, how to tell "
            "the system is healthy, which recovery steps the team runs, and the objectives "
            "(RTO, RPO). firedrill injects the faults, watches recovery, measures RTO and "
            "RPO, records every iteration in its store (firedrill-store(5)) and writes "
            "trend, evidence and metrics reports.", "",
            "# OPTIONS", "", literal(globals_), "# COMMANDS", ""]
    for name, summary in cmds:
        out += [f"## {esc(name)}", "", esc(summary), "",
                literal(run([fd, "help", name]).splitlines())]
    out += ["# ENVIRONMENT", "",
            "*FIREDRILL\\_DB*", "\tThe store, when --db is not given (default ./firedrill.db).", "",
            "*FIREDRILL*", "\tSet by firedrill for runbook and failback steps: the path of this firedrill.", "",
            "# FILES", "",
            "_/usr/share/firedrill/firedrill-scenario.schema.json_", "\tThe JSON Schema of scenario files, for editors.", "",
            "_/usr/share/firedrill/scenarios/_", "\tThe scenario library.", "",
            "# SEE ALSO", "",
            "*firedrill-scenario*(5), *firedrill-store*(5), *promtool*(1), *systemd.timer*(5)", ""]
    return "\n".join(out)


# ---------------------------------------------------- firedrill-scenario(5)

DURATION = "^([0-9]+(\\.[0-9]+)?(ns|us|ms|s|m|h|d))+$"


def describe(node):
    """A type in words, from a schema node."""
    if node is False:
        return "refused"
    if "enum" in node:
        return "one of " + ", ".join(str(v) for v in node["enum"])
    if "oneOf" in node and all(o.get("type") == "object" for o in node["oneOf"]):
        return "an HTTP request (url: ...) or a command (run: ...)"
    if "anyOf" in node:
        kinds = node["anyOf"]
        arr = [k for k in kinds if k.get("type") == "array"]
        if arr and len(kinds) == 2:
            single = [k for k in kinds if k.get("type") != "array"][0]
            return describe(single) + ", or a list of them"
        ints = [k for k in kinds if k.get("type") in ("integer", "number")]
        if ints:
            k = ints[0]
            lo = k.get("minimum", k.get("exclusiveMinimum"))
            return f"a number {lo}-{k.get('maximum')}" + (
                " or a range such as \"200-299\"" if kinds[1].get("pattern", "").startswith("^[1-5]") else "")
    t = node.get("type")
    if t == "array":
        item = re.sub(r"^an? ", "", describe(node["items"]))
        item = "mappings" if item == "mapping" else item
        return ("a non-empty " if node.get("minItems") else "a ") + "list of " + item
    if t == "object":
        return "a mapping" if "properties" in node else "a mapping of names to values"
    if t == "boolean":
        return "true or false"
    pat = node.get("pattern", "")
    if pat == DURATION:
        return "a duration (250ms, 30s, 5m, 1h30m, 90d)"
    if pat == "^[a-z0-9-]+$":
        return f"a name ([a-z0-9-], at most {node['maxLength']})" if "maxLength" in node else "a probe id"
    if "bit" in pat:
        return "a rate (500kbit, 10mbit, 1gbit)"
    if isinstance(t, list):
        return "a string"
    return "a string"


def object_of(node):
    """The mapping schema inside node (through lists and one-or-many)."""
    if node.get("type") == "object" and "properties" in node:
        return node
    if "items" in node:
        return object_of(node["items"])
    for k in node.get("anyOf", []):
        o = object_of(k)
        if o:
            return o
    return None


def kind_lines(obj):
    """Per kind: the keys it needs and those it refuses (the if/then rules)."""
    out = []
    for rule in obj.get("allOf", []):
        cond = rule["if"]
        if "properties" in cond:
            (key, c), = cond["properties"].items()
            kind = f"{key}: {c['const']}"
        else:
            kind = cond["required"][0]
        then = rule["then"]
        needs = [k for k in then.get("required", []) if k not in obj.get("required", [])]
        refuses = [k for k, v in then.get("properties", {}).items() if v is False]
        nested = [f"{k}.{kk}" for k, v in then.get("properties", {}).items()
                  if isinstance(v, dict) for kk in v.get("properties", {})]
        parts = []
        if needs:
            parts.append("needs " + ", ".join(needs))
        if refuses or nested:
            parts.append("refuses " + ", ".join(refuses + nested))
        out.append((kind, "; ".join(parts) or "no other key needed"))
    return out


def section(out, title, obj, seen):
    sig = json.dumps(obj, sort_keys=True)
    if sig in seen:
        out += [f"## {esc(title)}", "", f"The keys of {esc(seen[sig])}.", ""]
        return
    seen[sig] = title
    out += [f"## {esc(title)}", ""]
    req = set(obj.get("required", []))
    subs = []
    for key, node in obj["properties"].items():
        term = f"*{esc(key)}*" + (" (required)" if key in req else "")
        what = describe(node)
        out += [term, "\t" + inline(node.get("description", "")) + " " + esc(what[0].upper() + what[1:]) + ".", ""]
        sub = object_of(node) if node is not False else None
        if sub:
            subs.append((f"{title} {key}", sub))
        elif "oneOf" in node:
            for form in node["oneOf"]:
                subs.append((f"{title} {key} ({'url' if 'url' in form['properties'] else 'run'})", form))
    rules = kind_lines(obj)
    if rules:
        out += ["By kind:", ""]
        for kind, text in rules:
            out += [f"- *{esc(kind)}*: {esc(text)}"]
        out.append("")
    for t, sub in subs:
        section(out, t, sub, seen)


def page_scenario(schema_path):
    with open(schema_path) as f:
        schema = json.load(f)
    out = ["firedrill-scenario(5)", "", "# NAME", "",
           "firedrill-scenario - the firedrill scenario file format", "",
           "# DESCRIPTION", "",
           "A scenario is one YAML file: what to break (faults), how to tell the system is "
           "healthy (probes), what the team does to recover (recovery), and the objectives. "
           "Keys are kebab-case; unknown keys, and keys that do not apply to a fault's or "
           "probe's kind, are errors. *firedrill validate* checks a file and prints every "
           "error as FILE:LINE:COL; *firedrill init* writes a commented starter.", "",
           "This page is generated from the JSON Schema that is itself generated from "
           "firedrill's validator (its key tables), so it lists exactly the keys the "
           "validator accepts. *probes* and *recovery* are required by *firedrill run*, "
           "not by *firedrill inject*.", "",
           "# KEYS", ""]
    section(out, "scenario", schema, {})
    out += ["# EDITORS", "",
            "The schema is installed as /usr/share/firedrill/firedrill-scenario.schema.json. "
            "With the YAML language server (VS Code, Neovim, Helix, Emacs) put this first line "
            "in a scenario:", "",
            literal(["# yaml-language-server: $schema=/usr/share/firedrill/firedrill-scenario.schema.json"]),
            "# SEE ALSO", "", "*firedrill*(1), *firedrill-store*(5)", ""]
    return "\n".join(out)


# ------------------------------------------------------ markdown: store(5)

def page_md(path, name, sect, summary):
    with open(path) as f:
        lines = f.read().splitlines()
    out = [f"{name}({sect})", "", "# NAME", "", f"{name} - {esc(summary)}", ""]
    i, seen_title = 0, False
    para = []

    def flush():
        if para:
            out.append(inline(" ".join(para)))
            out.append("")
            para.clear()

    while i < len(lines):
        l = lines[i]
        if l.startswith("```"):
            flush()
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            out.append(literal(lines[i + 1:j]))
            i = j + 1
            continue
        m = re.match(r"^(#+) (.*)", l)
        if m:
            flush()
            level, text = len(m.group(1)), m.group(2)
            if level == 1 and not seen_title:
                seen_title = True
                out += ["# DESCRIPTION", ""]
            elif level <= 2:
                out += ["# " + inline(text).upper(), ""]
            else:
                out += ["## " + inline(text), ""]
            i += 1
            continue
        if l.startswith("|"):
            flush()
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                cells = [c.strip() for c in re.split(r"(?<!\\)\|", lines[i].strip())[1:-1]]
                if not all(re.fullmatch(r":?-+:?", c) for c in cells):
                    rows.append(cells)
                i += 1
            head, body = rows[0], rows[1:]
            for r in body:
                out.append(inline(r[0]))
                rest = [f"{head[k]}: {r[k]}" if k < len(r) - 1 or len(r) > 2 else r[k]
                        for k in range(1, len(r)) if r[k]]
                if rest:
                    out.append("\t" + inline("; ".join(rest)))
                out.append("")
            continue
        m = re.match(r"^(\s*)([-*]|\d+\.) (.*)", l)
        if m:
            flush()
            item = [m.group(3)]
            i += 1
            while i < len(lines) and lines[i].startswith("  ") and lines[i].strip():
                item.append(lines[i].strip())
                i += 1
            out.append("- " + inline(" ".join(item)))
            if i >= len(lines) or not re.match(r"^\s*([-*]|\d+\.) ", lines[i]):
                out.append("")
            continue
        if not l.strip():
            flush()
        else:
            para.append(l.strip())
        i += 1
    flush()
    out += ["# SEE ALSO", "", "*firedrill*(1), *firedrill-scenario*(5), *sqlite3*(1)", ""]
    return "\n".join(out)


def main():
    mode = sys.argv[1]
    if mode == "cli":
        src, scdoc, dst = sys.argv[2:5]
        text = page_cli(src)
    elif mode == "scenario":
        src, scdoc, dst = sys.argv[2:5]
        text = page_scenario(src)
    elif mode == "md":
        src, scdoc, dst, name, sect, summary = sys.argv[2:8]
        text = page_md(src, name, sect, summary)
    else:
        sys.exit(f"mkman.py: unknown mode {mode}")
    p = subprocess.run([scdoc], input=text, capture_output=True, text=True)
    if p.returncode != 0:
        # say where: scdoc names a line of its input
        sys.exit(f"mkman.py {mode}: scdoc: {p.stderr.strip()}\n" +
                 "\n".join(f"{n + 1}: {l}" for n, l in enumerate(text.splitlines())
                           if str(n + 1) in p.stderr)[:2000])
    with open(dst, "w") as f:
        f.write(p.stdout)


if __name__ == "__main__":
    main()
