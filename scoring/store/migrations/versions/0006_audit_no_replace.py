"""The audit log cannot be overwritten through SQLite's ``INSERT OR REPLACE`` / ``REPLACE INTO``.

REPLACE deletes the conflicting row without firing DELETE triggers while ``recursive_triggers`` is off,
so the row triggers of 0001 did not stop it. A BEFORE INSERT trigger now rejects any insert whose id
already exists (it fires before conflict resolution, whatever the connection's pragmas). PostgreSQL has
no REPLACE (``INSERT … ON CONFLICT DO UPDATE`` fires the UPDATE trigger, which already rejects it).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

MESSAGE = "audit_log is append-only: an existing audit row cannot be replaced"


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        "CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log "
        "WHEN NEW.id IS NOT NULL AND EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.id) "
        f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TRIGGER IF EXISTS audit_log_no_replace")
