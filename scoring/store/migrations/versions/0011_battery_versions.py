"""Batteries are versioned: a battery in use is never changed in place, an edit makes a new version.

``version`` (1 for every existing battery), ``previous_id`` (the version this one replaced), ``retired_at``
(no new assignments once set; open assignments and history keep working) and ``description``. The unique
battery name becomes unique (name, version). On SQLite the table is rebuilt (batch mode);
:meth:`scoring.store.Store.upgrade` runs SQLite migrations with foreign keys off and checks them before
committing, so the rebuild does not cascade into the battery's instruments, consent texts and translations.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

TS = sa.DateTime(timezone=True)

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _refuse_cascading_rebuild() -> None:
    """On SQLite the batteries table is rebuilt: with foreign keys on, dropping the old table would delete (ON
    DELETE CASCADE) or block on the rows that refer to it. Store.upgrade turns them off; anything else must too."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite" or not bind.exec_driver_sql("PRAGMA foreign_keys").scalar():
        return
    if bind.execute(sa.text("SELECT count(*) FROM batteries")).scalar():
        raise RuntimeError("revision 0011 rebuilds the SQLite batteries table: run it with foreign keys off "
                           "('psyscore db upgrade' does), or the rebuild would delete the battery's instruments, "
                           "consent texts and translations")


def upgrade() -> None:
    _refuse_cascading_rebuild()
    with op.batch_alter_table("batteries") as batch:
        batch.add_column(sa.Column("description", sa.Text(), nullable=True))
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("1")))
        batch.add_column(sa.Column("previous_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("retired_at", TS, nullable=True))
        batch.create_foreign_key(op.f("fk_batteries_previous_id_batteries"), "batteries", ["previous_id"], ["id"])
        batch.drop_constraint("uq_batteries_name", type_="unique")
        batch.create_unique_constraint("uq_batteries_name_version", ["name", "version"])


def downgrade() -> None:
    bind = op.get_bind()
    n = bind.execute(sa.text("SELECT count(*) FROM batteries WHERE version > 1")).scalar() or 0
    if n:
        raise RuntimeError(f"cannot downgrade below 0011: {n} batteries are later versions of another battery "
                           "(their names are no longer unique); keep this schema or restore a backup")
    _refuse_cascading_rebuild()
    with op.batch_alter_table("batteries") as batch:
        batch.drop_constraint("uq_batteries_name_version", type_="unique")
        batch.create_unique_constraint("uq_batteries_name", ["name"])
        batch.drop_constraint("fk_batteries_previous_id_batteries", type_="foreignkey")
        batch.drop_column("retired_at")
        batch.drop_column("previous_id")
        batch.drop_column("version")
        batch.drop_column("description")
