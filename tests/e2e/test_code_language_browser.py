"""Chromium (768×1024): a patient chooses Español on the code screen, before the code; the keypad and the code
screen turn Spanish, the session starts in Spanish (the welcome screen's language choice on Español, the
questions in Spanish) and, once the patient taps Finish, the next patient meets the default language again.
Uses the ``server`` and ``browser`` fixtures of tests/e2e/conftest.py and the one-tap helper of
tests/support/browser.py."""

from __future__ import annotations

from scoring import messages
from tests.support.browser import SYSTEM, Server, settle, tablet, tap_once

ES, EN = messages.catalogue("es"), messages.catalogue("en")


def _primary(page) -> list[str]:
    return page.evaluate("""() => Array.from(document.querySelectorAll('[data-testid=stBaseButton-primary]'))
        .map(b => b.innerText.trim())""")


def test_language_chosen_before_the_code_carries_into_the_session(server: Server, browser) -> None:
    clinic = server.clinic()
    issued = clinic.assignments.assign(SYSTEM, server.patient, instruments=["gad7"])
    clinic.store.close()
    context, page = tablet(browser)
    try:
        page.goto(server.base)
        page.get_by_text(EN["code_help"]).wait_for()
        settle(page)  # the whole code screen is drawn (its language buttons come after the help text)
        assert "English" in _primary(page)
        for name in ("English", "Español"):  # large touch targets
            box = page.get_by_role("button", name=name, exact=True).bounding_box()
            assert box is not None and box["height"] >= 48 and box["width"] >= 48, (name, box)
        tap_once(page, page.get_by_role("button", name="Español", exact=True), "code", what="Español",
                  same_screen=True)
        page.get_by_text(ES["code_help"]).wait_for()
        assert page.locator(".psy-keypad button[data-key=start]").inner_text() == ES["start"]
        assert "Español" in _primary(page) and EN["code_help"] not in page.inner_text("body")
        page.locator("[data-testid=psy-keypad]").wait_for()
        for digit in issued.code.replace(" ", ""):
            page.locator(f".psy-keypad button[data-key='{digit}']").tap()
        page.locator(".psy-keypad button[data-key=start]").tap()
        page.get_by_text(ES["instructions"]).wait_for()
        assert "Español" in _primary(page)  # the language choice after the code starts from it
        tap_once(page, page.get_by_role("button", name=ES["begin"]), "welcome", what="Empezar")
        page.get_by_text("Pregunta 1 de 7").wait_for()
        page.wait_for_function("() => (window.__psyTapGuard.screen || '').endsWith(':gad7_1')")
        adm = int(page.evaluate("() => window.__psyTapGuard.screen").split(":")[1])
        for k in range(1, 8):
            item = f"gad7_{k}"
            tap_once(page, page.locator(f".st-key-w_opt_{adm}_{item}_0 button"), f"item:{adm}:{item}",
                      what=item)
        tap_once(page, page.locator(f".st-key-w_finish_questionnaire_{adm} button"), f"end:{adm}",
                  what="Continuar")
        page.get_by_text(ES["thanks_title"]).wait_for()
        tap_once(page, page.get_by_role("button", name=ES["finish"]), "done", what="Terminar")
        # the tablet is handed back: the next patient meets the default language
        page.get_by_text(EN["code_help"]).wait_for()
        settle(page)  # the whole code screen is drawn (its language buttons come after the help text)
        assert "English" in _primary(page) and "Español" not in _primary(page)
        assert page.locator(".psy-keypad button[data-key=start]").inner_text() == EN["start"]
    finally:
        context.close()
    clinic = server.clinic()
    table = clinic.patients.answer_table(SYSTEM, server.patient, instrument_id="gad7")
    clinic.store.close()
    assert {table.iloc[-1][f"gad7_{k}"] for k in range(1, 8)} == {0.0}
