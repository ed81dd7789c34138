"""The cut-point in effect for cut-offs declared as a published range, recorded with every result.

A definition may declare a cut-off as a published range with a chosen value that a deployment may change
within it (PCL-5 2.0.0: 31-33, chosen 33; ``PSYSCORE_CUTOFFS``). ``administrations.cutoff_values`` keeps the
values in effect when the administration was created (``{"total.probable_ptsd": 33.0}``), so completing and
rescoring it later apply the same cut-points whatever the deployment says then; ``scores.cutoff_values`` keeps
them with each stored scale score (``{"probable_ptsd": 33.0}``) for reports and research. NULL: the definition
has no such cut-off (every earlier row).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("administrations", sa.Column("cutoff_values", sa.JSON(), nullable=True))
    op.add_column("scores", sa.Column("cutoff_values", sa.JSON(), nullable=True))


def downgrade() -> None:
    bind = op.get_bind()
    n = bind.execute(sa.text("SELECT count(*) FROM administrations WHERE cutoff_values IS NOT NULL")).scalar() or 0
    if n:
        raise RuntimeError(f"cannot downgrade below 0012: {n} administrations were given under a cut-point chosen "
                           "within a published range, which would be lost; keep this schema or restore a backup")
    with op.batch_alter_table("scores") as batch:
        batch.drop_column("cutoff_values")
    with op.batch_alter_table("administrations") as batch:
        batch.drop_column("cutoff_values")
