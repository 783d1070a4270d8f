"""Read queries behind the loss ratio (赔付率): premiums exposed, claims and payouts per policy.

One job: the SQL rows the loss-ratio service groups by county, product and policy year, with
the reader's county applied **in the query**. Premiums come from the policy register
(``policies.premium`` is per insured person, ``policy_insured`` says how many persons a policy
covers); payouts from the payout ledger (each payout row names its policy); claims from the
claims table (``policy_numbers`` lists the policies a report named). Read only: nothing here
writes or commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from claims.store.db import Claim, Household, Payout, Policy, PolicyInsured


@dataclass(frozen=True)
class PolicyExposure:
    """One policy of the register: where it is, what it is, its period, its premium per insured
    person (yuan) and the persons it insures (their store ids, for distinct counts)."""

    policy_number: str
    county: str
    product_code: str
    start_date: date
    end_date: date
    premium: Decimal
    person_ids: tuple[int, ...]


@dataclass(frozen=True)
class PolicyPayout:
    """One payout row of the ledger, with the policy it was paid under."""

    claim_number: str
    policy_number: str
    amount: Decimal


@dataclass(frozen=True)
class ClaimPolicies:
    """A claim and the policy numbers its report named (in report order)."""

    claim_number: str
    policy_numbers: tuple[str, ...]


def policy_exposures(
    session: Session, county: str | None = None, product: str | None = None, year: int | None = None
) -> list[PolicyExposure]:
    """The register's policies (optionally of one county, product and policy year, the year
    the policy starts in), each with its insured persons, sorted by policy number."""
    stmt = (
        select(
            Policy.policy_number,
            Household.county,
            Policy.product_code,
            Policy.start_date,
            Policy.end_date,
            Policy.premium,
            PolicyInsured.person_id,
        )
        .join(Household, Household.id == Policy.household_id)
        .outerjoin(PolicyInsured, PolicyInsured.policy_id == Policy.id)
        .order_by(Policy.policy_number, PolicyInsured.person_id)
    )
    if county is not None:
        stmt = stmt.where(Household.county == county)
    if product is not None:
        stmt = stmt.where(Policy.product_code == product)
    if year is not None:
        stmt = stmt.where(Policy.start_date >= date(year, 1, 1), Policy.start_date <= date(year, 12, 31))
    found: dict[str, tuple[tuple[str, str, str, date, date, Decimal], list[int]]] = {}
    for number, cty, prod, start, end, premium, person_id in session.execute(stmt):
        head, persons = found.setdefault(number, ((number, cty, prod, start, end, premium), []))
        if person_id is not None:
            persons.append(person_id)
    return [PolicyExposure(*head, person_ids=tuple(persons)) for head, persons in found.values()]


def payouts_of_policies(session: Session, policy_numbers: list[str]) -> list[PolicyPayout]:
    """The ledger's payout rows under ``policy_numbers``, by claim and payment number."""
    if not policy_numbers:
        return []
    rows: list[PolicyPayout] = []
    for i in range(0, len(policy_numbers), 500):  # bound the IN list
        chunk = policy_numbers[i : i + 500]
        stmt = (
            select(Payout.claim_number, Payout.policy_number, Payout.amount)
            .where(Payout.policy_number.in_(chunk))
            .order_by(Payout.claim_number, Payout.payment_number)
        )
        rows.extend(PolicyPayout(c, p, a) for c, p, a in session.execute(stmt))
    return rows


def claims_naming_policies(session: Session, county: str | None = None) -> list[ClaimPolicies]:
    """Every claim (of ``county`` when given) with the policies its report named."""
    stmt = select(Claim.claim_number, Claim.policy_numbers).order_by(Claim.claim_number)
    if county is not None:
        stmt = stmt.where(Claim.county == county)
    return [
        ClaimPolicies(number, tuple(p for p in (names or "").split(",") if p))
        for number, names in session.execute(stmt)
    ]
