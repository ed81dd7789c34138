"""PostgreSQL for the tests: one throw-away database per test session, a fresh schema per test.

The server is ``PSYSCORE_TEST_POSTGRES_URL`` (default: user postgres on 127.0.0.1:5432, trust auth). Without a
server the PostgreSQL cases are skipped with the reason, except under ``CI=true``, where they fail. The
fixtures (``pg_database``, ``pg_schema``, ``store_url``) are registered in tests/conftest.py for every folder.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

PG_URL = os.environ.get("PSYSCORE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
BACKENDS = ("sqlite", "postgresql")


def admin_engine(url: str) -> Engine:
    return create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool, connect_args={"connect_timeout": 3})


def pg_schema_url(database_url: str, schema: str) -> str:
    """The URL of ``database_url`` with ``schema`` as the search path."""
    return f"{database_url}?options={quote(f'-csearch_path={schema}')}"


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """URL of a throw-away PostgreSQL database for this test session."""
    engine = admin_engine(PG_URL)
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


@pytest.fixture
def pg_schema(pg_database: str) -> Iterator[str]:
    """URL of a fresh, empty schema (the search path) in the session's PostgreSQL database."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = admin_engine(pg_database)
    with engine.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield pg_schema_url(pg_database, schema)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store URL, once for SQLite (a file in tmp_path) and once for PostgreSQL (a fresh schema)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'clinic.db'}"
    return str(request.getfixturevalue("pg_schema"))
