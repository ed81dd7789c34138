"""The tap guard's screen tracking in Chromium, on a plain page (no Streamlit): a screen is complete when its
begin and end markers of one run are in the page; a screen whose begin marker never arrives (Streamlit 1.67
now and then dropped the first element of a full run that replaced a fragment's screen) is still taken as
complete from its end marker, and counted in ``lostBegin``. Uses the ``browser`` fixture of
tests/e2e/conftest.py.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

from tests.support.browser import tablet

KIOSK_INPUT = Path(__file__).resolve().parents[2] / "app" / "ui" / "kiosk_input.py"

# the page's markers as app/ui/kiosk_input.py draws them (screen_begin / screen_marker)
_ADD = """([kind, screen, run]) => { const d = document.createElement('div');
  d.setAttribute(kind === 'begin' ? 'data-psy-begin' : 'data-psy-screen', screen);
  d.setAttribute('data-psy-run', String(run)); document.body.appendChild(d); }"""
_STATE = "() => { const G = window.__psyTapGuard; return [G.screen, G.run, G.lostBegin, G.drawing]; }"


def _kiosk_input() -> ModuleType:
    spec = importlib.util.spec_from_file_location("psyscore_test_kiosk_input", KIOSK_INPUT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _page(browser: Any) -> tuple[Any, Any]:
    kiosk_input = _kiosk_input()
    context, page = tablet(browser)
    page.set_content("<html><body></body></html>")
    script = kiosk_input._GUARD_JS % {"dwell": kiosk_input.DWELL_MS, "wait": kiosk_input.WAIT_MS}
    body = script.split("<script>", 1)[1].rsplit("</script>", 1)[0]
    page.evaluate("() => { const d = document.createElement('div'); d.setAttribute('data-psy-kiosk', '');"
                  " document.body.appendChild(d); }")
    page.add_script_tag(content=body)
    return context, page


def _settled(page: Any) -> list[Any]:
    page.wait_for_timeout(50)  # MutationObserver callbacks run after the DOM change
    return list(page.evaluate(_STATE))


def test_a_screen_is_complete_with_both_markers_of_one_run(browser: Any) -> None:
    context, page = _page(browser)
    try:
        page.evaluate(_ADD, ["begin", "item:1:phq9_1", 1])
        assert _settled(page) == [None, None, 0, True]  # drawing: taps are held
        page.evaluate(_ADD, ["end", "item:1:phq9_1", 1])
        assert _settled(page) == ["item:1:phq9_1", "1", 0, False]
        page.evaluate(_ADD, ["begin", "item:1:phq9_2", 2])
        page.evaluate(_ADD, ["end", "item:1:phq9_1", 1])  # a stale end marker of the old run changes nothing
        assert _settled(page) == ["item:1:phq9_1", "1", 0, True]
        page.evaluate(_ADD, ["end", "item:1:phq9_2", 2])
        assert _settled(page) == ["item:1:phq9_2", "2", 0, False]
    finally:
        context.close()


def test_an_end_marker_whose_begin_marker_was_dropped_still_completes_the_screen(browser: Any) -> None:
    context, page = _page(browser)
    try:
        page.evaluate(_ADD, ["begin", "end:7", 4])
        page.evaluate(_ADD, ["end", "end:7", 4])
        assert _settled(page) == ["end:7", "4", 0, False]
        page.evaluate(_ADD, ["end", "done", 5])  # the thank-you screen, its begin marker lost
        assert _settled(page) == ["done", "5", 1, False]
        assert page.evaluate("() => window.__psyTapGuard.log.map(e => e[1])") == ["end:7", "done"]
        page.wait_for_function("() => window.__psyTapGuard.ready()")  # after the dwell, from the end marker
        page.evaluate(_ADD, ["begin", "code", 6])  # the next screen with both markers: counted once only
        page.evaluate(_ADD, ["end", "code", 6])
        assert _settled(page) == ["code", "6", 1, False]
    finally:
        context.close()
