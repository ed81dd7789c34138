"""Real-browser end-to-end test: Debian's Chromium driven by Playwright at tablet sizes.

``psyscore app`` is started on a free port against a temporary SQLite clinic seeded through the store API.
A GAD-7 is completed by tapping, reloaded half-way and resumed; the stored score is checked through the
store. No horizontal scrolling at 768×1024, 820×1180 and 1024×768; every touch target is at least 48 px;
the idle timeout returns the tablet to the code screen. Screenshots of the kiosk and the therapist's
dashboard go to ``test-artifacts/`` (git-ignored).

Skips with the reason when Chromium or Playwright is missing, except under ``CI=true``, where it fails.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.support.browser import IDLE_SECONDS, SYSTEM, Server, settle, sign_in, tablet

VIEWPORTS = ((768, 1024), (820, 1180), (1024, 768))
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
GAD7 = {"gad7_1": 1, "gad7_2": 2, "gad7_3": 0, "gad7_4": 3, "gad7_5": 1, "gad7_6": 2, "gad7_7": 1}


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


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


def _tap_once_until_gone(page, target, gone) -> None:
    """Once the screen is settled (the tap guard takes taps), tap ``target`` once; ``gone`` must leave."""
    settle(page)
    target.tap()
    gone.wait_for(state="hidden", timeout=8000)


def _answer(page, k: int, label: str) -> None:
    question = page.get_by_text(f"Question {k} of 7", exact=False)
    question.wait_for()
    _tap_once_until_gone(page, page.get_by_role("button", name=label, exact=True), question)


def test_gad7_by_tapping_with_a_reload_half_way(server: Server, browser) -> None:
    clinic = server.clinic()
    issued = clinic.assignments.assign(SYSTEM, server.patient, battery="Anxiety check")
    gad7 = clinic.library["gad7"]
    labels = {o.value: o.label for o in next(s for s in gad7.instrument.option_sets).options}
    context, page = tablet(browser)
    page.goto(server.base)
    page.get_by_text("Welcome").wait_for()
    settle(page)
    _shot(page, "kiosk-1-code.png")
    _no_horizontal_scroll(page, "code screen")
    _touch_targets(page, "code screen")
    _type_code(page, issued.code)
    page.get_by_text("Think about the last two weeks.").wait_for()
    settle(page)
    _shot(page, "kiosk-2-consent.png")
    _touch_targets(page, "consent screen")
    agree = page.get_by_role("button", name="I agree — start")
    _tap_once_until_gone(page, agree, agree)
    assert "session=" in page.url and "link=" not in page.url
    items = list(GAD7.items())
    for k, (_, value) in enumerate(items[:4], start=1):
        _answer(page, k, labels[value])
    page.get_by_text("Question 5 of 7").wait_for()
    settle(page)
    _shot(page, "kiosk-3-item.png")
    _no_horizontal_scroll(page, "item screen")
    _touch_targets(page, "item screen")
    page.reload()  # half-way: a reload resumes from the token in the URL
    page.get_by_text("Question 5 of 7").wait_for()
    for k, (_, value) in enumerate(items[4:], start=5):
        _answer(page, k, labels[value])
    page.get_by_text("You have answered every question").wait_for()
    settle(page)
    page.get_by_role("button", name="Continue ▶").tap()
    page.get_by_text("Thank you!").wait_for()
    settle(page)
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
    context, page = tablet(browser)
    page.goto(server.base)
    _type_code(page, issued.code)
    page.get_by_role("button", name="Start the questionnaires").wait_for()
    settle(page)
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
    sign_in(page, server.base)
    settle(page)
    # the staff session lives on the server; the browser holds only its HttpOnly cookie (and Streamlit's XSRF one)
    assert {c["name"] for c in context.cookies()} <= {"_streamlit_xsrf", "psyscore_staff"}
    assert all(c["httpOnly"] for c in context.cookies() if c["name"] == "psyscore_staff")
    _shot(page, "therapist-1-caseload.png")
    page.get_by_role("button", name="Open", exact=True).first.click()
    page.get_by_role("heading", name="Alice Example").wait_for()
    page.locator("[data-testid=stVegaLiteChart]").first.wait_for()
    settle(page)
    page.wait_for_timeout(1000)
    _shot(page, "therapist-2-patient.png")
    context.close()
