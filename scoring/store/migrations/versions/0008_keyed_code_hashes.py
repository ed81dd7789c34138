"""Short codes are stored as HMAC-SHA256 with a server secret kept outside the database.

The plain SHA-256 of an 8-digit code could not be converted (the codes themselves are not stored), so this
upgrade **revokes the short codes still outstanding**: their hash is cleared, their link token (256 bits,
still SHA-256) keeps working, and staff issue a new 12-digit code where a patient needs one ("new code"
on the patient page, or ``Assignments.issue_code``). The number revoked is written to the audit log.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    n = bind.execute(sa.text("SELECT count(*) FROM assignments WHERE code_hash IS NOT NULL")).scalar() or 0
    if not n:
        return
    bind.execute(sa.text("UPDATE assignments SET code_hash = NULL WHERE code_hash IS NOT NULL"))
    now = datetime.now(UTC)
    at = now.replace(tzinfo=None) if bind.dialect.name == "sqlite" else now
    audit = sa.table("audit_log", sa.column("at", sa.DateTime(timezone=True)), sa.column("actor", sa.String),
                     sa.column("action", sa.String), sa.column("ok", sa.Boolean), sa.column("detail", sa.JSON))
    bind.execute(audit.insert().values(at=at, actor="system", action="short_codes_revoked_by_upgrade", ok=True,
                                       detail=json.loads(json.dumps({"assignments": int(n), "revision": "0008"}))))


def downgrade() -> None:
    pass  # the revoked codes cannot come back; new codes keep their HMAC (an older psyscore cannot redeem them)
