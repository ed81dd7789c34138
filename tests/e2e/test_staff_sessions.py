"""Staff sessions in Chromium: a sign-in survives a reload, a new tab and a typed URL through the
``psyscore_staff`` cookie (Secure, HttpOnly, SameSite=Strict; no secret in any URL), and sign-out, disabling
the account and a password change sign the user out in every tab.

Skips with the reason when Chromium or Playwright is missing, except under ``CI=true``, where it fails.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date

import pytest

from tests.support.browser import PASSWORD, SYSTEM, Server, new_clinic, require_browser, running_app, settle, sign_in


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """This module's ``psyscore app``: therapist ``theo``, admin ``root`` and one patient (replaces the
    ``server`` of tests/e2e/conftest.py here)."""
    require_browser()
    folder = tmp_path_factory.mktemp("e2e_sessions")
    with new_clinic(folder) as (db_url, clinic, theo):
        clinic.users.add(SYSTEM, "root", "admin", PASSWORD)
        pid = clinic.patients.add(theo, "Alice Example", date_of_birth=date(1980, 5, 1), sex="female")
    with running_app(folder, db_url) as base:
        yield Server(base, db_url, pid)


def _context(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    return context


def _sign_in(context, server: Server, user: str = "theo"):
    page = context.new_page()
    sign_in(page, server.base, user)
    settle(page)
    deadline = time.monotonic() + 15
    while not _cookie(context) and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    return page


def _cookie(context) -> dict | None:
    return next((c for c in context.cookies() if c["name"] == "psyscore_staff"), None)


def _signed_in(page) -> None:
    page.get_by_role("heading", name="Caseload").wait_for()
    page.get_by_text("Signed in as").first.wait_for()


def _signed_out(page) -> None:
    page.get_by_role("heading", name="Staff sign-in").or_(
        page.get_by_text("Please enter the code you were given.")).first.wait_for()
    settle(page)
    assert not page.get_by_text("Signed in as").is_visible()
    assert not page.get_by_role("heading", name="My account").is_visible()


def _rerun(page) -> None:
    """A rerun of this tab's own Streamlit session (no reload): its sidebar link to the account page."""
    page.get_by_role("link", name="My account").first.click()


def test_reload_new_tab_and_typed_url_stay_signed_in(server: Server, browser) -> None:
    context = _context(browser)
    page = _sign_in(context, server)
    cookie = _cookie(context)
    assert cookie is not None, "no session cookie was set"
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert cookie["value"] not in page.url and page.evaluate("document.cookie").find("psyscore_staff") < 0
    page.reload()
    _signed_in(page)
    second = context.new_page()  # a new tab
    second.goto(server.base)
    _signed_in(second)
    typed = context.new_page()  # a typed URL
    typed.goto(server.base + "caseload")
    _signed_in(typed)
    assert all("psyscore_staff" not in p.url and cookie["value"] not in p.url for p in context.pages)
    # sign out in one tab: the others are signed out at their next run and after a reload
    page.get_by_role("button", name="Sign out").first.click()
    _signed_out(page)
    _rerun(second)
    _signed_out(second)
    typed.reload()
    _signed_out(typed)
    context.close()


@pytest.mark.parametrize("how", ["disable", "password"])
def test_disable_and_password_change_sign_out_every_tab(server: Server, browser, how: str) -> None:
    context = _context(browser)
    page = _sign_in(context, server)
    other = context.new_page()
    other.goto(server.base + "caseload")
    _signed_in(other)
    clinic = server.clinic()
    theo = clinic.users.by_name(SYSTEM, "theo")
    root = clinic.users.by_name(SYSTEM, "root")
    if how == "disable":
        clinic.users.disable(root.actor, theo.id)
    else:
        clinic.users.set_password(root.actor, theo.id, PASSWORD + "!")
    try:
        _rerun(page)
        _signed_out(page)
        other.reload()
        _signed_out(other)
    finally:
        if how == "disable":
            clinic.users.enable(root.actor, theo.id)
        else:
            clinic.users.set_password(root.actor, theo.id, PASSWORD)
        clinic.store.close()
    context.close()
