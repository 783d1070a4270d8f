"""The SQL of the monthly claims report (理赔明细): one county's payouts, declined and open claims.

One job: read, for one county and one month of payment dates in Asia/Shanghai time, the payout
ledger rows joined with the claims projection, the insured person, the household's place and
the policy (one row per payout: two policies answering one event are two rows), the claims
declined in the month, the claims still open, and the claims reported in the month. The
decision record (``claim_archives.decision_bundle``) of a finished claim is read with it for the
cause, the disability grade and the decline reasons, which the projection does not keep. Read
only: nothing here writes or commits; the caller's unit of work ends the read transaction.

Rows leave as frozen dataclasses of plain values (amounts ``Decimal`` yuan, instants aware UTC).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, func, select
from sqlalchemy.orm import Session

from claims.models import Stage
from claims.store.db import Claim, ClaimArchive, InsuredPerson, Payout, Policy
from claims.store.reports import OPEN

CENT = Decimal("0.01")


@dataclass(frozen=True)
class ArchivedFacts:
    """What the decision record adds to a finished claim: cause code, disability grade (as
    established at adjudication, else as reported) and decline reasons."""

    cause: str = ""
    disability_grade: int | None = None
    decline_reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class PayoutLine:
    """One payout of the month with its claim, person, place and policy."""

    claim_number: str
    payment_number: int
    policy_number: str
    product_code: str
    terms_version: str
    benefit_id: str
    kind: str
    amount: Decimal
    paid_at: datetime
    transfer_ref: str
    insured_name: str
    id_number: str
    accident_date: date
    reported_on: date
    reported_at: datetime
    registered_at: datetime | None
    outcome: str
    township: str
    village: str
    handler: str | None
    green_channel: bool
    target_working_days: int | None
    facts: ArchivedFacts


@dataclass(frozen=True)
class ClaimLine:
    """A claim of the month that paid nothing this month: declined, or still open."""

    claim_number: str
    insured_name: str
    id_number: str
    policy_numbers: str
    accident_date: date
    reported_at: datetime
    registered_at: datetime | None
    decided_at: datetime | None
    outcome: str
    stage: str
    sla_state: str
    sla_deadline: datetime | None
    township: str
    village: str
    handler: str | None
    green_channel: bool
    facts: ArchivedFacts


@dataclass(frozen=True)
class ReportedCount:
    """Claims reported in the month, and of them closed or declined by now, per township."""

    township: str
    reported: int
    finished: int


def archived_facts(bundle_json: str | None) -> ArchivedFacts:
    """Cause, grade and decline reasons from a decision bundle's JSON (empty when there is none
    or it cannot be read: a report never fails on an archive row)."""
    if not bundle_json:
        return ArchivedFacts()
    try:
        data: dict[str, Any] = json.loads(bundle_json)
    except ValueError:
        return ArchivedFacts()
    claim = data.get("claim") or {}
    facts = data.get("facts") or {}
    grade = facts.get("disability_grade") if isinstance(facts, dict) else None
    if grade is None and isinstance(facts, dict):
        grades = facts.get("disability_grades") or []
        grade = min(grades) if grades else None
    if grade is None and isinstance(claim, dict):
        grade = claim.get("disability_grade")
    reasons = data.get("decline_reasons") or []
    return ArchivedFacts(
        cause=str(claim.get("cause") or "") if isinstance(claim, dict) else "",
        disability_grade=int(grade) if isinstance(grade, int | str) and str(grade).isdigit() else None,
        decline_reasons=tuple(str(r) for r in reasons),
    )


def payouts_of_month(session: Session, county: str, start: datetime, end: datetime) -> list[PayoutLine]:
    """Payout ledger rows of ``county`` paid at ``start`` <= paid_at < ``end`` (aware instants:
    the month's bounds in Asia/Shanghai), by township, village, payment time, claim, payment."""
    q = (
        select(
            Payout.claim_number,
            Payout.payment_number,
            Payout.policy_number,
            Policy.product_code,
            Policy.terms_version,
            Payout.benefit_id,
            Payout.kind,
            Payout.amount,
            Payout.paid_at,
            Payout.transfer_ref,
            InsuredPerson.name,
            InsuredPerson.id_number,
            Claim.accident_date,
            Claim.reported_on,
            Claim.reported_at,
            Claim.registered_at,
            Claim.outcome,
            Claim.township,
            Claim.village,
            Claim.assigned_handler,
            Claim.green_channel,
            Claim.target_working_days,
            ClaimArchive.decision_bundle,
        )
        .join(Claim, Claim.claim_number == Payout.claim_number)
        .join(InsuredPerson, InsuredPerson.id == Claim.person_id)
        .outerjoin(Policy, Policy.policy_number == Payout.policy_number)
        .outerjoin(ClaimArchive, ClaimArchive.claim_number == Payout.claim_number)
        .where(Claim.county == county, Payout.paid_at >= start, Payout.paid_at < end)
        .order_by(Claim.township, Claim.village, Payout.paid_at, Payout.claim_number, Payout.payment_number)
    )
    parsed: dict[str, ArchivedFacts] = {}

    def facts_of(claim_number: str, bundle: str | None) -> ArchivedFacts:
        # one decision record per claim: parsed once for its payouts
        if claim_number not in parsed:
            parsed[claim_number] = archived_facts(bundle)
        return parsed[claim_number]

    return [
        PayoutLine(
            claim_number=r.claim_number,
            payment_number=r.payment_number,
            policy_number=r.policy_number,
            product_code=r.product_code or "",
            terms_version=r.terms_version or "",
            benefit_id=r.benefit_id,
            kind=r.kind or r.benefit_id,
            amount=Decimal(r.amount).quantize(CENT),
            paid_at=r.paid_at,
            transfer_ref=r.transfer_ref,
            insured_name=r.name,
            id_number=r.id_number,
            accident_date=r.accident_date,
            reported_on=r.reported_on,
            reported_at=r.reported_at,
            registered_at=r.registered_at,
            outcome=r.outcome,
            township=r.township,
            village=r.village,
            handler=r.assigned_handler,
            green_channel=bool(r.green_channel),
            target_working_days=r.target_working_days,
            facts=facts_of(r.claim_number, r.decision_bundle),
        )
        for r in session.execute(q)
    ]


def ledger_total(session: Session, county: str, start: datetime, end: datetime) -> Decimal:
    """The payout ledger's own sum for ``county`` and the period (what the report must equal)."""
    total = session.scalar(
        select(func.coalesce(func.sum(Payout.amount), 0))
        .join(Claim, Claim.claim_number == Payout.claim_number)
        .where(Claim.county == county, Payout.paid_at >= start, Payout.paid_at < end)
    )
    return Decimal(total or 0).quantize(CENT)


_CLAIM_COLUMNS = (
    Claim.claim_number,
    InsuredPerson.name,
    InsuredPerson.id_number,
    Claim.policy_numbers,
    Claim.accident_date,
    Claim.reported_at,
    Claim.registered_at,
    Claim.decided_at,
    Claim.outcome,
    Claim.stage,
    Claim.sla_state,
    Claim.sla_deadline,
    Claim.township,
    Claim.village,
    Claim.assigned_handler,
    Claim.green_channel,
    ClaimArchive.decision_bundle,
)


def _claim_lines(session: Session, q: Any) -> list[ClaimLine]:
    return [
        ClaimLine(*r[:-1], facts=archived_facts(r[-1]))  # type: ignore[misc]
        for r in session.execute(q)
    ]


def declined_in_month(session: Session, county: str, start: datetime, end: datetime) -> list[ClaimLine]:
    """Claims of ``county`` declined (拒赔) with their decision in the period, by township and number."""
    q = (
        select(*_CLAIM_COLUMNS)
        .join(InsuredPerson, InsuredPerson.id == Claim.person_id)
        .outerjoin(ClaimArchive, ClaimArchive.claim_number == Claim.claim_number)
        .where(
            Claim.county == county,
            Claim.stage == Stage.DECLINED.value,
            Claim.decided_at >= start,
            Claim.decided_at < end,
        )
        .order_by(Claim.township, Claim.claim_number)
    )
    return _claim_lines(session, q)


def open_at_month_end(session: Session, county: str, end: datetime) -> list[ClaimLine]:
    """Claims of ``county`` reported before ``end`` and neither closed nor declined now."""
    q = (
        select(*_CLAIM_COLUMNS)
        .join(InsuredPerson, InsuredPerson.id == Claim.person_id)
        .outerjoin(ClaimArchive, ClaimArchive.claim_number == Claim.claim_number)
        .where(
            Claim.county == county,
            OPEN,
            Claim.reported_at < end,
        )
        .order_by(Claim.township, Claim.claim_number)
    )
    return _claim_lines(session, q)


def reported_in_month(session: Session, county: str, start: datetime, end: datetime) -> list[ReportedCount]:
    """Per township of ``county``: claims reported in the period, and how many of them are
    closed or declined by now."""
    finished = Claim.stage.in_([Stage.CLOSED.value, Stage.DECLINED.value, Stage.WITHDRAWN.value])
    q = (
        select(Claim.township, func.count(), func.sum(finished.cast(Integer)))
        .where(Claim.county == county, Claim.reported_at >= start, Claim.reported_at < end)
        .group_by(Claim.township)
        .order_by(Claim.township)
    )
    return [ReportedCount(t, int(n), int(f or 0)) for t, n, f in session.execute(q)]


def latest_change(session: Session, county: str, end: datetime) -> datetime | None:
    """The latest recorded instant among ``county``'s claims reported before ``end`` (projection
    writes) and its payouts before ``end``: the report's "data as of" (数据截至), the same for
    the same data, so a re-run of a month gives the same bytes."""
    a = session.scalar(
        select(func.max(Claim.updated_at)).where(Claim.county == county, Claim.reported_at < end)
    )
    # the newest payment first, stopping at the first of the county (index ``ix_payouts_paid_at``,
    # migration 0014): max() over a join reads every payment of the county before ``end``
    b = session.scalar(
        select(Payout.paid_at)
        .join(Claim, Claim.claim_number == Payout.claim_number)
        .where(Claim.county == county, Payout.paid_at < end)
        .order_by(Payout.paid_at.desc())
        .limit(1)
    )
    found = [x for x in (a, b) if x is not None]
    if not found:
        return None
    # SQLite returns max() of a UtcDateTime column as text or naive: normalise through the type
    out = []
    for x in found:
        if isinstance(x, str):
            x = datetime.fromisoformat(x)
        out.append(x if x.tzinfo else x.replace(tzinfo=UTC))
    return max(out)
