"""Payout batches (现场理赔): ``payout_batches``, ``payout_batch_claims`` and ``payouts.batch_id``

A supervisor gathers claims of one county in stage payout into a batch for an on-site payout
event and pays them with one transfer reference: one row per batch (county, event, who created
it and when; transfer reference, who paid it and when), one row per claim of the batch in sheet
order, and each claim's ledger rows carry the batch id (``payouts.batch_id``, null for a payout
outside a batch).

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payout_batches",
        sa.Column("batch_id", sa.String(32), primary_key=True),
        sa.Column("county", sa.String(64), nullable=False),
        sa.Column("event", sa.String(500), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("transfer_ref", sa.String(64), nullable=True),
        sa.Column("paid_by", sa.String(64), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_payout_batches_county", "payout_batches", ["county"])
    op.create_table(
        "payout_batch_claims",
        sa.Column("batch_id", sa.String(32), sa.ForeignKey("payout_batches.batch_id"), primary_key=True),
        sa.Column("claim_number", sa.String(48), sa.ForeignKey("claims.claim_number"), primary_key=True),
        sa.Column("position", sa.Integer(), nullable=False),
    )
    op.create_index("ix_payout_batch_claims_claim", "payout_batch_claims", ["claim_number"])
    with op.batch_alter_table("payouts") as batch:
        batch.add_column(sa.Column("batch_id", sa.String(32), nullable=True))
        batch.create_index("ix_payouts_batch_id", ["batch_id"])


def downgrade() -> None:
    with op.batch_alter_table("payouts") as batch:
        batch.drop_index("ix_payouts_batch_id")
        batch.drop_column("batch_id")
    op.drop_index("ix_payout_batch_claims_claim", table_name="payout_batch_claims")
    op.drop_table("payout_batch_claims")
    op.drop_index("ix_payout_batches_county", table_name="payout_batches")
    op.drop_table("payout_batches")
