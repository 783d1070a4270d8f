"""Payout batches (现场理赔): batch rows, their claims in sheet order, the batch id on ledger rows (0012).

One job: keep a supervisor's batch of claims for an on-site payout event and mark it paid;
nothing here commits (the service owns the transaction). The ledger rows themselves are
written by the claim's ``pay`` step (``record_payout``); :func:`stamp_payouts` then writes the
batch id on those rows (``payouts.batch_id``). The console's reads of a county
(:func:`ready_claims`: the claims a new batch may take; :func:`county_batches`: the batches,
newest first) are scoped by county here, in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from claims.models import Stage
from claims.store.db import Base, BenefitReservation, Claim, InsuredPerson, UtcDateTime
from claims.store.ledger import ADVANCE

_PAYOUTS = sa.table(
    "payouts",
    sa.column("claim_number", sa.String),
    sa.column("kind", sa.String),
    sa.column("transfer_ref", sa.String),
    sa.column("amount", sa.Numeric(14, 2)),
    sa.column("batch_id", sa.String),
)
"""The ledger's columns this module reads and writes (``batch_id`` is migration 0012's)."""


def _still_due(claims: sa.Select[tuple[str]] | None = None) -> sa.Subquery:
    """Per claim (of ``claims`` when given): the benefits held at adjudication less the advances
    already paid (先予支付), i.e. what the claim's ``pay`` step will pay, yuan (``due``); claims
    holding nothing are absent."""
    held_where = [BenefitReservation.status == "held"]
    advance_where = [_PAYOUTS.c.kind == ADVANCE]
    if claims is not None:
        held_where.append(BenefitReservation.claim_number.in_(claims))
        advance_where.append(_PAYOUTS.c.claim_number.in_(claims))
    held = (
        select(BenefitReservation.claim_number, sa.func.sum(BenefitReservation.amount).label("held"))
        .where(*held_where)
        .group_by(BenefitReservation.claim_number)
        .subquery()
    )
    advanced = (
        select(_PAYOUTS.c.claim_number, sa.func.sum(_PAYOUTS.c.amount).label("advanced"))
        .where(*advance_where)
        .group_by(_PAYOUTS.c.claim_number)
        .subquery()
    )
    net = held.c.held - sa.func.coalesce(advanced.c.advanced, 0)
    return (
        select(
            held.c.claim_number,
            sa.case((net < 0, sa.literal(0)), else_=net).label("due"),
        )
        .outerjoin(advanced, advanced.c.claim_number == held.c.claim_number)
        .subquery()
    )


class PayoutBatch(Base):
    """One payout batch: county, event, created by/at; status ``open`` until paid, or
    ``cancelled`` (by, at, reason: migration 0017) when its event did not take place."""

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
    cancelled_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)


class PayoutBatchClaim(Base):
    """A claim of a batch, at its place on the sheet; ``open_claim`` is the claim number while
    the batch is open (None once paid), unique: one open batch per claim, kept by the database
    (migration 0017)."""

    __tablename__ = "payout_batch_claims"
    __table_args__ = (sa.Index("uq_payout_batch_claims_open_claim", "open_claim", unique=True),)

    batch_id: Mapped[str] = mapped_column(ForeignKey("payout_batches.batch_id"), primary_key=True)
    claim_number: Mapped[str] = mapped_column(ForeignKey("claims.claim_number"), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer)
    open_claim: Mapped[str | None] = mapped_column(String(48), nullable=True)


@dataclass(frozen=True)
class BatchClaimRow:
    """A claim of a batch as the sheet shows it: place, number, insured person, township and
    village, the stage in the projection, what the ledger paid under the batch, and what is
    decided and not yet paid (``due``: the benefits held at adjudication; None when the store
    holds none, e.g. once paid)."""

    position: int
    claim_number: str
    insured_name: str
    township: str
    village: str
    stage: str
    paid: Decimal
    due: Decimal | None = None

    @property
    def amount(self) -> Decimal:
        """What the sheet shows for the claim, yuan: what was paid under the batch, or before
        that what is due (0.00 when neither is known)."""
        if self.paid > 0 or self.due is None:
            return self.paid
        return self.due


@dataclass(frozen=True)
class ReadyClaim:
    """A claim of the county that a new batch may take (stage payout in the projection, in no
    open batch): number, insured person (full name: the caller masks it), township and village,
    the amount decided and not yet paid (the benefits held at adjudication, ``None`` when the
    store holds none for it), and what the projection says may still stop its payment
    (``awaiting_approval``: above the handlers' authority limit and not approved;
    ``review_queue``: held for review, ``review`` or ``siu``; both ``None`` when the claim's
    workflow does not say, migration 0016)."""

    claim_number: str
    insured_name: str
    township: str
    village: str
    decided: Decimal | None
    awaiting_approval: bool | None
    review_queue: str | None


@dataclass(frozen=True)
class BatchLine:
    """A batch as the county's list shows it: the batch, how many claims it holds and what the
    ledger paid under it (yuan, 0.00 until paid)."""

    batch_id: str
    event: str
    status: str
    created_by: str
    created_at: datetime
    transfer_ref: str | None
    paid_at: datetime | None
    claims: int
    paid: Decimal


def _in_open_batch() -> sa.Select[tuple[str]]:
    return (
        select(PayoutBatchClaim.claim_number)
        .join(PayoutBatch, PayoutBatch.batch_id == PayoutBatchClaim.batch_id)
        .where(PayoutBatch.status == "open")
    )


def ready_claims(
    s: Session, county: str, township: str | None = None, limit: int = 200
) -> tuple[list[ReadyClaim], int]:
    """The county's claims a new batch may take: in stage ``payout`` in the projection and in
    no open batch, by township, village and claim number.

    Args:
        county: the supervisor's county (the only one read).
        township: only this township's claims (None: all of the county's).
        limit: at most this many rows (a batch holds at most 200 claims).

    Returns:
        The first ``limit`` claims, and how many there are in all.
    """
    due = _still_due()
    where = [
        Claim.county == county,
        Claim.stage == Stage.PAYOUT.value,
        Claim.claim_number.not_in(_in_open_batch()),
    ]
    if township:
        where.append(Claim.township == township)
    total = s.scalar(select(sa.func.count()).select_from(Claim).where(*where)) or 0
    q = (
        select(
            Claim.claim_number,
            InsuredPerson.name,
            Claim.township,
            Claim.village,
            due.c.due,
            Claim.awaiting_approval,
            Claim.review_queue,
        )
        .join(InsuredPerson, InsuredPerson.id == Claim.person_id)
        .outerjoin(due, due.c.claim_number == Claim.claim_number)
        .where(*where)
        .order_by(Claim.township, Claim.village, Claim.claim_number)
        .limit(limit)
    )
    rows = [
        ReadyClaim(
            number,
            name,
            town,
            village,
            None if decided is None else _cents(decided),
            awaiting,
            queue,
        )
        for number, name, town, village, decided, awaiting, queue in s.execute(q)
    ]
    return rows, int(total)


def ready_townships(s: Session, county: str) -> list[str]:
    """The townships of the county that have claims a new batch may take, by name."""
    q = (
        select(Claim.township)
        .where(
            Claim.county == county,
            Claim.stage == Stage.PAYOUT.value,
            Claim.claim_number.not_in(_in_open_batch()),
        )
        .distinct()
        .order_by(Claim.township)
    )
    return list(s.scalars(q))


def count_batches(s: Session, county: str) -> int:
    """How many batches the county has."""
    q = select(sa.func.count()).select_from(PayoutBatch).where(PayoutBatch.county == county)
    return int(s.scalar(q) or 0)


def county_batches(s: Session, county: str, limit: int = 50, offset: int = 0) -> list[BatchLine]:
    """A page of the county's batches, newest first, each with its number of claims and what
    the ledger paid under it.

    Args:
        county: the supervisor's county (the only one read).
        limit, offset: the page of batches.
    """
    q = (
        select(PayoutBatch)
        .where(PayoutBatch.county == county)
        .order_by(PayoutBatch.created_at.desc(), PayoutBatch.batch_id.desc())
        .limit(limit)
        .offset(offset)
    )
    batches = list(s.scalars(q))
    ids = [b.batch_id for b in batches]
    if not ids:
        return []
    counts = dict(
        s.execute(
            select(PayoutBatchClaim.batch_id, sa.func.count())
            .where(PayoutBatchClaim.batch_id.in_(ids))
            .group_by(PayoutBatchClaim.batch_id)
        ).all()
    )
    paid = dict(
        s.execute(
            select(_PAYOUTS.c.batch_id, sa.func.sum(_PAYOUTS.c.amount))
            .where(_PAYOUTS.c.batch_id.in_(ids))
            .group_by(_PAYOUTS.c.batch_id)
        ).all()
    )
    return [
        BatchLine(
            batch_id=b.batch_id,
            event=b.event,
            status=b.status,
            created_by=b.created_by,
            created_at=b.created_at,
            transfer_ref=b.transfer_ref,
            paid_at=b.paid_at,
            claims=int(counts.get(b.batch_id, 0)),
            paid=_cents(paid.get(b.batch_id) or 0),
        )
        for b in batches
    ]


def add_batch(
    s: Session,
    batch_id: str,
    county: str,
    event: str,
    created_by: str,
    created_at: datetime,
    claims: list[str],
) -> PayoutBatch:
    """Write a new open batch and its claims in the order given.

    Raises:
        sqlalchemy.exc.IntegrityError: a claim is in another open batch (``open_claim`` is
            unique; a batch written concurrently by someone else counts once committed); the
            caller's transaction must be rolled back.
    """
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
        PayoutBatchClaim(batch_id=batch_id, claim_number=n, position=i, open_claim=n)
        for i, n in enumerate(claims, 1)
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
    """The batch's claims in sheet order, with the insured's name, what was paid under the
    batch and what is decided and not yet paid (the benefits held at adjudication less any
    advance already paid)."""
    paid = (
        select(_PAYOUTS.c.claim_number, sa.func.coalesce(sa.func.sum(_PAYOUTS.c.amount), 0).label("paid"))
        .where(_PAYOUTS.c.batch_id == batch_id)
        .group_by(_PAYOUTS.c.claim_number)
        .subquery()
    )
    members = select(PayoutBatchClaim.claim_number).where(PayoutBatchClaim.batch_id == batch_id)
    held = _still_due(members)
    q = (
        select(
            PayoutBatchClaim.position,
            Claim.claim_number,
            InsuredPerson.name,
            Claim.township,
            Claim.village,
            Claim.stage,
            paid.c.paid,
            held.c.due,
        )
        .join(Claim, Claim.claim_number == PayoutBatchClaim.claim_number)
        .join(InsuredPerson, InsuredPerson.id == Claim.person_id)
        .outerjoin(paid, paid.c.claim_number == Claim.claim_number)
        .outerjoin(held, held.c.claim_number == Claim.claim_number)
        .where(PayoutBatchClaim.batch_id == batch_id)
        .order_by(PayoutBatchClaim.position)
    )
    return [
        BatchClaimRow(
            pos, number, name, township, village, stage, _cents(p or 0), None if due is None else _cents(due)
        )
        for pos, number, name, township, village, stage, p, due in s.execute(q)
    ]


def _cents(value: object) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def fix_transfer_ref(s: Session, batch_id: str, transfer_ref: str) -> str | None:
    """The batch's transfer reference: ``transfer_ref`` written if the batch has none yet and is
    not cancelled, else the one it has (compare-and-set in one ``UPDATE``, so two racing
    attempts agree, and an attempt racing a cancellation either fixes the reference first,
    and the cancellation is refused, or finds the batch cancelled).

    Returns:
        the reference in force; None when the batch was cancelled before any was fixed.

    Raises:
        KeyError: no such batch.
    """
    s.execute(
        sa.update(PayoutBatch)
        .where(
            PayoutBatch.batch_id == batch_id,
            PayoutBatch.transfer_ref.is_(None),
            PayoutBatch.status != "cancelled",
        )
        .values(transfer_ref=transfer_ref)
        .execution_options(synchronize_session=False)
    )
    row = s.execute(select(PayoutBatch.transfer_ref).where(PayoutBatch.batch_id == batch_id)).first()
    if row is None:
        raise KeyError(batch_id)
    return None if row.transfer_ref is None else str(row.transfer_ref)


def paid_under_batch(s: Session, batch_id: str, claim_number: str) -> bool:
    """Whether the claim has a ledger row paid under this batch (stamped with its id, or with
    the batch's transfer reference and no batch id yet)."""
    ref = select(PayoutBatch.transfer_ref).where(PayoutBatch.batch_id == batch_id).scalar_subquery()
    q = (
        select(sa.func.count())
        .select_from(_PAYOUTS)
        .where(
            _PAYOUTS.c.claim_number == claim_number,
            sa.or_(
                _PAYOUTS.c.batch_id == batch_id,
                sa.and_(_PAYOUTS.c.batch_id.is_(None), _PAYOUTS.c.transfer_ref == ref),
            ),
        )
    )
    return bool(s.scalar(q))


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


def _leave_open_batches(s: Session, batch_id: str) -> None:
    s.execute(
        sa.update(PayoutBatchClaim)
        .where(PayoutBatchClaim.batch_id == batch_id)
        .values(open_claim=None)
        .execution_options(synchronize_session=False)
    )


def mark_cancelled(s: Session, batch_id: str, by: str, at: datetime, reason: str) -> bool:
    """Cancel the batch if it is open and no payment was tried (no transfer reference fixed),
    in one compare-and-set ``UPDATE`` (see :func:`fix_transfer_ref` for the race); its claims
    leave the open batches.

    Returns:
        True if it was cancelled now; False if it was not open or a reference is fixed.
    """
    done = s.execute(
        sa.update(PayoutBatch)
        .where(
            PayoutBatch.batch_id == batch_id,
            PayoutBatch.status == "open",
            PayoutBatch.transfer_ref.is_(None),
        )
        .values(status="cancelled", cancelled_by=by, cancelled_at=at, cancel_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if getattr(done, "rowcount", 0) != 1:
        return False
    _leave_open_batches(s, batch_id)
    return True


def mark_paid(s: Session, batch: PayoutBatch, transfer_ref: str, paid_by: str, paid_at: datetime) -> None:
    """The batch is paid with one transfer reference; its claims leave the open batches (each
    may be batched again if reopened and payable again)."""
    _leave_open_batches(s, batch.batch_id)
    batch.status = "paid"
    batch.transfer_ref = transfer_ref
    batch.paid_by = paid_by
    batch.paid_at = paid_at
    s.flush()
