#!/usr/bin/env python3
"""Webhooks from a real drill to receivers on 127.0.0.1 (loopback only; no
privileges, no namespace: an exec fault hides a file, a command probe looks
for it):

 - every body to the signed webhook carries X-Firedrill-Signature that
   verifies with the secret (HMAC-SHA256 of the exact body), and not with
   another key or over another body;
 - its first delivery is answered 500 and retried; the timeline says so;
 - it gets the drill's events: start, injected, detected, step-failed (a
   step that fails with on-failure: continue), recovered, reverted, status
   (status-every: 1s) and end;
 - the Slack webhook's bodies are {text, blocks} only, as Slack's incoming
   webhooks take them;
 - a receiver that never answers does not delay the drill: the probe's
   samples have no gap, the RTO is the fault's, the other webhooks get
   theirs, and the drill ends within its grace for webhooks; its failed
   deliveries are on the timeline;
 - neither the secret nor the URLs are in the store.

Usage: test_webhooks.py FIREDRILL
"""
import hashlib
import hmac
import http.server
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

failures = 0
SECRET = "fdt-wh-secret-5e1f"
MARKER = "fdt-wh-url-marker"


def check(cond, what):
    global failures
    print(("ok   " if cond else "FAIL ") + what)
    sys.stdout.flush()
    if not cond:
        failures += 1
    return cond


class Receiver:
    """A webhook receiver on 127.0.0.1; mode "ok", "flaky" (500 first) or "dead"."""

    def __init__(self, mode):
        self.mode = mode
        self.posts = []  # (event header, signature header, body bytes, status answered)
        self.lock = threading.Lock()
        self.release = threading.Event()
        rx = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with rx.lock:
                    status = 500 if rx.mode == "flaky" and not rx.posts else 200
                    rx.posts.append((self.headers.get("X-Firedrill-Event"),
                                     self.headers.get("X-Firedrill-Signature"),
                                     self.headers.get("Content-Type"), body, status))
                if rx.mode == "dead":
                    rx.release.wait(120)  # never answers while the drill runs
                    return
                self.send_response(status)
                self.send_header("Content-Length", "3")
                self.end_headers()
                self.wfile.write(b"ok\n")

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.srv.daemon_threads = True
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def url(self):
        return "http://127.0.0.1:%d/hook/%s" % (self.port, MARKER)

    def close(self):
        self.release.set()
        self.srv.shutdown()


SCENARIO = """name: fdt-webhooks
environment: test
faults:
  - id: hide
    kind: exec
    duration: 30s
    inject: "rm -f ok; (sleep 1; date +%s.%N >back; touch ok) >/dev/null 2>&1 &"
    revert: "touch ok"
probes:
  - { id: file, interval: 50ms, timeout: 400ms, command: { run: "test -f ok" } }
steady-state:
  probes: [file]
recovery:
  all: [file]
  stable-for: 1500ms
  timeout: 20s
  steps:
    - { name: confirm the primary is down, run: "exit 1", on-failure: continue }
    - { name: promote, run: "true" }
notify:
  - { webhook-env: FDT_WH_SIGNED, secret-env: FDT_WH_SECRET, status-every: 1s }
  - { webhook-env: FDT_WH_SLACK, format: slack, events: [start, step-failed, recovered, end] }
  - { webhook-env: FDT_WH_DEAD }
"""


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    fd = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="fdt-wh-")
    signed, slack, dead = Receiver("flaky"), Receiver("ok"), Receiver("dead")
    try:
        with open(os.path.join(tmp, "s.yaml"), "w") as f:
            f.write(SCENARIO)
        open(os.path.join(tmp, "ok"), "w").close()
        env = dict(os.environ, FDT_WH_SIGNED=signed.url(), FDT_WH_SLACK=slack.url(),
                   FDT_WH_DEAD=dead.url(), FDT_WH_SECRET=SECRET,
                   FIREDRILL_RUN_DIR=os.path.join(tmp, "run"))
        db = os.path.join(tmp, "d.db")
        t = time.monotonic()
        p = subprocess.run([fd, "--db", db, "-q", "run", "s.yaml"], cwd=tmp, env=env,
                           capture_output=True, text=True, timeout=120)
        wall = time.monotonic() - t
        check(p.returncode == 0, "the drill recovered (exit %d) %s" % (p.returncode, p.stderr[-500:]))
        con = sqlite3.connect(db)
        ev = con.execute("SELECT kind, subject, detail, mono_ns FROM events ORDER BY mono_ns").fetchall()
        samples = [r[0] for r in con.execute("SELECT mono_ns FROM samples ORDER BY mono_ns")]
        rto = con.execute("SELECT rto_ms FROM iterations").fetchall()
        con.close()

        # the dead receiver delayed nothing the drill measures
        mono = {(k, s): m for k, s, _, m in ev if k == "phase"}
        gaps = [(b - a) / 1e6 for a, b in zip(samples, samples[1:])]
        check(samples and max(gaps) < 250,
              "no gap in the probe's samples (largest %.0f ms, interval 50 ms)" % max(gaps or [0]))
        check(rto and rto[0][0] is not None and 900 <= rto[0][0] <= 1700,
              "the RTO is the fault's (about 1 s): %r ms" % (rto[0][0] if rto else None))
        drill_s = (mono.get(("phase", "done"), 0) - mono.get(("phase", "setup"), 0)) / 1e9
        check(wall < drill_s + 6 + 2.5,
              "the run ended %.1f s after its drill's %.1f s (at most the 6 s grace for webhooks)"
              % (wall, drill_s))
        dead_ev = [d for k, s, d, _ in ev if k == "notify" and "$FDT_WH_DEAD" in d]
        check(dead_ev and all("failed" in d for d in dead_ev) and
              any("abandoned when the drill ended" in d or "not sent: the drill ended first" in d
                  or "Timeout was reached" in d for d in dead_ev),
              "the dead receiver's deliveries are failures on the timeline: %r" % dead_ev[:2])

        # signed, retried, every event
        got = [e for e, *_ in signed.posts]
        for e in ("start", "injected", "detected", "step-failed", "recovered", "reverted",
                  "status", "end"):
            check(e in got, "the signed webhook got %s" % e)
        check(signed.posts and signed.posts[0][4] == 500 and signed.posts[1][0] == "start"
              and signed.posts[1][4] == 200, "its first delivery (start) got a 500, then went again")
        start_ev = [d for k, s, d, _ in ev if k == "notify" and s == "start" and "$FDT_WH_SIGNED" in d]
        check(start_ev and "HTTP 200 after 2 attempts" in start_ev[0] and "(first: HTTP 500)" in start_ev[0],
              "the timeline says it took 2 attempts: %r" % start_ev)
        good = bad_key = bad_body = 0
        for _, sig, _, body, _ in signed.posts:
            want = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            other = "sha256=" + hmac.new(b"another key", body, hashlib.sha256).hexdigest()
            tamper = "sha256=" + hmac.new(SECRET.encode(), body + b" ", hashlib.sha256).hexdigest()
            good += hmac.compare_digest(sig or "", want)
            bad_key += sig == other
            bad_body += sig == tamper
        check(good == len(signed.posts) > 0 and bad_key == 0 and bad_body == 0,
              "every signature verifies with the secret (%d of %d), none with another key or body"
              % (good, len(signed.posts)))
        sf = [json.loads(b) for e, _, _, b, _ in signed.posts if e == "step-failed"]
        check(sf and "confirm the primary is down" in sf[0]["detail"] and sf[0]["event"] == "step-failed",
              "step-failed names the step: %r" % (sf[0]["detail"] if sf else None))

        # Slack's shape
        ev_slack = [e for e, *_ in slack.posts]
        check(ev_slack == ["start", "step-failed", "recovered", "end"],
              "the Slack webhook got its four events in order: %r" % ev_slack)
        shapes = True
        for _, sig, ctype, body, _ in slack.posts:
            j = json.loads(body)
            shapes = shapes and set(j) == {"text", "blocks"} and isinstance(j["text"], str) and \
                j["blocks"][0]["type"] == "section" and j["blocks"][0]["text"]["type"] == "mrkdwn" and \
                j["blocks"][1]["type"] == "context" and ctype.startswith("application/json") and sig is None
        check(shapes and slack.posts, "every Slack body is {text, blocks} (section, context), unsigned")

        raw = b""
        for name in os.listdir(tmp):
            if name.startswith("d.db"):
                with open(os.path.join(tmp, name), "rb") as f:
                    raw += f.read()
        check(SECRET.encode() not in raw and MARKER.encode() not in raw,
              "neither the secret nor the URLs are in the store")
    finally:
        for r in (signed, slack, dead):
            r.close()
        shutil.rmtree(tmp, ignore_errors=True)
    print("ok (0 failures)" if failures == 0 else "FAILED (%d failures)" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
