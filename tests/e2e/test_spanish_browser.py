"""The tablet in Spanish in a real browser (Debian Chromium + Playwright, 768×1024): a patient chooses
Español and sees the battery's Spanish instructions and consent, the Spanish support message right after
PHQ-9 item 9 is endorsed, and a thank-you screen with no trace of it; no English catalogue text on any of
these screens. Skips with the reason when Chromium or Playwright is missing, except under ``CI=true``."""

from __future__ import annotations

from scoring import messages
from tests.support.browser import ES_CONSENT, ES_INSTR, guard_screen, keypad_code, settle, tablet, tap_once

ES, EN = messages.catalogue("es"), messages.catalogue("en")


def _english_left(body: str) -> list[str]:
    return [v for k, v in EN.items() if v != ES[k] and len(v) > 8 and v in body]


def _tap_option(page, administration: int, question: int, option: int) -> None:
    """One tap on option ``option`` of question ``question`` (PHQ-9 item ``question``), once it is on screen."""
    page.get_by_text(f"Pregunta {question} de 10", exact=False).wait_for()
    tap_once(page, page.locator("[class*='st-key-w_opt_'] button").nth(option),
             f"item:{administration}:phq9_{question}", what=f"option {option} of question {question}")


def test_spanish_flow_in_chromium(served: tuple[str, str], browser) -> None:
    base, code = served
    context, page = tablet(browser)
    try:
        page.goto(base)
        page.get_by_text(EN["code_help"]).wait_for()
        keypad_code(page, code)
        page.get_by_role("button", name="Español").wait_for()
        tap_once(page, page.get_by_role("button", name="Español"), "welcome", what="Español", same_screen=True)
        page.get_by_text(ES_INSTR).wait_for()
        settle(page)
        body = page.inner_text("body")
        assert ES["instructions"] in body and ES_CONSENT in body and not _english_left(body)
        assert "Think about" not in body and "My answers" not in body
        tap_once(page, page.get_by_role("button", name=ES["agree"], exact=True), "welcome", what=ES["agree"])
        page.get_by_text("Pregunta 1 de 10", exact=False).wait_for()
        first = guard_screen(page)
        assert first is not None and first.startswith("item:") and first.endswith(":phq9_1"), first
        adm = int(first.split(":")[1])
        for k in range(1, 9):
            _tap_option(page, adm, k, 0)
        _tap_option(page, adm, 9, 2)  # item 9 endorsed
        page.get_by_text(ES["support_title"]).wait_for()
        settle(page)
        body = page.inner_text("body")
        assert ES["support_default"] in body and not _english_left(body)
        tap_once(page, page.get_by_role("button", name=ES["continue"], exact=True).first, "support",
                 what="the support message's Continuar")
        _tap_option(page, adm, 10, 0)
        page.get_by_text(ES["answered_all"]).wait_for()
        tap_once(page, page.get_by_role("button", name=ES["continue"], exact=True).first, f"end:{adm}",
                 what="Continuar at the end of the questionnaire")
        page.get_by_text(ES["thanks_title"]).wait_for()
        settle(page)
        body = page.inner_text("body")
        assert ES["thanks"] in body and ES["support_default"] not in body and ES["support_title"] not in body
        assert not _english_left(body) and page.locator(".psy-support").count() == 0
    finally:
        context.close()
