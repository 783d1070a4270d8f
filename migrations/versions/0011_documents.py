"""Claim documents as files (issue 15): ``documents``, ``document_events``, ``status_lookups``

- ``documents``: one row per uploaded file of a claim: checklist item (``kind``), original file
  name, sha256 (its address in the blob store, ``claims.infra.blobs``), size, content type read
  from the bytes, pages, the id of the key that encrypted it, the thumbnail's sha256, uploader
  (staff id and role) and time, status ``uploaded`` / ``accepted`` / ``rejected`` with the
  reason code, note, who decided and when. The bytes are never in the database.
- ``document_events``: the documents' audit trail: upload, view, download, thumbnail, accept,
  reject, with who and when (append-only).
- ``status_lookups``: every lookup on the claimant status page (address, claim number as typed,
  found, refused by the rate limit, when); the rate limits count these rows.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("claim_number", sa.String(48), sa.ForeignKey("claims.claim_number"), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=True),
        sa.Column("thumb_sha256", sa.String(64), nullable=True),
        sa.Column("uploaded_by", sa.String(64), nullable=False),
        sa.Column("uploader_role", sa.String(32), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("note", sa.String(500), nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_documents_claim_number", "documents", ["claim_number"])
    op.create_index("ix_documents_sha256", "documents", ["sha256"])
    op.create_table(
        "document_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("claim_number", sa.String(48), nullable=False),
        sa.Column("document_id", sa.String(32), nullable=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.String(500), nullable=True),
    )
    op.create_index("ix_document_events_claim_number", "document_events", ["claim_number"])
    op.create_index("ix_document_events_document_id", "document_events", ["document_id"])
    op.create_table(
        "status_lookups",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("claim_number", sa.String(48), nullable=False),
        sa.Column("found", sa.Boolean(), nullable=False),
        sa.Column("limited", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_status_lookups_address", "status_lookups", ["address"])
    op.create_index("ix_status_lookups_claim_number", "status_lookups", ["claim_number"])
    op.create_index("ix_status_lookups_at", "status_lookups", ["at"])


def downgrade() -> None:
    op.drop_table("status_lookups")
    op.drop_table("document_events")
    op.drop_index("ix_documents_sha256", table_name="documents")
    op.drop_index("ix_documents_claim_number", table_name="documents")
    op.drop_table("documents")
