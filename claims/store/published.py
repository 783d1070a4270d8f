"""Published monthly report files: ``published_reports`` (migration 0009).

One job: keep the files the scheduled publication built for a county and month, with their
sha256, and read them back for download (and name the register's counties it publishes
for). A file is stored once per (county, month, file name, sha256)
(``claims.store.db.insert_unless_present``): a re-run that builds the same bytes writes
nothing. Nothing here commits; the activity or service owns the transaction.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from claims.store.db import Base, Household, UtcDateTime, insert_unless_present


class PublishedReport(Base):
    """One stored file of a county's monthly report (see the module docstring)."""

    __tablename__ = "published_reports"
    __table_args__ = (
        UniqueConstraint("county", "month", "filename", "sha256", name="uq_published_report_bytes"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    county: Mapped[str] = mapped_column(String(64), index=True)
    month: Mapped[str] = mapped_column(String(7))
    filename: Mapped[str] = mapped_column(String(160))
    fmt: Mapped[str] = mapped_column(String(8))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    workflow_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    published_at: Mapped[datetime] = mapped_column(UtcDateTime)


@dataclass(frozen=True)
class PublishedFile:
    """A stored file without its bytes (for lists)."""

    id: int
    county: str
    month: str
    filename: str
    fmt: str
    sha256: str
    size: int
    published_at: datetime


def sha256_of(content: bytes) -> str:
    """The hex sha256 of ``content``."""
    return hashlib.sha256(content).hexdigest()


def store_file(
    session: Session,
    county: str,
    month: str,
    filename: str,
    content: bytes,
    now: datetime,
    workflow_id: str | None = None,
) -> tuple[str, bool]:
    """Store one file unless the same bytes are stored for it already.

    Returns:
        (sha256, True if a row was written; False when these bytes were already there).
    """
    digest = sha256_of(content)
    written = insert_unless_present(
        session,
        PublishedReport,
        dict(
            county=county,
            month=month,
            filename=filename,
            fmt=filename.rpartition(".")[2].lower()[:8],
            sha256=digest,
            size=len(content),
            content=content,
            workflow_id=workflow_id,
            published_at=now,
        ),
    )
    return digest, written


_LIST_COLUMNS = (
    PublishedReport.id,
    PublishedReport.county,
    PublishedReport.month,
    PublishedReport.filename,
    PublishedReport.fmt,
    PublishedReport.sha256,
    PublishedReport.size,
    PublishedReport.published_at,
)


def published_files(
    session: Session, county: str | None = None, month: str | None = None, limit: int = 500
) -> list[PublishedFile]:
    """Stored files (of ``county`` and ``month`` when given), newest month first, then county,
    file name and newest version first."""
    stmt = select(*_LIST_COLUMNS).order_by(
        PublishedReport.month.desc(),
        PublishedReport.county,
        PublishedReport.filename,
        PublishedReport.published_at.desc(),
        PublishedReport.id.desc(),
    )
    if county is not None:
        stmt = stmt.where(PublishedReport.county == county)
    if month is not None:
        stmt = stmt.where(PublishedReport.month == month)
    return [PublishedFile(*row) for row in session.execute(stmt.limit(limit))]


def published_content(session: Session, file_id: int) -> tuple[PublishedFile, bytes] | None:
    """One stored file and its bytes, or None."""
    row = session.execute(
        select(*_LIST_COLUMNS, PublishedReport.content).where(PublishedReport.id == file_id)
    ).first()
    if row is None:
        return None
    return PublishedFile(*row[:-1]), row[-1]


def registered_counties(session: Session) -> list[str]:
    """The counties of the policy register (the publication's default list), sorted."""
    return list(session.scalars(select(Household.county).distinct().order_by(Household.county)))
