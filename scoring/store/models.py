"""SQLAlchemy 2 models of the clinic store.

Identifying data (name, date of birth, contact, e-mail, phone, external id) lives in ``patient_identifiers``
only; every other table is free of direct identifiers and is what :mod:`scoring.store.research` reads
for export. Raw answers are append-only (a change is a new revision); scores are derived and carry their
provenance. The schema is created and changed by the Alembic migrations in ``migrations/`` — a change
here needs a new migration (a test compares the two).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from scoring.definitions.respondent import Sex

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = ("admin", "therapist", "researcher")
ADMINISTRATION_STATUSES = ("pending", "in_progress", "completed", "cancelled")
ALERT_STATUSES = ("open", "acknowledged", "resolved")
#: the stored sex codes, from the one source (:class:`scoring.definitions.respondent.Sex`), in its order
SEXES: tuple[str, ...] = tuple(s.value for s in Sex)

BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite stores naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use timezone-aware UTC datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), date: Date()}  # noqa: RUF012


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('admin', 'therapist', 'researcher')", name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]
    email: Mapped[str | None] = mapped_column(String(254))  # where alert notices go (no patient data in them)
    webhook_url: Mapped[str | None] = mapped_column(String(500))  # a personal Teams/Slack/EHR bridge


class Patient(Base):
    """The non-identifying part of a patient: internal id, sex, year of birth."""

    __tablename__ = "patients"
    # the same text as migration 0001 wrote ("sex IN ('female', 'male', 'other')"); tests/store/test_sexes.py
    __table_args__ = (CheckConstraint("sex IN (" + ", ".join(f"'{s}'" for s in SEXES) + ")", name="sex"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sex: Mapped[str | None] = mapped_column(String(16))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))


class PatientIdentifiers(Base):
    """Clinical identifiers, apart from everything that can be exported. Never read by the export."""

    __tablename__ = "patient_identifiers"

    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[date | None]
    contact: Mapped[str | None] = mapped_column(Text)  # free text for staff; invitations use email / phone
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    email: Mapped[str | None] = mapped_column(String(254))  # checked syntax; where invitations are e-mailed
    phone: Mapped[str | None] = mapped_column(String(32))  # E.164: "+" and 7–15 digits; where SMS invitations go


class CareTeam(Base):
    __tablename__ = "care_team"

    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    added_at: Mapped[datetime]


class Battery(Base):
    """One version of a battery. A battery in use (an assignment refers to it) is never changed: an edit adds
    a version (``previous_id`` → the one it replaces, which is retired); ``retired_at`` stops new assignments."""

    __tablename__ = "batteries"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_batteries_name_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    instructions: Mapped[str | None] = mapped_column(Text)
    consent_version: Mapped[int | None] = mapped_column(Integer)
    adhoc: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_at: Mapped[datetime]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    description: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("batteries.id"))
    retired_at: Mapped[datetime | None]


class BatteryInstrument(Base):
    __tablename__ = "battery_instruments"

    battery_id: Mapped[int] = mapped_column(ForeignKey("batteries.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    instrument_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[str | None] = mapped_column(String(32))


class ConsentText(Base):
    __tablename__ = "consent_texts"

    battery_id: Mapped[int] = mapped_column(ForeignKey("batteries.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    text_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class BatteryText(Base):
    """A battery's instructions and consent in another language than the battery's own (the default).

    ``consent_version`` is the default consent version this consent translates: after the consent changes,
    an older translation is no longer shown (the tablet falls back to the default language instead)."""

    __tablename__ = "battery_texts"

    battery_id: Mapped[int] = mapped_column(ForeignKey("batteries.id", ondelete="CASCADE"), primary_key=True)
    language: Mapped[str] = mapped_column(String(16), primary_key=True)
    instructions: Mapped[str | None] = mapped_column(Text)
    consent_text: Mapped[str | None] = mapped_column(Text)
    consent_version: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime]


class Assignment(Base):
    """A battery for a patient. Codes, links and kiosk tickets are stored as SHA-256 hashes only."""

    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    battery_id: Mapped[int] = mapped_column(ForeignKey("batteries.id"))
    language: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    code_issued_at: Mapped[datetime | None]
    code_expires_at: Mapped[datetime | None]
    ticket_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    ticket_expires_at: Mapped[datetime | None]
    redeemed_at: Mapped[datetime | None]
    due_date: Mapped[date | None]
    recur_days: Mapped[int | None] = mapped_column(Integer)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("assignments.id"))
    completed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    #: the tablet: the layout the patient chose (``item``/``page``) and the question on screen
    #: (``<administration id>:<item id>``, ``<administration id>:*`` for one page; NULL: none) — migration 0007
    kiosk_layout: Mapped[str | None] = mapped_column(String(8))
    kiosk_screen: Mapped[str | None] = mapped_column(String(160))


class Consent(Base):
    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    battery_id: Mapped[int] = mapped_column(Integer)
    consent_version: Mapped[int] = mapped_column(Integer)
    text_hash: Mapped[str] = mapped_column(String(64))
    agreed_at: Mapped[datetime]
    __table_args__ = (
        ForeignKeyConstraint(["battery_id", "consent_version"], ["consent_texts.battery_id", "consent_texts.version"]),
    )


class StoredDefinition(Base):
    """Each definition version the store has used: canonical JSON and its SHA-256, never changed."""

    __tablename__ = "definitions"

    instrument_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[str] = mapped_column(String(32), primary_key=True)
    hash: Mapped[str] = mapped_column(String(64))
    canonical_json: Mapped[str] = mapped_column(Text)
    first_used_at: Mapped[datetime]


class Administration(Base):
    """One instrument given to one patient under one pinned definition version."""

    __tablename__ = "administrations"
    __table_args__ = (
        ForeignKeyConstraint(["instrument_id", "instrument_version"],
                             ["definitions.instrument_id", "definitions.version"]),
        CheckConstraint("status IN ('pending', 'in_progress', 'completed', 'cancelled')", name="status"),
        Index("ix_administrations_patient_completed", "patient_id", "completed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    instrument_id: Mapped[str] = mapped_column(String(64))
    instrument_version: Mapped[str] = mapped_column(String(32))
    instrument_hash: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16))  # kiosk | staff
    status: Mapped[str] = mapped_column(String(16))
    respondent_sex: Mapped[str | None] = mapped_column(String(16))  # snapshot used for scoring
    age_years: Mapped[int | None] = mapped_column(Integer)  # derived from the date of birth when created
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    entered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    flags: Mapped[dict[str, Any] | None]
    critical_items: Mapped[str | None] = mapped_column(String(500))
    #: cut-points in effect for cut-offs with a published range, when created: {"total.probable_ptsd": 33.0}
    cutoff_values: Mapped[dict[str, Any] | None]


class Answer(Base):
    """One answer to one item as given. Append-only: a change is a new revision; ``value`` None = cleared."""

    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("administration_id", "item_id", "revision", name="uq_answers_revision"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    administration_id: Mapped[int] = mapped_column(ForeignKey("administrations.id", ondelete="CASCADE"))
    item_id: Mapped[str] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(Integer)
    value: Mapped[float | None] = mapped_column(Double)
    answered_at: Mapped[datetime]
    entered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Score(Base):
    """A derived score, one row per scale, stamped with what produced it."""

    __tablename__ = "scores"
    __table_args__ = (UniqueConstraint("administration_id", "scale_id", name="uq_scores_scale"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    administration_id: Mapped[int] = mapped_column(ForeignKey("administrations.id", ondelete="CASCADE"))
    scale_id: Mapped[str] = mapped_column(String(64))
    value: Mapped[float | None] = mapped_column(Double)
    band: Mapped[str | None] = mapped_column(String(200))
    severity: Mapped[int | None] = mapped_column(Integer)
    n_answered: Mapped[int] = mapped_column(Integer)
    prorated: Mapped[bool] = mapped_column(Boolean)
    valid: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(Text)
    cutoffs: Mapped[dict[str, Any] | None]
    #: the cut-point each of those cut-offs was decided at, for cut-offs with a published range: {"probable_ptsd": 33.0}
    cutoff_values: Mapped[dict[str, Any] | None]
    engine_version: Mapped[str] = mapped_column(String(32))
    instrument_hash: Mapped[str] = mapped_column(String(64))
    norm_table_id: Mapped[str | None] = mapped_column(String(100))
    computed_at: Mapped[datetime]


class Alert(Base):
    """A critical answer: open → acknowledged → resolved. One per administration × critical item."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("administration_id", "item_id", name="uq_alerts_item"),
        CheckConstraint("status IN ('open', 'acknowledged', 'resolved')", name="status"),
        Index("ix_alerts_status_patient", "status", "patient_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    administration_id: Mapped[int] = mapped_column(ForeignKey("administrations.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    item_id: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    still_critical: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    raised_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)


class AlertAction(Base):
    """Everything that happened to an alert: raised, answer_changed, acknowledged, resolved."""

    __tablename__ = "alert_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)
    still_critical: Mapped[bool | None] = mapped_column(Boolean)


class Event(Base):
    """A therapist's annotation on a patient's timeline (medication change, start of therapy …)."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    date: Mapped[date]
    label: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]


class AuditEntry(Base):
    """Append-only record of logins, views, changes, alert actions and exports (triggers reject changes).

    ``detail`` holds ids, counts and field names only — never names, contact details or answers.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_patient_at", "patient_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(16))  # user | kiosk | system
    user_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(48))
    patient_id: Mapped[int | None] = mapped_column(Integer)
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    ok: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    detail: Mapped[dict[str, Any] | None]


class RedeemFailure(Base):
    """A wrong one-time code, for attempt limits (``client`` is a hash of the kiosk's client key)."""

    __tablename__ = "redeem_failures"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    client: Mapped[str] = mapped_column(String(64), index=True)


class InstrumentSetting(Base):
    """An instrument the clinic switched off (or on again); instruments without a row are enabled."""

    __tablename__ = "instrument_settings"

    instrument_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    changed_at: Mapped[datetime]
    changed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class StaffSession(Base):
    """A staff sign-in held by the server: the browser keeps only an HttpOnly cookie whose SHA-256 is
    ``session_hash``. The sign-in page first gets a one-time ``exchange`` token (hash here, valid briefly)
    that the app's cookie route swaps for the session cookie. Revoked at sign-out, disable and password
    change; rows are kept (``revoked_at``/``revoked_reason``)."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    session_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    exchange_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    exchange_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(32))


NOTIFICATION_STATUSES = ("pending", "sending", "sent", "failed", "skipped")
NOTIFICATION_CHANNELS = ("email", "webhook", "sms")


class Notification(Base):
    """One message to deliver: alert × recipient × channel, an escalation, an invitation or a reminder.

    ``key`` makes each row unique (one row per alert, recipient and channel; one escalation per alert).
    ``address`` is set only for fixed destinations (the on-call address); staff and patient addresses are
    read when the message is sent, so no patient contact detail is copied here. Rows are never deleted.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed', 'skipped')", name="status"),
        CheckConstraint("channel IN ('email', 'webhook', 'sms')", name="channel"),
        Index("ix_notifications_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # alert | escalation | invitation | reminder | test
    channel: Mapped[str] = mapped_column(String(16))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    address: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
    claim: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class InvitationPlan(Base):
    """An assignment whose link is sent to the patient's own phone or e-mail, with reminders until it is
    completed, cancelled or its code expires (``stopped_at``)."""

    __tablename__ = "invitation_plans"
    __table_args__ = (CheckConstraint("channel IN ('email', 'sms')", name="channel"),)

    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    invited_at: Mapped[datetime | None]
    reminders: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    next_reminder_at: Mapped[datetime | None]
    stopped_at: Mapped[datetime | None]
    stop_reason: Mapped[str | None] = mapped_column(String(32))


class KioskSupportMessage(Base):
    """The clinic's support/crisis message in one language, as an admin set it (``psyscore`` shows it on the
    tablet after a critical answer). It overrides the deployment default from the environment."""

    __tablename__ = "kiosk_support_messages"

    language: Mapped[str] = mapped_column(String(16), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
