#!/usr/bin/env python3
"""The war room over HTTP, during real drills in a namespace of the test's own
(fdt-wr-http; root, exit 77 otherwise):

 - the stopwatch (since_t0_ms) and the phase change live over Server-Sent
   Events, with no request of ours in between;
 - a request without the token, with a wrong one, with a foreign Origin or
   none changes nothing (the manual step still waits, nothing recorded);
 - done on a manual step records the lap under the presser's role; skipped
   and failed record their reasons; a failed step with on-failure: continue
   lets the next one run, and the drill recovers; a note and a finding are
   recorded under their author;
 - abort reverts (the namespace's nft ruleset is empty) and the drill is
   recorded aborted, by whom and why.

Usage: test_war_room.py FIREDRILL
"""
import http.client
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import war_room_lib as W  # noqa: E402

check = W.check


def sse_reader(d, out, stop):
    """Collects every snapshot the war room pushes (no polling)."""
    c = http.client.HTTPConnection(d.host, d.port, timeout=30)
    c.request("GET", "/events?token=" + d.token)
    r = c.getresponse()
    out["status"] = r.status
    out["ctype"] = r.getheader("Content-Type")
    buf = b""
    while not stop.is_set():
        try:
            chunk = r.read1(65536)
        except (http.client.HTTPException, OSError):
            break  # the drill process closed the war room
        if not chunk:
            break
        buf += chunk
        while b"\n\n" in buf:
            ev, buf = buf.split(b"\n\n", 1)
            for line in ev.split(b"\n"):
                if line.startswith(b"data: "):
                    out["snaps"].append((time.monotonic(), json.loads(line[6:])))
    c.close()


def refused_changes_nothing(d, lab):
    """Token and Origin: every forged press is refused before the drill sees it."""
    st = d.wait_state(lambda s: W.waiting_step(s) == 0, 60)
    check(st is not None, "the first manual step waits in the war room")
    if not st:
        return
    page, _, _ = d.request("GET", "/", token=False)
    check(page == 403, "GET / without the token: 403 (got %d)" % page)
    bad, _, _ = d.request("GET", "/state?token=" + "0" * 64, token=False)
    check(bad == 403, "a wrong token: 403 (got %d)" % bad)
    ev, _, _ = d.request("GET", "/events", token=False)
    check(ev == 403, "the event stream without the token: 403 (got %d)" % ev)
    tries = [
        ("no token", dict(token=False)),
        ("a foreign Origin", dict(origin="http://evil.example")),
        ("a foreign Origin, token in the cookie", dict(origin="http://127.0.0.1:1", cookie=True)),
        ("no Origin", dict(origin=None)),
    ]
    for what, kw in tries:
        status, _, _ = d.request("POST", "/act", dict(kind="done", by="mallory", step=0), **kw)
        check(status == 403, "a press with %s: 403 (got %d)" % (what, status))
    status, _, _ = d.request("POST", "/act", dict(kind="abort", by="mallory", text="x"),
                             origin="http://evil.example")
    check(status == 403, "an abort with a foreign Origin: 403 (got %d)" % status)
    time.sleep(0.5)
    st = d.state()
    check(st and W.waiting_step(st) == 0 and not st["aborting"],
          "after the refused presses the same step still waits, nothing aborting")
    laps = lab.query("SELECT COUNT(*) FROM laps")[0][0]
    check(laps == 0, "no lap recorded by the refused presses (%d)" % laps)
    # the cookie the page sets is enough for the page's own requests
    status, body, hdrs = d.request("GET", "/")
    check(status == 200 and "Set-Cookie" in hdrs and "HttpOnly" in hdrs["Set-Cookie"]
          and "SameSite=Strict" in hdrs["Set-Cookie"], "GET /?token= sets an HttpOnly SameSite cookie")
    csp = hdrs.get("Content-Security-Policy", "")
    check("default-src 'none'" in csp and "connect-src 'self'" in csp and "unsafe" not in csp,
          "the CSP forbids fetches elsewhere and inline code it does not know: " + csp)
    check("http://" not in body.split("<script>")[1].replace("http://www.w3.org/2000/svg", "")
          and "https://" not in body, "the page names no other host")
    status, _, _ = d.request("GET", "/state", cookie=True)
    check(status == 200, "the cookie alone reads the state (got %d)" % status)


def drill_with_presses(fd):
    lab = W.Lab("fdt-wr-http")
    d = W.Drill(lab, fd)
    snaps = {"snaps": []}
    stop = threading.Event()
    t = threading.Thread(target=sse_reader, args=(d, snaps, stop), daemon=True)
    t.start()

    refused_changes_nothing(d, lab)
    s, j = d.act("done", by="alice", step=1)
    check(s == 422 and not j["ok"] and "no longer waiting" in j["reply"],
          "done on a step that is not the one waiting is refused: %s" % j["reply"])
    s, j = d.act("failed", by="alice", step=0)
    check(s == 422 and "reason" in j["reply"], "failed without a reason is refused: %s" % j["reply"])
    time.sleep(1.0)  # the stopwatch runs meanwhile
    s, j = d.act("done", by="alice", step=0)
    check(s == 200 and j["ok"], "done pressed by alice: %s" % j["reply"])
    st = d.wait_state(lambda s: W.waiting_step(s) == 1, 10)
    s, j = d.act("skipped", by="bob", step=1, text="the DBA is on the bridge already")
    check(s == 200 and j["ok"], "skipped pressed by bob: %s" % j["reply"])
    st = d.wait_state(lambda s: W.waiting_step(s) == 2, 10)
    s, j = d.act("failed", by="bob", step=2, text="no replica lag metric")
    check(s == 200 and j["ok"], "failed pressed by bob: %s" % j["reply"])
    s, j = d.act("note", by="alice", text="promoting anyway")
    check(s == 200 and j["ok"], "a note: %s" % j["reply"])
    s, j = d.act("finding", by="alice", text="replica lag is not monitored", severity="high")
    check(s == 200 and j["ok"], "a finding: %s" % j["reply"])
    s, j = d.act("lap", by="bob")
    check(s == 200 and j["ok"] and "T0+" in j["reply"], "a split: %s" % j["reply"])
    rc = d.wait(120)
    time.sleep(0.3)
    stop.set()
    check(rc == 0, "the drill recovered and met its objectives (exit %d)" % rc)
    if rc != 0:
        print("".join(d.lines[-40:]))

    # live over SSE: the phase changed, and the stopwatch ran between pushes
    check(snaps.get("status") == 200 and snaps.get("ctype", "").startswith("text/event-stream"),
          "the event stream is text/event-stream")
    phases = []
    for _, s in snaps["snaps"]:
        if not phases or phases[-1] != s["phase"]:
            phases.append(s["phase"])
    check("watch" in phases and "revert" in phases and phases[-1] == "done" and
          phases.index("watch") < phases.index("revert"),
          "the phase changed live: %s" % " > ".join(phases))
    watch = [(at, s["since_t0_ms"]) for at, s in snaps["snaps"]
             if s["phase"] == "watch" and s["watch_running"]]
    rising = sum(1 for a, b in zip(watch, watch[1:]) if b[1] > a[1])
    check(len(watch) >= 5 and rising >= len(watch) - 2,
          "the stopwatch ran live: %d pushes in the watch, %d rising" % (len(watch), rising))
    if len(watch) >= 2:
        (t1, v1), (t2, v2) = watch[0], watch[-1]
        check(abs((v2 - v1) - (t2 - t1) * 1000) < 500,
              "it ran at wall-clock speed: %.0f ms pushed over %.0f ms received"
              % (v2 - v1, (t2 - t1) * 1000))
    last = snaps["snaps"][-1][1] if snaps["snaps"] else {}
    check(last.get("recovered") and last.get("rto_ms") is not None and last.get("done"),
          "the last push: recovered, RTO frozen at %s" % last.get("rto_text"))
    states = [s["state"] for s in last.get("steps", [])]
    check(states == ["done", "skipped", "failed", "done"], "the checklist at the end: %s" % states)

    laps = lab.query("SELECT step, ok, detail FROM laps ORDER BY step")
    check(len(laps) == 4, "four laps recorded (%d)" % len(laps))
    if len(laps) == 4:
        check(laps[0][1] == 1 and laps[0][2] == "by alice (incident-commander)",
              "done recorded under alice's role: %r" % laps[0][2])
        check(laps[1][1] == 0 and laps[1][2] == "skipped: by bob (scribe): the DBA is on the bridge already",
              "skipped recorded with its reason: %r" % laps[1][2])
        check(laps[2][1] == 0 and laps[2][2] == "by bob (scribe): no replica lag metric",
              "failed recorded with its reason: %r" % laps[2][2])
        check(laps[3][1] == 1, "on-failure: continue let the promotion run: %r" % laps[3][2])
    ev = lab.query("SELECT kind, subject, detail FROM events ORDER BY mono_ns")
    lapev = [e for e in ev if e[0] == "lap"]
    check(any(e[2].startswith("skipped in ") and "by bob (scribe): the DBA" in e[2] for e in lapev),
          "the timeline says skipped, by whom and why")
    check(any(e[2].startswith("failed in ") and "no replica lag metric" in e[2] for e in lapev),
          "the timeline says failed and why")
    check(any(e[0] == "note" and "by alice (incident-commander): promoting anyway" in e[2] for e in ev),
          "the note is on the timeline under alice's role")
    check(any(e[0] == "split" and "by bob (scribe)" in e[2] for e in ev), "the split is on the timeline")
    rec = lab.query("SELECT kind, severity, text, author, author_role FROM records")
    check(rec == [("finding", "high", "replica lag is not monitored", "alice", "incident-commander")],
          "the finding is in the record book: %r" % rec)
    check(lab.ruleset() == "", "nothing left in the namespace's ruleset")
    lab.close()


def drill_aborted(fd):
    lab = W.Lab("fdt-wr-abort")
    d = W.Drill(lab, fd)
    st = d.wait_state(lambda s: W.waiting_step(s) == 0, 60)
    check(st is not None, "the abort drill reached its watch")
    check("firedrill" in lab.ruleset(), "the fault is applied (nft table firedrill in the namespace)")
    s, _, _ = d.request("POST", "/act", dict(kind="abort", by="mallory", text="x"), token=False)
    check(s == 403, "an abort without the token: 403")
    time.sleep(0.3)
    check(d.p.poll() is None and "firedrill" in lab.ruleset(), "the drill runs on, the fault held")
    t = time.monotonic()
    s, j = d.act("abort", by="alice", text="the customer called")
    check(s == 200 and j["ok"], "abort pressed by alice: %s" % j["reply"])
    rc = d.wait(60)
    took = time.monotonic() - t
    check(rc == 1, "the drill exits 1 when aborted (%d)" % rc)
    check(took < 10, "it ended %.1f s after the press (the webhooks' grace is the bound)" % took)
    rules = lab.ruleset()
    check(rules == "", "abort reverted: the namespace's nft ruleset is empty (%r)" % rules[:200])
    row = lab.query("SELECT outcome FROM drills ORDER BY id DESC LIMIT 1")
    check(row == [("aborted",)], "the drill is recorded aborted: %r" % row)
    it = lab.query("SELECT outcome, detail FROM iterations ORDER BY id DESC LIMIT 1")
    check(it and it[0][0] == "aborted" and
          it[0][1] == "aborted by alice (incident-commander): the customer called",
          "the iteration says by whom and why: %r" % it)
    ab = lab.query("SELECT subject, detail FROM events WHERE kind = 'abort'")
    check(ab == [("alice", "aborted by alice (incident-commander): the customer called")],
          "one abort event: %r" % ab)
    active = lab.query("SELECT COUNT(*) FROM faults WHERE state IN ('planned', 'applied')")
    check(active == [(0,)], "no fault left active in the journal: %r" % active)
    lab.close()


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    W.need_root()
    drill_with_presses(sys.argv[1])
    drill_aborted(sys.argv[1])
    return W.finish()


if __name__ == "__main__":
    sys.exit(main())
