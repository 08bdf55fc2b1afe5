"""What the war room tests share (test_war_room.py, test_war_room_browser.py).

A network namespace of their own (fdt-wr-*, addresses in 10.250.0.0/16 on
its loopback), a web server in it on two addresses, a scenario whose fault
drops the primary and whose runbook ends by pointing the probe at the
replica, and `firedrill run --war-room` started in the background with the
URL it prints. Everything is removed at exit, also when a check failed.
"""
import atexit
import http.client
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

PRIMARY = "10.250.61.1"
REPLICA = "10.250.61.2"
PORT = 8000

failures = 0


def check(cond, what):
    """Counts a failure instead of stopping (fdtest's FDT_CHECK)."""
    global failures
    if cond:
        print("ok   " + what)
    else:
        failures += 1
        print("FAIL " + what)
    sys.stdout.flush()
    return cond


def finish():
    print("ok (0 failures)" if failures == 0 else "FAILED (%d failures)" % failures)
    return 1 if failures else 0


def skip(why):
    print("skipped: " + why)
    sys.exit(77)


def need_root():
    if os.geteuid() != 0:
        skip("needs root (network namespaces, nft)")
    for tool in ("ip", "nft", "curl"):
        if not shutil.which(tool):
            skip("needs " + tool)


def sh(cmd, check_rc=False):
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True)
    if check_rc and r.returncode != 0:
        raise RuntimeError("%s: %s" % (cmd, r.stderr.strip()))
    return r


class Lab:
    """The namespace, its web server, the scenario and the store."""

    def __init__(self, ns):
        assert ns.startswith("fdt-wr-")
        self.ns = ns
        self.dir = tempfile.mkdtemp(prefix=ns + "-")
        os.chmod(self.dir, 0o700)
        self.db = os.path.join(self.dir, "drills.db")
        self.backend = os.path.join(self.dir, "backend")
        self.scenario = os.path.join(self.dir, ns + ".yaml")
        self.server = None
        atexit.register(self.close)
        sh("ip netns del %s" % ns)
        sh("ip netns add %s" % ns, check_rc=True)
        sh("ip -n %s link set lo up" % ns, check_rc=True)
        for a in (PRIMARY, REPLICA):
            sh("ip -n %s addr add %s/32 dev lo" % (ns, a), check_rc=True)
        www = os.path.join(self.dir, "www")
        os.mkdir(www)
        with open(os.path.join(www, "index.html"), "w") as f:
            f.write("ok\n")
        self.server = subprocess.Popen(
            ["ip", "netns", "exec", ns, sys.executable, "-m", "http.server", str(PORT),
             "--bind", "0.0.0.0", "--directory", www],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.set_backend(PRIMARY)
        for _ in range(50):
            if sh("ip netns exec %s curl -sf -m 1 http://%s:%d/" % (ns, PRIMARY, PORT)).returncode == 0:
                break
            time.sleep(0.1)
        self.write_scenario()

    def set_backend(self, addr):
        with open(self.backend, "w") as f:
            f.write(addr + "\n")

    def write_scenario(self, extra=""):
        with open(self.scenario, "w") as f:
            f.write("""name: %(ns)s
environment: test
team: [incident-commander, scribe]
objectives:
  rto: 45s
scope:
  netns: %(ns)s
faults:
  - id: primary
    kind: drop
    duration: 3m
    targets:
      cidrs: [%(primary)s/32]
      protocol: tcp
      ports: [%(port)d]
probes:
  - id: api
    interval: 100ms
    timeout: 1s
    command:
      run: "curl -s -o /dev/null -m 0.5 http://$(cat %(backend)s):%(port)d/"
steady-state:
  probes: [api]
recovery:
  all: [api]
  stable-for: 500ms
  timeout: 90s
  steps:
    - { name: confirm the primary is down, manual: true }
    - { name: page the DBA, manual: true }
    - { name: check replica lag, manual: true, on-failure: continue }
    - { name: promote the replica, run: "echo %(replica)s > %(backend)s" }
%(extra)s""" % {"ns": self.ns, "primary": PRIMARY, "replica": REPLICA, "port": PORT,
                "backend": self.backend, "extra": extra})

    def ruleset(self):
        return sh("ip netns exec %s nft list ruleset" % self.ns).stdout.strip()

    def query(self, sql, args=()):
        con = sqlite3.connect(self.db)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def close(self):
        if self.server and self.server.poll() is None:
            self.server.kill()
            self.server.wait()
        sh("ip netns del %s" % self.ns)
        shutil.rmtree(self.dir, ignore_errors=True)


class Drill:
    """`firedrill run SCENARIO --war-room` in the background."""

    def __init__(self, lab, firedrill, roles=("incident-commander=alice", "scribe=bob")):
        env = dict(os.environ, FIREDRILL_RUN_DIR=os.path.join(lab.dir, "run"))
        args = [firedrill, "--db", lab.db, "run", lab.scenario, "--war-room", "127.0.0.1:0"]
        for r in roles:
            args += ["--role", r]
        self.lines = []
        self.url = None
        self.p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=env)
        self.got_url = threading.Event()
        threading.Thread(target=self._read, args=(self.p.stderr,), daemon=True).start()
        threading.Thread(target=self._read, args=(self.p.stdout,), daemon=True).start()
        atexit.register(self.kill)
        if not self.got_url.wait(20):
            raise RuntimeError("no war room URL printed: %s" % "".join(self.lines[-20:]))
        u = urllib.parse.urlsplit(self.url)
        self.host, self.port = u.hostname, u.port
        self.token = urllib.parse.parse_qs(u.query)["token"][0]
        self.origin = "http://%s:%d" % (self.host, self.port)

    def _read(self, stream):
        for line in stream:
            self.lines.append(line)
            m = re.search(r"war room: (http://\S+)", line)
            if m and not self.url:
                self.url = m.group(1)
                self.got_url.set()

    def wait(self, timeout=120):
        return self.p.wait(timeout)

    def kill(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(30)
            except subprocess.TimeoutExpired:
                self.p.kill()

    # -- HTTP, as a browser or as someone else would send it ---------------

    def request(self, method, path, body=None, token=True, origin=True, cookie=False):
        c = http.client.HTTPConnection(self.host, self.port, timeout=10)
        headers = {}
        if token and not cookie:
            path += ("&" if "?" in path else "?") + "token=" + self.token
        if cookie:
            headers["Cookie"] = "fdwr-%d=%s" % (self.port, self.token)
        if origin is True:
            headers["Origin"] = self.origin
        elif origin:
            headers["Origin"] = origin
        if body is not None:
            headers["Content-Type"] = "application/json"
            body = json.dumps(body)
        c.request(method, path, body=body, headers=headers)
        r = c.getresponse()
        data = r.read().decode()
        hdrs = dict(r.getheaders())
        c.close()
        return r.status, data, hdrs

    def state(self):
        try:
            status, data, _ = self.request("GET", "/state")
        except OSError:
            return None  # the drill ended and closed the war room
        return json.loads(data) if status == 200 else None

    def act(self, kind, **kw):
        status, data, _ = self.request("POST", "/act", dict(kind=kind, **kw))
        try:
            return status, json.loads(data)
        except ValueError:
            return status, {"ok": False, "reply": data}

    def wait_state(self, cond, timeout=60):
        end = time.time() + timeout
        while time.time() < end:
            st = self.state()
            if st and cond(st):
                return st
            if self.p.poll() is not None:
                return None
            time.sleep(0.1)
        return None


def waiting_step(st):
    """The index of the manual step waiting, or None."""
    if st["phase"] != "watch":
        return None
    for s in st["steps"]:
        if s["state"] == "running" and s["manual"]:
            return s["index"]
    return None
