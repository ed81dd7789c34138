"""The notification outbox: alert notices, escalations, invitations and reminders, delivered at least once.

Rows are written in the transaction of what causes them (an alert is raised → one row per member of the
care team × channel, in the alert's own transaction), so a committed alert always has its notices. A
worker (:class:`scoring.notify.Notifier`, ``psyscore notify run`` or the app's thread) claims due rows —
``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, one atomic ``UPDATE`` on SQLite — under a lease, sends
them outside any transaction and records the outcome only if it still holds the claim. A worker that dies
mid-send leaves its rows ``sending`` until the lease ends; the next worker takes them again (at least once;
the row id travels with every message so a receiver can drop a repeat). A failed send is retried with
exponential backoff; after ``max_attempts`` the row is ``failed`` (kept, listed, ``psyscore notify retry``).
Rows are never deleted. Every claim and every outcome is audited.

A guessing burst of wrong kiosk codes (:meth:`scoring.store.kiosk.Kiosk.guessing_bursts`) queues a
security notice (kind ``guessing_burst``) to every enabled admin × channel in the transaction that records
the burst, and the worker queues one to the on-call address when one is configured; the key holds the burst
window, so each window gives one notice per recipient.

Messages hold no patient identifiers and no answers: staff get "an alert needs your attention" (or, for a
burst, that wrong check-in codes were tried, and when) and a link to the app; patients get a link to their
questionnaire. Staff and patient addresses are read when a row
is sent (never copied into the outbox); only the practice's on-call address is stored on its row.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from scoring.store import audit
from scoring.store.assignments import open_assignment_locked
from scoring.store.audit import Actor
from scoring.store.context import Context
from scoring.store.errors import NotFoundError, StoreError
from scoring.store.models import (
    NOTIFICATION_CHANNELS,
    NOTIFICATION_STATUSES,
    Alert,
    AlertAction,
    Assignment,
    AuditEntry,
    CareTeam,
    InvitationPlan,
    Notification,
    PatientIdentifiers,
    User,
)
from scoring.store.security import new_token, secret_hash

NOTIFY = Actor.system("notify")
#: the outbox kind of a security notice about a burst of wrong kiosk codes
BURST_KIND = "guessing_burst"
#: the worker sends the on-call address a notice of bursts at most this old (not of old ones when it is set up)
BURST_ON_CALL_HORIZON = timedelta(hours=24)
INVITE_CHANNELS = ("email", "sms")
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")
_DIGITS = re.compile(r"\d{5,}")
_URL_QUERY = re.compile(r"(https?://[^\s?#]+)[?#]\S*")


def _patient_address(s: Session, patient_id: int, channel: str) -> str | None:
    """Where a patient's invitation goes: their ``email`` or ``phone`` field (checked when entered)."""
    column = PatientIdentifiers.email if channel == "email" else PatientIdentifiers.phone
    return s.scalar(select(column).where(PatientIdentifiers.patient_id == patient_id)) or None


def check_email(value: str) -> str:
    """A single e-mail address, stripped; raises :class:`StoreError` saying what is wrong."""
    v = value.strip()
    if not _EMAIL.fullmatch(v) or len(v) > 254:
        raise StoreError(f"not an e-mail address: {v!r}; write e.g. name@clinic.example")
    return v


def check_url(value: str) -> str:
    """An http(s) URL for a webhook; raises :class:`StoreError` saying what is wrong."""
    v = value.strip()
    if not re.fullmatch(r"https?://[^\s/?#]+[^\s]*", v) or len(v) > 500:
        raise StoreError(f"not a webhook URL: {v!r}; write e.g. https://hooks.example/psyscore")
    return v


def redact(text: str, limit: int = 500) -> str:
    """An error message fit to store: e-mail addresses, long numbers and URL queries removed."""
    out = _EMAIL.sub("<address>", text)
    out = _URL_QUERY.sub(r"\1?…", out)
    out = _DIGITS.sub("<number>", out)
    return out[:limit]


@dataclass(frozen=True)
class ContactInfo:
    """Where a staff member's alert notices go."""

    user_id: int
    email: str | None
    webhook_url: str | None


@dataclass(frozen=True)
class NotificationInfo:
    id: int
    kind: str
    channel: str
    status: str
    attempts: int
    alert_id: int | None
    assignment_id: int | None
    user_id: int | None
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None


@dataclass(frozen=True)
class Claimed:
    """A row this worker holds until ``locked_until`` (``claim`` proves it when the outcome is recorded)."""

    id: int
    kind: str
    channel: str
    attempt: int
    claim: str
    alert_id: int | None
    assignment_id: int | None


@dataclass(frozen=True)
class Delivery:
    """What to send for a claimed row: the address and, for invitations, the fresh one-time link token.

    ``skip`` says why nothing is to be sent (the alert was acknowledged, the assignment completed …).
    """

    address: str | None
    token: str | None = None
    expires_at: datetime | None = None
    open_for: timedelta | None = None  # escalations: how long the alert has waited
    window: tuple[datetime, datetime] | None = None  # guessing bursts: when the wrong codes were tried
    skip: str | None = None


@dataclass(frozen=True)
class NotifyPolicy:
    """Retry, escalation and reminder rules (``psyscore notify run`` options / environment)."""

    max_attempts: int = 20
    backoff_base: timedelta = timedelta(seconds=30)
    backoff_cap: timedelta = timedelta(hours=1)
    lease: timedelta = timedelta(minutes=2)
    escalate_after: timedelta | None = None
    on_call: str | None = None  # an e-mail address or a webhook URL
    reminder_every: timedelta = timedelta(days=3)
    max_reminders: int = 3

    def backoff(self, attempts: int) -> timedelta:
        """Wait before attempt ``attempts + 1``: base × 2^(attempts − 1), at most ``backoff_cap``."""
        factor = 2 ** max(0, min(attempts - 1, 30))
        return min(self.backoff_base * factor, self.backoff_cap)


@dataclass
class ScheduleReport:
    escalations: int = 0
    bursts: int = 0  # guessing-burst notices queued for the on-call address
    invitations: int = 0
    reminders: int = 0
    stopped: dict[str, int] = field(default_factory=dict)


def on_call_channel(address: str) -> str:
    return "webhook" if address.startswith(("http://", "https://")) else "email"


def _add_row(s: Session, **values: Any) -> bool:
    """Insert one outbox row unless its key exists (a savepoint, so a race with another worker is harmless)."""
    if s.scalar(select(Notification.id).where(Notification.key == values["key"])) is not None:
        return False
    try:
        with s.begin_nested():
            s.add(Notification(status="pending", attempts=0, next_attempt_at=values["created_at"], **values))
            s.flush()
    except IntegrityError:
        return False
    return True


def enqueue_alert(s: Session, alert: Alert, now: datetime) -> int:
    """In the alert's transaction: one row per active member of the care team × configured channel."""
    users = s.execute(select(User.id, User.email, User.webhook_url).join(CareTeam, CareTeam.user_id == User.id)
                      .where(CareTeam.patient_id == alert.patient_id, User.disabled.is_(False))
                      .order_by(User.id)).all()
    n = 0
    for uid, email, webhook in users:
        for channel, target in (("email", email), ("webhook", webhook)):
            if target:
                n += _add_row(s, key=f"alert:{alert.id}:{channel}:u{uid}", kind="alert", channel=channel,
                              alert_id=alert.id, user_id=uid, created_at=now)
    if n:
        audit.record(s, now, NOTIFY, "notification_queued", patient_id=alert.patient_id, object_type="alert",
                     object_id=alert.id, detail={"rows": n, "kind": "alert"})
    return n


def _burst_prefix(at: datetime, window: timedelta) -> str:
    """``burst:<window minutes>m:<bucket>``: every burst recorded within one window shares it (the kiosk records
    at most one burst per window; two recorded at once by parallel transactions share the key and so the row)."""
    minutes = max(1, int(window.total_seconds() // 60))
    return f"burst:{minutes}m:{int(at.timestamp() // (minutes * 60))}"


def enqueue_guessing_burst(s: Session, now: datetime, window: timedelta) -> int:
    """In the transaction recording a guessing burst: one notice per enabled admin × configured channel.

    The rows name no patient, code or device; the message is made when it is sent. Returns the rows added
    (0 when this burst window has its notices already).
    """
    users = s.execute(select(User.id, User.email, User.webhook_url)
                      .where(User.role == "admin", User.disabled.is_(False)).order_by(User.id)).all()
    prefix = _burst_prefix(now, window)
    n = 0
    for uid, email, webhook in users:
        for channel, target in (("email", email), ("webhook", webhook)):
            if target:
                n += _add_row(s, key=f"{prefix}:{channel}:u{uid}", kind=BURST_KIND, channel=channel, user_id=uid,
                              created_at=now)
    if n:
        audit.record(s, now, NOTIFY, "notification_queued", object_type="guessing_burst",
                     detail={"rows": n, "kind": BURST_KIND})
    return n


def _burst_span(s: Session, key: str) -> tuple[datetime, datetime] | None:
    """The time window of the wrong codes a burst notice is about (from the burst's audit row)."""
    m = re.fullmatch(r"burst:(\d+)m:(\d+):.*", key)
    if m is None:
        return None
    window = timedelta(minutes=int(m.group(1)))
    start = datetime.fromtimestamp(int(m.group(2)) * window.total_seconds(), UTC)
    at = s.scalar(select(AuditEntry.at).where(AuditEntry.action == "code_guessing_burst", AuditEntry.at >= start,
                                              AuditEntry.at < start + window)
                  .order_by(AuditEntry.id).limit(1))
    return (at - window, at) if at is not None else None


def _start_of(day: Any) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=UTC)


class Notifications:
    """Contact settings, invitations and the outbox. Obtain from :attr:`scoring.store.Clinic.notifications`."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    # -- staff contact settings --------------------------------------------------------------------------------
    def contact(self, actor: Actor, user_id: int) -> ContactInfo:
        """A staff member's e-mail address and webhook (the user themself or an admin)."""
        with self._ctx.store.read() as s:
            u = self._own_or_admin(s, actor, user_id)
            return ContactInfo(u.id, u.email, u.webhook_url)

    def set_contact(self, actor: Actor, user_id: int, *, email: str | None = None, webhook_url: str | None = None,
                    clear_email: bool = False, clear_webhook: bool = False) -> ContactInfo:
        """Set (or clear) where a staff member's alert notices go; the audit row names the fields only."""
        new_email = check_email(email) if email else None
        new_hook = check_url(webhook_url) if webhook_url else None
        now = self._ctx.store.now()
        with self._ctx.store.write() as s:
            u = self._own_or_admin(s, actor, user_id)
            fields = []
            if new_email or clear_email:
                u.email = new_email
                fields.append("email")
            if new_hook or clear_webhook:
                u.webhook_url = new_hook
                fields.append("webhook_url")
            if fields:
                audit.record(s, now, actor, "user_contact_changed", object_type="user", object_id=u.id,
                             detail={"fields": fields})
            return ContactInfo(u.id, u.email, u.webhook_url)

    @staticmethod
    def _own_or_admin(s: Session, actor: Actor, user_id: int) -> User:
        me = audit.require_user(s, actor)
        if me is not None and me.role != "admin" and me.id != user_id:
            raise StoreError("only an admin may change another account")
        u = s.get(User, user_id)
        if u is None:
            raise NotFoundError(f"no user {user_id}")
        return u

    # -- invitations -------------------------------------------------------------------------------------------
    def invite(self, actor: Actor, assignment_id: int, channel: str) -> int:
        """Send the assignment's one-time link to the patient (``email`` or ``sms``), with reminders until it
        is completed, cancelled or its code expires. Returns the outbox row id.

        The address is the patient's ``email`` or ``phone`` (never the free-text contact field). Each message
        carries a fresh link made when it is sent (the previous link stops working; the typed code does not
        change). Messages name the practice only — no instrument, no score.
        """
        if channel not in INVITE_CHANNELS:
            raise StoreError(f"unknown channel {channel!r}; use {' or '.join(INVITE_CHANNELS)}")
        now = self._ctx.store.now()
        with self._ctx.store.write() as s:
            a = open_assignment_locked(s, actor, assignment_id)
            if _patient_address(s, a.patient_id, channel) is None:
                what, option = (("no e-mail address", "--email") if channel == "email"
                                else ("no phone number", "--phone"))
                raise StoreError(f"patient {a.patient_id} has {what} on their record: add it on the patient page "
                                 f"(Edit details) or with psyscore patient edit {a.patient_id} {option} …, or hand "
                                 "the code over in person")
            plan = s.get(InvitationPlan, assignment_id)
            if plan is None:
                plan = InvitationPlan(assignment_id=a.id, channel=channel, created_at=now,
                                      created_by=actor.user_id, reminders=0)
                s.add(plan)
            plan.channel, plan.stopped_at, plan.stop_reason = channel, None, None
            n = 1 + len(list(s.scalars(select(Notification.id).where(Notification.assignment_id == a.id,
                                                                      Notification.kind == "invitation"))))
            key = f"invitation:{a.id}:{channel}:{n}"
            _add_row(s, key=key, kind="invitation", channel=channel, assignment_id=a.id, patient_id=a.patient_id,
                     created_at=now)
            plan.invited_at, plan.next_reminder_at, plan.reminders = now, None, 0  # the worker sets the first
            row_id = s.scalar(select(Notification.id).where(Notification.key == key))
            audit.record(s, now, actor, "invitation_queued", patient_id=a.patient_id, object_type="assignment",
                         object_id=a.id, detail={"channel": channel})
            return int(row_id or 0)

    @staticmethod
    def _first_reminder(a: Assignment, invited: datetime, every: timedelta) -> datetime:
        """After ``every``, or on the due date when that comes first."""
        if a.due_date is not None and _start_of(a.due_date) > invited:
            return min(invited + every, _start_of(a.due_date))
        return invited + every

    # -- the worker's side -------------------------------------------------------------------------------------
    def schedule(self, policy: NotifyPolicy) -> ScheduleReport:
        """Queue what is due now: escalations of unacknowledged alerts, invitations of the next assignment of a
        recurring series (on its due date), reminders; stop plans of finished or expired assignments."""
        now = self._ctx.store.now()
        report = ScheduleReport()
        with self._ctx.store.write() as s:
            if policy.escalate_after is not None and policy.on_call:
                report.escalations = self._escalate(s, policy, now)
            if policy.on_call:
                report.bursts = self._bursts_on_call(s, policy.on_call, now)
            self._carry_plans(s, now)
            self._reminders(s, policy, now, report)
        return report

    def _escalate(self, s: Session, policy: NotifyPolicy, now: datetime) -> int:
        assert policy.escalate_after is not None and policy.on_call
        escalated = exists().where(Notification.alert_id == Alert.id, Notification.kind == "escalation")
        rows = s.execute(select(Alert.id, Alert.patient_id).where(
            Alert.status == "open", Alert.raised_at <= now - policy.escalate_after, ~escalated)
            .order_by(Alert.id)).all()
        n = 0
        for alert_id, patient_id in rows:
            if _add_row(s, key=f"escalation:{alert_id}", kind="escalation", channel=on_call_channel(policy.on_call),
                        alert_id=alert_id, address=policy.on_call, created_at=now):
                s.add(AlertAction(alert_id=alert_id, action="escalated", at=now, user_id=None,
                                  note="not acknowledged in time: sent to the on-call address"))
                audit.record(s, now, NOTIFY, "alert_escalated", patient_id=patient_id, object_type="alert",
                             object_id=alert_id,
                             detail={"after_minutes": round(policy.escalate_after.total_seconds() / 60)})
                n += 1
        return n

    def _bursts_on_call(self, s: Session, on_call: str, now: datetime) -> int:
        """One notice per recent guessing burst to the on-call address (the kiosk does not know the address)."""
        window = self._ctx.policy.burst_window
        rows = s.execute(select(AuditEntry.id, AuditEntry.at).where(
            AuditEntry.action == "code_guessing_burst", AuditEntry.at > now - BURST_ON_CALL_HORIZON)
            .order_by(AuditEntry.id)).all()
        n = 0
        for audit_id, at in rows:
            if _add_row(s, key=f"{_burst_prefix(at, window)}:oncall", kind=BURST_KIND,
                        channel=on_call_channel(on_call), address=on_call, created_at=now):
                audit.record(s, now, NOTIFY, "notification_queued", object_type="guessing_burst",
                             object_id=audit_id, detail={"rows": 1, "kind": BURST_KIND, "on_call": True})
                n += 1
        return n

    @staticmethod
    def _carry_plans(s: Session, now: datetime) -> None:
        """The next assignment of a recurring series is invited the way the previous one was."""
        prev = aliased(InvitationPlan)
        mine = aliased(InvitationPlan)
        rows = s.execute(select(Assignment.id, prev.channel, prev.created_by)
                         .join(prev, prev.assignment_id == Assignment.previous_id)
                         .outerjoin(mine, mine.assignment_id == Assignment.id)
                         .where(mine.assignment_id.is_(None), Assignment.completed_at.is_(None),
                                Assignment.cancelled_at.is_(None))).all()
        for aid, channel, created_by in rows:
            s.add(InvitationPlan(assignment_id=aid, channel=channel, created_at=now, created_by=created_by,
                                 reminders=0))
        s.flush()

    def _reminders(self, s: Session, policy: NotifyPolicy, now: datetime, report: ScheduleReport) -> None:
        rows = s.execute(select(InvitationPlan, Assignment)
                         .join(Assignment, Assignment.id == InvitationPlan.assignment_id)
                         .where(InvitationPlan.stopped_at.is_(None))).all()
        for plan, a in rows:
            reason = ("completed" if a.completed_at is not None else "cancelled" if a.cancelled_at is not None
                      else "expired" if a.code_expires_at is not None and a.code_expires_at <= now
                      and plan.invited_at is not None else None)
            if reason is None and plan.invited_at is not None and plan.reminders >= policy.max_reminders \
                    and (plan.next_reminder_at is None or plan.next_reminder_at <= now):
                reason = "reminders_done"
            if reason is not None:
                plan.stopped_at, plan.stop_reason = now, reason
                report.stopped[reason] = report.stopped.get(reason, 0) + 1
                audit.record(s, now, NOTIFY, "invitation_stopped", patient_id=a.patient_id,
                             object_type="assignment", object_id=a.id, detail={"reason": reason})
                continue
            if plan.invited_at is None:  # a recurring series' next assignment: invite on its due date
                if a.due_date is None or _start_of(a.due_date) <= now:
                    if _add_row(s, key=f"invitation:{a.id}:{plan.channel}:0", kind="invitation",
                                channel=plan.channel, assignment_id=a.id, patient_id=a.patient_id, created_at=now):
                        report.invitations += 1
                        audit.record(s, now, NOTIFY, "invitation_queued", patient_id=a.patient_id,
                                     object_type="assignment", object_id=a.id, detail={"channel": plan.channel})
                    plan.invited_at = now
                    plan.next_reminder_at = self._first_reminder(a, now, policy.reminder_every)
                continue
            if plan.next_reminder_at is None:
                plan.next_reminder_at = self._first_reminder(a, plan.invited_at, policy.reminder_every)
            if plan.next_reminder_at <= now and plan.reminders < policy.max_reminders:
                plan.reminders += 1
                if _add_row(s, key=f"reminder:{a.id}:{plan.channel}:{plan.reminders}", kind="reminder",
                            channel=plan.channel, assignment_id=a.id, patient_id=a.patient_id, created_at=now):
                    report.reminders += 1
                    audit.record(s, now, NOTIFY, "reminder_queued", patient_id=a.patient_id,
                                 object_type="assignment", object_id=a.id,
                                 detail={"channel": plan.channel, "reminder": plan.reminders})
                plan.next_reminder_at = now + policy.reminder_every

    def claim(self, channels: Iterable[str], *, limit: int = 20, lease: timedelta = timedelta(minutes=2),
              worker: str = "") -> list[Claimed]:
        """Take up to ``limit`` due rows of these channels for ``lease``; nobody else gets them meanwhile.

        Due: ``pending`` rows whose next attempt has come, and ``sending`` rows whose lease ran out (their
        worker died). PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` then ``UPDATE``; SQLite: one ``UPDATE``
        in a ``BEGIN IMMEDIATE`` transaction. Each claim is an audited attempt.
        """
        wanted = [c for c in channels if c in NOTIFICATION_CHANNELS]
        if not wanted or limit <= 0:
            return []
        now = self._ctx.store.now()
        token = secrets.token_hex(8)
        due = and_(Notification.channel.in_(wanted), or_(
            and_(Notification.status == "pending", Notification.next_attempt_at <= now),
            and_(Notification.status == "sending", Notification.locked_until <= now)))
        pick = select(Notification.id).where(due).order_by(Notification.next_attempt_at, Notification.id).limit(limit)
        values = dict(status="sending", claim=token, locked_until=now + lease, attempts=Notification.attempts + 1)
        with self._ctx.store.write() as s:
            if self._ctx.store.dialect == "postgresql":
                ids = list(s.scalars(pick.with_for_update(skip_locked=True)))
                if not ids:
                    return []
                s.execute(update(Notification).where(Notification.id.in_(ids)).values(**values)
                          .execution_options(synchronize_session=False))
            else:
                s.execute(update(Notification).where(Notification.id.in_(pick.scalar_subquery()), due)
                          .values(**values).execution_options(synchronize_session=False))
            rows = list(s.execute(select(Notification.id, Notification.kind, Notification.channel,
                                         Notification.attempts, Notification.alert_id, Notification.assignment_id,
                                         Notification.patient_id)
                                  .where(Notification.claim == token, Notification.status == "sending")
                                  .order_by(Notification.id)))
            for r in rows:
                audit.record(s, now, NOTIFY, "notification_attempt", patient_id=r.patient_id,
                             object_type="notification", object_id=r.id,
                             detail={"kind": r.kind, "channel": r.channel, "attempt": r.attempts,
                                     **({"worker": worker} if worker else {})})
            return [Claimed(r.id, r.kind, r.channel, r.attempts, token, r.alert_id, r.assignment_id) for r in rows]

    def prepare(self, c: Claimed) -> Delivery:
        """Resolve where a claimed row goes (and, for an invitation, make its fresh link), or why to skip it."""
        now = self._ctx.store.now()
        with self._ctx.store.write() as s:
            n = s.get(Notification, c.id)
            if n is None or n.claim != c.claim:
                return Delivery(None, skip="claim_lost")
            if n.kind in ("alert", "escalation"):
                alert = s.get(Alert, n.alert_id) if n.alert_id is not None else None
                if alert is None:
                    return Delivery(None, skip="alert_gone")
                if alert.status != "open":
                    return Delivery(None, skip=f"alert_{alert.status}")
                if n.kind == "escalation":
                    return Delivery(n.address, open_for=now - alert.raised_at)
                u = s.get(User, n.user_id) if n.user_id is not None else None
                if u is None or u.disabled:
                    return Delivery(None, skip="recipient_disabled")
                address = u.email if n.channel == "email" else u.webhook_url
                return Delivery(address) if address else Delivery(None, skip="no_address")
            if n.kind in ("invitation", "reminder"):
                a = s.scalar(select(Assignment).where(Assignment.id == n.assignment_id).with_for_update())
                if a is None:
                    return Delivery(None, skip="assignment_gone")
                if a.completed_at is not None or a.cancelled_at is not None:
                    return Delivery(None, skip="completed" if a.completed_at else "cancelled")
                if a.code_expires_at is not None and a.code_expires_at <= now:
                    return Delivery(None, skip="expired")
                address = _patient_address(s, a.patient_id, n.channel)
                if address is None:
                    return Delivery(None, skip="no_address")
                token = new_token()
                a.token_hash = secret_hash("token", token)
                if a.code_expires_at is None:
                    a.code_issued_at, a.code_expires_at = now, now + self._ctx.policy.code_ttl
                audit.record(s, now, NOTIFY, "assignment_link_issued", patient_id=a.patient_id,
                             object_type="assignment", object_id=a.id, detail={"channel": n.channel})
                return Delivery(address, token=token, expires_at=a.code_expires_at)
            if n.kind == BURST_KIND:
                span = _burst_span(s, n.key)
                if n.user_id is None:  # the on-call address
                    return Delivery(n.address, window=span) if n.address else Delivery(None, skip="no_address")
                u = s.get(User, n.user_id)
                if u is None or u.disabled:
                    return Delivery(None, skip="recipient_disabled")
                if u.role != "admin":
                    return Delivery(None, skip="not_admin")
                address = u.email if n.channel == "email" else u.webhook_url
                return Delivery(address, window=span) if address else Delivery(None, skip="no_address")
            return Delivery(n.address) if n.address else Delivery(None, skip="no_address")

    def finish(self, c: Claimed, policy: NotifyPolicy, *, error: str | None = None, skip: str | None = None
               ) -> str | None:
        """Record the outcome of a claimed row (sent, skipped, or failed → retried with backoff, or given up).

        Returns the new status, or None when the claim was lost (the lease ran out and another worker took
        the row): then nothing is written over the other worker's result.
        """
        now = self._ctx.store.now()
        with self._ctx.store.write() as s:
            n = s.scalar(select(Notification).where(Notification.id == c.id).with_for_update())
            if n is None or n.claim != c.claim or n.status != "sending":
                return None
            detail: dict[str, Any] = {"kind": n.kind, "channel": n.channel, "attempt": n.attempts}
            n.claim, n.locked_until = None, None
            if skip is not None:
                n.status = "skipped"
                n.last_error = skip
                detail["reason"] = skip
                action, ok = "notification_skipped", True
            elif error is None:
                n.status, n.sent_at, n.last_error = "sent", now, None
                action, ok = "notification_sent", True
            else:
                n.last_error = redact(error)
                detail["error"] = n.last_error[:200]
                if n.attempts >= policy.max_attempts:
                    n.status = "failed"
                    detail["gave_up"] = True
                else:
                    n.status = "pending"
                    n.next_attempt_at = now + policy.backoff(n.attempts)
                    detail["retry_at"] = n.next_attempt_at.isoformat()
                action, ok = "notification_failed", False
            audit.record(s, now, NOTIFY, action, patient_id=n.patient_id, object_type="notification",
                         object_id=n.id, ok=ok, detail=detail)
            return n.status

    # -- staff and operators ---------------------------------------------------------------------------------
    def list(self, actor: Actor, *, status: str | None = None, kind: str | None = None, alert_id: int | None = None,
             limit: int = 200) -> list[NotificationInfo]:
        """Outbox rows, newest first (admins and the system)."""
        if status is not None and status not in NOTIFICATION_STATUSES:
            raise StoreError(f"unknown status {status!r}; use one of {', '.join(NOTIFICATION_STATUSES)}")
        with self._ctx.store.read() as s:
            audit.require_user(s, actor, ("admin",))
            q = select(Notification).order_by(Notification.id.desc()).limit(limit)
            if status is not None:
                q = q.where(Notification.status == status)
            if kind is not None:
                q = q.where(Notification.kind == kind)
            if alert_id is not None:
                q = q.where(Notification.alert_id == alert_id)
            return [NotificationInfo(n.id, n.kind, n.channel, n.status, n.attempts, n.alert_id, n.assignment_id,
                                     n.user_id, n.created_at, n.next_attempt_at, n.sent_at, n.last_error)
                    for n in s.scalars(q)]

    def retry(self, actor: Actor, ids: Sequence[int] = (), *, all_failed: bool = False) -> int:
        """Put failed rows back in the queue (attempts start again); returns how many."""
        now = self._ctx.store.now()
        with self._ctx.store.write() as s:
            audit.require_user(s, actor, ("admin",))
            q = update(Notification).where(Notification.status == "failed")
            if not all_failed:
                if not ids:
                    raise StoreError("give notification ids, or all failed ones")
                q = q.where(Notification.id.in_(list(ids)))
            n = cast("CursorResult[Any]",  # an UPDATE gives a CursorResult: rowcount
                     s.execute(q.values(status="pending", attempts=0, next_attempt_at=now)
                               .execution_options(synchronize_session=False))).rowcount
            audit.record(s, now, actor, "notification_retried", object_type="notification",
                         detail={"rows": n})
            return int(n)

    def enqueue_test(self, actor: Actor, address: str) -> int:
        """Queue a test message to an e-mail address or webhook URL (checks the delivery set-up)."""
        channel = on_call_channel(address)
        address = check_url(address) if channel == "webhook" else check_email(address)
        now = self._ctx.store.now()
        with self._ctx.store.write() as s:
            audit.require_user(s, actor, ("admin",))
            key = f"test:{secrets.token_hex(6)}"
            _add_row(s, key=key, kind="test", channel=channel, address=address, created_at=now)
            row = s.scalar(select(Notification.id).where(Notification.key == key))
            audit.record(s, now, actor, "notification_queued", object_type="notification", object_id=row,
                         detail={"kind": "test", "channel": channel})
            return int(row or 0)

    def counts(self) -> dict[str, int]:
        """Rows per status (for ``psyscore notify status`` and the bench)."""
        from sqlalchemy import func

        with self._ctx.store.read() as s:
            return {status: int(n) for status, n in
                    s.execute(select(Notification.status, func.count()).group_by(Notification.status))}
