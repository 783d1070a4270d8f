"""How often a claim was reopened: ``claims.reopened``, for the supervisor's 重开 counter

A supervisor's page counts the claims reopened (重开) and being decided again, beside the
withdrawn ones and the advances (issue 17). The workflow's projection carries the count
(``ClaimProjection.reopened``); rows written before this migration read 0 until their claim's
next projection write.

Plain ``ADD COLUMN`` / ``DROP COLUMN`` (SQLite 3.35 and later, PostgreSQL): no batch copy of
the table, which would have to recreate the partial indexes of 0014.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # bench/bench_projection.py --before adds it ahead of time to time older indexes
    if "reopened" in {c["name"] for c in sa.inspect(op.get_bind()).get_columns("claims")}:
        return
    op.add_column("claims", sa.Column("reopened", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    op.drop_column("claims", "reopened")
