"""Published monthly reports: ``published_reports``

One row per file of a county's monthly report (理赔明细) that the scheduled publication
(``workflows/reports.py``) stored for download: county, month, file name and format, its bytes,
their sha256 and size, when and by which workflow run. Unique on (county, month, file name,
sha256): a re-run that builds the same bytes stores nothing new; changed data for the month
gives a new row beside the old one.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "published_reports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("county", sa.String(64), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("filename", sa.String(160), nullable=False),
        sa.Column("fmt", sa.String(8), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("workflow_id", sa.String(200), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("county", "month", "filename", "sha256", name="uq_published_report_bytes"),
    )
    op.create_index("ix_published_reports_county_month", "published_reports", ["county", "month"])


def downgrade() -> None:
    op.drop_index("ix_published_reports_county_month", table_name="published_reports")
    op.drop_table("published_reports")
