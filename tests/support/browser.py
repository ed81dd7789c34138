"""Chromium for the browser tests (tests/e2e, tests/charts/test_chart_html.py): where it is, whether it can run,
a free local port, a ``psyscore app`` server under test, and the page helpers the e2e tests share (the
fixtures built on them are in tests/e2e/conftest.py).

Debian's Chromium is driven by Playwright through ``executablePath`` (``PSYSCORE_CHROMIUM``, default
/usr/bin/chromium). Without it, or without the playwright package, a test skips with the reason, except under
``CI=true``, where it fails.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scoring.store import Actor, Clinic, Store, password_hasher
from tests.support.shipped import shipped_library

CHROMIUM = Path(os.environ.get("PSYSCORE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync")
SYSTEM = Actor.system("e2e")  # the actor the e2e tests seed their clinics with
PASSWORD = "correct horse battery"  # every e2e user's password
IDLE_SECONDS = 25  # the ``server`` fixture's kiosk idle timeout: a slow, loaded machine does not time out mid-test
ES_INSTR = "Conteste pensando en las últimas dos semanas."  # the ``served`` battery's Spanish texts
ES_CONSENT = "Mis respuestas se guardan para mi tratamiento."
#: how long one tap may take to bring the next screen
NEXT_SCREEN_MS = 10_000

# the kiosk's tap guard (app/ui/kiosk_input.py) as the tests read it, for an error message
_GUARD_STATE = """() => { const G = window.__psyTapGuard; if (!G) return null;
  return { screen: G.screen, run: G.run, ready: G.ready(), waiting: G.waiting, blocked: G.blocked,
           lostBegin: G.lostBegin,
           lockedFor: Math.round(G.lockedUntil - performance.now()), log: G.log.slice(-6) }; }"""
# a kiosk page (its guard's element or a screen's begin marker is in the page) is ready once the guard is
# installed and says ready(): the screen is complete and was seen for the dwell; any other page is ready at once
_GUARD_READY = """() => { const kiosk = document.querySelector('[data-psy-kiosk], [data-psy-begin]');
  if (!kiosk) return true;
  return !!window.__psyTapGuard && window.__psyTapGuard.ready(); }"""


@dataclass
class Server:
    """A ``psyscore app`` under test: its base URL, its database and the seeded patient's id."""

    base: str
    db_url: str
    patient: int

    def clinic(self) -> Clinic:
        """A new clinic on the server's database (close its ``store`` when done)."""
        return Clinic(Store(self.db_url), shipped_library(), hasher=password_hasher(fast=True))


def require_browser() -> None:
    """Skip (fail under CI=true) unless Chromium and the playwright package are there."""
    reason = None
    if not CHROMIUM.exists():
        reason = f"Chromium is not installed at {CHROMIUM} (Debian: apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "the playwright Python package is not installed (pip install -e '.[dev]')"
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: the browser test must run)")
        pytest.skip(reason)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def new_clinic(folder: Path) -> Iterator[tuple[str, Clinic, Actor]]:
    """A new SQLite clinic in ``folder/clinic.db`` (migrated) with therapist ``theo`` (:data:`PASSWORD`): yields
    (database URL, clinic, theo's actor) and closes the store afterwards."""
    db_url = f"sqlite:///{folder / 'clinic.db'}"
    with Store(db_url) as store:
        store.upgrade()
        clinic = Clinic(store, shipped_library(), hasher=password_hasher(fast=True))
        theo = clinic.users.add(SYSTEM, "theo", "therapist", PASSWORD).actor
        yield db_url, clinic, theo


def sign_in(page: Any, base: str, user: str = "theo") -> None:
    """Sign ``user`` in on the staff sign-in page of the app at ``base``; returns once the caseload shows."""
    page.goto(base + "login")
    page.get_by_role("textbox", name="User name").fill(user)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Caseload").wait_for()


@contextmanager
def running_app(folder: Path, db_url: str, *args: str, env: Mapping[str, str] | None = None) -> Iterator[str]:
    """Run ``psyscore app --db DB_URL --port <free> ARGS`` in ``folder`` (its output in ``folder/server.log``)
    and yield its base URL once Streamlit's health check answers; stop it afterwards (SIGTERM, which the app
    forwards to Streamlit; SIGKILL to the process group it started after 20 s). ``env``: the server's whole
    environment (default: this process's)."""
    port = free_port()
    log_path = folder / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "scoring", "app", "--db", db_url, "--port", str(port),
                                 *args], env=dict(os.environ if env is None else env), cwd=folder,
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
                    out = log_path.read_text(errors="replace")
                    pytest.fail(f"psyscore app did not start: {out[-2000:]}")
                time.sleep(0.5)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # the group this helper started, nothing else
                proc.wait()


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (a Playwright ``Browser``), closed afterwards. Call :func:`require_browser` first."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        try:
            yield b
        finally:
            b.close()


def tablet(browser: Any, width: int = 768, height: int = 1024) -> tuple[Any, Any]:
    """A touch context of ``width``×``height`` (30 s default timeout) and a page in it."""
    context = browser.new_context(viewport={"width": width, "height": height}, has_touch=True, is_mobile=False)
    context.set_default_timeout(30_000)
    return context, context.new_page()


def settle(page: Any) -> None:
    """Wait until Streamlit has finished the current run (no 'running' indicator) and, on a kiosk page, until
    its tap guard is installed and takes taps (the screen is complete and was on display for the dwell)."""
    page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]')")
    page.wait_for_function(_GUARD_READY)
    page.wait_for_timeout(150)


def guard_screen(page: Any) -> str | None:
    """The complete kiosk screen on display, as the tap guard names it (None: no guard or no screen yet)."""
    screen = page.evaluate("() => window.__psyTapGuard ? window.__psyTapGuard.screen : null")
    return None if screen is None else str(screen)


def tap_once(page: Any, locator: Any, expect_screen: str, *, what: str, same_screen: bool = False) -> None:
    """Wait for the kiosk screen ``expect_screen`` and the guard's ready(), tap ``locator`` once (a real touch at
    its centre), then wait for another screen (``same_screen``: for the server's answer, a new run of the same
    screen). A tap that does not land fails, naming ``what`` and the guard's state."""
    page.wait_for_function("s => window.__psyTapGuard && window.__psyTapGuard.screen === s", arg=expect_screen)
    page.wait_for_function("() => window.__psyTapGuard.ready()")
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    assert box is not None, what
    before = page.evaluate("() => [window.__psyTapGuard.screen, window.__psyTapGuard.log.length,"
                           " window.__psyTapGuard.blocked]")
    landed = ("([s, n, same]) => { const G = window.__psyTapGuard;"
              " return (same || G.screen !== s) && G.log.length > n && G.ready(); }")
    page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    try:
        page.wait_for_function(landed, arg=[*before[:2], same_screen], timeout=NEXT_SCREEN_MS)
    except Exception as exc:
        state = page.evaluate(_GUARD_STATE)
        raise AssertionError(f"one tap on {what} (screen {expect_screen}) did not land: {state}") from exc


def keypad_code(page: Any, code: str) -> None:
    """Type ``code`` on the kiosk keypad (digits are collected in the browser) and tap Start."""
    page.locator("[data-testid=psy-keypad]").wait_for()
    for digit in code.replace(" ", ""):
        page.locator(f".psy-keypad button[data-key='{digit}']").tap()
    assert page.locator("[data-testid=psy-code]").get_attribute("data-digits") == code.replace(" ", "")
    page.locator(".psy-keypad button[data-key=start]").tap()
