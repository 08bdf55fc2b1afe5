#!/usr/bin/env python3
"""Webhooks of a rootless sandboxed drill reach the host's network through
the relay (docs/local.md, "Webhooks from a sandbox").

Root only creates an unprivileged user (fdt-sbxn-PID, home in a temp dir,
removed at the end); that user runs `firedrill sandbox --name web` (python3's
http.server inside) and the drills. The webhook receivers are the webhooks
test's (tests/integration/drill/test_webhooks.py), listening on 127.0.0.1 of
the HOST's namespace, which the sandbox cannot reach by itself.

1. `run --sandbox web` of a 2 s drop of the service's port, with a signed
   webhook (its first delivery answered 500) and a Slack one (start, end):
   the signed receiver gets start, injected, recovered, reverted and end,
   every signature valid; the 500 is retried and the timeline says so; the
   Slack receiver gets {text, blocks} for start and end; every delivery is
   recorded as delivered ("notified ... HTTP 200"), none failed, and a setup
   event names the relay; the sandbox's ruleset is empty after; no relay
   process is left; neither the secret nor the URL is in the store.
2. A drill with a receiver that never answers is SIGKILLed mid-drill: while
   it ran, its relay was in the host's network namespace (not the
   sandbox's), as the user, no capability, no_new_privs, not dumpable,
   its environment without the signing secret;
   after the kill the relay is gone within 2.5 s (its post was still
   held); the guardian reverts the drop (the sandbox's ruleset empty
   again).

Skipped (77, "skipped: ...") without root, without a command it needs, or
when user namespaces are disabled.

Usage: test_sandbox_notify.py FIREDRILL
"""
import hashlib
import hmac
import json
import os
import pwd
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "drill"))
from test_webhooks import MARKER, Receiver  # noqa: E402  the webhooks test's receivers

SECRET = "fdt-sbxn-secret-83d2"
PORT = 18082  # inside the sandbox's own network namespace
# The relay must be gone this soon after its drill is killed: the kernel's
# parent-death signal ends it at once, and a hangup ends its post at curl's
# next progress call (about once a second); the post's own timeout is 5 s.
GONE_WITHIN_S = 2.5

failures = 0
checks = 0


def check(cond, what):
    global failures, checks
    checks += 1
    print(("ok   " if cond else "FAIL ") + what)
    sys.stdout.flush()
    if not cond:
        failures += 1
    return cond


def skip(why):
    print("skipped: " + why)
    sys.exit(77)


SCENARIO = """name: sandbox-notify
probes:
  - { id: web, interval: 100ms, timeout: 300ms, http: { url: "http://127.0.0.1:%(port)d/" } }
faults:
  - id: cut
    kind: drop
    duration: %(duration)s
    targets: { cidrs: [127.0.0.1/32], ports: [%(port)d], protocol: tcp }
steady-state: { probes: [web] }
recovery: { all: [web], timeout: %(timeout)s }
notify:
%(notify)s
"""


def proc_status(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def alive(pid):
    """Running, not a zombie waiting for its reaper."""
    st = proc_status(pid, "State")
    return st is not None and not st.startswith("Z")


def procs(uid, comm):
    """Live processes of uid named comm (/proc/PID/status: a relay is not
    dumpable, so /proc/PID itself belongs to root)."""
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        pid = int(p)
        uids = proc_status(pid, "Uid")
        if uids and int(uids.split()[0]) == uid and proc_status(pid, "Name") == comm and alive(pid):
            out.append(pid)
    return out


def netns(pid):
    try:
        return os.readlink("/proc/%d/ns/net" % pid)
    except OSError:
        return None


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class Tour:
    def __init__(self, fd):
        self.user = "fdt-sbxn-%d" % os.getpid()
        self.home = tempfile.mkdtemp(prefix="fdt-sbxn-home.")
        subprocess.run(["useradd", "-M", "-d", self.home, "-s", "/bin/sh", self.user], check=True)
        self.uid = pwd.getpwnam(self.user).pw_uid
        shutil.copy(fd, os.path.join(self.home, "firedrill"))  # where the user can read it
        os.mkdir(os.path.join(self.home, "www"))
        with open(os.path.join(self.home, "www", "index.html"), "w") as f:
            f.write("ok\n")
        self.sandbox = None
        self.sandbox_proc = None

    def chown(self):
        for root, dirs, files in os.walk(self.home):
            for n in dirs + files + ["."]:
                os.chown(os.path.join(root, n), self.uid, -1)

    def cmd(self, args, env=None):
        # the run directory (sandbox record, scope locks) in the home, removed with it
        e = ["env", "-i", "PATH=/usr/bin:/bin", "HOME=" + self.home, "XDG_RUNTIME_DIR=",
             "FIREDRILL_RUN_DIR=" + os.path.join(self.home, "run")]
        e += ["%s=%s" % kv for kv in (env or {}).items()]
        return ["runuser", "-u", self.user, "--"] + e + args

    def run(self, args, env=None, timeout=120):
        return subprocess.run(self.cmd(args, env), cwd=self.home, capture_output=True, text=True,
                              timeout=timeout)

    def start_sandbox(self):
        self.sandbox_proc = subprocess.Popen(
            self.cmd(["./firedrill", "sandbox", "--name", "web", "--", "python3", "-m", "http.server",
                      str(PORT), "--bind", "127.0.0.1", "--directory", "www"]),
            cwd=self.home, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        rec = os.path.join(self.home, "run", "sandbox-web.pid")
        for _ in range(50):
            try:
                with open(rec) as f:
                    pid = int(f.read().strip())
                probe = subprocess.run(
                    ["nsenter", "-t", str(pid), "-n", "python3", "-c",
                     "import urllib.request; urllib.request.urlopen('http://127.0.0.1:%d/', timeout=1)" % PORT],
                    capture_output=True)
                if probe.returncode == 0:
                    self.sandbox = pid
                    return None
            except (OSError, ValueError):
                pass
            if self.sandbox_proc.poll() is not None:
                break
            time.sleep(0.1)
        self.sandbox_proc.kill()
        return self.sandbox_proc.communicate()[1]

    def ruleset(self):
        return subprocess.run(["nsenter", "-t", str(self.sandbox), "-n", "nft", "list", "ruleset"],
                              capture_output=True, text=True).stdout.strip()

    def close(self):
        if self.sandbox_proc and self.sandbox_proc.poll() is None:
            self.sandbox_proc.terminate()
        # only the test's own user's processes
        subprocess.run(["pkill", "-KILL", "-u", self.user], capture_output=True)
        time.sleep(0.2)
        subprocess.run(["userdel", self.user], capture_output=True)
        shutil.rmtree(self.home, ignore_errors=True)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def write_scenario(t, name, duration, timeout, hooks):
    """SCENARIO as t's NAME with the drop's duration, the recovery timeout
    and one notify: entry per item of hooks."""
    write(os.path.join(t.home, name), SCENARIO % {
        "port": PORT, "duration": duration, "timeout": timeout,
        "notify": "\n".join("  - { %s }" % h for h in hooks)})
    t.chown()


def delivered_run(t):
    """Case 1: every webhook of a sandboxed drill delivered, and recorded so."""
    signed, slack = Receiver("flaky"), Receiver("ok")
    try:
        write_scenario(t, "notify.yaml", "2s", "15s", [
            "webhook-env: FDT_SN_SIGNED, secret-env: FDT_SN_SECRET",
            "webhook-env: FDT_SN_SLACK, format: slack, events: [start, end]"])
        env = {"FDT_SN_SIGNED": signed.url(), "FDT_SN_SLACK": slack.url(), "FDT_SN_SECRET": SECRET}
        p = t.run(["./firedrill", "--db", "fd.db", "-q", "run", "--sandbox", "web", "notify.yaml"], env)
        check(p.returncode == 0, "run --sandbox with webhooks: exit %d %s" % (p.returncode, p.stderr[-400:]))

        got = [e for e, *_ in signed.posts]
        print("signed receiver got: %r; slack receiver got: %r" % (got, [e for e, *_ in slack.posts]))
        for e in ("start", "injected", "recovered", "reverted", "end"):
            check(e in got, "the host's receiver got %s from the sandboxed drill" % e)
        good = 0
        for _, sig, _, body, _ in signed.posts:
            want = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            good += hmac.compare_digest(sig or "", want)
        check(good == len(signed.posts) > 0,
              "every signature verifies with the secret (%d of %d)" % (good, len(signed.posts)))
        check(len(signed.posts) > 1 and signed.posts[0][4] == 500 and signed.posts[1][0] == "start"
              and signed.posts[1][4] == 200, "its first delivery (start) got a 500, then went again")
        ev_slack = [e for e, *_ in slack.posts]
        shapes = all(set(json.loads(b)) == {"text", "blocks"} and sig is None
                     for _, sig, _, b, _ in slack.posts)
        check(ev_slack == ["start", "end"] and shapes,
              "the Slack receiver got start and end as {text, blocks}: %r" % ev_slack)

        con = sqlite3.connect(os.path.join(t.home, "fd.db"))
        ev = con.execute("SELECT subject, detail FROM events WHERE kind = 'notify' ORDER BY mono_ns").fetchall()
        con.close()
        print("notify events: %r" % ev)
        notified = {s for s, d in ev if d.startswith("notified ") and "$FDT_SN_SIGNED: HTTP 200" in d}
        check({"start", "injected", "recovered", "reverted", "end"} <= notified,
              "the drill recorded each as delivered: %r" % sorted(notified))
        n_ok = sum(1 for _, d in ev if d.startswith("notified "))
        n_posted = sum(1 for *_, st in signed.posts + slack.posts if st == 200)
        check(n_ok == n_posted, "one delivered event per 200 the receivers answered (%d, %d)"
              % (n_ok, n_posted))
        check(not [d for _, d in ev if " failed" in d], "no notify event failed")
        start = [d for s, d in ev if s == "start" and "$FDT_SN_SIGNED" in d]
        check(start and "HTTP 200 after 2 attempts" in start[0] and "(first: HTTP 500)" in start[0],
              "the timeline says start took 2 attempts: %r" % start)
        check(any(s == "setup" and d.startswith("webhooks are posted by the relay (pid ") for s, d in ev),
              "a setup event names the relay")
        check(t.ruleset() == "", "the sandbox's ruleset is empty after the drill")
        check(procs(t.uid, "firedrill-relay") == [], "no relay process is left after the drill")
        raw = b""
        for name in os.listdir(t.home):
            if name.startswith("fd.db"):
                with open(os.path.join(t.home, name), "rb") as f:
                    raw += f.read()
        check(raw and SECRET.encode() not in raw and MARKER.encode() not in raw,
              "neither the secret nor the URL is in the store")
    finally:
        signed.close()
        slack.close()


def killed_run(t):
    """Case 2: the drill is SIGKILLed while its relay holds a post."""
    dead, ok = Receiver("dead"), Receiver("ok")
    try:
        write_scenario(t, "kill.yaml", "30s", "60s", [
            "webhook-env: FDT_SN_DEAD, secret-env: FDT_SN_SECRET",
            "webhook-env: FDT_SN_OK, events: [start, injected]"])
        env = {"FDT_SN_DEAD": dead.url(), "FDT_SN_OK": ok.url(), "FDT_SN_SECRET": SECRET}
        runner = subprocess.Popen(t.cmd(["./firedrill", "--db", "kill.db", "-q", "run", "--sandbox", "web",
                                         "kill.yaml"], env),
                                  cwd=t.home, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "injected" not in [e for e, *_ in ok.posts]:
            if runner.poll() is not None:
                break
            time.sleep(0.05)
        if not check("injected" in [e for e, *_ in ok.posts],
                     "the killed drill's injected webhook arrived before the kill"):
            runner.kill()
            print(runner.communicate()[1][-400:])
            return
        relays = procs(t.uid, "firedrill-relay")
        sbx_ns, host_ns = netns(t.sandbox), netns(os.getpid())
        drills = [p for p in procs(t.uid, "firedrill") if netns(p) == sbx_ns and "kill.yaml" in cmdline(p)]
        check(len(relays) == 1 and len(drills) == 1,
              "one relay and one drill of the user: %r, %r" % (relays, drills))
        if not relays or not drills:
            runner.kill()
            return
        relay, drill = relays[0], drills[0]
        check(netns(relay) == host_ns != sbx_ns and netns(drill) == sbx_ns,
              "the relay is in the host's network namespace (%s), the drill in the sandbox's (%s)"
              % (netns(relay), sbx_ns))
        uids = proc_status(relay, "Uid").split()
        check(uids == [str(t.uid)] * 4, "the relay runs as the user: Uid %r" % uids)
        check(proc_status(relay, "CapEff") == "0000000000000000" and
              proc_status(relay, "CapPrm") == "0000000000000000" and
              proc_status(relay, "NoNewPrivs") == "1",
              "the relay holds no capability, no_new_privs set")
        peek = t.run(["cat", "/proc/%d/environ" % relay])
        check(peek.returncode != 0 and "Permission denied" in peek.stderr,
              "the relay is not dumpable: the user's own processes cannot read its environ (%s)"
              % peek.stderr.strip())
        with open("/proc/%d/environ" % relay, "rb") as f:  # as root
            environ = f.read()
        check(MARKER.encode() in environ and SECRET.encode() not in environ,
              "the relay's environment keeps the URLs but not the signing secret")
        check(len(dead.posts) >= 1, "the dead receiver holds a post (%d)" % len(dead.posts))
        check("drop" in t.ruleset(), "the drop is applied in the sandbox when the drill is killed")
        os.kill(drill, signal.SIGKILL)
        t0 = time.monotonic()
        while alive(relay) and time.monotonic() - t0 < 10:
            time.sleep(0.01)
        took = time.monotonic() - t0
        print("relay gone %.0f ms after its drill was killed" % (took * 1000))
        check(not alive(relay) and took < GONE_WITHIN_S,
              "the relay is gone %.2f s after the kill (at most %.1f s)" % (took, GONE_WITHIN_S))
        check(procs(t.uid, "firedrill-relay") == [], "no relay process is left after the kill")
        runner.wait(timeout=30)
        # the guardian reverts what the killed drill left
        t0 = time.monotonic()
        while t.ruleset() != "" and time.monotonic() - t0 < 15:
            time.sleep(0.1)
        check(t.ruleset() == "", "the guardian reverted the killed drill's drop (%.1f s)"
              % (time.monotonic() - t0))
    finally:
        dead.close()
        ok.close()


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    fd = os.path.abspath(sys.argv[1])
    if os.geteuid() != 0:
        skip("needs root to create the test's unprivileged user")
    for c in ("useradd", "userdel", "runuser", "nft", "nsenter", "pkill"):
        if not shutil.which(c):
            skip("%s missing" % c)
    try:
        with open("/proc/sys/user/max_user_namespaces") as f:
            if int(f.read()) == 0:
                skip("user.max_user_namespaces is 0 (user namespaces disabled)")
        with open("/proc/sys/kernel/unprivileged_userns_clone") as f:
            if int(f.read()) == 0:
                skip("kernel.unprivileged_userns_clone is 0 (user namespaces disabled for unprivileged users)")
    except OSError:
        pass
    t = Tour(fd)
    try:
        t.chown()
        err = t.start_sandbox()
        if t.sandbox is None:
            if err and "cannot make a user and network namespace" in err:
                skip(err.strip())
            print("FAIL: the sandbox did not start: %s" % err)
            return 1
        delivered_run(t)
        killed_run(t)
    finally:
        t.close()
    print("%d checks, %d failed" % (checks, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
