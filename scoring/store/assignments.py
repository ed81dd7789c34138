"""Assignments: a battery for a patient, with a code (batteries themselves: :mod:`scoring.store.batteries`).

Assigning prints a one-time short code (typed on the tablet's keypad) and a link token; both are
stored as hashes only, expire, and are single use. A recurring assignment (``every=14 days``) creates
the next assignment, without a code, when it completes; :meth:`Assignments.issue_code` gives it one when
the patient is due.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from scoring.store import audit
from scoring.store.audit import Actor
from scoring.store.batteries import Batteries, assignable_battery
from scoring.store.catalogue import require_enabled
from scoring.store.context import Context
from scoring.store.errors import NotFoundError, StoreError
from scoring.store.models import Assignment, Battery, BatteryInstrument, Patient
from scoring.store.security import format_code, keyed_hash, new_short_code, new_token, secret_hash


@dataclass(frozen=True)
class IssuedCode:
    """A freshly issued code: show ``code`` (or the link with ``token``) once; only hashes are stored."""

    assignment_id: int
    patient_id: int
    code: str  # grouped for reading, e.g. "0471 8263"; spaces are ignored when typed
    token: str  # for a link; 256 random bits
    expires_at: datetime
    due_date: date | None


@dataclass(frozen=True)
class AssignmentInfo:
    id: int
    patient_id: int
    battery_id: int
    battery_name: str
    created_at: datetime
    due_date: date | None
    recur_days: int | None
    code_expires_at: datetime | None
    redeemed_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    status: str  # no_code | waiting | code_expired | in_progress | completed | cancelled
    overdue: bool


def assignment_status(a: Assignment, now: datetime) -> str:
    if a.cancelled_at is not None:
        return "cancelled"
    if a.completed_at is not None:
        return "completed"
    if a.redeemed_at is not None and a.code_hash is None and a.token_hash is None:
        return "in_progress"
    if a.code_hash is None and a.token_hash is None:
        return "no_code"
    if a.code_expires_at is not None and a.code_expires_at <= now:
        return "code_expired"
    return "waiting"



def open_assignment_locked(s: Session, actor: Actor, assignment_id: int) -> Assignment:
    """The assignment, row-locked, when the actor may see its patient and it is neither completed nor cancelled."""
    a = s.scalar(select(Assignment).where(Assignment.id == assignment_id).with_for_update())
    if a is None:
        raise NotFoundError(f"no assignment {assignment_id}")
    audit.require_patient(s, actor, a.patient_id)
    if a.completed_at is not None or a.cancelled_at is not None:
        raise StoreError(f"assignment {assignment_id} is {'completed' if a.completed_at else 'cancelled'}")
    return a

class Assignments:
    """Assignments and their codes. Obtain from :attr:`scoring.store.Clinic.assignments`."""

    def __init__(self, ctx: Context, batteries: Batteries) -> None:
        self._ctx = ctx
        self._batteries = batteries

    def assign(self, actor: Actor, patient_id: int, *, battery: int | str | None = None,
               instruments: Sequence[str] = (), expires_in: timedelta | None = None, due: date | None = None,
               every: timedelta | None = None, language: str | None = None) -> IssuedCode:
        """Assign a battery (by name or id) or a list of instruments to a patient and issue its code."""
        if (battery is None) == (not instruments):
            raise StoreError("give a battery or a list of instruments, not both")
        if every is not None and every < timedelta(days=1):
            raise StoreError("a recurring assignment repeats at most daily")
        now = self._ctx.store.now()
        with self._ctx.store.write() as s:
            user = audit.require_user(s, actor, ("admin", "therapist"))
            audit.require_patient(s, actor, patient_id)
            if s.get(Patient, patient_id) is None:
                raise NotFoundError(f"no patient {patient_id}")
            b = (assignable_battery(s, battery) if battery is not None  # active batteries only
                 else self._batteries.adhoc(s, instruments, now, user.id if user else None))
            require_enabled(s, s.scalars(select(BatteryInstrument.instrument_id)
                                         .where(BatteryInstrument.battery_id == b.id)))
            a = Assignment(patient_id=patient_id, battery_id=b.id, language=language, created_at=now,
                           created_by=user.id if user else None, due_date=due,
                           recur_days=every.days if every else None)
            s.add(a)
            s.flush()
            issued = self._issue(s, a, now, expires_in)
            audit.record(s, now, actor, "assignment_created", patient_id=patient_id, object_type="assignment",
                         object_id=a.id, detail={"battery": b.id, "recur_days": a.recur_days})
            return issued

    def issue_code(self, actor: Actor, assignment_id: int, *, expires_in: timedelta | None = None) -> IssuedCode:
        """A new code and link for an open assignment (any earlier code stops working)."""
        now = self._ctx.store.now()
        with self._ctx.store.write() as s:
            a = open_assignment_locked(s, actor, assignment_id)
            issued = self._issue(s, a, now, expires_in)
            audit.record(s, now, actor, "assignment_code_issued", patient_id=a.patient_id,
                         object_type="assignment", object_id=a.id)
            return issued

    def _issue(self, s: Session, a: Assignment, now: datetime, expires_in: timedelta | None) -> IssuedCode:
        ttl = expires_in or self._ctx.policy.code_ttl
        if ttl <= timedelta(0):
            raise StoreError("a code must expire in the future")
        token = new_token()
        for _ in range(20):  # a short code may collide with another open one: draw again
            code = new_short_code(self._ctx.policy.code_digits)
            h = keyed_hash(self._ctx.store.secret_key(), "code", code)  # HMAC with the server secret
            if s.scalar(select(Assignment.id).where(Assignment.code_hash == h)) is None:
                break
        else:  # pragma: no cover - needs ~10^8 open codes
            raise StoreError("could not draw an unused code")
        a.code_hash, a.token_hash = h, secret_hash("token", token)
        a.code_issued_at, a.code_expires_at = now, now + ttl
        s.flush()
        return IssuedCode(a.id, a.patient_id, format_code(code), token, a.code_expires_at, a.due_date)

    def cancel(self, actor: Actor, assignment_id: int) -> None:
        """Cancel an open assignment: its code, link and kiosk ticket stop working."""
        now = self._ctx.store.now()
        with self._ctx.store.write() as s:
            a = s.scalar(select(Assignment).where(Assignment.id == assignment_id).with_for_update())
            if a is None:
                raise NotFoundError(f"no assignment {assignment_id}")
            audit.require_patient(s, actor, a.patient_id)
            if a.completed_at is None and a.cancelled_at is None:
                a.cancelled_at = now
                a.code_hash = a.token_hash = a.ticket_hash = None
                audit.record(s, now, actor, "assignment_cancelled", patient_id=a.patient_id,
                             object_type="assignment", object_id=a.id)

    def _infos(self, s: Session, rows: Sequence[Assignment], now: datetime) -> list[AssignmentInfo]:
        names = {bid: name if version == 1 else f"{name} (version {version})"  # which version was assigned
                 for bid, name, version in s.execute(select(Battery.id, Battery.name, Battery.version).where(
                     Battery.id.in_({a.battery_id for a in rows}))).all()} if rows else {}
        out = []
        for a in rows:
            status = assignment_status(a, now)
            overdue = a.due_date is not None and a.due_date < now.date() and status not in ("completed", "cancelled")
            out.append(AssignmentInfo(a.id, a.patient_id, a.battery_id, names.get(a.battery_id, ""), a.created_at,
                                      a.due_date, a.recur_days, a.code_expires_at, a.redeemed_at, a.completed_at,
                                      a.cancelled_at, status, overdue))
        return out

    def for_patient(self, actor: Actor, patient_id: int) -> list[AssignmentInfo]:
        """The patient's assignments, oldest first; a patient outside the actor's reach is refused and the
        refusal audited (``patient_access_denied``)."""
        now = self._ctx.store.now()
        with audit.denials_audited(self._ctx.store, actor, "assignments", patient_id), self._ctx.store.read() as s:
            audit.require_patient(s, actor, patient_id)
            rows = list(s.scalars(select(Assignment).where(Assignment.patient_id == patient_id)
                                  .order_by(Assignment.created_at, Assignment.id)))
            return self._infos(s, rows, now)

    def open(self, actor: Actor, *, due_by: date | None = None) -> list[AssignmentInfo]:
        """Open assignments of the patients the actor may see (due on or before ``due_by`` if given)."""
        now = self._ctx.store.now()
        with self._ctx.store.read() as s:
            visible = audit.visible_patients(s, actor)
            q = select(Assignment).where(Assignment.completed_at.is_(None), Assignment.cancelled_at.is_(None))
            if visible is not None:
                q = q.where(Assignment.patient_id.in_(visible))
            if due_by is not None:
                q = q.where(Assignment.due_date <= due_by)
            rows = list(s.scalars(q.order_by(Assignment.due_date, Assignment.id)))
            return self._infos(s, rows, now)
