"""What the supervisor's counters need, in the projection: ``claims.paused``,
``claims.awaiting_approval``, ``claims.review_queue``

The supervisor's page counted claims paused for documents (暂停·等待资料), waiting for approval
(待审批赔付) and held for review by asking each open claim's workflow for its state (at most 500
of each stage, a Query each): 2 s a page at 10,000 open claims (issue 18). Claims started since
``lean-history`` write the three facts with their projection; the columns stay NULL for older
claims, which the page still asks.

Plain ``ADD COLUMN`` / ``DROP COLUMN`` (SQLite 3.35 and later, PostgreSQL), nullable, no default:
no table rewrite.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # bench/bench_projection.py --before adds them ahead of time to time older indexes
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("claims")}
    for column in (
        sa.Column("paused", sa.Boolean(), nullable=True),
        sa.Column("awaiting_approval", sa.Boolean(), nullable=True),
        sa.Column("review_queue", sa.String(16), nullable=True),
    ):
        if column.name not in have:
            op.add_column("claims", column)


def downgrade() -> None:
    op.drop_column("claims", "review_queue")
    op.drop_column("claims", "awaiting_approval")
    op.drop_column("claims", "paused")
