#!/usr/bin/env python3
"""The house's rules, read off the built objects (nm), not off the sources.

Each module is a static library. A file depends on another when it uses a
symbol the other defines: that is the import graph that matters in C (a
header can be included and never used). Checked:

  1. modules depend one way only, on the modules the table below allows
     (DESIGN.md: scenarios -> drill -> (injector, scorer) -> store -> reports;
     cli on top);
  2. no circle between the files of one module (a file that calls a file
     that calls it back means neither says what it holds);
  3. SQL (sqlite3_*) only in store/; stdout printing (printf, puts, putchar,
     vprintf) only in cli/;
  4. every global symbol that scorer/ defines starts with scorer_.

Usage: arch_check.py BUILD_DIR. Prints one line per check ("ok ..." or
"FAIL ..."), then "N checks, M failed"; exits 1 on any failure, 77 (skip)
when nm is missing.
"""
import os
import shutil
import subprocess
import sys

# module -> library file (under BUILD_DIR), and the modules it may use.
MODULES = {
    "common": ("common/libfd_common.a", set()),
    "scenarios": ("scenarios/libfd_scenarios.a", {"common"}),
    "store": ("store/libfd_store.a", {"common"}),
    "injector": ("injector/libfd_injector.a", {"common", "scenarios", "store"}),
    "scorer": ("scorer/libfd_scorer.a", {"common", "scenarios"}),
    "fleet": ("fleet/libfd_fleet.a", {"common", "scenarios"}),
    "drill": ("drill/libfd_drill.a",
              {"common", "scenarios", "store", "injector", "scorer", "fleet", "drill_core"}),
    "drill_core": ("drill/libfd_drill_core.a",
                   {"common", "scenarios", "store", "injector", "scorer"}),
    "reports": ("reports/libfd_reports.a", {"common", "store"}),
    "lab": ("lab/libfd_lab.a", {"common"}),
}
SQL_MODULES = {"store"}
PRINT_SYMBOLS = {"printf", "puts", "putchar", "vprintf"}
PREFIXED = {"scorer": ("scorer_",), "fleet": ("fleet_",)}
# Modules whose files must form no circle. The others' circles (a loop and
# the probes that register with it, the store and its chain) are printed as
# notes, so they stay visible without failing.
ACYCLIC = {"common", "injector", "fleet", "drill", "drill_core", "reports"}

checks = 0
failed = 0


def check(ok, what):
    global checks, failed
    checks += 1
    if not ok:
        failed += 1
    print(("ok   " if ok else "FAIL ") + what)


def read_objects(path):
    """{object name: (defined globals, undefined symbols)} of one archive."""
    out = subprocess.run(["nm", "-A", "--no-sort", path], check=True,
                         capture_output=True, text=True).stdout
    objs = {}
    for line in out.splitlines():
        # "lib.a:obj.o:0000 T name" or "lib.a:obj.o:         U name"
        head, _, rest = line.rpartition(":")
        obj = head.split(":")[-1]
        parts = rest.split()
        if len(parts) < 2:
            continue
        kind, name = parts[-2], parts[-1]
        d, u = objs.setdefault(obj, (set(), set()))
        if kind == "U":
            u.add(name)
        elif kind.isupper() and kind not in "NW":
            d.add(name)
    return objs


def cycles(graph):
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main():
    if len(sys.argv) != 2:
        print("usage: arch_check.py BUILD_DIR", file=sys.stderr)
        return 2
    if not shutil.which("nm"):
        print("skipped: nm (binutils) is not installed")
        return 77
    build = sys.argv[1]
    mods = {}
    for m, (lib, _) in MODULES.items():
        path = os.path.join(build, lib)
        if not os.path.exists(path):
            check(False, f"{m}: {lib} is built")
            continue
        mods[m] = read_objects(path)

    owner = {}  # symbol -> (module, object)
    for m, objs in mods.items():
        for obj, (defs, _) in objs.items():
            for s in defs:
                owner[s] = (m, obj)

    for m, objs in mods.items():
        allowed = MODULES[m][1]
        used = {}
        graph = {obj: set() for obj in objs}
        for obj, (_, undef) in objs.items():
            for s in undef:
                if s not in owner:
                    continue
                om, oobj = owner[s]
                if om == m:
                    if oobj != obj:
                        graph[obj].add(oobj)
                else:
                    used.setdefault(om, set()).add(f"{obj} uses {s}")
        bad = {om: sorted(v) for om, v in used.items() if om not in allowed}
        check(not bad, f"{m}: uses only {sorted(allowed) or 'no other module'}"
              + "".join(f"; not {om}: {v[0]}" for om, v in sorted(bad.items())))
        circ = ["[" + " <-> ".join(os.path.basename(o).removesuffix(".o")
                                  for o in c) + "]" for c in cycles(graph)]
        if m in ACYCLIC:
            check(not circ, f"{m}: no circle between its files " + " ".join(circ))
        elif circ:
            print(f"note {m}: files in a circle (not required acyclic): " + " ".join(circ))
        sql = sorted({f"{o} uses {s}" for o, (_, u) in objs.items()
                      for s in u if s.startswith("sqlite3_")})
        if m not in SQL_MODULES:
            check(not sql, f"{m}: no SQL" + (f" ({sql[0]})" if sql else ""))
        prints = sorted({f"{o} uses {s}" for o, (_, u) in objs.items()
                         for s in u if s in PRINT_SYMBOLS})
        check(not prints, f"{m}: prints nothing to stdout"
              + (f" ({prints[0]})" if prints else ""))
        if m in PREFIXED:
            pre = PREFIXED[m]
            loose = sorted(f"{os.path.basename(o).removesuffix('.o')}: {s}" for o, (d, _) in objs.items()
                           for s in d if not s.startswith(pre))
            check(not loose, f"{m}: every global symbol starts with {'/'.join(pre)}"
                  + (f" ({len(loose)} do not: " + ", ".join(loose[:8]) + ")"
                     if loose else ""))

    print(f"{checks} checks, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
