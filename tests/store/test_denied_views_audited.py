"""Every refused look at a patient's data is audited (``patient_access_denied``), on SQLite and PostgreSQL.

Patients' record, history, answers and events were audited before (tests/store/test_research_and_access.py);
this covers the assignments, the alerts (list, actions, acknowledge/resolve/note) and the administration
reads (get, answers, answer history, next item, item).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from scoring.store import Actor, Clinic, PermissionDeniedError
from scoring.store.models import AuditEntry

from .conftest import PASSWORD, SYSTEM


def _denials(clinic: Clinic) -> list[tuple[int | None, int | None, bool, str]]:
    with clinic.store.read() as s:
        rows = s.execute(select(AuditEntry.user_id, AuditEntry.patient_id, AuditEntry.ok, AuditEntry.detail)
                         .where(AuditEntry.action == "patient_access_denied").order_by(AuditEntry.id)).all()
    return [(r.user_id, r.patient_id, r.ok, r.detail["view"]) for r in rows]


@pytest.fixture
def seeded(clinic: Clinic, therapist: Actor, patient: int) -> tuple[int, int]:
    """An assignment and a PHQ-9 with item 9 endorsed (one alert) for the therapist's patient."""
    clinic.assignments.assign(therapist, patient, instruments=("phq9",))
    answers = {f"phq9_{i}": 1 for i in range(1, 10)} | {"phq9_9": 2}
    done = clinic.administrations.record(therapist, patient, "phq9", answers)
    (alert,) = clinic.alerts.list(therapist, patient_id=patient)
    return done.administration_id, alert.id


def test_refused_views_of_assignments_alerts_and_administrations_are_audited(
        clinic: Clinic, therapist: Actor, patient: int, seeded: tuple[int, int]) -> None:
    administration, alert = seeded
    other = clinic.users.add(SYSTEM, "olga", "therapist", PASSWORD).actor
    views: list[tuple[str, Callable[[], object]]] = [
        ("assignments", lambda: clinic.assignments.for_patient(other, patient)),
        ("alerts", lambda: clinic.alerts.list(other, patient_id=patient, include_resolved=True)),
        ("alert_actions", lambda: clinic.alerts.actions(other, alert)),
        ("alert_acknowledged", lambda: clinic.alerts.acknowledge(other, alert)),
        ("alert_note", lambda: clinic.alerts.add_note(other, alert, "a note")),
        ("alert_resolved", lambda: clinic.alerts.resolve(other, alert, "called the patient")),
        ("administration", lambda: clinic.administrations.get(other, administration)),
        ("answers", lambda: clinic.administrations.answers(other, administration)),
        ("answer_history", lambda: clinic.administrations.answer_history(other, administration)),
        ("administration", lambda: clinic.administrations.next_item(other, administration)),
        ("administration", lambda: clinic.administrations.item(other, administration, "phq9_1")),
    ]
    for _, view in views:
        with pytest.raises(PermissionDeniedError):
            view()
    assert _denials(clinic) == [(other.user_id, patient, False, name) for name, _ in views]
    # nothing the refused calls would have changed changed: the alert is still open, unannotated
    (still,) = clinic.alerts.list(therapist, patient_id=patient)
    assert still.status == "open" and still.note is None


def test_allowed_views_record_no_denial(clinic: Clinic, therapist: Actor, patient: int,
                                        seeded: tuple[int, int]) -> None:
    administration, alert = seeded
    assert len(clinic.assignments.for_patient(therapist, patient)) == 1
    assert [a.action for a in clinic.alerts.actions(therapist, alert)] == ["raised"]
    assert clinic.administrations.get(therapist, administration).patient_id == patient
    clinic.alerts.acknowledge(therapist, alert)
    assert clinic.alerts.list(therapist)[0].status == "acknowledged"
    assert _denials(clinic) == []


def test_a_refusal_before_the_patient_is_known_records_nothing(clinic: Clinic, patient: int,
                                                               seeded: tuple[int, int]) -> None:
    """A researcher listing every alert is refused by role, with no patient to record."""
    researcher = clinic.users.add(SYSTEM, "rita", "researcher", PASSWORD).actor
    with pytest.raises(PermissionDeniedError):
        clinic.alerts.list(researcher)
    assert _denials(clinic) == []
    with pytest.raises(PermissionDeniedError):
        clinic.assignments.for_patient(researcher, patient)
    assert _denials(clinic) == [(researcher.user_id, patient, False, "assignments")]
