"""The tablet in Spanish in a real browser (Debian Chromium + Playwright, 768×1024): a patient chooses
Español and sees the battery's Spanish instructions and consent, the Spanish support message right after
PHQ-9 item 9 is endorsed, and a thank-you screen with no trace of it; no English catalogue text on any of
these screens. Skips with the reason when Chromium or Playwright is missing, except under ``CI=true``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import date

import pytest

from scoring import messages
from scoring.store import Actor, Clinic, Store, password_hasher
from tests.support.browser import CHROMIUM
from tests.support.browser import free_port as _free_port
from tests.support.browser import require_browser as _require_browser
from tests.support.shipped import shipped_library

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SYSTEM = Actor.system("e2e")
ES, EN = messages.catalogue("es"), messages.catalogue("en")
ES_INSTR = "Conteste pensando en las últimas dos semanas."
ES_CONSENT = "Mis respuestas se guardan para mi tratamiento."






@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(base URL, one-time code) of a ``psyscore app`` whose battery has Spanish texts."""
    _require_browser()
    folder = tmp_path_factory.mktemp("e2e_es")
    db_url = f"sqlite:///{folder / 'clinic.db'}"
    with Store(db_url) as store:
        store.upgrade()
        clinic = Clinic(store, shipped_library(), hasher=password_hasher(fast=True))
        theo = clinic.users.add(SYSTEM, "theo", "therapist", "correct horse battery").actor
        clinic.batteries.add(SYSTEM, "Mood", ["phq9"], instructions="Think about the last two weeks.",
                             consent_text="My answers are stored for my treatment.")
        clinic.battery_texts.set(SYSTEM, "Mood", "es", instructions=ES_INSTR, consent_text=ES_CONSENT)
        pid = clinic.patients.add(theo, "Alice Example", date_of_birth=date(1980, 5, 1), sex="female")
        code = clinic.assignments.assign(SYSTEM, pid, battery="Mood").code
    port = _free_port()
    log = (folder / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "scoring", "app", "--db", db_url, "--port", str(port)],
                            env=dict(os.environ, PSYSCORE_DATABASE_URL=db_url), cwd=folder,
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
        yield base, code
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the group this test started, nothing else
            proc.wait()
        log.close()


def _settle(page) -> None:
    page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]')")
    page.wait_for_timeout(150)


def _english_left(body: str) -> list[str]:
    return [v for k, v in EN.items() if v != ES[k] and len(v) > 8 and v in body]


def _tap_until(page, button: str, expect: str) -> None:
    """Tap a button until ``expect`` shows (the tap guard ignores taps just after a screen appears)."""
    for _ in range(3):
        _settle(page)
        page.wait_for_timeout(700)
        if page.get_by_text(expect, exact=False).count():
            return
        page.get_by_role("button", name=button, exact=True).first.tap()
        try:
            page.get_by_text(expect, exact=False).first.wait_for(timeout=8000)
            return
        except Exception:  # the tap was ignored: again
            continue
    raise AssertionError(f"tapping {button!r} never showed {expect!r}")


def _tap_option(page, question: int, option: int) -> None:
    """Tap an option of question ``question`` and wait until the page moved on. A tap Streamlit dropped while
    re-rendering (the kiosk's tap handling is tested in test_tablet_browser.py) is repeated only while the
    same question is still on screen, so no other question is ever answered."""
    here = f"Pregunta {question} de 10"
    page.get_by_text(here, exact=False).wait_for()
    moved = "t => !(document.querySelector('[data-testid=psy-progress]')?.innerText || '').includes(t)"
    for _ in range(3):
        _settle(page)
        page.wait_for_timeout(700)  # past the tap guard's dwell after a new question
        if page.evaluate(moved, here):
            return
        page.locator("[class*='st-key-w_opt_'] button").nth(option).tap()
        try:
            page.wait_for_function(moved, arg=here, timeout=5000)
            return
        except Exception:  # a dropped tap: look again
            continue
    raise AssertionError(f"three taps on question {question} were not taken")


def test_spanish_flow_in_chromium(served: tuple[str, str]) -> None:
    from playwright.sync_api import sync_playwright

    base, code = served
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 768, "height": 1024}, has_touch=True)
            context.set_default_timeout(30_000)
            page = context.new_page()
            page.goto(base)
            page.get_by_text(EN["code_help"]).wait_for()
            typed = ""
            for digit in code.replace(" ", ""):
                page.get_by_role("button", name=digit, exact=True).tap()
                typed += digit
                page.wait_for_function(
                    "t => document.querySelector('[data-testid=psy-code]').innerText.replace(/[^0-9]/g, '') === t",
                    arg=typed)
            _settle(page)
            page.get_by_role("button", name="Start", exact=True).tap()
            page.get_by_role("button", name="Español").wait_for()
            for _ in range(3):  # the tap guard ignores taps just after a screen appears; choosing twice is harmless
                _settle(page)
                page.wait_for_timeout(700)
                page.get_by_role("button", name="Español").tap()
                try:
                    page.get_by_text(ES_INSTR).wait_for(timeout=8000)
                    break
                except Exception:  # the tap was ignored: again
                    continue
            page.get_by_text(ES_INSTR).wait_for()
            _settle(page)
            body = page.inner_text("body")
            assert ES["instructions"] in body and ES_CONSENT in body and not _english_left(body)
            assert "Think about" not in body and "My answers" not in body
            _tap_until(page, ES["agree"], "Pregunta 1 de 10")
            for k in range(1, 9):
                _tap_option(page, k, 0)
            _tap_option(page, 9, 2)  # item 9 endorsed
            page.get_by_text(ES["support_title"]).wait_for()
            _settle(page)
            body = page.inner_text("body")
            assert ES["support_default"] in body and not _english_left(body)
            _tap_until(page, ES["continue"], "Pregunta 10 de 10")
            _tap_option(page, 10, 0)
            page.get_by_text(ES["answered_all"]).wait_for()
            _tap_until(page, ES["continue"], ES["thanks_title"])
            _settle(page)
            body = page.inner_text("body")
            assert ES["thanks"] in body and ES["support_default"] not in body and ES["support_title"] not in body
            assert not _english_left(body) and page.locator(".psy-support").count() == 0
            context.close()
        finally:
            browser.close()
