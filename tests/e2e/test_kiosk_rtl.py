"""The tablet's writing direction in a real browser (Debian Chromium + Playwright, 768×1024).

Arabic: a patient chooses العربية on the code screen; the code screen, the welcome screen and the question
screen are laid out right to left (computed ``direction`` of the main area, the question text, the answer
buttons and the progress line is ``rtl``; Back stands right of Skip; the progress bar fills from the right)
while the code keypad keeps the telephone order of its digits (``ltr``). German: the same screens stay left to
right with the official German PHQ-9 wording. The administration's language is stored with it (``ar``, ``de``).

No shipped instrument has an Arabic translation yet (no official Arabic PHQ-9/GAD-7 text could be verified
in two independent transcriptions), so the Arabic questionnaire is a test-only definition written here,
``rtl_probe``, whose two questions say that they are test questions; it is loaded through
``PSYSCORE_INSTRUMENTS_PATH`` and never shipped. Skips with the reason when Chromium or Playwright is missing,
except under ``CI=true``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

import scoring
from scoring import messages
from scoring.definitions.library import Settings
from scoring.store import Clinic, Store, password_hasher
from scoring.store.models import Administration
from tests.support.browser import (
    SYSTEM,
    guard_screen,
    keypad_code,
    require_browser,
    running_app,
    settle,
    tablet,
    tap_once,
)

AR, DE, EN = messages.catalogue("ar"), messages.catalogue("de"), messages.catalogue("en")

# A test-only questionnaire with an Arabic translation: not a published instrument, never shipped.
PROBE = """\
id: rtl_probe
version: 1.0.0
name: Right-to-left layout probe (test only)
abbreviation: RTL-PROBE
citations: ["psyscore test fixture, not a published instrument"]
source_url: https://example.org/psyscore-test-fixture
text_source: "Written for the psyscore browser test; not a published instrument."
copyright: "Test fixture of psyscore."
licence:
  redistribution: public_domain
  statement: "Test fixture written for psyscore; no rights reserved."
language: en
instructions: "Test questions for the tablet layout."
translations:
  ar:
    source: "Written for the psyscore browser test (plain descriptions of the test questions, not an instrument)."
    instructions: "أسئلة تجريبية لتخطيط الجهاز اللوحي."
    items:
      rtl_probe_1: "السؤال التجريبي الأول"
      rtl_probe_2: "السؤال التجريبي الثاني"
    option_sets:
      yes_no: {0: "لا", 1: "نعم"}
option_sets:
  - id: yes_no
    options:
      - {value: 0, label: "No"}
      - {value: 1, label: "Yes"}
items:
  - {id: rtl_probe_1, text: "First test question", options: yes_no, reverse: false}
  - {id: rtl_probe_2, text: "Second test question", options: yes_no, reverse: false}
scales:
  - id: total
    name: Total
    items: [rtl_probe_1, rtl_probe_2]
    method: sum
    range: [0, 2]
    higher_is: neutral
    missing: {rule: complete, source: "test fixture: every item required"}
"""

_DIRECTION = "e => getComputedStyle(e).direction"


@pytest.fixture(scope="module")
def rtl_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str, str]]:
    """(base URL, database URL, Arabic probe code, German PHQ-9 code) of a ``psyscore app``."""
    require_browser()
    folder = tmp_path_factory.mktemp("e2e_rtl")
    defs = folder / "definitions"
    defs.mkdir()
    (defs / "rtl_probe.yaml").write_text(PROBE, encoding="utf-8")
    env = dict(os.environ, PSYSCORE_INSTRUMENTS_PATH=str(defs))
    library = scoring.load_library(settings=Settings.from_env(env))
    assert "ar" in library["rtl_probe"].instrument.translations and "de" in library["phq9"].instrument.translations
    db_url = f"sqlite:///{folder / 'clinic.db'}"
    with Store(db_url) as store:
        store.upgrade()
        clinic = Clinic(store, library, hasher=password_hasher(fast=True))
        theo = clinic.users.add(SYSTEM, "theo", "therapist", "correct horse battery").actor
        pid = clinic.patients.add(theo, "Alice Example", date_of_birth=date(1980, 5, 1), sex="female")
        ar_code = clinic.assignments.assign(SYSTEM, pid, instruments=["rtl_probe"]).code
        de_code = clinic.assignments.assign(SYSTEM, pid, instruments=["phq9"]).code
    with running_app(folder, db_url, env=dict(env, PSYSCORE_DATABASE_URL=db_url)) as base:
        yield base, db_url, ar_code, de_code


def _direction(page: Any, selector: str) -> str:
    return str(page.locator(selector).first.evaluate(_DIRECTION))


def _languages(db_url: str, instrument: str) -> list[str]:
    with Store(db_url) as store, store.read() as s:
        return list(s.scalars(select(Administration.language).where(Administration.instrument_id == instrument)))


def _choose_on_code_screen(page: Any, base: str, name: str, help_text: str) -> None:
    page.goto(base)
    page.get_by_text(EN["code_help"]).wait_for()
    settle(page)  # the whole code screen is drawn (its language buttons come after the help text)
    tap_once(page, page.get_by_role("button", name=name, exact=True), "code", what=name, same_screen=True)
    page.get_by_text(help_text).wait_for()
    settle(page)


def _first_item(page: Any, begin: str, question_1: str) -> int:
    tap_once(page, page.get_by_role("button", name=begin, exact=True), "welcome", what=begin)
    page.get_by_text(question_1, exact=False).wait_for()
    settle(page)
    screen = guard_screen(page)
    assert screen is not None and screen.startswith("item:"), screen
    return int(screen.split(":")[1])


def test_arabic_is_laid_out_right_to_left(rtl_app: tuple[str, str, str, str], browser: Any) -> None:
    base, db_url, ar_code, _ = rtl_app
    context, page = tablet(browser)
    try:
        _choose_on_code_screen(page, base, "العربية", AR["code_help"])
        assert _direction(page, "[data-testid=stMain]") == "rtl"
        assert _direction(page, "h1") == "rtl"
        assert page.locator(".psy-keypad button[data-key=start]").inner_text() == AR["start"]
        assert _direction(page, ".psy-keypad") == "ltr"  # the digits keep the telephone order
        keypad_code(page, ar_code)
        page.get_by_text(AR["instructions"]).wait_for()
        settle(page)
        assert _direction(page, "[data-testid=stMain]") == "rtl"
        adm = _first_item(page, AR["begin"], AR["question"].format(k=1, n=2))

        item = page.locator("[data-testid=psy-item]")
        assert item.inner_text().strip() == "السؤال التجريبي الأول"
        assert item.get_attribute("dir") == "rtl" and item.get_attribute("lang") == "ar"
        assert item.evaluate(_DIRECTION) == "rtl"
        assert _direction(page, "[data-testid=psy-progress]") == "rtl"
        assert _direction(page, "[data-testid=stProgress]") == "rtl"
        no = page.locator(f".st-key-w_opt_{adm}_rtl_probe_1_0 button")
        assert no.inner_text().strip() == "لا" and no.evaluate(_DIRECTION) == "rtl"
        # text starts at the right edge of the question's box
        assert item.evaluate("e => getComputedStyle(e).textAlign") in ("start", "right")
        back = page.locator(f".st-key-w_back_{adm}_rtl_probe_1 button").bounding_box()
        skip = page.locator(f".st-key-w_skip_{adm}_rtl_probe_1 button").bounding_box()
        assert back is not None and skip is not None and back["x"] > skip["x"], (back, skip)
        assert EN["skip"] not in page.inner_text("body") and AR["skip"] in page.inner_text("body")

        tap_once(page, no, f"item:{adm}:rtl_probe_1", what="لا on question 1")
        page.get_by_text(AR["question"].format(k=2, n=2), exact=False).wait_for()
        settle(page)
        # half of the questionnaire is behind the patient: the bar is filled from the right edge
        fill = page.locator("[data-testid=stProgressBarTrack]").evaluate("""t => {
            const r = t.getBoundingClientRect(), f = t.firstElementChild.getBoundingClientRect();
            return {track: [r.left, r.right], shown: [Math.max(f.left, r.left), Math.min(f.right, r.right)]}; }""")
        (left, right), (shown_left, shown_right) = fill["track"], fill["shown"]
        middle = (left + right) / 2
        assert abs(shown_right - right) < 2 and abs(shown_left - middle) < 2, fill
    finally:
        context.close()
    assert _languages(db_url, "rtl_probe") == ["ar"]


def test_german_stays_left_to_right_with_the_official_wording(rtl_app: tuple[str, str, str, str],
                                                             browser: Any) -> None:
    base, db_url, _, de_code = rtl_app
    phq9_de = scoring.load_library()["phq9"].instrument.translations["de"]
    context, page = tablet(browser)
    try:
        _choose_on_code_screen(page, base, "Deutsch", DE["code_help"])
        assert _direction(page, "[data-testid=stMain]") == "ltr"
        keypad_code(page, de_code)
        page.get_by_text(DE["instructions"]).wait_for()
        adm = _first_item(page, DE["begin"], DE["question"].format(k=1, n=10))
        item = page.locator("[data-testid=psy-item]")
        assert item.inner_text().strip() == phq9_de.items["phq9_1"]
        assert item.get_attribute("dir") == "ltr" and item.get_attribute("lang") == "de"
        assert item.evaluate(_DIRECTION) == "ltr" and _direction(page, "[data-testid=stMain]") == "ltr"
        assert phq9_de.instructions is not None and phq9_de.instructions in page.inner_text("body")
        first = page.locator(f".st-key-w_opt_{adm}_phq9_1_0 button")
        assert first.inner_text().strip() == "Überhaupt nicht" and first.evaluate(_DIRECTION) == "ltr"
        back = page.locator(f".st-key-w_back_{adm}_phq9_1 button").bounding_box()
        skip = page.locator(f".st-key-w_skip_{adm}_phq9_1 button").bounding_box()
        assert back is not None and skip is not None and back["x"] < skip["x"], (back, skip)
        body = page.inner_text("body")
        assert "Little interest" not in body and EN["skip"] not in body
        tap_once(page, first, f"item:{adm}:phq9_1", what="Überhaupt nicht on item 1")
        page.get_by_text(DE["question"].format(k=2, n=10), exact=False).wait_for()
        assert page.locator("[data-testid=psy-item]").inner_text().strip() == phq9_de.items["phq9_2"]
    finally:
        context.close()
    assert _languages(db_url, "phq9") == ["de"]
