"""Benefit reservations and the policies' ledger version: limits that hold when claims race

``benefit_reservations`` holds what an adjudication decided and is not yet paid, per policy,
insured person and benefit (status ``held`` / ``paid`` / ``released``); the prior benefits of
a new claim count them. ``policies.ledger_version`` is bumped by every reservation, payment
and release under the policy, so a reservation computed from prior benefits that another
claim has changed meanwhile is refused and decided again (``store.reserve_benefits``).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("policies") as batch:
        batch.add_column(sa.Column("ledger_version", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "benefit_reservations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("claim_number", sa.String(48), nullable=False),
        sa.Column("policy_number", sa.String(32), nullable=False),
        sa.Column("person_ref", sa.String(32), nullable=False),
        sa.Column("benefit_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(48), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("accident_date", sa.Date(), nullable=False),
        sa.Column("reserved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(["claim_number"], ["claims.claim_number"]),
    )
    op.create_index("ix_benefit_reservations_claim_number", "benefit_reservations", ["claim_number"])
    op.create_index("ix_benefit_reservations_policy_number", "benefit_reservations", ["policy_number"])
    op.create_index("ix_benefit_reservations_status", "benefit_reservations", ["status"])


def downgrade() -> None:
    op.drop_index("ix_benefit_reservations_status", table_name="benefit_reservations")
    op.drop_index("ix_benefit_reservations_policy_number", table_name="benefit_reservations")
    op.drop_index("ix_benefit_reservations_claim_number", table_name="benefit_reservations")
    op.drop_table("benefit_reservations")
    with op.batch_alter_table("policies") as batch:
        batch.drop_column("ledger_version")
