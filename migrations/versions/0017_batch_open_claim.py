"""One open payout batch per claim (``payout_batch_claims.open_claim``, unique), and cancelling a batch

A claim may be in one open payout batch (现场理赔) at a time. The batch service checked that
before it wrote the batch, in another transaction, so two supervisors creating batches at the
same moment could both put a claim in theirs. ``open_claim`` holds the claim number while
the batch is open and is cleared when the batch is paid; a unique index on it refuses the
second open membership in the database itself (NULLs never collide, on PostgreSQL and SQLite).

Rows of batches open at upgrade get their claim number. A claim already in more than one
open batch (the race this closes) gets it in its earliest batch only; the later batch still
lists the claim, and paying it there is refused once the earlier batch paid it: cancel the
later batch before paying it (or take the claim out by cancelling and making it again).

A batch whose on-site event does not take place can be cancelled before any payment is tried
(status ``cancelled``): ``payout_batches.cancelled_by``, ``cancelled_at`` and
``cancel_reason`` say who, when and why; its claims leave the open batches.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("payout_batches", sa.Column("cancelled_by", sa.String(64), nullable=True))
    op.add_column("payout_batches", sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("payout_batches", sa.Column("cancel_reason", sa.String(500), nullable=True))
    op.add_column("payout_batch_claims", sa.Column("open_claim", sa.String(48), nullable=True))
    op.execute(
        """
        UPDATE payout_batch_claims SET open_claim = claim_number
        WHERE batch_id = (
            SELECT b.batch_id FROM payout_batch_claims m
            JOIN payout_batches b ON b.batch_id = m.batch_id
            WHERE m.claim_number = payout_batch_claims.claim_number AND b.status = 'open'
            ORDER BY b.created_at, b.batch_id
            LIMIT 1
        )
        """
    )
    op.create_index("uq_payout_batch_claims_open_claim", "payout_batch_claims", ["open_claim"], unique=True)


def downgrade() -> None:
    cancelled = op.get_bind().execute(
        sa.text("SELECT count(*) FROM payout_batches WHERE status = 'cancelled'")
    ).scalar_one()
    if cancelled:
        # 0016's code knows no cancelled batch: it would pay one, and who cancelled it and why
        # would be lost with the columns
        raise RuntimeError(
            f"{cancelled} payout batch(es) are cancelled: 0016 cannot represent them; "
            "downgrade refused (nothing was changed)"
        )
    op.drop_index("uq_payout_batch_claims_open_claim", table_name="payout_batch_claims")
    op.drop_column("payout_batch_claims", "open_claim")
    op.drop_column("payout_batches", "cancel_reason")
    op.drop_column("payout_batches", "cancelled_at")
    op.drop_column("payout_batches", "cancelled_by")
