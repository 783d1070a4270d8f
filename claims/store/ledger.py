"""The payout ledger and the benefits held against the policies' limits.

One job: money that left, or is promised, or is owed back: :func:`record_payout` (one ledger
row per payment, each sent to the payment sink once), :func:`record_advance` (an advance
payment, 先予支付: rows of kind ``advance`` numbered from ``ADVANCE_FIRST_NUMBER``, offset
against the final payment by the workflow), :func:`record_receivable` (an advance the final
decision does not cover, 追偿; :func:`lifecycle_counts` for supervisors),
:func:`reserve_benefits` (a decision's amounts held
against the limits, optimistic on each policy's ``ledger_version``), and the reads that
adjudication and the views need (:func:`prior_benefits`, :func:`find_prior_benefits`,
:func:`payments_of`, :func:`reservations_of`). Nothing here commits: the activities own the
transactions (``claims.store.db.unit_of_work``); see :func:`record_payment` for why a payout
commits one payment at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from claims.domain.payments import PaymentInstruction, PaymentSink
from claims.domain.timeutil import SHANGHAI
from claims.models import (
    AdvanceRequest,
    PaymentRecord,
    PayoutRequest,
    PriorBenefit,
    PriorBenefitsResult,
    ReceivableRequest,
    ReserveBenefitsRequest,
    ReserveBenefitsResult,
)
from claims.store.db import (
    BenefitReservation,
    Claim,
    InsuredPerson,
    Payout,
    Policy,
    Receivable,
    insert_unless_present,
)
from claims.store.reports import OPEN

CENT = Decimal("0.01")
ADVANCE = "advance"
"""The ledger ``kind`` of an advance payment's rows (先予支付); ``benefit_id`` names the line."""


def record_payment(
    session: Session, req: PayoutRequest, number: int, sink: PaymentSink | None = None
) -> bool:
    """Write the ledger row of payment ``number`` (1-based: the decision's ``number``-th line)
    and send its transfer instruction, in the caller's transaction; does not commit.

    Idempotent: the key is (claim number, payment number); a retried or duplicated call finds
    the row (or waits for a racing one, see ``claims.store.db.insert_unless_present``) and
    writes and sends nothing. The amount the claim held for the line at adjudication is
    marked ``paid`` in the same transaction, so it is counted once.

    One payment per transaction is the ``record_payout`` activity's rule: the sink is called
    before the commit (``claims/domain/payments.py``), so a commit per payment keeps every
    sent instruction's row, whatever fails later.

    Args:
        sink: called once if the row is written, after the insert and before the caller
            commits; its exception propagates and the caller's rollback removes the row.

    Returns:
        True if the row was written (and sent), False if it was already there.
    """
    line = req.lines[number - 1]
    instruction = PaymentInstruction(
        claim_number=req.claim_number,
        payment_number=req.first_number + number - 1,
        policy_number=line.policy_number,
        amount=line.amount,
        transfer_ref=req.transfer_ref,
    )
    # the ledger row is the instruction and what the bank need not know
    row = dict(instruction.model_dump(), benefit_id=line.benefit_id, kind=line.kind, paid_at=req.paid_at)
    if not insert_unless_present(session, Payout, row):
        return False
    if sink is not None and line.amount > 0:  # a line an advance paid in full sends nothing
        sink(instruction)
    # the amount held at adjudication is now in the ledger: count it once, as paid
    session.execute(
        update(BenefitReservation)
        .where(
            BenefitReservation.claim_number == req.claim_number,
            BenefitReservation.policy_number == line.policy_number,
            BenefitReservation.benefit_id == line.benefit_id,
            BenefitReservation.status == "held",
        )
        .values(status="paid"),
        execution_options={"synchronize_session": False},
    )
    return True


def record_payout(
    session: Session, req: PayoutRequest, sink: PaymentSink | None = None
) -> list[PaymentRecord]:
    """Write one ledger row per benefit line, numbered 1..n in the decision's order, all in the
    caller's transaction (:func:`record_payment` for each; idempotent the same way).

    The ``record_payout`` activity commits each payment on its own instead; this whole-payout
    form is for callers that have no sink, or accept that a failure after the first payment
    rolls back rows whose instructions were sent (the retry sends them again under the same
    ``idempotency_key``).

    Returns:
        The ledger rows of the claim, in payment-number order.
    """
    for number in range(1, len(req.lines) + 1):
        record_payment(session, req, number, sink)
    return payments_of(session, req.claim_number)


def record_advance(
    session: Session, req: AdvanceRequest, sink: PaymentSink | None = None
) -> list[PaymentRecord]:
    """Write an advance payment (先予支付): one ledger row of kind ``advance`` per line of
    ``req.lines`` (policy, benefit and the part of the advance allotted to it), numbered from
    ``req.first_number``, each sent to the sink once; in the caller's transaction.

    Idempotent like :func:`record_payment`: the key is (claim number, payment number). The
    held reservations are left as they are: the final payment marks them paid.

    Returns:
        The ledger rows of the claim, in payment-number order.
    """
    for i, line in enumerate(req.lines):
        instruction = PaymentInstruction(
            claim_number=req.claim_number,
            payment_number=req.first_number + i,
            policy_number=line.policy_number,
            amount=line.amount,
            transfer_ref=req.transfer_ref,
        )
        row = dict(instruction.model_dump(), benefit_id=line.benefit_id, kind=ADVANCE, paid_at=req.paid_at)
        if insert_unless_present(session, Payout, row) and sink is not None:
            sink(instruction)
    return payments_of(session, req.claim_number)


def record_receivable(session: Session, req: ReceivableRequest) -> bool:
    """Write a receivable (追偿: an advance the final decision does not cover), ``open``, in the
    caller's transaction; idempotent on (claim number, receivable number).

    Returns:
        True if the row was written, False if it was already there.
    """
    return insert_unless_present(
        session,
        Receivable,
        dict(
            claim_number=req.claim_number,
            receivable_number=req.receivable_number,
            policy_number=req.policy_number,
            amount=req.amount,
            reason=req.reason,
            status="open",
            created_at=req.created_at,
        ),
    )


def cancel_receivables(session: Session, claim_number: str) -> int:
    """Cancel the claim's open receivables (a reopened claim is decided again: what it owes
    back follows from the new decision); in the caller's transaction. Idempotent.

    Returns:
        How many were open.
    """
    result = session.execute(
        update(Receivable)
        .where(Receivable.claim_number == claim_number, Receivable.status == "open")
        .values(status="cancelled"),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount or 0)


def receivables_of(session: Session, claim_number: str) -> list[Receivable]:
    """The claim's receivables, by number."""
    return list(
        session.scalars(
            select(Receivable)
            .where(Receivable.claim_number == claim_number)
            .order_by(Receivable.receivable_number)
        )
    )


def lifecycle_counts(session: Session, county: str | None = None) -> dict[str, int]:
    """What a supervisor's page counts of issue 17, in SQL, for one county (or all):
    ``withdrawn`` claims, ``reopened`` claims (reopened by a supervisor and not yet ended
    again: being decided again), claims with an ``advance_paid`` and not yet closed or declined
    (the final payment still to come), and claims with a ``receivable_open`` (money to recover)."""
    where = [Claim.county == county] if county is not None else []
    withdrawn = session.scalar(
        select(func.count()).select_from(Claim).where(Claim.stage == "withdrawn", *where)
    )
    reopened = session.scalar(
        select(func.count()).select_from(Claim).where(Claim.reopened > 0, OPEN, *where)
    )
    advance = session.scalar(
        select(func.count(func.distinct(Payout.claim_number)))
        .join(Claim, Claim.claim_number == Payout.claim_number)
        .where(Payout.kind == ADVANCE, OPEN, *where)
    )
    owed = session.scalar(
        select(func.count(func.distinct(Receivable.claim_number)))
        .join(Claim, Claim.claim_number == Receivable.claim_number)
        .where(Receivable.status == "open", *where)
    )
    return {
        "withdrawn": int(withdrawn or 0),
        "reopened": int(reopened or 0),
        "advance_paid": int(advance or 0),
        "receivable_open": int(owed or 0),
    }


def _advance_kind(session: Session, claim_number: str, policy_number: str, benefit_id: str) -> str | None:
    """The benefit kind an advance row of another claim counts as, or None while it need not
    count: before that claim's decision (no reservation: the kind is not known yet) and while
    the decision's reservation of the line is held (it counts the whole line already)."""
    res = session.scalars(
        select(BenefitReservation)
        .where(
            BenefitReservation.claim_number == claim_number,
            BenefitReservation.policy_number == policy_number,
            BenefitReservation.benefit_id == benefit_id,
        )
        .order_by(BenefitReservation.id.desc())
    ).first()
    if res is None or res.status == "held":
        return None
    return res.kind


def prior_benefits(session: Session, claim_number: str, policy_numbers: list[str]) -> list[PriorBenefit]:
    """Benefits already paid, or reserved and not yet paid, under ``policy_numbers`` by claims
    other than ``claim_number``: every insured person's, each with its ``person_ref`` and
    ``claim_number`` (the rules count a person's own unless the terms share a limit).

    They limit a new claim: a death pays the sum insured less the disability already paid to
    the person for the same accident, and is paid once; yearly limits count what was paid;
    critical illness cover ends after it paid. ``paid_on`` is the Asia/Shanghai date of
    payment (of reservation, for a held amount); ``kind`` falls back to the benefit id for
    rows written before the ledger kept kinds (migration 0003). Paid rows first (by payment
    time), then held reservations (by reservation time).
    """
    if not policy_numbers:
        return []
    paid = session.execute(
        select(
            Payout.policy_number,
            Payout.kind,
            Payout.benefit_id,
            Payout.amount,
            Payout.paid_at,
            Payout.claim_number,
            Claim.accident_date,
            InsuredPerson.person_ref,
        )
        .join(Claim, Claim.claim_number == Payout.claim_number)
        .join(InsuredPerson, InsuredPerson.id == Claim.person_id)
        .where(Payout.policy_number.in_(policy_numbers), Payout.claim_number != claim_number)
        .order_by(Payout.paid_at, Payout.id)
    )
    out = []
    for r in paid:
        kind = r.kind or r.benefit_id
        if kind == ADVANCE:  # an advance counts as the benefit it was paid against
            found = _advance_kind(session, r.claim_number, r.policy_number, r.benefit_id)
            if found is None:
                continue
            kind = found
        out.append(_prior_benefit(r, kind, r.paid_at))
    held = session.scalars(
        select(BenefitReservation)
        .where(
            BenefitReservation.policy_number.in_(policy_numbers),
            BenefitReservation.claim_number != claim_number,
            BenefitReservation.status == "held",
        )
        .order_by(BenefitReservation.reserved_at, BenefitReservation.id)
    )
    out += [_prior_benefit(r, r.kind, r.reserved_at, reserved=True) for r in held]
    return out


def _prior_benefit(r: Any, kind: str, at: datetime, reserved: bool = False) -> PriorBenefit:
    """A paid ledger row or a held reservation (``r``: either, with the claim's accident date
    and person reference) as a prior benefit paid (reserved) on the Asia/Shanghai date of ``at``."""
    return PriorBenefit(
        policy_number=r.policy_number,
        kind=kind,
        amount=Decimal(r.amount).quantize(CENT),
        accident_date=r.accident_date,
        paid_on=at.astimezone(SHANGHAI).date(),
        person_ref=r.person_ref,
        claim_number=r.claim_number,
        reserved=reserved,
    )


def _ledger_versions(session: Session, policy_numbers: list[str]) -> dict[str, int]:
    """The policies' ``ledger_version``, by policy number."""
    return {
        n: v
        for n, v in session.execute(
            select(Policy.policy_number, Policy.ledger_version).where(
                Policy.policy_number.in_(policy_numbers)
            )
        )
    }


def _set_ledger_versions(session: Session, policy_numbers: list[str], version: Any) -> None:
    """``UPDATE`` each policy's ``ledger_version`` to ``version`` (an SQL expression), one
    statement a policy in the order given."""
    for number in policy_numbers:
        session.execute(
            update(Policy).where(Policy.policy_number == number).values(ledger_version=version),
            execution_options={"synchronize_session": False},
        )


def find_prior_benefits(
    session: Session, claim_number: str, policy_numbers: list[str]
) -> PriorBenefitsResult:
    """:func:`prior_benefits` with the policies' ledger versions read in the same transaction
    (for the optimistic check of :func:`reserve_benefits`)."""
    versions = _ledger_versions(session, policy_numbers)  # first: a later move shows as a conflict
    return PriorBenefitsResult(
        benefits=prior_benefits(session, claim_number, policy_numbers), ledger_versions=versions
    )


def reserve_benefits(session: Session, req: ReserveBenefitsRequest) -> ReserveBenefitsResult:
    """Hold a decision's payable lines against the limits of their policies, unless another
    claim changed those policies' ledgers since the decision's prior benefits were read.

    Limits that hold when claims race (issue 11): two claims of one person that draw on one
    limit (the accident-medical yearly limit, a death paid once) may be adjudicated at the
    same time, each against the same earlier payments. Each adjudication reads the prior
    benefits with the policies' ``ledger_version`` (:func:`find_prior_benefits`), decides, and
    then reserves here. The policies with a payable line are locked first, in policy-number
    order, by an ``UPDATE`` that changes nothing (PostgreSQL: row locks held to the commit,
    so a racing reservation waits; SQLite: the database write lock); their versions are then
    read and compared with the request's. When one moved, nothing is changed and the caller
    reads the prior benefits again (now including the other claim's reservation) and decides
    again; otherwise each version is bumped, the claim's earlier held lines are released and
    the new ones held. Locking before comparing is what lets a refusal change nothing: no
    version is bumped and then undone, and no savepoint is needed.

    Idempotent: when the claim already holds exactly these lines (a retried activity whose
    first attempt committed), it answers ``reserved`` without writing.

    Args:
        session: the caller's session; the writes join its transaction, which this function
            does not commit or roll back (a refusal writes nothing, so committing is safe).
        req: the claim, the insured person, the accident date, the payable lines and the
            ledger versions read with the prior benefits.

    Returns:
        ``reserved`` true, or false with the policy numbers whose ledger moved.
    """
    lines = [ln for ln in req.lines if ln.amount > 0]
    want = sorted((ln.policy_number, ln.benefit_id, ln.amount) for ln in lines)
    have = sorted(
        (r.policy_number, r.benefit_id, Decimal(r.amount).quantize(CENT))
        for r in session.scalars(
            select(BenefitReservation).where(
                BenefitReservation.claim_number == req.claim_number, BenefitReservation.status == "held"
            )
        )
    )
    if have == want:
        return ReserveBenefitsResult(reserved=True)
    numbers = sorted({ln.policy_number for ln in lines})
    # lock: an UPDATE that changes nothing, in one order for every caller (no deadlock between two)
    _set_ledger_versions(session, numbers, Policy.ledger_version)
    current = _ledger_versions(session, numbers)
    conflicts = [
        n for n in numbers if n in req.ledger_versions and current.get(n) != req.ledger_versions[n]
    ]
    if conflicts:
        return ReserveBenefitsResult(reserved=False, conflicts=conflicts)
    _set_ledger_versions(session, numbers, Policy.ledger_version + 1)
    session.execute(
        update(BenefitReservation)
        .where(BenefitReservation.claim_number == req.claim_number, BenefitReservation.status == "held")
        .values(status="released"),
        execution_options={"synchronize_session": False},
    )
    for ln in lines:
        session.add(
            BenefitReservation(
                claim_number=req.claim_number,
                policy_number=ln.policy_number,
                person_ref=req.person_ref,
                benefit_id=ln.benefit_id,
                kind=ln.kind,
                amount=ln.amount,
                accident_date=req.accident_date,
                reserved_at=req.reserved_at,
                status="held",
            )
        )
    session.flush()
    return ReserveBenefitsResult(reserved=True)


@dataclass(frozen=True)
class Reservation:
    """One reservation row of a claim: an amount (yuan) held against a policy's limits for one
    insured person; ``status`` ``held``, ``paid`` or ``released``; ``reserved_at`` aware UTC."""

    claim_number: str
    policy_number: str
    person_ref: str
    benefit_id: str
    kind: str
    amount: Decimal
    accident_date: date
    reserved_at: datetime
    status: str


def reservations_of(session: Session, claim_number: str) -> list[Reservation]:
    """The reservation rows of one claim (every status), oldest first."""
    rows = session.scalars(
        select(BenefitReservation)
        .where(BenefitReservation.claim_number == claim_number)
        .order_by(BenefitReservation.id)
    )
    return [
        Reservation(
            claim_number=r.claim_number,
            policy_number=r.policy_number,
            person_ref=r.person_ref,
            benefit_id=r.benefit_id,
            kind=r.kind,
            amount=Decimal(r.amount).quantize(CENT),
            accident_date=r.accident_date,
            reserved_at=r.reserved_at,
            status=r.status,
        )
        for r in rows
    ]


def payments_of(session: Session, claim_number: str) -> list[PaymentRecord]:
    """The ledger rows of one claim, in payment-number order."""
    rows = session.scalars(
        select(Payout).where(Payout.claim_number == claim_number).order_by(Payout.payment_number)
    )
    return [
        PaymentRecord(
            claim_number=r.claim_number,
            payment_number=r.payment_number,
            policy_number=r.policy_number,
            amount=Decimal(r.amount).quantize(CENT),
            transfer_ref=r.transfer_ref,
            paid_at=r.paid_at,
        )
        for r in rows
    ]
