"""What the tablet shows: the kiosk layout chosen and the screen presented, kept with the kiosk ticket.

``kiosk_layout`` (``item`` or ``page``) is the layout the patient chose, so that a reload resumes with it.
``kiosk_screen`` is the question the tablet shows now (``<administration id>:<item id>``, or
``<administration id>:*`` when the whole questionnaire is on one page); the store refuses an answer to any
other question (a tap is bound to the question it was made on). NULL: no question is on screen (code,
instructions and consent, support message).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("assignments") as batch:
        batch.add_column(sa.Column("kiosk_layout", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("kiosk_screen", sa.String(length=160), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("assignments") as batch:
        batch.drop_column("kiosk_screen")
        batch.drop_column("kiosk_layout")
