"""The projection at a province's scale: indexes measured on 1,000,000 claims

Measured with ``bench/bench_projection.py`` (PostgreSQL 15, 1,000,000 claims over 100
counties, ~9 % open; the largest county 61,000 claims, 5,500 open): before this migration
the supervisor's page read every claim of the county from the table, open or finished
(``ix_claims_county`` → 61,000 heap rows per query), for the counters, the township × handler
table, the townships and the monthly report; ``claims overdue`` read every breached claim ever
(95,000, of them 73,000 finished) to keep the open ones. The indexes:

* ``ix_claims_open``: the open claims only (partial: ``stage NOT IN ('closed', 'declined',
  'withdrawn')``, the store's ``OPEN``), by county, with every column the supervisor's
  counters, the township × handler table, the inbox's tab counts and page keys, the candidates
  for the claims' state reads and the overdue list filter on: answered from the index alone
  (index-only scans of the county's open claims, not of all its claims).
* ``ix_claims_open_sla_state``: the open claims by SLA state and deadline (partial): the
  unscoped overdue list's ``sla_state IN ('breached', 'stuck')`` arm reads the open breached
  claims only.
* ``ix_claims_county_stage``: ``(county, stage, decided_at, township, reported_at,
  updated_at)``: a county's townships, its withdrawn count, the month's declined claims, the
  claims reported in a month and the report's "data as of" without reading the table.
* ``ix_payouts_claim_kind``: ``payouts (claim_number, kind)``: the "advance paid" counter
  probes a county's open claims' advances instead of scanning the ledger.
* ``ix_payouts_paid_at``: the ledger's latest payment of a county before a month's end
  (``claims.store.monthly.latest_change``, newest first, stops at the first of the county)
  instead of every payment before it.

A partial index is used when the query's condition implies the index's: PostgreSQL proves it
with the statement's parameter values (custom plans), SQLite only from literal values, so the
store's ``OPEN`` condition renders its three stages as literals (``claims.store.reports``).

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

OPEN = sa.text("stage NOT IN ('closed', 'declined', 'withdrawn')")

OPEN_COLUMNS = [
    "county",
    "assigned_handler",
    "sla_deadline",
    "sla_state",
    "stage",
    "township",
    "green_channel",
    "stuck_activity",
    "village",
    "reported_at",
    "claim_number",
]


def upgrade() -> None:
    op.create_index("ix_claims_open", "claims", OPEN_COLUMNS, postgresql_where=OPEN, sqlite_where=OPEN)
    op.create_index(
        "ix_claims_open_sla_state",
        "claims",
        ["sla_state", "sla_deadline"],
        postgresql_where=OPEN,
        sqlite_where=OPEN,
    )
    op.create_index(
        "ix_claims_county_stage",
        "claims",
        ["county", "stage", "decided_at", "township", "reported_at", "updated_at"],
    )
    op.create_index("ix_payouts_claim_kind", "payouts", ["claim_number", "kind"])
    op.create_index("ix_payouts_paid_at", "payouts", ["paid_at"])


def downgrade() -> None:
    op.drop_index("ix_payouts_paid_at", table_name="payouts")
    op.drop_index("ix_payouts_claim_kind", table_name="payouts")
    op.drop_index("ix_claims_county_stage", table_name="claims")
    op.drop_index("ix_claims_open_sla_state", table_name="claims")
    op.drop_index("ix_claims_open", table_name="claims")
