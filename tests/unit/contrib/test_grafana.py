#!/usr/bin/env python3
"""contrib/grafana/firedrill-dashboard.json reads what firedrill writes.

  - it is JSON, every panel's data source is one of its two variables
    (Prometheus, the SQLite store);
  - every firedrill_* metric a PromQL query names is one `firedrill report
    metrics` declares (# TYPE) on a seeded store;
  - every SQL query runs on that store (Grafana's time macros replaced),
    and time series queries return time, metric and value columns.

usage: test_grafana.py DASHBOARD FIREDRILL SEED_STORE
"""
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile

dash_path, fd, seed = sys.argv[1:4]
fails = 0


def bad(msg):
    global fails
    fails += 1
    print("FAIL:", msg)


with open(dash_path) as f:
    dash = json.load(f)
variables = {v["name"] for v in dash["templating"]["list"] if v["type"] == "datasource"}
if variables != {"prometheus", "firedrill_store"}:
    bad(f"data source variables {sorted(variables)}")

with tempfile.TemporaryDirectory() as tmp:
    db = os.path.join(tmp, "store.db")
    subprocess.run([seed, db, "long"], check=True, stdout=subprocess.DEVNULL)
    metrics = subprocess.run([fd, "--db", db, "report", "metrics"], check=True,
                             capture_output=True, text=True).stdout
    declared = set(re.findall(r"^# TYPE (\S+) ", metrics, re.M))
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    promql = sql = 0
    for p in dash["panels"]:
        for t in p.get("targets", []):
            uid = t["datasource"]["uid"]
            if uid not in ("${prometheus}", "${firedrill_store}"):
                bad(f"panel {p['title']!r}: data source {uid}")
            if "expr" in t:
                promql += 1
                for name in re.findall(r"\bfiredrill_[a-z_]+", t["expr"]):
                    if name not in declared:
                        bad(f"panel {p['title']!r}: {name} is not a metric firedrill writes")
            if "rawQueryText" in t:
                sql += 1
                q = (t["rawQueryText"].replace("$__unixEpochFrom()", "0")
                     .replace("$__unixEpochTo()", "4000000000"))
                try:
                    cur = conn.execute(q)
                    cols = [c[0] for c in cur.description]
                    rows = cur.fetchall()
                except sqlite3.Error as e:
                    bad(f"panel {p['title']!r}: {e}")
                    continue
                if t.get("queryType") == "time series" and cols[:3] != ["time", "metric", "value"]:
                    bad(f"panel {p['title']!r}: columns {cols}")
                if "drills" in q and "faults" not in q and not rows:
                    bad(f"panel {p['title']!r}: no rows on a seeded store")
    conn.close()
for v in dash["templating"]["list"]:
    if v["type"] == "query":
        for name in re.findall(r"\bfiredrill_[a-z_]+", v["query"]["query"]):
            if name not in declared:
                bad(f"variable {v['name']}: {name} is not a metric firedrill writes")
print(f"{promql} PromQL and {sql} SQL queries checked; {fails} failure(s)")
if promql < 5 or sql < 2:
    bad("too few queries")
sys.exit(1 if fails else 0)
