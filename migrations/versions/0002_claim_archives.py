"""claim archives: decision record and full history of closed claims, beyond retention

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "claim_archives",
        sa.Column("claim_number", sa.String(length=48), nullable=False),
        sa.Column("workflow_id", sa.String(length=64), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_bundle", sa.Text(), nullable=False),
        sa.Column("decision_archived_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("history_json", sa.Text(), nullable=True),
        sa.Column("history_sha256", sa.String(length=64), nullable=True),
        sa.Column("history_events", sa.Integer(), nullable=True),
        sa.Column("history_archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("claim_number"),
    )
    with op.batch_alter_table("claim_archives", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_claim_archives_workflow_id"), ["workflow_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("claim_archives", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_claim_archives_workflow_id"))
    op.drop_table("claim_archives")
