"""The projection's publish counter: a late, retried projection write cannot move a claim back

``claims.projection_seq`` holds the ``ClaimProjection.seq`` of the row's last write (the
workflow run's start in ms × 1,000,000 + its publish counter, a 64-bit integer);
``update_projection`` writes only a higher one.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("claims") as batch:
        batch.add_column(sa.Column("projection_seq", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("claims") as batch:
        batch.drop_column("projection_seq")
