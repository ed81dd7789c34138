"""What the export may read, who may see what, users and lockout, and the audit of every access."""

from __future__ import annotations

from datetime import date

import pytest
from argon2 import PasswordHasher
from sqlalchemy import event, select

from scoring.store import (
    EXPORTABLE_TABLES,
    Actor,
    AuthenticationError,
    Clinic,
    NotFoundError,
    PermissionDeniedError,
)
from scoring.store.models import AuditEntry

from .conftest import PASSWORD, SYSTEM

SENTINELS = ("Sentinel Patientname", "sentinel@example.org", "MRN-SENTINEL-1", "1980-06-15")


def test_research_source_reads_no_identifiers(clinic: Clinic, therapist, patient: int) -> None:
    clinic.patients.add_event(therapist, patient, date(2025, 1, 2), "Sentinel event label", "Sentinel note")
    clinic.administrations.record(therapist, patient, "phq9", {f"phq9_{i}": 1 for i in range(1, 9)})
    researcher = clinic.users.add(SYSTEM, "rita", "researcher", PASSWORD).actor
    statements: list[str] = []
    listener = lambda conn, cur, stmt, *a: statements.append(stmt.lower())  # noqa: E731
    event.listen(clinic.store.engine, "before_cursor_execute", listener)
    try:
        frame = clinic.research.administrations(researcher, "phq9")
        counts = clinic.research.instruments(researcher)
    finally:
        event.remove(clinic.store.engine, "before_cursor_execute", listener)
    assert len(frame) == 1 and counts[0].administrations == 1
    assert frame.loc[0, "patient_id"] == patient and frame.loc[0, "sex"] == "female"
    assert frame.loc[0, "birth_year"] == 1980 and frame.loc[0, "age_years"] >= 44
    assert frame.loc[0, "total"] == 9.0 and frame.loc[0, "total_prorated"]
    assert frame.loc[0, "phq9_1"] == 1.0 and "phq9_10" in frame.columns
    text = frame.to_csv(index=False)
    for sentinel in (*SENTINELS, "Sentinel event", "Sentinel note"):
        assert sentinel not in text
    touched = " ".join(statements)
    for table in ("patient_identifiers", "events", "alerts", "alert_actions", "care_team"):  # users: the role check
        assert f" {table}" not in touched, table
    with clinic.store.read() as s:
        last = s.scalars(select(AuditEntry).where(AuditEntry.action == "export_read")).one()
    assert last.user_id == researcher.user_id and last.detail["rows"] == 1
    assert set(EXPORTABLE_TABLES) >= {"patients", "administrations", "answers", "scores"}
    with pytest.raises(PermissionDeniedError):
        clinic.research.administrations(therapist, "phq9")


def test_care_team_and_roles(clinic: Clinic, therapist: Actor, patient: int) -> None:
    other = clinic.users.add(SYSTEM, "olga", "therapist", PASSWORD).actor
    researcher = clinic.users.add(SYSTEM, "rita", "researcher", PASSWORD).actor
    admin = clinic.users.add(SYSTEM, "ada", "admin", PASSWORD).actor
    with pytest.raises(PermissionDeniedError):
        clinic.patients.get(other, patient)
    with pytest.raises(PermissionDeniedError):
        clinic.patients.history(researcher, patient)
    with pytest.raises(PermissionDeniedError):
        clinic.users.add(therapist, "x", "admin", PASSWORD)
    assert clinic.patients.caseload(other) == []
    clinic.patients.add_to_care_team(admin, patient, other.user_id)
    record = clinic.patients.get(other, patient)
    assert record.name == "Sentinel Patientname" and set(record.therapist_ids) == {therapist.user_id, other.user_id}
    clinic.users.disable(admin, other.user_id)
    with pytest.raises(PermissionDeniedError, match="disabled"):
        clinic.patients.get(other, patient)
    with clinic.store.read() as s:
        views = s.execute(select(AuditEntry.user_id).where(AuditEntry.action == "patient_viewed")).scalars().all()
    assert views == [other.user_id]


def test_login_lockout_and_disabled(clinic: Clinic) -> None:
    user = clinic.users.add(SYSTEM, "lena", "therapist", PASSWORD)
    assert user.actor.role == "therapist"
    assert clinic.users.authenticate("lena", PASSWORD).last_login_at is not None
    with pytest.raises(AuthenticationError):
        clinic.users.authenticate("nobody", PASSWORD)
    for _ in range(5):
        with pytest.raises(AuthenticationError):
            clinic.users.authenticate("lena", "wrong password")
    with pytest.raises(AuthenticationError) as locked:  # locked, even with the right password
        clinic.users.authenticate("lena", PASSWORD)
    with pytest.raises(AuthenticationError) as unknown:
        clinic.users.authenticate("nobody", PASSWORD)
    assert type(locked.value) is type(unknown.value) is AuthenticationError  # not AccountLockedError
    assert str(locked.value) == str(unknown.value)
    clinic.users.set_password(SYSTEM, user.id, "another long password")
    assert clinic.users.authenticate("lena", "another long password").id == user.id
    clinic.users.disable(SYSTEM, user.id)
    with pytest.raises(AuthenticationError):
        clinic.users.authenticate("lena", "another long password")
    with clinic.store.read() as s:
        rows = s.execute(select(AuditEntry.action, AuditEntry.ok).where(AuditEntry.action.like("login%"))).all()
    assert rows.count(("login", True)) == 2 and rows.count(("login_failed", False)) == 9
    with clinic.store.read() as s:
        stored = s.execute(select(AuditEntry.detail)).scalars().all()
    assert all(PASSWORD not in str(d) for d in stored)


class CountingHasher(PasswordHasher):
    """A real (cheap) Argon2id hasher that counts verifications."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.verified = 0

    def verify(self, hash, password) -> bool:
        self.verified += 1
        return super().verify(hash, password)


def test_locked_and_unknown_names_answer_alike_and_both_run_argon2(store, library) -> None:
    hasher = CountingHasher()
    clinic = Clinic(store, library, hasher=hasher)
    clinic.users.add(SYSTEM, "lena", "therapist", PASSWORD)
    for _ in range(5):
        with pytest.raises(AuthenticationError):
            clinic.users.authenticate("lena", "wrong password")
    answers = []
    for name in ("lena", "nobody"):
        before = hasher.verified
        with pytest.raises(AuthenticationError) as exc:
            clinic.users.authenticate(name, PASSWORD)
        answers.append((type(exc.value), str(exc.value), hasher.verified - before))
    assert answers[0] == answers[1]
    assert answers[0][2] == 1  # one Argon2 verification each


def test_other_team_find_reveals_no_id_and_denied_views_are_audited(clinic: Clinic, therapist, patient: int) -> None:
    other = clinic.users.add(SYSTEM, "olga", "therapist", PASSWORD).actor
    with pytest.raises(NotFoundError) as unknown:
        clinic.patients.find(other, "MRN-NOBODY")
    with pytest.raises(NotFoundError) as foreign:
        clinic.patients.find(other, "MRN-SENTINEL-1")
    assert str(foreign.value) == str(unknown.value) and str(patient) not in str(foreign.value)
    assert clinic.patients.find(therapist, "MRN-SENTINEL-1") == patient
    for view in (clinic.patients.get, clinic.patients.history, clinic.patients.answer_table, clinic.patients.events):
        with pytest.raises(PermissionDeniedError):
            view(other, patient)
    with clinic.store.read() as s:
        rows = s.execute(select(AuditEntry.action, AuditEntry.user_id, AuditEntry.patient_id, AuditEntry.ok,
                                AuditEntry.detail).where(AuditEntry.action == "patient_access_denied")
                         .order_by(AuditEntry.id)).all()
    assert [(r.user_id, r.patient_id, r.ok) for r in rows] == [(other.user_id, patient, False)] * 5
    assert [r.detail["view"] for r in rows] == ["find", "record", "history", "answers", "events"]
