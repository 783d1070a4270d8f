"""Claim documents' metadata, their audit trail, and the claimant status page's lookup log.

One job: the rows about document files (the bytes are in ``claims.infra.blobs``):

- ``documents``: one row per uploaded file of a claim: its checklist item (``kind``), sha256,
  size, content type, pages, the key id that encrypted it, the sha256 of its thumbnail, who
  uploaded it and when, and its status: ``uploaded`` (not yet checked), ``accepted`` or
  ``rejected`` with the reason code and note, who decided and when.
- ``document_events``: who uploaded, viewed, downloaded, accepted or rejected which document,
  when (the audit trail the issue asks for; never updated or deleted).
- ``status_lookups``: every lookup on the claimant status page (address, claim number as
  typed, found or not, when); the rate limits count these rows, so they hold across processes.

Nothing here commits; the service owns the transaction. Migration 0011.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Integer, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from claims.store.db import Base, Claim, UtcDateTime
from claims.store.reports import OPEN, Scope


class DocumentStatus(StrEnum):
    """Where a document stands: uploaded (not yet checked), accepted, or rejected."""

    UPLOADED = "uploaded"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Document(Base):
    """One uploaded file of a claim (see the module docstring)."""

    __tablename__ = "documents"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    claim_number: Mapped[str] = mapped_column(ForeignKey("claims.claim_number"), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(64))
    pages: Mapped[int] = mapped_column(Integer, default=1)
    key_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    thumb_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploader_role: Mapped[str] = mapped_column(String(32))
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16), default=DocumentStatus.UPLOADED.value)
    reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    note: Mapped[str | None] = mapped_column(String(500), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class DocumentEvent(Base):
    """One entry of the documents' audit trail: who did what to which document, when."""

    __tablename__ = "document_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_number: Mapped[str] = mapped_column(String(48), index=True)
    document_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    action: Mapped[str] = mapped_column(String(16))  # upload, view, download, thumbnail, accept, reject
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    detail: Mapped[str | None] = mapped_column(String(500), nullable=True)


class StatusLookup(Base):
    """One lookup on the claimant status page (see the module docstring)."""

    __tablename__ = "status_lookups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    claim_number: Mapped[str] = mapped_column(String(48), index=True)
    found: Mapped[bool] = mapped_column(Boolean)
    limited: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


@dataclass(frozen=True)
class DocumentRow:
    """A document's metadata as the services hand it on."""

    id: str
    claim_number: str
    kind: str
    filename: str
    sha256: str
    size: int
    content_type: str
    pages: int
    key_id: str | None
    thumb_sha256: str | None
    uploaded_by: str
    uploader_role: str
    uploaded_at: datetime
    status: str
    reason: str | None
    note: str | None
    decided_by: str | None
    decided_at: datetime | None


def _row(d: Document) -> DocumentRow:
    return DocumentRow(
        d.id,
        d.claim_number,
        d.kind,
        d.filename,
        d.sha256,
        d.size,
        d.content_type,
        d.pages,
        d.key_id,
        d.thumb_sha256,
        d.uploaded_by,
        d.uploader_role,
        d.uploaded_at,
        d.status,
        d.reason,
        d.note,
        d.decided_by,
        d.decided_at,
    )


def add_document(session: Session, row: DocumentRow) -> DocumentRow:
    """Write a new document row (its id is new: the caller made it)."""
    session.add(Document(**row.__dict__))
    session.flush()
    return row


def documents_of(session: Session, claim_number: str) -> list[DocumentRow]:
    """A claim's documents, oldest upload first."""
    q = (
        select(Document)
        .where(Document.claim_number == claim_number)
        .order_by(Document.uploaded_at, Document.id)
    )
    return [_row(d) for d in session.scalars(q)]


def document(session: Session, claim_number: str, document_id: str) -> DocumentRow | None:
    """One document of the claim, or None (a document of another claim is None too)."""
    d = session.get(Document, document_id)
    return _row(d) if d is not None and d.claim_number == claim_number else None


def decide(
    session: Session,
    document_id: str,
    status: DocumentStatus,
    by: str,
    at: datetime,
    reason: str | None,
    note: str | None,
) -> DocumentRow:
    """Set a document's status (accepted / rejected) with who, when and why."""
    d = session.get(Document, document_id, with_for_update=True)
    if d is None:
        raise LookupError(document_id)
    d.status, d.decided_by, d.decided_at, d.reason, d.note = status.value, by, at, reason, note
    session.flush()
    return _row(d)


def record_event(
    session: Session,
    claim_number: str,
    document_id: str | None,
    action: str,
    actor: str,
    role: str,
    at: datetime,
    detail: str | None = None,
) -> None:
    """Append one entry to the documents' audit trail."""
    session.add(
        DocumentEvent(
            claim_number=claim_number,
            document_id=document_id,
            action=action,
            actor=actor,
            role=role,
            at=at,
            detail=(detail or None) and detail[:500],
        )
    )


@dataclass(frozen=True)
class EventRow:
    """One audit entry."""

    document_id: str | None
    action: str
    actor: str
    role: str
    at: datetime
    detail: str | None


def events_of(session: Session, claim_number: str) -> list[EventRow]:
    """The documents' audit trail of a claim, in order."""
    q = select(DocumentEvent).where(DocumentEvent.claim_number == claim_number).order_by(DocumentEvent.id)
    return [EventRow(e.document_id, e.action, e.actor, e.role, e.at, e.detail) for e in session.scalars(q)]


def log_lookup(
    session: Session, address: str, claim_number: str, found: bool, limited: bool, at: datetime
) -> None:
    """Log one status-page lookup."""
    session.add(
        StatusLookup(
            address=address[:64], claim_number=claim_number[:48], found=found, limited=limited, at=at
        )
    )


def lookups_since(
    session: Session, since: datetime, *, address: str | None = None, claim_number: str | None = None
) -> int:
    """Lookups since ``since`` from ``address`` or for ``claim_number`` (those refused by the
    limit included: hammering keeps the limit on)."""
    q = select(func.count()).select_from(StatusLookup).where(StatusLookup.at >= since)
    if address is not None:
        q = q.where(StatusLookup.address == address[:64])
    if claim_number is not None:
        q = q.where(StatusLookup.claim_number == claim_number[:48])
    return int(session.execute(q).scalar_one())


def awaiting_check(session: Session, scope: Scope) -> dict[str, int]:
    """Files not yet accepted or rejected (status ``uploaded``) on open claims in ``scope``, per
    claim number (the supervisors' "documents to check" counter)."""
    q = (
        select(Document.claim_number, func.count())
        .join(Claim, Claim.claim_number == Document.claim_number)
        .where(Document.status == DocumentStatus.UPLOADED.value)
        .where(OPEN)
        .group_by(Document.claim_number)
    )
    if scope.county is not None:
        q = q.where(Claim.county == scope.county)
    if scope.village is not None:
        q = q.where(Claim.village == scope.village)
    return {n: int(c) for n, c in session.execute(q)}
