"""Payout batches (现场理赔): batch rows, their claims in sheet order, the batch id on ledger rows (0012).

One job: keep a supervisor's batch of claims for an on-site payout event and mark it paid;
nothing here commits (the service owns the transaction). The ledger rows themselves are
written by the claim's ``pay`` step (``record_payout``); :func:`stamp_payouts` then writes the
batch id on those rows (``payouts.batch_id``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from claims.store.db import Base, Claim, InsuredPerson, UtcDateTime

_PAYOUTS = sa.table(
    "payouts",
    sa.column("claim_number", sa.String),
    sa.column("transfer_ref", sa.String),
    sa.column("amount", sa.Numeric(14, 2)),
    sa.column("batch_id", sa.String),
)
"""The ledger's columns this module reads and writes (``batch_id`` is migration 0012's)."""


class PayoutBatch(Base):
    """One payout batch: county, event, created by/at; status ``open`` until paid."""

    __tablename__ = "payout_batches"

    batch_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    county: Mapped[str] = mapped_column(String(64), index=True)
    event: Mapped[str] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16))
    transfer_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    paid_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class PayoutBatchClaim(Base):
    """A claim of a batch, at its place on the sheet."""

    __tablename__ = "payout_batch_claims"

    batch_id: Mapped[str] = mapped_column(ForeignKey("payout_batches.batch_id"), primary_key=True)
    claim_number: Mapped[str] = mapped_column(ForeignKey("claims.claim_number"), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer)


@dataclass(frozen=True)
class BatchClaimRow:
    """A claim of a batch as the sheet shows it: place, number, insured person, township and
    village, the stage in the projection, and what the ledger paid under the batch."""

    position: int
    claim_number: str
    insured_name: str
    township: str
    village: str
    stage: str
    paid: Decimal


def add_batch(
    s: Session,
    batch_id: str,
    county: str,
    event: str,
    created_by: str,
    created_at: datetime,
    claims: list[str],
) -> PayoutBatch:
    """Write a new open batch and its claims in the order given."""
    batch = PayoutBatch(
        batch_id=batch_id,
        county=county,
        event=event,
        created_by=created_by,
        created_at=created_at,
        status="open",
    )
    s.add(batch)
    s.flush()
    s.add_all(
        PayoutBatchClaim(batch_id=batch_id, claim_number=n, position=i) for i, n in enumerate(claims, 1)
    )
    s.flush()
    return batch


def get_batch(s: Session, batch_id: str) -> PayoutBatch | None:
    """The batch, or None."""
    return s.get(PayoutBatch, batch_id)


def claim_rows(s: Session, numbers: list[str]) -> dict[str, Claim]:
    """The projection rows of these claims, by number (absent numbers are left out)."""
    return {c.claim_number: c for c in s.scalars(select(Claim).where(Claim.claim_number.in_(numbers)))}


def open_batches_of(s: Session, numbers: list[str]) -> dict[str, str]:
    """The open batch each of these claims is already in: claim number → batch id."""
    q = (
        select(PayoutBatchClaim.claim_number, PayoutBatchClaim.batch_id)
        .join(PayoutBatch, PayoutBatch.batch_id == PayoutBatchClaim.batch_id)
        .where(PayoutBatchClaim.claim_number.in_(numbers), PayoutBatch.status == "open")
    )
    return {n: b for n, b in s.execute(q)}


def batch_claims(s: Session, batch_id: str) -> list[BatchClaimRow]:
    """The batch's claims in sheet order, with the insured's name and what was paid under the batch."""
    paid = (
        select(_PAYOUTS.c.claim_number, sa.func.coalesce(sa.func.sum(_PAYOUTS.c.amount), 0).label("paid"))
        .where(_PAYOUTS.c.batch_id == batch_id)
        .group_by(_PAYOUTS.c.claim_number)
        .subquery()
    )
    q = (
        select(
            PayoutBatchClaim.position,
            Claim.claim_number,
            InsuredPerson.name,
            Claim.township,
            Claim.village,
            Claim.stage,
            paid.c.paid,
        )
        .join(Claim, Claim.claim_number == PayoutBatchClaim.claim_number)
        .join(InsuredPerson, InsuredPerson.id == Claim.person_id)
        .outerjoin(paid, paid.c.claim_number == Claim.claim_number)
        .where(PayoutBatchClaim.batch_id == batch_id)
        .order_by(PayoutBatchClaim.position)
    )
    return [
        BatchClaimRow(
            pos, number, name, township, village, stage, Decimal(str(p or 0)).quantize(Decimal("0.01"))
        )
        for pos, number, name, township, village, stage, p in s.execute(q)
    ]


def stamp_payouts(s: Session, batch_id: str, claim_number: str, transfer_ref: str) -> int:
    """Write the batch id on the claim's ledger rows of this transfer; returns the rows stamped."""
    result = s.execute(
        sa.update(_PAYOUTS)
        .where(
            _PAYOUTS.c.claim_number == claim_number,
            _PAYOUTS.c.transfer_ref == transfer_ref,
            _PAYOUTS.c.batch_id.is_(None),
        )
        .values(batch_id=batch_id)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def ledger_batch_ids(s: Session, claim_number: str) -> list[str | None]:
    """The batch id of each of the claim's ledger rows (tests, the sheet)."""
    q = select(_PAYOUTS.c.batch_id).where(_PAYOUTS.c.claim_number == claim_number)
    return [b for (b,) in s.execute(q)]


def mark_paid(s: Session, batch: PayoutBatch, transfer_ref: str, paid_by: str, paid_at: datetime) -> None:
    """The batch is paid with one transfer reference."""
    batch.status = "paid"
    batch.transfer_ref = transfer_ref
    batch.paid_by = paid_by
    batch.paid_at = paid_at
    s.flush()
