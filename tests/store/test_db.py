"""The database layer: SQLite settings, transactions, migrations vs models, append-only audit, backups."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import DBAPIError

from scoring.store import Clinic, SchemaError, Store, StoreError, default_url, normalize_url
from scoring.store.models import AuditEntry, Base

from .conftest import SYSTEM


def test_default_and_normalized_urls(tmp_path: Path) -> None:
    assert default_url({}, cwd=tmp_path) == f"sqlite:///{tmp_path.as_posix()}/data/psyscore.db"
    assert default_url({"PSYSCORE_DATABASE_URL": "postgresql+psycopg://x/y"}) == "postgresql+psycopg://x/y"
    assert normalize_url("clinic.db") == "sqlite:///clinic.db"
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"


def test_sqlite_pragmas_and_begin_immediate(tmp_path: Path) -> None:
    with Store(tmp_path / "data" / "c.db") as store:
        store.upgrade()
        assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        seen: list[str] = []
        event.listen(store.engine, "before_cursor_execute",
                     lambda conn, cur, stmt, *a: seen.append(stmt.split()[0:2] and " ".join(stmt.split()[:2])))
        with store.write() as s:
            s.execute(select(1))
        with store.read() as s:
            s.execute(select(1))
        assert seen[0] == "BEGIN IMMEDIATE" and "BEGIN DEFERRED" in seen


def test_write_rolls_back_on_error(store: Store) -> None:
    with pytest.raises(RuntimeError), store.write() as s:
        s.add(AuditEntry(at=store.now(), actor="system", action="x"))
        s.flush()
        raise RuntimeError("boom")
    with store.read() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_migrations_match_the_models(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    assert store.schema_is_current()
    store.upgrade()  # repeatable


def test_audit_log_is_append_only(store: Store) -> None:
    with store.write() as s:
        s.add(AuditEntry(at=store.now(), actor="system", action="login"))
    for stmt in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), store.write() as s:
            s.execute(text(stmt))
    if store.dialect == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"), store.write() as s:
            s.execute(text("TRUNCATE audit_log"))
    with store.read() as s:
        assert s.scalar(select(AuditEntry.action)) == "login"


def test_audit_rows_cannot_be_replaced(store: Store) -> None:
    """REPLACE deletes the old row without firing DELETE triggers (recursive_triggers is off): refused too."""
    with store.write() as s:
        s.add(AuditEntry(at=store.now(), actor="system", action="login"))
    with store.read() as s:
        row_id, at = s.execute(select(AuditEntry.id, text("at")).select_from(AuditEntry)).one()
    if store.dialect == "sqlite":
        statements = [f"INSERT OR REPLACE INTO audit_log (id, at, actor, action, ok) "
                      f"VALUES ({row_id}, '{at}', 'system', 'forged', 1)",
                      f"REPLACE INTO audit_log (id, at, actor, action, ok) "
                      f"VALUES ({row_id}, '{at}', 'system', 'forged', 1)"]
    else:
        statements = [f"INSERT INTO audit_log (id, at, actor, action, ok) VALUES ({row_id}, now(), 'system', 'forged', "
                      "true) ON CONFLICT (id) DO UPDATE SET action = excluded.action"]
    for stmt in statements:
        with pytest.raises(DBAPIError, match="append-only"), store.write() as s:
            s.execute(text(stmt))
    with store.read() as s:
        assert s.execute(select(AuditEntry.id, AuditEntry.action)).all() == [(row_id, "login")]
    with store.write() as s:  # new rows still go in
        s.add(AuditEntry(at=store.now(), actor="system", action="logout"))


def test_uninitialised_and_outdated_schema(tmp_path: Path, library) -> None:
    with Store(tmp_path / "new.db") as store:
        assert store.is_empty()
        with pytest.raises(SchemaError, match="psyscore db init"):
            Clinic(store, library)
        store.upgrade()
        store.require_current()
        from alembic import command

        with store.engine.begin() as conn:
            command.downgrade(store._alembic_config(conn), "base")
        assert store.current_revision() is None and store.is_empty() is False  # alembic_version stays
        with pytest.raises(SchemaError, match="not initialised"):
            store.require_current()


def test_sqlite_backup_is_online_private_and_restorable(clinic: Clinic, therapist, patient: int, tmp_path: Path
                                                        ) -> None:
    clinic.administrations.record(therapist, patient, "gad7", {f"gad7_{i}": 1 for i in range(1, 8)})
    target = tmp_path / "backups" / "b.db"
    if clinic.store.dialect == "postgresql":
        path = clinic.store.backup(target)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.read_bytes()[:5] == b"PGDMP"
        listing = subprocess.run(["pg_restore", "--list", str(path)], capture_output=True, text=True, check=True)
        assert "audit_log" in listing.stdout
        _restore_postgres(clinic, path, patient)
        return
    path = clinic.store.backup(target)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(StoreError, match="exists"):
        clinic.store.backup(target)
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    with Store(path) as restored:
        restored.require_current()
        copy = Clinic(restored, clinic.library)
        assert len(copy.patients.history(SYSTEM, patient)) == 1


def _restore_postgres(clinic: Clinic, path: Path, patient: int) -> None:
    """pg_restore the dump into a new database and read it back."""
    import uuid

    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    url = clinic.store.url
    name = f"psyscore_restore_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url.set(database="postgres", query={}), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        cmd = ["pg_restore", "--no-owner", "-d", name, "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
               "-U", url.username or "postgres", str(path)]
        subprocess.run(cmd, capture_output=True, text=True, check=True)
        restored_url = url.set(database=name).render_as_string(hide_password=False)  # same search_path
        with Store(restored_url) as restored:
            restored.require_current()
            assert len(Clinic(restored, clinic.library).patients.history(SYSTEM, patient)) == 1
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_import_scoring_does_not_import_sqlalchemy() -> None:
    code = "import sys, scoring, scoring.cli; scoring.cli.build_parser(); assert 'sqlalchemy' not in sys.modules"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                          env={**os.environ})
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("ci", ["", "true"])
def test_postgres_cases_skip_without_a_server_but_fail_under_ci(ci: str) -> None:
    env = {**os.environ, "PSYSCORE_TEST_POSTGRES_URL": "postgresql+psycopg://postgres@127.0.0.1:1/postgres", "CI": ci}
    target = f"{Path(__file__).as_posix()}::test_write_rolls_back_on_error"
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", target],
                          capture_output=True, text=True, env=env, cwd=Path(__file__).parents[2], check=False)
    if ci:
        assert proc.returncode == 1 and "CI=true: PostgreSQL tests must run" in proc.stdout, proc.stdout
    else:
        assert proc.returncode == 0 and "1 passed, 1 skipped" in proc.stdout, proc.stdout
        assert "no PostgreSQL server answers at postgresql+psycopg://postgres@127.0.0.1:1/postgres" in proc.stdout
