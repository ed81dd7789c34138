"""Instrument settings: which library instruments the clinic has switched off (admins, audited).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

TS = sa.DateTime(timezone=True)

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "instrument_settings",
        sa.Column("instrument_id", sa.String(length=64), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("changed_at", TS, nullable=False),
        sa.Column("changed_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["changed_by"], ["users.id"],
                                name=op.f("fk_instrument_settings_changed_by_users")),
        sa.PrimaryKeyConstraint("instrument_id", name=op.f("pk_instrument_settings")),
    )


def downgrade() -> None:
    op.drop_table("instrument_settings")
