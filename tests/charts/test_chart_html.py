"""``psyscore chart -o x.html``: a self-contained page that works offline, loads nothing and runs no label.

Issue 10, item 18: an event label ``</script><script>…`` ran in the browser, and the page loaded Vega from a
CDN. The page now inlines the JavaScript bundle of the installed ``vl-convert-python``, keeps the
specification in an escaped JSON element and allows only its own scripts by a Content-Security-Policy.

The browser part opens the page in Debian's Chromium (Playwright, ``executablePath /usr/bin/chromium``) with
every non-``file:`` request aborted and recorded; it skips with the reason when Chromium or Playwright is
missing, except under ``CI=true``, where it fails.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("altair")
pytest.importorskip("vl_convert")

from scoring.cli import main
from tests.support.browser import CHROMIUM
from tests.support.browser import require_browser as _require_browser

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ITEMS = [f"phq9_{i}" for i in range(1, 10)]
#: each one sets window.__pwned if it ever runs as script or markup
HOSTILE = [
    "</script><script>window.__pwned = 'event'</script>",
    "<img src=x onerror=\"window.__pwned='img'\">",
    "</SCRIPT ><script>window.__pwned = 'upper'</script><!--",
]
TITLE = "</title></script><script>window.__pwned = 'title'</script>"




@pytest.fixture
def hostile_chart(tmp_path: Path) -> Path:
    rows = [["p1", "2024-01-08", "phq9", 3, 3, 2, 2, 2, 2, 2, 1, 1],
            ["p1", "2024-02-05", "phq9", 2, 2, 2, 1, 1, 2, 1, 1, 0],
            ["p1", "2024-03-04", "phq9", 0, 1, 0, 1, 0, 1, 0, 0, 0]]
    data = tmp_path / "long.csv"
    pd.DataFrame(rows, columns=["patient", "date", "instrument", *ITEMS]).to_csv(data, index=False)
    events = tmp_path / "events.csv"
    pd.DataFrame({"date": ["2024-01-20", "2024-02-10", "2024-02-20"], "label": HOSTILE}).to_csv(events, index=False)
    out = tmp_path / "trend.html"
    assert main(["chart", str(data), "--instrument", "phq9", "--patient", "p1", "--events", str(events),
                 "--title", TITLE, "-o", str(out)]) == 0
    return out


def test_html_loads_no_script_from_anywhere_and_escapes_labels(hostile_chart: Path) -> None:
    page = hostile_chart.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, re.IGNORECASE), "a script is loaded from elsewhere"
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", page, re.IGNORECASE)
    assert "cdn.jsdelivr" not in page and "unpkg" not in page
    assert "window.__pwned" in page  # the labels are in the page (as escaped data) ...
    assert page.lower().count("</script") == page.lower().count("<script")  # ... and close no script element
    for text in (*HOSTILE, TITLE):
        assert text not in page
    assert "Content-Security-Policy" in page and "connect-src 'none'" in page


def test_hostile_labels_are_inert_and_the_chart_renders_offline_in_chromium(hostile_chart: Path) -> None:
    _require_browser()
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    requests: list[str] = []
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(offline=True)
            page = context.new_page()

            def block(route) -> None:
                if not route.request.url.startswith("file:"):
                    requests.append(route.request.url)
                    route.abort()
                else:
                    route.continue_()

            page.route("**/*", block)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(hostile_chart.as_uri())
            try:
                page.wait_for_selector("#psyscore-chart[data-rendered='true'] svg", timeout=30_000)
                rendered = True
            except PlaywrightTimeout:
                rendered = False
            pwned = page.evaluate("() => window.__pwned === undefined ? null : String(window.__pwned)")
            texts = page.eval_on_selector_all("#psyscore-chart svg text", "els => els.map(e => e.textContent)")
            marks = page.eval_on_selector_all("#psyscore-chart svg .mark-symbol path, #psyscore-chart svg "
                                              ".mark-line path", "els => els.length")
            images = page.eval_on_selector_all("#psyscore-chart img", "els => els.length")
        finally:
            browser.close()
    assert pwned is None, f"an injected script ran: {pwned}"
    assert not requests, f"the page tried to load {requests}"
    assert rendered, "the chart was not drawn offline"
    assert not errors, errors
    assert images == 0
    assert marks > 0, "no score marks drawn"
    assert "Moderate" in texts and "Severity band" in texts, texts  # the bands and the legend are drawn
    # the hostile labels and title are drawn as plain text (labels may be shortened to fit), never as markup
    for text in (*HOSTILE, TITLE):
        assert any(t[:12] == text[:12] for t in texts), (text, texts)
