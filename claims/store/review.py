"""Store reads for review and fraud referral: a household's other claims in the year before an accident."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from claims.store.db import Claim, InsuredPerson

YEAR_DAYS = 365
"""The pattern's window: claims of the household with an accident in the 365 days up to this one."""


def household_claims_in_year(s: Session, claim_number: str, person_ref: str, accident_date: date) -> int:
    """Other claims (any stage, any member) of ``person_ref``'s household whose accident was in
    the ``YEAR_DAYS`` days up to ``accident_date``; 0 when the person is not on the register."""
    household = (
        select(InsuredPerson.household_id).where(InsuredPerson.person_ref == person_ref).scalar_subquery()
    )
    members = select(InsuredPerson.id).where(InsuredPerson.household_id == household)
    q = select(func.count()).where(
        Claim.person_id.in_(members),
        Claim.claim_number != claim_number,
        Claim.accident_date <= accident_date,
        Claim.accident_date >= accident_date - timedelta(days=YEAR_DAYS),
    )
    return int(s.execute(q).scalar_one())
