"""Store fixtures: every store test runs on SQLite and on PostgreSQL.

PostgreSQL: a throw-away database is created once per test session (dropped at the end) and each test
gets its own schema in it. The server is ``PSYSCORE_TEST_POSTGRES_URL`` (default: user postgres on
127.0.0.1:5432, trust auth). Without a server the PostgreSQL cases are skipped with the reason — except
under ``CI=true``, where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

import scoring
from scoring.definitions.library import Library
from scoring.store import Actor, Clinic, Store, password_hasher

PG_URL = os.environ.get("PSYSCORE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
BACKENDS = ("sqlite", "postgresql")


def _admin_engine(url: str):
    return create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool, connect_args={"connect_timeout": 3})


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """URL of a throw-away PostgreSQL database for this test session."""
    engine = _admin_engine(PG_URL)
    try:
        conn = engine.connect()
    except Exception as exc:
        engine.dispose()
        reason = f"no PostgreSQL server answers at {make_url(PG_URL).render_as_string()}: {type(exc).__name__}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: PostgreSQL tests must run)")
        pytest.skip(reason)
    name = f"psyscore_test_{uuid.uuid4().hex[:12]}"
    conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.close()
        engine.dispose()


def pg_schema_url(database_url: str, schema: str) -> str:
    return f"{database_url}?options={quote(f'-csearch_path={schema}')}"


@pytest.fixture
def pg_schema(pg_database: str) -> Iterator[str]:
    """URL of a fresh, empty schema (the search path) in the session's PostgreSQL database."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = _admin_engine(pg_database)
    with engine.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield pg_schema_url(pg_database, schema)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'clinic.db'}"
    return request.getfixturevalue("pg_schema")


class Clock:
    """A settable clock for the store (aware UTC)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2025, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture(scope="session")
def library() -> Library:
    return scoring.load_library()


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
