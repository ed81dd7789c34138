"""Chromium: a therapist's caseload shows the open-alert banner within 15 s of a critical answer saved by
another session (the patient's kiosk session, through the store), without a reload; Acknowledge clears it.

Skips with the reason when Chromium or Playwright is missing, except under ``CI=true``, where it fails.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from scoring.store import Actor, Clinic, Store, password_hasher
from tests.support.browser import CHROMIUM
from tests.support.browser import free_port as _free_port
from tests.support.browser import require_browser as _require_browser
from tests.support.shipped import shipped_library

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
PASSWORD = "correct horse battery"
SYSTEM = Actor.system("e2e")






def test_banner_within_15_seconds_of_an_answer_saved_elsewhere(tmp_path: Path) -> None:
    _require_browser()
    from playwright.sync_api import sync_playwright

    db = f"sqlite:///{tmp_path / 'clinic.db'}"
    store = Store(db)
    store.upgrade()
    clinic = Clinic(store, shipped_library(), hasher=password_hasher(fast=True))
    theo = clinic.users.add(SYSTEM, "theo", "therapist", PASSWORD).actor
    pid = clinic.patients.add(theo, "Alice Example")
    issued = clinic.assignments.assign(theo, pid, instruments=["phq9"])
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PSYSCORE_SMTP")}
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "scoring", "app", "--db", db, "--port", str(port)],
                            env=env | {"PSYSCORE_DATABASE_URL": db}, cwd=tmp_path, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://localhost:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(base + "_stcore/health", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("psyscore app did not start: "
                                + (tmp_path / "server.log").read_text(errors="replace")[-2000:])
                time.sleep(0.5)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.set_default_timeout(30_000)
                page.goto(base + "login")
                page.get_by_role("textbox", name="User name").fill("theo")
                page.get_by_role("textbox", name="Password").fill(PASSWORD)
                page.get_by_role("button", name="Sign in").click()
                page.get_by_role("heading", name="Caseload").wait_for()
                page.get_by_text("No open alerts.").wait_for()
                assert page.get_by_text(re.compile(r"\d+ open alerts?")).count() == 0
                # the patient answers on the tablet: another session, straight through the store
                session = clinic.kiosk.redeem(issued.code)
                adm = session.administrations[0].id
                t0 = time.monotonic()
                clinic.kiosk.save_answer(session.ticket, adm, "phq9_9", 2)
                page.get_by_text("1 open alert").first.wait_for(timeout=15_000)
                elapsed = time.monotonic() - t0
                assert elapsed < 15, elapsed
                page.get_by_text("Alerts — 1 open").wait_for(timeout=15_000)  # the caseload's own panel
                page.get_by_role("button", name="Acknowledge").click()
                page.get_by_text("Alert acknowledged.").wait_for()
                page.get_by_text("Alerts — 0 open, 1 acknowledged").wait_for()
                page.get_by_text(re.compile(r"\d+ open alerts? for your patients")).wait_for(state="detached",
                                                                                           timeout=15_000)
            finally:
                browser.close()
        assert [a.status for a in clinic.alerts.list(theo)] == ["acknowledged"]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the group this test started
            proc.wait()
        log.close()
        store.close()
