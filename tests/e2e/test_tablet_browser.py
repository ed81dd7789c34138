"""Real-browser end-to-end test: Debian's Chromium driven by Playwright at tablet sizes.

``psyscore app`` is started on a free port against a temporary SQLite clinic seeded through the store API.
A GAD-7 is completed by tapping, reloaded half-way and resumed; the stored score is checked through the
store. No horizontal scrolling at 768×1024, 820×1180 and 1024×768; every touch target is at least 48 px;
the idle timeout returns the tablet to the code screen. Screenshots of the kiosk and the therapist's
dashboard go to ``test-artifacts/`` (git-ignored).

Skips with the reason when Chromium or Playwright is missing, except under ``CI=true``, where it fails.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from scoring.store import Actor, Clinic, Store, password_hasher
from tests.support.browser import CHROMIUM
from tests.support.browser import free_port as _free_port
from tests.support.browser import require_browser as _require_browser
from tests.support.shipped import shipped_library

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORTS = ((768, 1024), (820, 1180), (1024, 768))
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
IDLE_SECONDS = 25  # long enough that a slow, loaded machine does not time out the session mid-test
PASSWORD = "correct horse battery"
GAD7 = {"gad7_1": 1, "gad7_2": 2, "gad7_3": 0, "gad7_4": 3, "gad7_5": 1, "gad7_6": 2, "gad7_7": 1}
SYSTEM = Actor.system("e2e")






@dataclass
class Server:
    base: str
    db_url: str
    patient: int

    def clinic(self) -> Clinic:
        return Clinic(Store(self.db_url), shipped_library(), hasher=password_hasher(fast=True))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    _require_browser()
    folder = tmp_path_factory.mktemp("e2e")
    db_url = f"sqlite:///{folder / 'clinic.db'}"
    with Store(db_url) as store:
        store.upgrade()
        clinic = Clinic(store, shipped_library(), hasher=password_hasher(fast=True))
        theo = clinic.users.add(SYSTEM, "theo", "therapist", PASSWORD).actor
        clinic.batteries.add(SYSTEM, "Anxiety check", ["gad7"], instructions="Think about the last two weeks.",
                             consent_text="My answers are stored for my treatment and seen by my care team.")
        pid = clinic.patients.add(theo, "Alice Example", date_of_birth=date(1980, 5, 1), sex="female")
        start = datetime.now(UTC) - timedelta(days=70)
        for k, level in enumerate((3, 3, 2, 2, 1)):
            when = start + timedelta(days=14 * k)
            clinic.administrations.record(theo, pid, "phq9", {f"phq9_{i}": level for i in range(1, 10)}
                                          | {"phq9_9": 1 if k == 4 else 0}, administered_at=when)
            clinic.administrations.record(theo, pid, "gad7", {f"gad7_{i}": level for i in range(1, 8)},
                                          administered_at=when)
        clinic.patients.add_event(theo, pid, (start + timedelta(days=20)).date(), "Sertraline 50 mg")
    port = _free_port()
    env = dict(os.environ, PSYSCORE_DATABASE_URL=db_url)
    log = (folder / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "scoring", "app", "--db", db_url, "--port", str(port),
                             "--kiosk-idle", str(IDLE_SECONDS)], env=env, cwd=folder,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://localhost:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(base + "_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                out = (folder / "server.log").read_text(errors="replace")
                pytest.fail(f"psyscore app did not start: {out[-2000:]}")
            time.sleep(0.5)
        yield Server(base, db_url, pid)
    finally:
        proc.terminate()  # psyscore app forwards it to the Streamlit server
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the group this test started, nothing else
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def browser(server: Server) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _tablet(browser):
    context = browser.new_context(viewport={"width": 768, "height": 1024}, has_touch=True, is_mobile=False)
    context.set_default_timeout(30_000)
    return context, context.new_page()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def _settle(page) -> None:
    """Wait until Streamlit has finished the current run (no 'running' indicator, no stale elements)."""
    page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]')")
    # the kiosk's tap guard takes taps again (it ignores them briefly after a new question appears)
    page.wait_for_function("() => !window.__psyTapGuard || window.__psyTapGuard.ready()")
    page.wait_for_timeout(150)


def _no_horizontal_scroll(page, where: str) -> None:
    for width, height in VIEWPORTS:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(300)
        scroll, client = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert scroll <= client, f"{where}: horizontal scrolling at {width}×{height} ({scroll} > {client})"
    page.set_viewport_size({"width": 768, "height": 1024})
    page.wait_for_timeout(300)


def _touch_targets(page, where: str) -> None:
    sizes = page.evaluate("""() => Array.from(document.querySelectorAll('button')).filter(b => b.offsetParent)
        .map(b => { const r = b.getBoundingClientRect(); return [b.innerText.trim(), r.height, r.width]; })""")
    assert sizes, where
    small = [s for s in sizes if s[1] < 48 or s[2] < 48]
    assert not small, f"{where}: touch targets under 48 px: {small}"


def _type_code(page, code: str) -> None:
    page.get_by_text("Please enter the code you were given.").wait_for()
    typed = ""
    for digit in code.replace(" ", ""):
        page.get_by_role("button", name=digit, exact=True).tap()
        typed += digit
        page.wait_for_function(
            "t => document.querySelector('[data-testid=psy-code]').innerText.replace(/[^0-9]/g, '') === t",
            arg=typed)
    page.get_by_role("button", name="Start", exact=True).tap()


def _tap_until_gone(page, target, gone, tries: int = 4) -> None:
    """Tap ``target`` until ``gone`` leaves the screen. The kiosk's tap guard ignores a tap that lands while the
    previous one is answered or just after a screen appears (by design: a tap never answers an unseen
    question), so a tap the guard swallowed is repeated — only while the same screen is still shown."""
    for attempt in range(tries):
        _settle(page)
        target.tap()
        try:
            gone.wait_for(state="hidden", timeout=8000)
            return
        except Exception:
            if attempt == tries - 1:
                raise


def _answer(page, k: int, label: str) -> None:
    question = page.get_by_text(f"Question {k} of 7", exact=False)
    question.wait_for()
    _tap_until_gone(page, page.get_by_role("button", name=label, exact=True), question)


def test_gad7_by_tapping_with_a_reload_half_way(server: Server, browser) -> None:
    clinic = server.clinic()
    issued = clinic.assignments.assign(SYSTEM, server.patient, battery="Anxiety check")
    gad7 = clinic.library["gad7"]
    labels = {o.value: o.label for o in next(s for s in gad7.instrument.option_sets).options}
    context, page = _tablet(browser)
    page.goto(server.base)
    page.get_by_text("Welcome").wait_for()
    _settle(page)
    _shot(page, "kiosk-1-code.png")
    _no_horizontal_scroll(page, "code screen")
    _touch_targets(page, "code screen")
    _type_code(page, issued.code)
    page.get_by_text("Think about the last two weeks.").wait_for()
    _settle(page)
    _shot(page, "kiosk-2-consent.png")
    _touch_targets(page, "consent screen")
    agree = page.get_by_role("button", name="I agree — start")
    _tap_until_gone(page, agree, agree)
    assert "session=" in page.url and "link=" not in page.url
    items = list(GAD7.items())
    for k, (_, value) in enumerate(items[:4], start=1):
        _answer(page, k, labels[value])
    page.get_by_text("Question 5 of 7").wait_for()
    _settle(page)
    _shot(page, "kiosk-3-item.png")
    _no_horizontal_scroll(page, "item screen")
    _touch_targets(page, "item screen")
    page.reload()  # half-way: a reload resumes from the token in the URL
    page.get_by_text("Question 5 of 7").wait_for()
    for k, (_, value) in enumerate(items[4:], start=5):
        _answer(page, k, labels[value])
    page.get_by_text("You have answered every question").wait_for()
    _settle(page)
    page.get_by_role("button", name="Continue ▶").tap()
    page.get_by_text("Thank you!").wait_for()
    _settle(page)
    _shot(page, "kiosk-4-done.png")
    _no_horizontal_scroll(page, "completion screen")
    assert "session=" not in page.url
    body = page.inner_text("body")
    assert "Moderate" not in body and "Mild" not in body and "score" not in body.lower()
    history = clinic.patients.history(SYSTEM, server.patient, instrument_id="gad7")
    assert history[history["scale_id"] == "total"].iloc[-1]["score"] == sum(GAD7.values()) == 10
    stored = clinic.patients.answer_table(SYSTEM, server.patient, instrument_id="gad7").iloc[-1]
    assert {k: stored[k] for k in GAD7} == {k: float(v) for k, v in GAD7.items()}
    page.get_by_role("button", name="Finish").tap()
    page.get_by_text("Please enter the code you were given.").wait_for()
    context.close()
    clinic.store.close()


def test_idle_timeout_returns_to_the_code_screen(server: Server, browser) -> None:
    clinic = server.clinic()
    issued = clinic.assignments.assign(SYSTEM, server.patient, instruments=["gad7"])
    context, page = _tablet(browser)
    page.goto(server.base)
    _type_code(page, issued.code)
    page.get_by_role("button", name="Start the questionnaires").wait_for()
    _settle(page)
    page.get_by_role("button", name="Start the questionnaires").tap()
    page.get_by_text("Question 1 of 7").wait_for()
    resume_url = page.url
    assert "session=" in resume_url
    started = time.monotonic()
    page.get_by_text("not used for a while").wait_for(timeout=(IDLE_SECONDS + 20) * 1000)
    assert time.monotonic() - started >= IDLE_SECONDS - 1
    assert "session=" not in page.url
    page.goto(resume_url)  # the old address no longer resumes
    page.get_by_text("Your session has ended").wait_for()
    context.close()
    clinic.store.close()


def test_therapist_dashboard(server: Server, browser) -> None:
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.goto(server.base + "login")
    page.get_by_role("textbox", name="User name").fill("theo")
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Caseload").wait_for()
    _settle(page)
    # the staff session lives on the server; the browser holds only its HttpOnly cookie (and Streamlit's XSRF one)
    assert {c["name"] for c in context.cookies()} <= {"_streamlit_xsrf", "psyscore_staff"}
    assert all(c["httpOnly"] for c in context.cookies() if c["name"] == "psyscore_staff")
    _shot(page, "therapist-1-caseload.png")
    page.get_by_role("button", name="Open", exact=True).first.click()
    page.get_by_role("heading", name="Alice Example").wait_for()
    page.locator("[data-testid=stVegaLiteChart]").first.wait_for()
    _settle(page)
    page.wait_for_timeout(1000)
    _shot(page, "therapist-2-patient.png")
    context.close()
