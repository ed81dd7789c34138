"""Store fixtures: every store test runs on SQLite and on PostgreSQL.

``store_url`` (both backends), ``pg_database``/``pg_schema`` and ``library`` come from tests/conftest.py
(PostgreSQL set-up: tests/support/postgres.py): a throw-away database once per test session, a schema per test;
skipped with the reason without a server, failed under ``CI=true``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from scoring.definitions.library import Library
from scoring.store import Actor, Clinic, Store, password_hasher


class Clock:
    """A settable clock for the store (aware UTC)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2025, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = Store(store_url)
    s.upgrade()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def clinic(store: Store, library: Library) -> Clinic:
    return Clinic(store, library, hasher=password_hasher(fast=True))


SYSTEM = Actor.system("test")
PASSWORD = "correct horse battery"


@pytest.fixture
def therapist(clinic: Clinic) -> Actor:
    return clinic.users.add(SYSTEM, "theo", "therapist", PASSWORD).actor


@pytest.fixture
def patient(clinic: Clinic, therapist: Actor) -> int:
    from datetime import date

    return clinic.patients.add(therapist, "Sentinel Patientname", date_of_birth=date(1980, 6, 15), sex="female",
                               contact="sentinel@example.org", external_id="MRN-SENTINEL-1")
