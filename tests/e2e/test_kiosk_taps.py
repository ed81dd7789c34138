"""Double taps in a real Chromium never answer a question that was not on screen, never drop a keypad digit.

One ``psyscore app`` server for the module (the ``server`` and ``browser`` fixtures of tests/e2e/conftest.py).
Every screen kind is double-tapped at 50, 150, 300, 500 and 800 ms between the two taps (real touch events at
the same point): the code keypad, consent, an answer option, skip, back, next and the one-page layout (each target
scrolled into the viewport first, where a finger would tap it). The check goes through the
store: every stored answer is for the question the browser showed when it was saved, and that question had
been on screen at least the tap guard's dwell time (the browser logs each screen it shows, with its time).
Also the phone layout: at 390×844 the keypad keeps 3 columns and Start/Skip are above the fold.
"""

from __future__ import annotations

import time

import pytest

from scoring.store.models import Administration, Answer
from tests.support.browser import SYSTEM, Server, keypad_code, settle, tablet

DELAYS_MS = (50, 150, 300, 500, 800)
DWELL_MS = 600  # ui.kiosk_input.DWELL_MS
SLACK_MS = 120  # the server's clock stamps the answer a little after the tap


def _double_tap(page, locator, delay_ms: int) -> None:
    # a touch lands where the finger is: the target must be inside the viewport (the one-page layout is taller)
    locator.scroll_into_view_if_needed()
    page.wait_for_timeout(150)  # let the scroll finish before the point is taken
    box = locator.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    viewport = page.viewport_size
    assert viewport is not None and 0 <= y <= viewport["height"], f"tap point outside the viewport: {box}"
    page.touchscreen.tap(x, y)
    time.sleep(delay_ms / 1000)
    page.touchscreen.tap(x, y)


def _quiet(page) -> None:
    settle(page)
    page.wait_for_timeout(DWELL_MS + 150)


def _keypad_digits(page) -> str:
    return page.locator("[data-testid=psy-code]").get_attribute("data-digits") or ""


def _answers(srv: Server, assignment_id: int) -> list[tuple[int, str, float]]:
    clinic = srv.clinic()
    with clinic.store.read() as s:
        rows = s.execute(select_answers(assignment_id)).all()
    clinic.store.close()
    return [(adm, item, at.timestamp() * 1000) for adm, item, at in rows]


def _skips(srv: Server, assignment_id: int) -> int:
    """Stored skips (answers without a value) of the assignment."""
    clinic = srv.clinic()
    with clinic.store.read() as s:
        rows = s.execute(select_answers(assignment_id).add_columns(Answer.value)).all()
    clinic.store.close()
    return sum(1 for row in rows if row.value is None)


def select_answers(assignment_id: int):
    from sqlalchemy import select

    return (select(Answer.administration_id, Answer.item_id, Answer.answered_at)
            .join(Administration, Administration.id == Answer.administration_id)
            .where(Administration.assignment_id == assignment_id).order_by(Answer.id))


def _check_every_answer_was_on_screen(page, srv: Server, assignment_id: int) -> int:
    log = page.evaluate("() => window.__psyTapGuard.log")
    assert log, "the tap guard is not installed"
    answers = _answers(srv, assignment_id)
    for adm, item, at in answers:
        before = [entry for entry in log if entry[0] <= at]
        assert before, (item, "saved before any screen was shown")
        screen = before[-1][1]
        assert screen in (f"item:{adm}:{item}", f"page:{adm}"), f"{item} saved while the tablet showed {screen}"
        since = before[-1][0]
        for entry in reversed(before):
            if entry[1] != screen:
                break
            since = entry[0]
        assert at - since >= DWELL_MS - SLACK_MS, f"{item} answered {at - since:.0f} ms after it appeared"
    return len(answers)


@pytest.mark.parametrize("delay", DELAYS_MS)
def test_keypad_double_taps_never_drop_a_digit(server: Server, browser, delay: int) -> None:
    context, page = tablet(browser)
    page.goto(server.base)
    page.locator("[data-testid=psy-keypad]").wait_for()
    settle(page)
    for digit in ("1", "7", "0"):
        before = _keypad_digits(page)
        _double_tap(page, page.locator(f".psy-keypad button[data-key='{digit}']"), delay)
        assert _keypad_digits(page) == before + digit * 2
    context.close()


def test_double_taps_on_every_screen_answer_only_what_was_seen(server: Server, browser) -> None:
    clinic = server.clinic()
    clinic.batteries.add(SYSTEM, "Taps", ["pcl5"], consent_text="My answers are stored for my treatment.")
    issued = clinic.assignments.assign(SYSTEM, server.patient, battery="Taps")  # 20 items: enough for every tap
    page_issued = clinic.assignments.assign(SYSTEM, server.patient, instruments=["gad7"])
    clinic.store.close()
    context, page = tablet(browser)
    page.goto(server.base)
    keypad_code(page, issued.code)
    agree = page.get_by_role("button", name="I agree — start")
    agree.wait_for()
    _quiet(page)
    _double_tap(page, agree, 300)  # consent: the second tap must not answer question 1
    page.get_by_text("Question 1 of 20").wait_for()
    _quiet(page)
    assert _answers(server, issued.assignment_id) == []
    for delay in DELAYS_MS:  # an answer option (the same point: the next question's option, if it landed)
        _double_tap(page, page.locator("[data-testid=stMain] .stButton button").first, delay)
        _quiet(page)
    assert _check_every_answer_was_on_screen(page, server, issued.assignment_id) >= len(DELAYS_MS)
    for delay in (50, 300, 800):  # skip, back and next
        _double_tap(page, page.get_by_role("button", name="Skip this question"), delay)
        _quiet(page)
        back = page.get_by_role("button", name="◀ Back")
        if back.is_enabled():
            _double_tap(page, back, delay)
            _quiet(page)
        # Back shows a question already answered or skipped (a skip is a stored answer): it offers "Next ▶"
        # in place of Skip; go forward to the first question not yet answered
        for _ in range(6):
            forward = page.get_by_role("button", name="Next ▶")
            if not forward.count():
                break
            _double_tap(page, forward, delay)
            _quiet(page)
    assert _skips(server, issued.assignment_id) >= 3, "a Skip tap was lost"
    answered = _check_every_answer_was_on_screen(page, server, issued.assignment_id)
    assert answered >= len(DELAYS_MS)
    blocked = page.evaluate("() => window.__psyTapGuard.blocked")
    assert blocked >= 1, "no second tap was held back"
    context.close()
    # the one-page layout
    context, page = tablet(browser)
    page.goto(server.base)
    keypad_code(page, page_issued.code)
    page.get_by_role("button", name="Show all questions on one page").wait_for()
    _quiet(page)
    page.get_by_role("button", name="Show all questions on one page").tap()
    _quiet(page)
    begin = page.get_by_role("button", name="Start the questionnaires")
    _double_tap(page, begin, 150)
    page.locator("[data-item=gad7_7]").wait_for()
    _quiet(page)
    assert _answers(server, page_issued.assignment_id) == []
    options = page.locator("[data-testid=stMain] .stButton button")
    for k, delay in enumerate(DELAYS_MS):
        _double_tap(page, options.nth(4 * k + 1), delay)
        _quiet(page)
    assert _check_every_answer_was_on_screen(page, server, page_issued.assignment_id) >= len(DELAYS_MS)
    context.close()


def test_phone_layout_keypad_in_three_columns_and_start_skip_above_the_fold(server: Server, browser) -> None:
    clinic = server.clinic()
    issued = clinic.assignments.assign(SYSTEM, server.patient, instruments=["gad7"])
    clinic.store.close()
    context, page = tablet(browser, 390, 844)
    page.goto(server.base)
    page.locator("[data-testid=psy-keypad]").wait_for()
    settle(page)
    lefts = page.evaluate("""() => Array.from(document.querySelectorAll('.psy-keys button'))
        .map(b => Math.round(b.getBoundingClientRect().left))""")
    assert len(set(lefts)) == 3, f"the keypad is not in 3 columns at 390 px: {sorted(set(lefts))}"
    start = page.locator(".psy-keypad button[data-key=start]").bounding_box()
    assert start is not None and start["y"] + start["height"] <= 844, f"Start below the fold: {start}"
    keypad_code(page, issued.code)
    page.get_by_role("button", name="Start the questionnaires").wait_for()
    settle(page)
    page.get_by_role("button", name="Start the questionnaires").tap()
    page.get_by_text("Question 1 of 7").wait_for()
    settle(page)
    skip = page.get_by_role("button", name="Skip this question").bounding_box()
    assert skip is not None and skip["y"] + skip["height"] <= 844, f"Skip below the fold: {skip}"
    scroll, client = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert scroll <= client
    context.close()
