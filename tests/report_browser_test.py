#!/usr/bin/env python3
"""The HTML report in a real browser (ctest: report_browser).

Makes a small retail base, runs the shipped retail rules on it twice a month apart (the second
run with --format json), writes `strata report` of the second run, and opens it in headless
Chromium through chromedriver (the W3C WebDriver protocol, spoken here with the standard
library only) with the network disabled. Fails on any console error, when a chart container
holds no drawn canvas, or when the numbers in the DOM differ from the run's JSON: each
segment's customers, share and value total, the base's customers and value total. Saves a
screenshot as BUILD/report-screenshot.png for people to look at.

Usage: report_browser_test.py --strata BUILD/strata --build BUILD --source SOURCE_DIR
"""
import argparse
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request


def fail(message):
    print("report_browser: FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def run(cmd, **kwargs):
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        fail("%s exited %d:\n%s%s" % (" ".join(cmd), result.returncode, result.stdout, result.stderr))
    return result


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebDriver:
    def __init__(self, port):
        self.base = "http://127.0.0.1:%d" % port
        self.session = None

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        # chromedriver is on loopback: no proxy may stand between.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=120) as response:
                return json.loads(response.read().decode())["value"]
        except urllib.error.HTTPError as e:
            fail("webdriver %s %s: %s" % (method, path, e.read().decode()[:2000]))

    def wait_ready(self):
        for _ in range(100):
            try:
                opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
                with opener.open(self.base + "/status", timeout=2) as r:
                    if json.loads(r.read().decode())["value"].get("ready"):
                        return
            except (OSError, ValueError):
                pass
            time.sleep(0.1)
        fail("chromedriver did not start")

    def start(self, chromium, profile):
        caps = {
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=1280,1000", "--hide-scrollbars",
                    # No network: every request would go to a proxy that is not there.
                    "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
                    "--host-resolver-rules=MAP * ~NOTFOUND",
                    # The profile in the test's own folder: Chromium's default is a new
                    # folder under /tmp on every start, which it leaves behind.
                    "--user-data-dir=" + profile,
                ],
            },
        }
        value = self.call("POST", "/session", {"capabilities": {"alwaysMatch": caps}})
        self.session = value["sessionId"]

    def s(self, path):
        return "/session/%s%s" % (self.session, path)

    def script(self, code):
        return self.call("POST", self.s("/execute/sync"), {"script": code, "args": []})


def segments_of(summary):
    out = {}

    def walk(items):
        for s in items:
            out[s["path"]] = s
            walk(s.get("tactical") or [])

    walk(summary["segments"])
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--strata", required=True)
    parser.add_argument("--build", required=True)
    parser.add_argument("--source", required=True)
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    if not chromium or not chromedriver:
        fail("chromium and chromedriver are needed (Debian: apt-get install chromium "
             "chromium-driver; `make test` installs them)")
    build = os.path.abspath(args.build)
    work = os.path.join(build, "report-test")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    strata = os.path.abspath(args.strata)
    rules = os.path.join(args.source, "rules", "retail-rfm.yaml")
    first, later, state = (os.path.join(work, n) for n in ("a.db", "b.db", "state.db"))
    run([strata, "demo-data", "--kind", "retail", "--customers", "3000", "--out", first])
    run([strata, "demo-data", "--kind", "retail", "--customers", "3000", "--advance", "30d",
         "--out", later])
    run([strata, "run", rules, "--db", first, "--as-of", "2026-11-01", "--state", state])
    summary = json.loads(run([strata, "run", rules, "--db", later, "--as-of", "2026-12-01",
                              "--state", state, "--format", "json"]).stdout)
    html = os.path.join(work, "report.html")
    written = run([strata, "report", "--db", later, "--state", state, "--out", html])
    if "wrote " + html not in written.stdout:
        fail("strata report did not print the path it wrote: " + written.stdout)

    port = free_port()
    driver_log = open(os.path.join(work, "chromedriver.log"), "w")
    driver = subprocess.Popen([chromedriver, "--port=%d" % port], stdout=driver_log,
                              stderr=subprocess.STDOUT)
    wd = WebDriver(port)
    try:
        wd.wait_ready()
        wd.start(chromium, os.path.join(work, "chromium-profile"))
        wd.call("POST", wd.s("/url"), {"url": "file://" + html})
        ready = None
        for _ in range(200):
            ready = wd.script("return document.body.getAttribute('data-charts-ready');")
            if ready:
                break
            time.sleep(0.1)
        logs = wd.call("POST", wd.s("/se/log"), {"type": "browser"})
        errors = [entry for entry in logs if entry.get("level") == "SEVERE"]
        if errors:
            fail("console errors:\n" + "\n".join(e.get("message", "") for e in errors))
        if not ready:
            fail("the charts never finished drawing (no data-charts-ready on <body>)")

        charts = wd.script("""
            return Array.from(document.querySelectorAll('[data-chart]')).map(function (el) {
              var c = el.querySelector('canvas');
              return {id: el.id, w: c ? c.width : 0, h: c ? c.height : 0};
            });""")
        expected = {"chart-value-share", "chart-pareto", "chart-rfm", "chart-workload",
                    "chart-moves", "chart-history"}
        found = {c["id"] for c in charts}
        if not expected <= found:
            fail("chart containers missing: %s" % sorted(expected - found))
        for c in charts:
            if c["w"] <= 0 or c["h"] <= 0:
                fail("chart %s drew nothing (canvas %dx%d)" % (c["id"], c["w"], c["h"]))
        if int(ready) != len(charts):
            fail("%s charts drawn, %d containers" % (ready, len(charts)))

        dom = wd.script("""
            var rows = {};
            document.querySelectorAll('#segment-table tr[data-path]').forEach(function (tr) {
              rows[tr.dataset.path] = {customers: tr.dataset.customers, share: tr.dataset.share,
                                       value_total: tr.dataset.valueTotal};
            });
            return {rows: rows,
                    run: document.getElementById('report-header').dataset.run,
                    customers: document.getElementById('fact-customers').dataset.value,
                    value_total: document.getElementById('fact-value-total').dataset.value};""")
        if int(dom["run"]) != summary["run_id"]:
            fail("the report shows run %s, the run was %s" % (dom["run"], summary["run_id"]))
        if int(dom["customers"]) != summary["customers"]:
            fail("customers: DOM %s, run %s" % (dom["customers"], summary["customers"]))
        if abs(float(dom["value_total"]) - summary["value_total"]) > 0.005:
            fail("value total: DOM %s, run %s" % (dom["value_total"], summary["value_total"]))
        segments = segments_of(summary)
        if set(dom["rows"]) != set(segments):
            fail("segments: DOM %s, run %s" % (sorted(dom["rows"]), sorted(segments)))
        for path, s in segments.items():
            row = dom["rows"][path]
            if int(row["customers"]) != s["count"]:
                fail("%s customers: DOM %s, run %s" % (path, row["customers"], s["count"]))
            if abs(float(row["share"]) - s["share"]) > 1e-9:
                fail("%s share: DOM %s, run %s" % (path, row["share"], s["share"]))
            if abs(float(row["value_total"]) - s["value_total"]) > 0.005:
                fail("%s value total: DOM %s, run %s" % (path, row["value_total"], s["value_total"]))

        # The whole page in one picture: the window as tall as the document.
        height = wd.script("return document.documentElement.scrollHeight;")
        wd.call("POST", wd.s("/window/rect"), {"width": 1280, "height": int(height) + 160})
        png = base64.b64decode(wd.call("GET", wd.s("/screenshot")))
        with open(os.path.join(build, "report-screenshot.png"), "wb") as f:
            f.write(png)
        print("report_browser: %d segments and %d charts match run %d; screenshot in %s" %
              (len(segments), len(charts), summary["run_id"],
               os.path.join(build, "report-screenshot.png")))
    finally:
        if wd.session:
            try:
                wd.call("DELETE", wd.s(""))
            except SystemExit:
                pass
        driver.terminate()
        driver.wait(timeout=10)


if __name__ == "__main__":
    main()
