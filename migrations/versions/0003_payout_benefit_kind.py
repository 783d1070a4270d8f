"""payouts.kind: the benefit kind of each payment (prior benefits limit later claims)

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payouts") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=48), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payouts") as batch:
        batch.drop_column("kind")
