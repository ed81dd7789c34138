"""Notifications: staff contact settings, the delivery outbox and invitation plans (e-mail / SMS links).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

TS = sa.DateTime(timezone=True)

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email", sa.String(length=254), nullable=True))
        batch.add_column(sa.Column("webhook_url", sa.String(length=500), nullable=True))
    op.create_table(
        "notifications",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("assignment_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("locked_until", TS, nullable=True),
        sa.Column("claim", sa.String(length=32), nullable=True),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed', 'skipped')",
                           name=op.f("ck_notifications_status")),
        sa.CheckConstraint("channel IN ('email', 'webhook', 'sms')", name=op.f("ck_notifications_channel")),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], name=op.f("fk_notifications_alert_id_alerts"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["assignment_id"], ["assignments.id"],
                                name=op.f("fk_notifications_assignment_id_assignments"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_notifications_user_id_users")),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_notifications_patient_id_patients"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("key", name=op.f("uq_notifications_key")),
    )
    op.create_index("ix_notifications_due", "notifications", ["status", "next_attempt_at"])
    op.create_index(op.f("ix_notifications_alert_id"), "notifications", ["alert_id"])
    op.create_table(
        "invitation_plans",
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("invited_at", TS, nullable=True),
        sa.Column("reminders", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_reminder_at", TS, nullable=True),
        sa.Column("stopped_at", TS, nullable=True),
        sa.Column("stop_reason", sa.String(length=32), nullable=True),
        sa.CheckConstraint("channel IN ('email', 'sms')", name=op.f("ck_invitation_plans_channel")),
        sa.ForeignKeyConstraint(["assignment_id"], ["assignments.id"],
                                name=op.f("fk_invitation_plans_assignment_id_assignments"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_invitation_plans_created_by_users")),
        sa.PrimaryKeyConstraint("assignment_id", name=op.f("pk_invitation_plans")),
    )


def downgrade() -> None:
    op.drop_table("invitation_plans")
    op.drop_index(op.f("ix_notifications_alert_id"), table_name="notifications")
    op.drop_index("ix_notifications_due", table_name="notifications")
    op.drop_table("notifications")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("webhook_url")
        batch.drop_column("email")
