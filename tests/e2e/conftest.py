"""Fixtures of the browser tests: one Chromium and one ``psyscore app`` server per module.

- ``browser``: a headless Chromium (Playwright ``Browser``); skips with the reason when Chromium or Playwright is
  missing, except under ``CI=true``, where it fails (tests/support/browser.py: ``require_browser``).
- ``server``: ``psyscore app`` (kiosk idle timeout :data:`IDLE_SECONDS`) on a free port against a temporary
  SQLite clinic seeded through the store API: therapist ``theo``, battery "Anxiety check" (GAD-7) and patient
  Alice Example with ten weeks of PHQ-9/GAD-7 history and one event.
- ``served``: (base URL, one-time code) of a ``psyscore app`` whose battery "Mood" (PHQ-9) has Spanish texts.

Plain helpers (settle, tap_once, keypad_code, tablet, running_app) are in tests/support/browser.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tests.support.browser import (
    ES_CONSENT,
    ES_INSTR,
    IDLE_SECONDS,
    SYSTEM,
    Server,
    chromium,
    new_clinic,
    require_browser,
    running_app,
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_browser()
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    require_browser()
    folder = tmp_path_factory.mktemp("e2e")
    with new_clinic(folder) as (db_url, clinic, theo):
        clinic.batteries.add(SYSTEM, "Anxiety check", ["gad7"], instructions="Think about the last two weeks.",
                             consent_text="My answers are stored for my treatment and seen by my care team.")
        pid = clinic.patients.add(theo, "Alice Example", date_of_birth=date(1980, 5, 1), sex="female")
        start = datetime.now(UTC) - timedelta(days=70)
        for k, level in enumerate((3, 3, 2, 2, 1)):
            when = start + timedelta(days=14 * k)
            clinic.administrations.record(theo, pid, "phq9", {f"phq9_{i}": level for i in range(1, 10)}
                                          | {"phq9_9": 1 if k == 4 else 0}, administered_at=when)
            clinic.administrations.record(theo, pid, "gad7", {f"gad7_{i}": level for i in range(1, 8)},
                                          administered_at=when)
        clinic.patients.add_event(theo, pid, (start + timedelta(days=20)).date(), "Sertraline 50 mg")
    env = dict(os.environ, PSYSCORE_DATABASE_URL=db_url)
    with running_app(folder, db_url, "--kiosk-idle", str(IDLE_SECONDS), env=env) as base:
        yield Server(base, db_url, pid)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(base URL, one-time code) of a ``psyscore app`` whose battery has Spanish texts."""
    require_browser()
    folder = tmp_path_factory.mktemp("e2e_es")
    with new_clinic(folder) as (db_url, clinic, theo):
        clinic.batteries.add(SYSTEM, "Mood", ["phq9"], instructions="Think about the last two weeks.",
                             consent_text="My answers are stored for my treatment.")
        clinic.battery_texts.set(SYSTEM, "Mood", "es", instructions=ES_INSTR, consent_text=ES_CONSENT)
        pid = clinic.patients.add(theo, "Alice Example", date_of_birth=date(1980, 5, 1), sex="female")
        code = clinic.assignments.assign(SYSTEM, pid, battery="Mood").code
    with running_app(folder, db_url, env=dict(os.environ, PSYSCORE_DATABASE_URL=db_url)) as base:
        yield base, code
