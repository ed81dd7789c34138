"""One deliberate tap per screen always lands (Chromium, 768×1024): a whole battery tapped once per screen,
three times, no tap ever repeated.

Code keypad → consent → PHQ-9 (item 9 endorsed) → support message → … → end of questionnaire → GAD-7 → end →
thank you → Finish → code screen. Before each tap the test waits for the screen it expects and for the tap
guard to say ``ready()`` (what a patient's eye does: the question is there); then one real touch at the
button's centre. The next screen must follow. The stored answers are then exactly the ones tapped. The
double-tap protections are ``test_kiosk_taps.py``. Uses the ``server`` and
``browser`` fixtures of tests/e2e/conftest.py.
"""

from __future__ import annotations

import pytest

from tests.support.browser import SYSTEM, Server, guard_screen, keypad_code, tablet, tap_once

PHQ9 = {f"phq9_{i}": (2 if i == 9 else i % 4) for i in range(1, 11)}  # phq9_10: difficulty (0–3)
GAD7 = {f"gad7_{i}": (i + 1) % 4 for i in range(1, 8)}


def _answer_all(page, administration: int, answers: dict[str, int]) -> None:
    for item, value in answers.items():
        screen = f"item:{administration}:{item}"
        page.wait_for_function("s => window.__psyTapGuard.screen === s", arg=screen)
        option = page.locator(f".st-key-w_opt_{administration}_{item}_{value} button")
        tap_once(page, option, screen, what=f"option {value} of {item}")
        if item == "phq9_9":  # endorsed: the support message comes first, then the last question
            cont = page.locator(".st-key-w_support_continue button")
            tap_once(page, cont, "support", what="the support message's Continue")
    finish = page.locator(f".st-key-w_finish_questionnaire_{administration} button")
    tap_once(page, finish, f"end:{administration}", what="Continue at the end of the questionnaire")


@pytest.mark.parametrize("run", [1, 2, 3])
def test_one_tap_per_screen_through_a_whole_battery(server: Server, browser, run: int) -> None:
    clinic = server.clinic()
    name = f"Single taps {run}"
    clinic.batteries.add(SYSTEM, name, ["phq9", "gad7"], consent_text="My answers are stored for my treatment.")
    issued = clinic.assignments.assign(SYSTEM, server.patient, battery=name)
    clinic.store.close()
    context, page = tablet(browser)
    try:
        page.goto(server.base)
        keypad_code(page, issued.code)
        tap_once(page, page.get_by_role("button", name="I agree — start"), "welcome", what="I agree")
        first = guard_screen(page)
        assert first is not None and first.startswith("item:") and first.endswith(":phq9_1"), first
        phq9_adm = int(first.split(":")[1])
        _answer_all(page, phq9_adm, PHQ9)
        page.wait_for_function("() => (window.__psyTapGuard.screen || '').endsWith(':gad7_1')")
        gad7_adm = int(guard_screen(page).split(":")[1])
        _answer_all(page, gad7_adm, GAD7)
        page.get_by_text("Thank you!").wait_for()
        tap_once(page, page.get_by_role("button", name="Finish"), "done", what="Finish")
        page.locator("[data-testid=psy-keypad]").wait_for()
        blocked = page.evaluate("() => window.__psyTapGuard.blocked")
    finally:
        context.close()
    assert blocked == 0, f"{blocked} single taps were held back by the guard"
    clinic = server.clinic()
    stored = clinic.patients.answer_table(SYSTEM, server.patient, instrument_id="phq9").iloc[-1]
    assert {k: stored[k] for k in PHQ9} == {k: float(v) for k, v in PHQ9.items()}
    stored = clinic.patients.answer_table(SYSTEM, server.patient, instrument_id="gad7").iloc[-1]
    assert {k: stored[k] for k in GAD7} == {k: float(v) for k, v in GAD7.items()}
    clinic.store.close()
