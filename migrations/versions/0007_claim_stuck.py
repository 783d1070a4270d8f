"""A claim whose store step keeps failing shows it: ``claims.stuck_activity`` and ``stuck_since``

The workflow retries a failing store activity a few times, then marks the claim stuck (SLA
state ``stuck``, these two columns when the store can still be written) and keeps retrying
every few minutes; ``claims overdue`` lists stuck claims with the step and since when.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("claims") as batch:
        batch.add_column(sa.Column("stuck_activity", sa.String(48), nullable=True))
        batch.add_column(sa.Column("stuck_since", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("claims") as batch:
        batch.drop_column("stuck_since")
        batch.drop_column("stuck_activity")
