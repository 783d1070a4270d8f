"""The rest of a claim's life (issue 17): a new claim after a withdrawal, and receivables

- ``claims.attempt`` (1 for every existing row): the unique key of a claimed event becomes
  (insured person, accident date, outcome, attempt). A second report of the same event and
  outcome still finds the running claim; after that claim was withdrawn (撤案) or closed as an
  error, a new report opens a new claim (attempt 2, another claim number).
- ``receivables``: money the insurer is owed back (追偿): an advance payment (先予支付, a
  ``payouts`` row of kind ``advance``) that the final decision does not cover, one row per
  claim and receivable number, ``open`` until settled.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("claims") as batch:
        batch.add_column(sa.Column("attempt", sa.Integer(), nullable=False, server_default="1"))
        batch.drop_constraint("uq_claim_event_outcome", type_="unique")
        batch.create_unique_constraint(
            "uq_claim_event_attempt", ["person_id", "accident_date", "outcome", "attempt"]
        )
    op.create_table(
        "receivables",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("claim_number", sa.String(48), sa.ForeignKey("claims.claim_number"), nullable=False),
        sa.Column("receivable_number", sa.Integer(), nullable=False),
        sa.Column("policy_number", sa.String(32), nullable=False),
        sa.Column("amount", sa.Numeric(14, 2), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="open"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("claim_number", "receivable_number", name="uq_receivable_number"),
    )
    op.create_index("ix_receivables_claim_number", "receivables", ["claim_number"])
    op.create_index("ix_receivables_status", "receivables", ["status"])


def downgrade() -> None:
    op.drop_index("ix_receivables_status", table_name="receivables")
    op.drop_index("ix_receivables_claim_number", table_name="receivables")
    op.drop_table("receivables")
    with op.batch_alter_table("claims") as batch:
        batch.drop_constraint("uq_claim_event_attempt", type_="unique")
        batch.create_unique_constraint("uq_claim_event_outcome", ["person_id", "accident_date", "outcome"])
        batch.drop_column("attempt")
