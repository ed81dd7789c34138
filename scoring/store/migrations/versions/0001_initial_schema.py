"""Initial schema: users, patients (identifiers apart), batteries, assignments, definitions, administrations,
answers, scores, alerts, events, and the append-only audit log (UPDATE and DELETE rejected by triggers).

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

TS = sa.DateTime(timezone=True)
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


APPEND_ONLY_MESSAGE = "audit_log is append-only: UPDATE and DELETE are not allowed"


def create_audit_triggers() -> None:
    """Reject UPDATE and DELETE on audit_log (and TRUNCATE on PostgreSQL) in the database itself."""
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}'; END $$"
    )
    op.execute(
        "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
    )


def drop_audit_triggers() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
        return
    op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
    op.execute("DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log")
    op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=48), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("object_type", sa.String(length=32), nullable=True),
        sa.Column("object_id", sa.String(length=64), nullable=True),
        sa.Column("ok", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_patient_at", "audit_log", ["patient_id", "at"], unique=False)
    create_audit_triggers()

    op.create_table(
        "definitions",
        sa.Column("instrument_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("canonical_json", sa.Text(), nullable=False),
        sa.Column("first_used_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("instrument_id", "version", name=op.f("pk_definitions")),
    )
    op.create_table(
        "redeem_failures",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redeem_failures")),
    )
    op.create_index(op.f("ix_redeem_failures_at"), "redeem_failures", ["at"], unique=False)
    op.create_index(op.f("ix_redeem_failures_client"), "redeem_failures", ["client"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("disabled", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("failed_logins", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("locked_until", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_login_at", TS, nullable=True),
        sa.CheckConstraint("role IN ('admin', 'therapist', 'researcher')", name=op.f("ck_users_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "batteries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("instructions", sa.Text(), nullable=True),
        sa.Column("consent_version", sa.Integer(), nullable=True),
        sa.Column("adhoc", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_batteries_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batteries")),
        sa.UniqueConstraint("name", name=op.f("uq_batteries_name")),
    )
    op.create_table(
        "patients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sex", sa.String(length=16), nullable=True),
        sa.Column("birth_year", sa.Integer(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.CheckConstraint("sex IN ('female', 'male', 'other')", name=op.f("ck_patients_sex")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_patients_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patients")),
    )
    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("battery_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("code_issued_at", TS, nullable=True),
        sa.Column("code_expires_at", TS, nullable=True),
        sa.Column("ticket_hash", sa.String(length=64), nullable=True),
        sa.Column("ticket_expires_at", TS, nullable=True),
        sa.Column("redeemed_at", TS, nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("recur_days", sa.Integer(), nullable=True),
        sa.Column("previous_id", sa.Integer(), nullable=True),
        sa.Column("completed_at", TS, nullable=True),
        sa.Column("cancelled_at", TS, nullable=True),
        sa.ForeignKeyConstraint(["battery_id"], ["batteries.id"], name=op.f("fk_assignments_battery_id_batteries")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_assignments_created_by_users")),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_assignments_patient_id_patients"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["previous_id"], ["assignments.id"], name=op.f("fk_assignments_previous_id_assignments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignments")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_assignments_code_hash")),
        sa.UniqueConstraint("ticket_hash", name=op.f("uq_assignments_ticket_hash")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_assignments_token_hash")),
    )
    op.create_index(op.f("ix_assignments_patient_id"), "assignments", ["patient_id"], unique=False)

    op.create_table(
        "battery_instruments",
        sa.Column("battery_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("instrument_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["battery_id"],
            ["batteries.id"],
            name=op.f("fk_battery_instruments_battery_id_batteries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("battery_id", "position", name=op.f("pk_battery_instruments")),
    )
    op.create_table(
        "care_team",
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("added_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_care_team_patient_id_patients"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_care_team_user_id_users")),
        sa.PrimaryKeyConstraint("patient_id", "user_id", name=op.f("pk_care_team")),
    )
    op.create_index(op.f("ix_care_team_user_id"), "care_team", ["user_id"], unique=False)

    op.create_table(
        "consent_texts",
        sa.Column("battery_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["battery_id"], ["batteries.id"], name=op.f("fk_consent_texts_battery_id_batteries"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("battery_id", "version", name=op.f("pk_consent_texts")),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_events_created_by_users")),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_events_patient_id_patients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index(op.f("ix_events_patient_id"), "events", ["patient_id"], unique=False)

    op.create_table(
        "patient_identifiers",
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("contact", sa.Text(), nullable=True),
        sa.Column("external_id", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_patient_identifiers_patient_id_patients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_patient_identifiers")),
        sa.UniqueConstraint("external_id", name=op.f("uq_patient_identifiers_external_id")),
    )
    op.create_table(
        "administrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("instrument_id", sa.String(length=64), nullable=False),
        sa.Column("instrument_version", sa.String(length=32), nullable=False),
        sa.Column("instrument_hash", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("respondent_sex", sa.String(length=16), nullable=True),
        sa.Column("age_years", sa.Integer(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("completed_at", TS, nullable=True),
        sa.Column("entered_by", sa.Integer(), nullable=True),
        sa.Column("flags", sa.JSON(), nullable=True),
        sa.Column("critical_items", sa.String(length=500), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'in_progress', 'completed', 'cancelled')", name=op.f("ck_administrations_status")
        ),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["assignments.id"],
            name=op.f("fk_administrations_assignment_id_assignments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["entered_by"], ["users.id"], name=op.f("fk_administrations_entered_by_users")),
        sa.ForeignKeyConstraint(
            ["instrument_id", "instrument_version"],
            ["definitions.instrument_id", "definitions.version"],
            name=op.f("fk_administrations_instrument_id_definitions"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_administrations_patient_id_patients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_administrations")),
    )
    op.create_index(op.f("ix_administrations_assignment_id"), "administrations", ["assignment_id"], unique=False)
    op.create_index(
        "ix_administrations_patient_completed", "administrations", ["patient_id", "completed_at"], unique=False
    )

    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("battery_id", sa.Integer(), nullable=False),
        sa.Column("consent_version", sa.Integer(), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("agreed_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["assignments.id"],
            name=op.f("fk_consents_assignment_id_assignments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["battery_id", "consent_version"],
            ["consent_texts.battery_id", "consent_texts.version"],
            name=op.f("fk_consents_battery_id_consent_texts"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_consents_patient_id_patients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
        sa.UniqueConstraint("assignment_id", name=op.f("uq_consents_assignment_id")),
    )
    op.create_index(op.f("ix_consents_patient_id"), "consents", ["patient_id"], unique=False)

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("administration_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("still_critical", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("raised_at", TS, nullable=False),
        sa.Column("acknowledged_at", TS, nullable=True),
        sa.Column("acknowledged_by", sa.Integer(), nullable=True),
        sa.Column("resolved_at", TS, nullable=True),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'acknowledged', 'resolved')", name=op.f("ck_alerts_status")),
        sa.ForeignKeyConstraint(["acknowledged_by"], ["users.id"], name=op.f("fk_alerts_acknowledged_by_users")),
        sa.ForeignKeyConstraint(
            ["administration_id"],
            ["administrations.id"],
            name=op.f("fk_alerts_administration_id_administrations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_alerts_patient_id_patients"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["resolved_by"], ["users.id"], name=op.f("fk_alerts_resolved_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("administration_id", "item_id", name="uq_alerts_item"),
    )
    op.create_index("ix_alerts_status_patient", "alerts", ["status", "patient_id"], unique=False)

    op.create_table(
        "answers",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("administration_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("answered_at", TS, nullable=False),
        sa.Column("entered_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["administration_id"],
            ["administrations.id"],
            name=op.f("fk_answers_administration_id_administrations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["entered_by"], ["users.id"], name=op.f("fk_answers_entered_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answers")),
        sa.UniqueConstraint("administration_id", "item_id", "revision", name="uq_answers_revision"),
    )
    op.create_table(
        "scores",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("administration_id", sa.Integer(), nullable=False),
        sa.Column("scale_id", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("band", sa.String(length=200), nullable=True),
        sa.Column("severity", sa.Integer(), nullable=True),
        sa.Column("n_answered", sa.Integer(), nullable=False),
        sa.Column("prorated", sa.Boolean(), nullable=False),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("cutoffs", sa.JSON(), nullable=True),
        sa.Column("engine_version", sa.String(length=32), nullable=False),
        sa.Column("instrument_hash", sa.String(length=64), nullable=False),
        sa.Column("norm_table_id", sa.String(length=100), nullable=True),
        sa.Column("computed_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["administration_id"],
            ["administrations.id"],
            name=op.f("fk_scores_administration_id_administrations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scores")),
        sa.UniqueConstraint("administration_id", "scale_id", name="uq_scores_scale"),
    )
    op.create_table(
        "alert_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("still_critical", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_actions_alert_id_alerts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_alert_actions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_actions")),
    )
    op.create_index(op.f("ix_alert_actions_alert_id"), "alert_actions", ["alert_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_alert_actions_alert_id"), table_name="alert_actions")

    op.drop_table("alert_actions")
    op.drop_table("scores")
    op.drop_table("answers")
    op.drop_index("ix_alerts_status_patient", table_name="alerts")

    op.drop_table("alerts")
    op.drop_index(op.f("ix_consents_patient_id"), table_name="consents")

    op.drop_table("consents")
    op.drop_index("ix_administrations_patient_completed", table_name="administrations")
    op.drop_index(op.f("ix_administrations_assignment_id"), table_name="administrations")

    op.drop_table("administrations")
    op.drop_table("patient_identifiers")
    op.drop_index(op.f("ix_events_patient_id"), table_name="events")

    op.drop_table("events")
    op.drop_table("consent_texts")
    op.drop_index(op.f("ix_care_team_user_id"), table_name="care_team")

    op.drop_table("care_team")
    op.drop_table("battery_instruments")
    op.drop_index(op.f("ix_assignments_patient_id"), table_name="assignments")

    op.drop_table("assignments")
    op.drop_table("patients")
    op.drop_table("batteries")
    op.drop_table("users")
    op.drop_index(op.f("ix_redeem_failures_client"), table_name="redeem_failures")
    op.drop_index(op.f("ix_redeem_failures_at"), table_name="redeem_failures")

    op.drop_table("redeem_failures")
    op.drop_table("definitions")
    drop_audit_triggers()
    op.drop_index("ix_audit_log_patient_at", table_name="audit_log")

    op.drop_table("audit_log")
