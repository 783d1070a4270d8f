"""The console inbox's index: ``ix_claims_inbox`` on ``claims``

``claims (county, assigned_handler, sla_deadline, sla_state, stage, village, reported_at,
claim_number)``: every column the inbox's queries (``claims.store.inbox``) filter, count and
order on, the county (every reader is scoped by it) first. On SQLite the five tab counts and
the choice of a page's claims (ordered by deadline, report time, number, cut to a page) are
answered from the index alone (``EXPLAIN QUERY PLAN``: ``SEARCH claims USING COVERING INDEX
ix_claims_inbox (county=?)``) instead of reading every claim of the county from the table
through ``ix_claims_county``. PostgreSQL (15, analysed, 10,000 and 40,000 claims) keeps
choosing ``ix_claims_county`` or a ``BitmapOr`` on ``ix_claims_assigned_handler`` for these
queries (2–4 ms each); without those it takes this one as an index-only scan at about the
same cost. The index is created on both so the schema stays one.

Revision ID: 0013
Revises: 0012
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

COLUMNS = [
    "county",
    "assigned_handler",
    "sla_deadline",
    "sla_state",
    "stage",
    "village",
    "reported_at",
    "claim_number",
]


def upgrade() -> None:
    op.create_index("ix_claims_inbox", "claims", COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_claims_inbox", table_name="claims")
