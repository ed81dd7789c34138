"""The app's research export page widens date filters to whole years, says so, and audits both ranges."""

from __future__ import annotations

from datetime import date

from .conftest import Seeded
from .helpers import button, new_app, page_text, sign_in


def test_export_page_widens_dates_to_whole_years_and_audits_them(seeded: Seeded) -> None:
    first = seeded.clinic.research.administrations(seeded.rita, "phq9")["completed_at"].min().date()
    at = sign_in(new_app(), "rita")
    at.date_input(key="w_export_from").set_value(first)
    at.date_input(key="w_export_to").set_value(first)
    button(at, "Prepare the export").click().run(timeout=120)
    assert not at.exception and not at.error, [e.value for e in at.error]
    year = first.year
    assert f"Dates applied (whole years): from {year}-01-01 to {year}-12-31" in page_text(at)
    log = seeded.clinic.audit_log(seeded.admin)
    written = next(r for r in log if r.action == "export_written")
    assert written.detail["filters"]["from"] == f"{year}-01-01" and written.detail["filters"]["to"] == f"{year}-12-31"
    assert written.detail["filters"]["asked_from"] == first.isoformat()
    page_reads = [r for r in log
                  if r.action == "export_read" and r.detail.get("purpose") == "research export (web app)"]
    assert page_reads and all(r.detail["from"].startswith(f"{year}-01-01") for r in page_reads)
    assert all(r.detail["to"].startswith(date(year + 1, 1, 1).isoformat()) for r in page_reads)


def test_relative_days_are_offered_only_with_the_pseudonymised_profile(seeded: Seeded) -> None:
    """corrections.md security item 2 / 45 CFR 164.514(b)(2)(i)(C): Safe Harbor keeps no part of a date but the year."""
    at = sign_in(new_app(), "rita")
    assert at.radio(key="w_export_profile").value == "safe_harbor"
    assert list(at.selectbox(key="w_export_dates").options) == ["year", "none"]
    at.radio(key="w_export_profile").set_value("pseudonymised").run(timeout=120)
    assert not at.exception
    assert list(at.selectbox(key="w_export_dates").options) == ["year", "relative", "none"]
