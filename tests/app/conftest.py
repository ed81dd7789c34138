"""Fixtures for the app tests: a temporary SQLite clinic seeded through the store API, and AppTest helpers.

The app reads its database URL from ``PSYSCORE_DATABASE_URL`` (as ``psyscore app --db`` sets it); each test
gets its own database file, so the app's cached clinic (keyed by URL) is never shared between tests.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

import scoring
from scoring.store import Actor, Clinic, Store, password_hasher

APP_DIR = Path(__file__).resolve().parents[2] / "app"
APP = APP_DIR / "streamlit_app.py"
if str(APP_DIR) not in sys.path:  # streamlit run puts the entry script's folder on the path; so do we
    sys.path.insert(0, str(APP_DIR))

SYSTEM = Actor.system("test")
PASSWORD = "correct horse battery"
PHQ9 = [f"phq9_{i}" for i in range(1, 10)]


@dataclass
class Seeded:
    url: str
    clinic: Clinic
    admin: Actor
    theo: Actor  # therapist A
    thea: Actor  # therapist B
    rita: Actor  # researcher
    patient_a: int  # theo's patient with history, an alert and an event
    patient_b: int  # thea's patient


@pytest.fixture
def seeded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, library: scoring.Library) -> Iterator[Seeded]:
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    monkeypatch.setenv("PSYSCORE_DATABASE_URL", url)
    monkeypatch.delenv("PSYSCORE_KIOSK_IDLE_SECONDS", raising=False)
    store = Store(url)
    store.upgrade()
    clinic = Clinic(store, library, hasher=password_hasher(fast=True))
    admin = clinic.users.add(SYSTEM, "ada", "admin", PASSWORD).actor
    theo = clinic.users.add(SYSTEM, "theo", "therapist", PASSWORD).actor
    thea = clinic.users.add(SYSTEM, "thea", "therapist", PASSWORD).actor
    rita = clinic.users.add(SYSTEM, "rita", "researcher", PASSWORD).actor
    clinic.batteries.add(admin, "Mood", ["phq9", "gad7"], instructions="Please answer about the last two weeks.",
                         consent_text="My answers are stored for my treatment.")
    a = clinic.patients.add(theo, "Alice Example", date_of_birth=date(1980, 5, 1), sex="female",
                            external_id="MRN-A")
    b = clinic.patients.add(thea, "Bob Sample", date_of_birth=date(1975, 2, 3), sex="male", external_id="MRN-B")
    start = datetime.now(UTC) - timedelta(days=60)
    for k, level in enumerate((3, 2, 1)):
        when = start + timedelta(days=14 * k)
        answers = dict.fromkeys(PHQ9, level) | {"phq9_9": 1 if k == 2 else 0}
        clinic.administrations.record(theo, a, "phq9", answers, administered_at=when)
        clinic.administrations.record(theo, a, "gad7", {f"gad7_{i}": level for i in range(1, 8)}, administered_at=when)
    clinic.patients.add_event(theo, a, (start + timedelta(days=10)).date(), "Sertraline started")
    clinic.administrations.record(thea, b, "phq9", dict.fromkeys(PHQ9, 2))
    try:
        yield Seeded(url, clinic, admin, theo, thea, rita, a, b)
    finally:
        store.close()
