"""The tablet's support/crisis message per language, set by an admin (overrides the environment default).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

TS = sa.DateTime(timezone=True)

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kiosk_support_messages",
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["updated_by"], ["users.id"], name=op.f("fk_kiosk_support_messages_updated_by_users")),
        sa.PrimaryKeyConstraint("language", name=op.f("pk_kiosk_support_messages")),
    )


def downgrade() -> None:
    op.drop_table("kiosk_support_messages")
