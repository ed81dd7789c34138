"""Tablet benchmark: tap → next question rendered, in Debian's Chromium, over a 50-item battery.

    python bench/bench_kiosk_taps.py          # also run by bench/run_all.py (make bench)

Starts ``psyscore app`` on a free port against a temporary SQLite clinic with a battery of PHQ-9, GAD-7,
PCL-5, K10 and SWLS (52 items), redeems it in a headless Chromium at 768×1024 and answers 50 questions by
tapping. Each figure is browser time from the finger down (``pointerdown``) to the next question's screen
being complete (the tap guard's marker of the new question is in the page). The question area is an
``st.fragment``: a tap reruns only it. After each question the benchmark waits for the tap guard to take
taps again (600 ms after a new question appears), which is not counted.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date
from pathlib import Path

import scoring
from scoring.store import Actor, Clinic, Store, password_hasher

CHROMIUM = Path(os.environ.get("PSYSCORE_CHROMIUM", "/usr/bin/chromium"))
BATTERY = ["phq9", "gad7", "pcl5", "k10", "swls"]
TAPS = 50
SYSTEM = Actor.system("bench")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--taps", type=int, default=TAPS)
    args, _ = parser.parse_known_args(argv)  # run_all passes its own options to every benchmark
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("skipped: the playwright package is not installed (pip install -e '.[dev]')")
        return 0
    if not CHROMIUM.exists():
        print(f"skipped: Chromium is not installed at {CHROMIUM}")
        return 0
    folder = Path(tempfile.mkdtemp(prefix="psyscore-bench-kiosk-"))
    url = f"sqlite:///{folder / 'clinic.db'}"
    with Store(url) as store:
        store.upgrade()
        clinic = Clinic(store, scoring.load_library(), hasher=password_hasher(fast=True))
        theo = clinic.users.add(SYSTEM, "theo", "therapist", "correct horse battery").actor
        clinic.batteries.add(SYSTEM, "Fifty", BATTERY)
        pid = clinic.patients.add(theo, "Bench Patient", date_of_birth=date(1980, 1, 1), sex="female")
        issued = clinic.assignments.assign(SYSTEM, pid, battery="Fifty")
    port = _free_port()
    log = (folder / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "scoring", "app", "--db", url, "--port", str(port)],
                            env=dict(os.environ, PSYSCORE_DATABASE_URL=url), cwd=folder, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://localhost:{port}/"
    times: list[float] = []
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(base + "_stcore/health", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    print("psyscore app did not start", file=sys.stderr)
                    return 1
                time.sleep(0.5)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox"])
            page = browser.new_context(viewport={"width": 768, "height": 1024}, has_touch=True).new_page()
            page.set_default_timeout(30_000)
            page.goto(f"{base}?link={issued.token}")
            ready = "() => window.__psyTapGuard && window.__psyTapGuard.ready()"
            page.get_by_role("button", name="Start the questionnaires").wait_for()
            page.wait_for_function(ready)
            page.get_by_role("button", name="Start the questionnaires").tap()
            page.evaluate("""() => { window.__taps = [];
                document.addEventListener('pointerdown', () => window.__taps.push(Date.now()), true); }""")
            while len(times) < args.taps:
                page.wait_for_function("() => document.querySelector('[data-psy-screen]')")
                page.wait_for_function(ready)
                screen = page.evaluate("() => window.__psyTapGuard.screen")
                if not screen.startswith("item:"):  # the end of a questionnaire: continue (not counted)
                    page.get_by_role("button", name="Continue ▶").tap()
                    page.wait_for_function("s => window.__psyTapGuard.screen !== s", arg=screen)
                    continue
                n = page.evaluate("() => window.__psyTapGuard.log.length")
                page.locator("[data-testid=stMain] .stButton button").first.tap()  # the first option
                page.wait_for_function("([s, n]) => window.__psyTapGuard.log.length > n "
                                       "&& window.__psyTapGuard.screen !== s", arg=[screen, n])
                tap_at = page.evaluate("() => window.__taps[window.__taps.length - 1]")
                shown_at = page.evaluate("() => window.__psyTapGuard.shownAt")
                times.append(shown_at - tap_at)
            browser.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
    print(f"tap → next question rendered over {len(times)} questions of a {len(BATTERY)}-instrument battery "
          f"(Chromium 768×1024, st.fragment): p50 {statistics.median(times):.0f} ms, p95 {pct(times, 95):.0f} ms, "
          f"max {max(times):.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
