"""Patients get their own optional ``email`` and ``phone`` (in ``patient_identifiers``, never exported).

Invitations used to pick an address out of the free-text ``contact`` field. This upgrade copies a contact's
address into the new columns **only where it is unambiguous**: exactly one e-mail address in the text → ``email``;
exactly one phone number written with its country code (``+…`` or ``00…``, 7–15 digits) → ``phone`` (stored as
``+`` and digits). Two different addresses, or a number without a country code, are left for staff to enter;
``contact`` itself is kept unchanged. The counts (never an address) are written to the audit log.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

import json
import re
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# frozen copies of the rules of this version (a migration must not change when the application code does)
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")
_PHONE_RUN = re.compile(r"\+?\d[\d ()./-]{5,}\d")
_E164 = re.compile(r"\+[1-9]\d{6,14}")


def _phone(raw: str) -> str | None:
    compact = re.sub(r"[\s()./-]", "", raw)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    return compact if _E164.fullmatch(compact) else None


def split_contact(text: str | None) -> tuple[str | None, str | None, bool]:
    """``(email, phone, unclear)`` of a contact text: an address only when it is the only one of its kind;
    ``unclear`` when the text holds an address that was not taken (two of a kind, or no country code)."""
    emails = {m.group(0).lower(): m.group(0) for m in _EMAIL.finditer(text or "") if len(m.group(0)) <= 254}
    runs = [m.group(0) for m in _PHONE_RUN.finditer(_EMAIL.sub(" ", text or ""))
            if 7 <= len(re.sub(r"\D", "", m.group(0))) <= 15]
    phones = {_phone(r) for r in runs}
    email = next(iter(emails.values())) if len(emails) == 1 else None
    phone = next(iter(phones)) if len(phones) == 1 else None
    unclear = len(emails) > 1 or len(phones) > 1 or (bool(runs) and phone is None)
    return email, phone, unclear


def upgrade() -> None:
    with op.batch_alter_table("patient_identifiers") as batch:
        batch.add_column(sa.Column("email", sa.String(length=254), nullable=True))
        batch.add_column(sa.Column("phone", sa.String(length=32), nullable=True))
    bind = op.get_bind()
    ident = sa.table("patient_identifiers", sa.column("patient_id", sa.Integer), sa.column("contact", sa.Text),
                     sa.column("email", sa.String), sa.column("phone", sa.String))
    rows = bind.execute(sa.select(ident.c.patient_id, ident.c.contact).where(ident.c.contact.is_not(None))).all()
    counts = {"contacts": 0, "emails": 0, "phones": 0, "left_for_staff": 0}
    for patient_id, contact in rows:
        if not (contact or "").strip():
            continue
        counts["contacts"] += 1
        email, phone, unclear = split_contact(contact)
        counts["emails"] += email is not None
        counts["phones"] += phone is not None
        counts["left_for_staff"] += unclear
        if email or phone:
            bind.execute(ident.update().where(ident.c.patient_id == patient_id).values(email=email, phone=phone))
    if not counts["contacts"]:
        return
    now = datetime.now(UTC)
    at = now.replace(tzinfo=None) if bind.dialect.name == "sqlite" else now
    audit = sa.table("audit_log", sa.column("at", sa.DateTime(timezone=True)), sa.column("actor", sa.String),
                     sa.column("action", sa.String), sa.column("ok", sa.Boolean), sa.column("detail", sa.JSON))
    bind.execute(audit.insert().values(at=at, actor="system", action="patient_contact_split_by_upgrade", ok=True,
                                       detail=json.loads(json.dumps(counts | {"revision": "0010"}))))


def downgrade() -> None:
    with op.batch_alter_table("patient_identifiers") as batch:
        batch.drop_column("phone")
        batch.drop_column("email")
