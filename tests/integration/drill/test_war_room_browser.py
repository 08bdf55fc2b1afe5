#!/usr/bin/env python3
"""The war room in a real browser: Debian's chromium, headless, driven by
chromium-driver through python3-selenium, during real drills in a namespace
of the test's own (fdt-wr-browser; root, exit 77 otherwise, and 77 without
chromium):

 - the page loads with the token, then drops it from the address bar;
 - the phase and the stopwatch change on the page with no reload;
 - Done, Skipped and Failed pressed on the checklist (as alice, then bob)
   are recorded under their roles with their reasons;
 - a page of another origin, even holding the token, cannot press;
 - Abort, behind its confirmation, reverts (the namespace's nft ruleset is
   empty) and the drill is recorded aborted, by whom and why.

Usage: test_war_room_browser.py FIREDRILL [--screenshot PNG]
  --screenshot keeps a picture of the page mid-drill (docs/war-room.png).
"""
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import war_room_lib as W  # noqa: E402

check = W.check


def browser(tall=False):
    chromium = shutil.which("chromium")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        W.skip("no chromium (apt-get install chromium chromium-driver python3-selenium)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        W.skip("no python3-selenium (apt-get install python3-selenium)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
              "--window-size=1400,%d" % (1750 if tall else 1050),
              "--disable-dev-shm-usage", "--hide-scrollbars"):
        opts.add_argument(a)
    return webdriver.Chrome(service=Service(driver), options=opts)


def text(drv, css):
    from selenium.common.exceptions import WebDriverException
    try:
        return drv.find_element("css selector", css).get_attribute("textContent")
    except WebDriverException:
        return None


def wait_for(fn, timeout=30, step=0.1):
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return None


def be(drv, name):
    who = drv.find_element("id", "who")
    who.clear()
    who.send_keys(name)
    drv.execute_script("arguments[0].dispatchEvent(new Event('change'))", who)


def press_step(drv, index, kind, reason=None):
    if reason is not None:
        r = drv.find_element("id", "reason")
        r.clear()
        r.send_keys(reason)
    drv.find_element("css selector", "#step-%d button.%s" % (index, kind)).click()
    return wait_for(lambda: text(drv, "#step-%d .badge" % index) == kind, 10)


def foreign_page_cannot_press(drv, d, lab):
    """Another origin's page, even with the token, gets 403 (its Origin is not ours)."""
    main = drv.current_window_handle
    drv.switch_to.new_window("tab")
    drv.get("data:text/html,<p>elsewhere</p>")
    status = drv.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch(arguments[0], {method: 'POST', credentials: 'include', mode: 'no-cors',
              headers: {'Content-Type': 'text/plain'}, body: '{"kind":"done","by":"mallory"}'})
          .then(() => done('sent')).catch((e) => done('blocked: ' + e));""",
        d.origin + "/act?token=" + d.token)
    drv.close()
    drv.switch_to.window(main)
    st = d.state()
    check(st is not None and W.waiting_step(st) == 0,
          "a foreign page's press (%s) changed nothing: step 1 still waits" % status)
    n = lab.query("SELECT COUNT(*) FROM laps")[0][0]
    check(n == 0, "no lap recorded from it (%d)" % n)


def drill_pressed(fd, drv, shot):
    lab = W.Lab("fdt-wr-browser")
    d = W.Drill(lab, fd)
    drv.get(d.url)
    check(wait_for(lambda: text(drv, "#phase") not in (None, "-"), 20) is not None,
          "the page shows a phase")
    check("token=" not in drv.current_url, "the token left the address bar: %s" % drv.current_url)
    # every phase the page shows, as it shows it; and a mark a reload would lose
    drv.execute_script("""
        window.fdtPhases = [document.getElementById('phase').textContent];
        window.fdtLoaded = true;
        new MutationObserver(() => {
          const p = document.getElementById('phase').textContent;
          if (window.fdtPhases[window.fdtPhases.length - 1] !== p) window.fdtPhases.push(p);
        }).observe(document.getElementById('phase'), {childList: true, characterData: true, subtree: true});""")
    check(wait_for(lambda: text(drv, "#phase") == "watch", 60), "the page reaches the watch")
    a = text(drv, "#stopwatch")
    time.sleep(1.2)
    b = text(drv, "#stopwatch")
    check(a != b and a != "--:--.-" and b != "--:--.-",
          "the stopwatch runs on the page: %s, then %s" % (a, b))
    check(wait_for(lambda: "waiting" in (drv.find_element("id", "step-0").get_attribute("class") or ""), 10),
          "the first manual step shows its buttons")

    foreign_page_cannot_press(drv, d, lab)

    be(drv, "alice")
    check(wait_for(lambda: text(drv, "#whorole") == "(incident-commander)", 5),
          "alice is shown as the incident commander")
    check(press_step(drv, 0, "done"), "Done pressed: step 1 shows done")
    be(drv, "bob")
    check(press_step(drv, 1, "skipped", "the DBA is on the bridge already"),
          "Skipped pressed: step 2 shows skipped")
    if shot:
        time.sleep(0.6)  # a few more samples on the strip chart
        drv.save_screenshot(shot)
        print("screenshot: " + shot)
    check(press_step(drv, 2, "failed", "no replica lag metric"), "Failed pressed: step 3 shows failed")
    check(wait_for(lambda: text(drv, "#outcome") == "recovered", 60), "the page says recovered")
    check(wait_for(lambda: text(drv, "#phase") == "done", 30), "the page reaches done")
    phases = drv.execute_script("return window.fdtPhases") or []
    check(drv.execute_script("return window.fdtLoaded === true") and "watch" in phases and
          "revert" in phases and phases[-1] == "done" and phases.index("watch") < phases.index("revert"),
          "the phase changed live on the page, never reloaded: %s" % " > ".join(phases))
    sw = text(drv, "#stopwatch")
    time.sleep(0.5)
    check(sw == text(drv, "#stopwatch") and sw != "--:--.-",
          "the stopwatch froze at the RTO: %s (%s)" % (sw, text(drv, "#verdict")))
    rc = d.wait(60)
    check(rc == 0, "the drill met its objectives (exit %d)" % rc)
    laps = lab.query("SELECT step, ok, detail FROM laps ORDER BY step")
    check(len(laps) == 4 and laps[0][2] == "by alice (incident-commander)",
          "Done recorded under alice's role: %r" % (laps[:1],))
    check(len(laps) == 4 and laps[1][2] == "skipped: by bob (scribe): the DBA is on the bridge already",
          "Skipped recorded with bob's reason: %r" % (laps[1:2],))
    check(len(laps) == 4 and laps[2][1] == 0 and laps[2][2] == "by bob (scribe): no replica lag metric",
          "Failed recorded with bob's reason: %r" % (laps[2:3],))
    lab.close()


def drill_aborted(fd, drv):
    lab = W.Lab("fdt-wr-browab")
    d = W.Drill(lab, fd)
    drv.get(d.url)
    check(wait_for(lambda: text(drv, "#phase") == "watch", 60), "the abort drill's page is in its watch")
    be(drv, "alice")
    drv.find_element("id", "abort").click()
    check(drv.find_element("id", "abort-confirm").is_displayed(), "abort asks for a confirmation first")
    drv.find_element("id", "abort-cancel").click()
    time.sleep(0.3)
    check(d.p.poll() is None and "firedrill" in lab.ruleset(), "cancel: the drill runs on, the fault held")
    drv.find_element("id", "abort").click()
    r = drv.find_element("id", "abort-reason")
    r.send_keys("the customer called")
    drv.find_element("id", "abort-confirm").click()
    rc = d.wait(60)
    check(rc == 1, "the drill exits 1 when aborted (%d)" % rc)
    rules = lab.ruleset()
    check(rules == "", "abort reverted: the namespace's nft ruleset is empty (%r)" % rules[:200])
    row = lab.query("SELECT outcome FROM drills ORDER BY id DESC LIMIT 1")
    check(row == [("aborted",)], "the drill is recorded aborted: %r" % row)
    it = lab.query("SELECT detail FROM iterations ORDER BY id DESC LIMIT 1")
    check(it == [("aborted by alice (incident-commander): the customer called",)],
          "by whom and why: %r" % it)
    lab.close()


def main():
    args = sys.argv[1:]
    shot = None
    if "--screenshot" in args:
        i = args.index("--screenshot")
        shot = os.path.abspath(args[i + 1])
        del args[i:i + 2]
    if len(args) != 1:
        print(__doc__)
        return 2
    W.need_root()
    drv = browser(tall=shot is not None)
    try:
        drill_pressed(args[0], drv, shot)
        drill_aborted(args[0], drv)
    finally:
        drv.quit()
    return W.finish()


if __name__ == "__main__":
    sys.exit(main())
