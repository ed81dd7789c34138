"""Alerts from critical items: open → acknowledged → resolved, each step with who, when and a note.

Alerts are raised by :mod:`scoring.store.administration` when a critical answer is saved. Changing the
answer back never deletes an alert: it is recorded as an ``answer_changed`` action and the alert's
``still_critical`` turns False, so the therapist still sees what was answered and decides.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from scoring.store import audit
from scoring.store.audit import Actor
from scoring.store.context import Context
from scoring.store.errors import NotFoundError, StoreError
from scoring.store.models import Administration, Alert, AlertAction


@dataclass(frozen=True)
class AlertInfo:
    id: int
    patient_id: int
    administration_id: int
    instrument_id: str
    item_id: str
    message: str
    status: str
    still_critical: bool
    raised_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: int | None
    resolved_at: datetime | None
    resolved_by: int | None
    note: str | None


@dataclass(frozen=True)
class AlertActionInfo:
    action: str
    at: datetime
    user_id: int | None
    note: str | None
    still_critical: bool | None


class Alerts:
    """Alerts for the care team. Obtain from :attr:`scoring.store.Clinic.alerts`."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def list(self, actor: Actor, *, include_resolved: bool = False, patient_id: int | None = None
             ) -> list[AlertInfo]:
        """Alerts of the actor's patients (therapist: care team; admin: all), open ones first, newest first.

        With ``patient_id``, that patient's alerts: a patient outside the actor's reach is refused
        (:class:`~scoring.store.errors.PermissionDeniedError`, audited as ``patient_access_denied``), not
        answered with an empty list.
        """
        with audit.denials_audited(self._ctx.store, actor, "alerts", patient_id), self._ctx.store.read() as s:
            if patient_id is not None:
                audit.require_patient(s, actor, patient_id)
            visible = audit.visible_patients(s, actor)
            q = select(Alert, Administration.instrument_id).join(Administration,
                                                                 Administration.id == Alert.administration_id)
            if visible is not None:
                q = q.where(Alert.patient_id.in_(visible))
            if not include_resolved:
                q = q.where(Alert.status != "resolved")
            if patient_id is not None:
                q = q.where(Alert.patient_id == patient_id)
            rows = s.execute(q.order_by(Alert.raised_at.desc(), Alert.id.desc())).all()
            out = [self._info(a, instrument) for a, instrument in rows]
        order = {"open": 0, "acknowledged": 1, "resolved": 2}
        return sorted(out, key=lambda a: order[a.status])

    def open_summary(self, actor: Actor) -> tuple[int, datetime | None]:
        """How many alerts of the actor's patients are open, and when the newest was raised.

        One indexed aggregate (no identifiers, not audited): cheap enough for every staff page to poll.
        """
        with self._ctx.store.read() as s:
            visible = audit.visible_patients(s, actor)
            q = select(func.count(), func.max(Alert.raised_at)).where(Alert.status == "open")
            if visible is not None:
                q = q.where(Alert.patient_id.in_(visible))
            count, newest = s.execute(q).one()
        if isinstance(newest, str):  # SQLite returns max() of a timestamp column as text
            newest = datetime.fromisoformat(newest)
        if newest is not None and newest.tzinfo is None:
            from datetime import UTC

            newest = newest.replace(tzinfo=UTC)
        return int(count or 0), newest

    @staticmethod
    def _info(a: Alert, instrument_id: str) -> AlertInfo:
        return AlertInfo(a.id, a.patient_id, a.administration_id, instrument_id, a.item_id, a.message, a.status,
                         a.still_critical, a.raised_at, a.acknowledged_at, a.acknowledged_by, a.resolved_at,
                         a.resolved_by, a.note)

    def _transition(self, actor: Actor, alert_id: int, action: str, note: str | None) -> AlertInfo:
        now = self._ctx.store.now()
        with (audit.denials_audited(self._ctx.store, actor, f"alert_{action}") as refused,
              self._ctx.store.write() as s):
            a = s.scalar(select(Alert).where(Alert.id == alert_id).with_for_update())
            if a is None:
                raise NotFoundError(f"no alert {alert_id}")
            refused.patient_id = a.patient_id
            audit.require_patient(s, actor, a.patient_id)
            if action == "acknowledged":
                if a.status != "open":
                    raise StoreError(f"alert {alert_id} is {a.status}, not open")
                a.status, a.acknowledged_at, a.acknowledged_by = "acknowledged", now, actor.user_id
            elif action == "resolved":
                if a.status == "resolved":
                    raise StoreError(f"alert {alert_id} is already resolved")
                if not note or not note.strip():
                    raise StoreError("resolving an alert needs a note (what was done)")
                if a.acknowledged_at is None:
                    a.acknowledged_at, a.acknowledged_by = now, actor.user_id
                a.status, a.resolved_at, a.resolved_by = "resolved", now, actor.user_id
            if note:
                a.note = note if not a.note else f"{a.note}\n{note}"
            s.add(AlertAction(alert_id=a.id, action=action, at=now, user_id=actor.user_id, note=note))
            audit.record(s, now, actor, f"alert_{action}", patient_id=a.patient_id, object_type="alert",
                         object_id=a.id)
            instrument = s.scalar(select(Administration.instrument_id)
                                  .where(Administration.id == a.administration_id)) or ""
            return self._info(a, instrument)

    def acknowledge(self, actor: Actor, alert_id: int, note: str | None = None) -> AlertInfo:
        """Mark an open alert as seen by a member of the care team."""
        return self._transition(actor, alert_id, "acknowledged", note)

    def resolve(self, actor: Actor, alert_id: int, note: str) -> AlertInfo:
        """Close an alert with a note on what was done (acknowledges it too if needed)."""
        return self._transition(actor, alert_id, "resolved", note)

    def add_note(self, actor: Actor, alert_id: int, note: str) -> AlertInfo:
        return self._transition(actor, alert_id, "note", note)

    def actions(self, actor: Actor, alert_id: int) -> builtins.list[AlertActionInfo]:
        """Everything that happened to an alert, oldest first (a refusal is audited)."""
        with audit.denials_audited(self._ctx.store, actor, "alert_actions") as refused, self._ctx.store.read() as s:
            a = s.get(Alert, alert_id)
            if a is None:
                raise NotFoundError(f"no alert {alert_id}")
            refused.patient_id = a.patient_id
            audit.require_patient(s, actor, a.patient_id)
            rows = s.scalars(select(AlertAction).where(AlertAction.alert_id == alert_id).order_by(AlertAction.id))
            return [AlertActionInfo(r.action, r.at, r.user_id, r.note, r.still_critical) for r in rows]
