"""Battery texts per language: instructions and consent translated for the tablet.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

TS = sa.DateTime(timezone=True)

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "battery_texts",
        sa.Column("battery_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("instructions", sa.Text(), nullable=True),
        sa.Column("consent_text", sa.Text(), nullable=True),
        sa.Column("consent_version", sa.Integer(), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["battery_id"], ["batteries.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("battery_id", "language"),
    )


def downgrade() -> None:
    op.drop_table("battery_texts")
