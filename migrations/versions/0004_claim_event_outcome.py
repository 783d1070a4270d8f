"""A follow-up claim for the same accident with another outcome (death after disability)

The unique key of a claimed event becomes (insured person, accident date, outcome): a second
report of the same event and outcome still finds the first claim.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("claims") as batch:
        batch.drop_constraint("uq_claim_event", type_="unique")
        batch.create_unique_constraint("uq_claim_event_outcome", ["person_id", "accident_date", "outcome"])


def downgrade() -> None:
    with op.batch_alter_table("claims") as batch:
        batch.drop_constraint("uq_claim_event_outcome", type_="unique")
        batch.create_unique_constraint("uq_claim_event", ["person_id", "accident_date"])
