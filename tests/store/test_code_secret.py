"""Short codes are stored as HMAC-SHA256 with a server secret kept outside the database (issue 10 item 20)."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import select, text

from scoring.store import Clinic, CodeInvalidError, Store, StoreError, password_hasher
from scoring.store.models import Assignment, AuditEntry
from scoring.store.security import SECRET_KEY_ENV, SECRET_KEY_FILE_ENV, load_secret_key

from .conftest import SYSTEM


def _clinic(store: Store, library) -> tuple[Clinic, object, int]:
    clinic = Clinic(store, library, hasher=password_hasher(fast=True))
    t = clinic.users.add(SYSTEM, "t", "therapist", "long enough pw").actor
    return clinic, t, clinic.patients.add(t, "P")


def test_code_hash_is_keyed_and_the_key_file_is_private(tmp_path: Path, library, monkeypatch) -> None:
    monkeypatch.delenv(SECRET_KEY_ENV, raising=False)
    monkeypatch.delenv(SECRET_KEY_FILE_ENV, raising=False)
    db = tmp_path / "clinic.db"
    with Store(db) as store:
        store.upgrade()
        clinic, t, pid = _clinic(store, library)
        issued = clinic.assignments.assign(t, pid, instruments=["phq2"])
        code = issued.code.replace(" ", "")
        with store.read() as s:
            stored = s.scalar(select(Assignment.code_hash).where(Assignment.id == issued.assignment_id))
    key_file = tmp_path / "clinic.db.key"
    assert key_file.exists() and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stored != hashlib.sha256(f"psyscore:code:{code}".encode()).hexdigest()  # not the plain hash
    assert key_file.read_text().strip().encode() not in db.read_bytes()
    # the stored hash is useless without the key: another key cannot redeem the code
    monkeypatch.setenv(SECRET_KEY_ENV, "x" * 64)
    with Store(db) as store, pytest.raises(CodeInvalidError):
        Clinic(store, library, hasher=password_hasher(fast=True)).kiosk.redeem(code)
    monkeypatch.delenv(SECRET_KEY_ENV)
    with Store(db) as store:  # the right key (the file next to the database) redeems it
        assert Clinic(store, library, hasher=password_hasher(fast=True)).kiosk.redeem(code).assignment_id \
            == issued.assignment_id


def test_a_key_file_others_can_read_or_a_short_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "k.key"
    load_secret_key(path, environ={})
    os.chmod(path, 0o644)
    with pytest.raises(StoreError, match="chmod 600"):
        load_secret_key(path, environ={})
    with pytest.raises(StoreError, match="at least 32"):
        load_secret_key(path, environ={SECRET_KEY_ENV: "short"})
    assert load_secret_key(tmp_path / "none", environ={SECRET_KEY_FILE_ENV: str(path.with_name("f.key"))})
    assert stat.S_IMODE(path.with_name("f.key").stat().st_mode) == 0o600


def test_upgrade_revokes_outstanding_plain_hashed_codes_and_audits_it(tmp_path: Path, library) -> None:
    with Store(tmp_path / "c.db") as store:
        store.upgrade("0007")
        with store.write() as s:  # an assignment with an old-style 8-digit code, as 0007 stored it
            s.execute(text("INSERT INTO users (id, username, role, password_hash, disabled, failed_logins, "
                           "created_at) VALUES (1, 'u', 'therapist', 'x', 0, 0, '2025-01-01 00:00:00')"))
            s.execute(text("INSERT INTO patients (id, created_at, active) VALUES (1, '2025-01-01 00:00:00', 1)"))
            s.execute(text("INSERT INTO batteries (id, name, created_at, adhoc) VALUES (1, 'b', '2025-01-01', 0)"))
            old = hashlib.sha256(b"psyscore:code:12345678").hexdigest()
            s.execute(text("INSERT INTO assignments (id, patient_id, battery_id, created_at, code_hash, token_hash)"
                           " VALUES (1, 1, 1, '2025-01-01 00:00:00', :c, 'tok')"), {"c": old})
        store.upgrade()
        with store.read() as s:
            assert s.scalar(select(Assignment.code_hash)) is None
            assert s.scalar(select(Assignment.token_hash)) == "tok"  # the link keeps working
            row = s.execute(select(AuditEntry.action, AuditEntry.detail)).one()
        assert row.action == "short_codes_revoked_by_upgrade" and row.detail["assignments"] == 1
