"""Request builders for the rules tests, the bench and demos (sample values, not real claims)."""

from __future__ import annotations

import functools
import random
from datetime import date, timedelta
from decimal import Decimal

from claims.models import (
    CoverageRequest,
    HouseholdFlags,
    InsuredSnapshot,
    LossFacts,
    Outcome,
    PolicySnapshot,
    PriorBenefit,
    Sex,
    TriageRequest,
)
from rules.facts import add_years
from rules.terms import Catalogue, load_catalogue

PRODUCTS = {
    "family_accident": ("family_accident@2020", ["40000.00", "45000.00"]),
    "hardship_comprehensive": ("hardship_comprehensive@2020", ["100000.00"]),
    "elderly_accident": ("elderly_accident@2020", ["32000.00"]),
    "women_health": ("women_health@2022", ["10000.00", "20000.00"]),
    "men_health": ("men_health@2021", ["10000.00"]),
    "nursing_care": ("nursing_care@2020", ["10000.00"]),
    "left_behind_children": ("left_behind_children@2020", ["20000.00"]),
}
"""Product code -> (default terms version, sums insured), for the shipped terms files."""


def policy(
    product: str = "family_accident",
    sum_insured: str | None = None,
    number: str = "P1",
    start: date = date(2021, 1, 1),
    terms_version: str | None = None,
    issued_on: date | None = None,
) -> PolicySnapshot:
    """A one-year policy of ``product`` starting on ``start``, issued 10 days before.

    Without ``terms_version`` the version in force on the issue date is named (else the
    product's default version).
    """
    tv, options = PRODUCTS.get(product, (f"{product}@2020", ["1000.00"]))
    issued = issued_on or start - timedelta(days=10)
    if terms_version is None:
        found = _catalogue().in_force(product, issued)
        terms_version = found.terms_version if found is not None else tv
    return PolicySnapshot(
        policy_number=number,
        product_code=product,
        terms_version=terms_version,
        sum_insured=Decimal(sum_insured or options[0]),
        start_date=start,
        end_date=add_years(start, 1) - timedelta(days=1),
        issued_on=issued,
    )


@functools.cache
def _catalogue() -> Catalogue:
    return load_catalogue()


def coverage(
    *policies: PolicySnapshot,
    outcome: Outcome = Outcome.DEATH,
    grades: list[int] | None = None,
    circumstances: list[str] | None = None,
    accident: date = date(2021, 6, 26),
    reported: date | None = None,
    birth: date = date(1970, 5, 5),
    sex: Sex = Sex.MALE,
    claim: str = "C-1",
    medical: str = "0",
    basic_paid: bool = False,
    diagnosis: str | None = None,
    diagnosed: date | None = None,
    hospital_days: int = 0,
    died: date | None = None,
    prior: list[PriorBenefit] | None = None,
    person: str = "R-1",
) -> CoverageRequest:
    """A coverage request for one event (default: a death on 2021-06-26, reported 10 days later).

    ``medical`` is yuan; ``prior`` lists benefits already paid (``PriorBenefit``); ``person``
    is the insured person's reference.
    """
    return CoverageRequest(
        claim_number=claim,
        accident_date=accident,
        reported_on=reported or accident + timedelta(days=10),
        insured=InsuredSnapshot(person_ref=person, sex=sex, birth_date=birth),
        facts=LossFacts(
            outcome=outcome,
            cause="accident",
            disability_grades=grades or [],
            circumstances=circumstances or [],
            medical_expenses=Decimal(medical),
            basic_insurance_paid=basic_paid,
            diagnosis_code=diagnosis,
            diagnosis_date=diagnosed,
            hospital_days=hospital_days,
            death_date=died,
        ),
        policies=list(policies) or [policy()],
        prior_benefits=prior or [],
    )


def prior(
    kind: str,
    amount: str,
    number: str = "P1",
    accident: date = date(2021, 6, 26),
    paid: date | None = None,
    person: str | None = None,
    claim: str | None = None,
    reserved: bool = False,
) -> PriorBenefit:
    """A benefit already paid under policy ``number`` (yuan), paid 30 days after ``accident``,
    to ``person`` (None: a row recorded before benefits were kept per person) on ``claim``."""
    return PriorBenefit(
        policy_number=number,
        kind=kind,
        amount=Decimal(amount),
        accident_date=accident,
        paid_on=paid or accident + timedelta(days=30),
        person_ref=person,
        claim_number=claim,
        reserved=reserved,
    )


def triage_request(
    *policies: PolicySnapshot,
    outcome: Outcome = Outcome.MEDICAL,
    grade: int | None = None,
    days_late: int = 3,
    third_party_record: bool = True,
    nominated: bool = False,
    **flags: bool,
) -> TriageRequest:
    """A triage request reported ``days_late`` days after a 2021-06-26 accident."""
    accident = date(2021, 6, 26)
    return TriageRequest(
        claim_number="C-1",
        accident_date=accident,
        reported_on=accident + timedelta(days=days_late),
        household=HouseholdFlags(**flags),
        reported_outcome=outcome,
        reported_disability_grade=grade,
        nominated_green_channel=nominated,
        third_party_record=third_party_record,
        policies=list(policies) or [policy()],
    )


CIRCUMSTANCES = [
    "drink_driving",
    "fighting",
    "suicide",
    "drugs",
    "war_riot",
    "nuclear",
    "crime",
    "drunkenness",
    "unlicensed_driving",
    "intentional_harm",
    "farm_work",
    "road",
]


def random_coverage(rng: random.Random, n: int = 0) -> CoverageRequest:
    """A plausible random coverage request (mostly payable, some refused or unjudgeable)."""
    accident = date(2019, 1, 1) + timedelta(days=rng.randrange(0, 365 * 7))
    products = rng.sample(list(PRODUCTS), k=rng.choice([1, 1, 1, 2]))
    pols = []
    for i, prod in enumerate(products):
        start = max(accident - timedelta(days=rng.randrange(-30, 400)), date(2019, 1, 15))
        pols.append(policy(prod, rng.choice(PRODUCTS[prod][1]), f"P{n}-{i}", start))
    outcome = rng.choice(
        [Outcome.DEATH, Outcome.DISABILITY, Outcome.DISABILITY, Outcome.MEDICAL, Outcome.ILLNESS]
    )
    grades = [rng.randint(1, 10) for _ in range(rng.choice([1, 1, 2, 3]))]
    if rng.random() < 0.03:
        grades = [rng.choice([0, 11, 12])]
    circs = [rng.choice(CIRCUMSTANCES)] if rng.random() < 0.2 else []
    priors = [
        prior(
            rng.choice(PRIOR_KINDS),
            f"{rng.randrange(0, 2000000) / 100:.2f}",
            pols[0].policy_number,
            accident if rng.random() < 0.7 else accident - timedelta(days=40),
        )
        for _ in range(rng.choice([0, 0, 0, 1, 2]))
    ]
    return coverage(
        *pols,
        outcome=outcome,
        grades=grades if outcome is Outcome.DISABILITY else [],
        circumstances=circs,
        accident=accident,
        reported=accident + timedelta(days=rng.choice([0, 3, 20, 45, 400, 731, 800])),
        birth=accident - timedelta(days=rng.randrange(365, 365 * 80)),
        sex=rng.choice([Sex.MALE, Sex.FEMALE]),
        claim=f"C-{n}",
        medical=f"{rng.choice([0, 50, 100, 101, 800, 3000, 9000])}.{rng.randrange(100):02d}",
        basic_paid=rng.random() < 0.5,
        diagnosis=rng.choice(DIAGNOSES) if outcome is Outcome.ILLNESS else None,
        hospital_days=rng.choice([0, 1, 5, 30, 91, 200]),
        died=accident + timedelta(days=rng.choice([0, 0, 10, 180, 181]))
        if outcome is Outcome.DEATH
        else None,
        prior=priors,
    )


PRIOR_KINDS = ["accidental_disability", "accident_medical", "hospital_cash", "critical_illness"]
DIAGNOSES = [
    "C50",
    "C50.9",
    "C56",
    "C54.1",
    "C53",
    "C57",
    "C52",
    "C22",
    "C61",
    "C62.1",
    "C60",
    "C34",
    "I21",
    "Z99",
    "X1",
    "",
    None,
]


def random_triage(rng: random.Random) -> TriageRequest:
    """A random triage request."""
    pols = [policy(p, number=f"P{i}") for i, p in enumerate(rng.sample(list(PRODUCTS), k=rng.randint(1, 3)))]
    return triage_request(
        *pols,
        outcome=rng.choice(list(Outcome)),
        grade=rng.choice([None, 1, 2, 5, 10]),
        days_late=rng.choice([0, 5, 30, 31, 90]),
        third_party_record=rng.random() < 0.8,
        nominated=rng.random() < 0.1,
        registered_poor=rng.random() < 0.2,
        special_family=rng.random() < 0.1,
        hardship=rng.random() < 0.1,
    )
