"""Benefits and limits per insured person (issue 11), through both evaluators.

A household policy insures each member for the full sum insured: what one member was paid
never reduces another member's benefit or limit, unless the terms say the limit is shared by
the household (``limit_scope: household``). One person's death is paid once per policy, and
disability + death for one accident never exceed that person's sum insured.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from claims.models import CoverageDecision, CoverageRequest, Deduction, Outcome, Sex
from rules.engine import RulesEngine
from rules.pure import PureEvaluator
from tests.support.factories import coverage, policy, prior
from rules.terms import Catalogue, LoadedTerms, load_catalogue

ACCIDENT = date(2021, 6, 26)


@pytest.fixture(scope="module")
def engine() -> RulesEngine:
    return RulesEngine.shared()


@pytest.fixture(scope="module")
def pure() -> PureEvaluator:
    return PureEvaluator()


def both(engine: RulesEngine, pure: PureEvaluator, req: CoverageRequest) -> CoverageDecision:
    d, p = engine.evaluate_coverage(req), pure.evaluate_coverage(req)
    assert d.model_dump(exclude={"engine"}) == p.model_dump(exclude={"engine"})
    return d


def family() -> object:
    return policy("family_accident", "40000.00")


# --------------------------------------------------------------------------- death and disability


def test_one_members_disability_does_not_reduce_another_members_death_benefit(engine, pure):
    p1_disability = prior("accidental_disability", "16000.00", person="P1", claim="JS20210626-P1")
    d = both(engine, pure, coverage(family(), person="P2", prior=[p1_disability]))
    assert d.total == Decimal("40000.00") and d.refusals == []
    assert d.lines[0].rule_ids == ["benefit.accidental_death.pays"] and d.lines[0].deducted == []


def test_a_spouses_death_is_paid_in_full_after_a_45000_disability_of_the_other_spouse(engine, pure):
    big = prior("accidental_disability", "45000.00", person="P1", claim="JS20220310-P1")
    req = coverage(policy("family_accident", "45000.00"), person="P2", prior=[big])
    d = both(engine, pure, req)
    assert d.total == Decimal("45000.00") and d.refusals == []


def test_the_same_persons_disability_is_deducted_from_the_death_and_named_in_the_provenance(engine, pure):
    own = prior("accidental_disability", "16000.00", person="P1", claim="JS20210626-P1")
    other = prior("accidental_disability", "8000.00", person="P2", claim="JS20210626-P2")
    d = both(engine, pure, coverage(family(), person="P1", claim="JS20210626-P1-2", prior=[own, other]))
    (line,) = d.lines
    assert line.amount == Decimal("24000.00")
    assert line.rule_ids == ["benefit.accidental_death.less_disability"]
    assert line.deducted == [
        Deduction(claim_number="JS20210626-P1", kind="accidental_disability", amount=Decimal("16000.00"))
    ]


def test_a_death_already_paid_to_the_person_is_not_paid_again_and_the_refusal_names_the_claim(engine, pure):
    paid = prior("accidental_death", "45000.00", person="P1", claim="JS20210626-P1")
    req = coverage(policy("family_accident", "45000.00"), person="P1", claim="JS20210626-P1-2", prior=[paid])
    d = both(engine, pure, req)
    assert d.total == Decimal("0.00") and d.lines == []
    (refusal,) = d.refusals
    assert refusal.clause_id == "benefit.accidental_death.already_paid"
    assert "JS20210626-P1" in refusal.reason and "45000.00" in refusal.reason


def test_another_members_death_does_not_stop_a_death_benefit(engine, pure):
    spouse = prior("accidental_death", "40000.00", person="P2", claim="JS20210626-P2")
    d = both(engine, pure, coverage(family(), person="P1", prior=[spouse]))
    assert d.total == Decimal("40000.00")


def test_disability_after_the_persons_death_was_paid_for_the_accident_pays_nothing(engine, pure):
    paid = prior("accidental_death", "40000.00", person="P1", claim="JS20210626-P1")
    d = both(
        engine, pure, coverage(family(), outcome=Outcome.DISABILITY, grades=[3], person="P1", prior=[paid])
    )
    assert [r.clause_id for r in d.refusals] == ["benefit.accidental_disability.sum_insured_used"]
    assert d.total == Decimal("0.00")


def test_disability_is_capped_at_the_sum_insured_less_disability_already_paid_for_the_accident(engine, pure):
    # grade 3 = 80 % of 40,000 = 32,000; 16,000 already paid for the same accident: 24,000 left
    earlier = prior("accidental_disability", "16000.00", person="P1", claim="JS20210626-P1")
    req = coverage(family(), outcome=Outcome.DISABILITY, grades=[3], person="P1", prior=[earlier])
    d = both(engine, pure, req)
    (line,) = d.lines
    assert line.amount == Decimal("24000.00")
    assert "capped at 24000.00" in line.formula
    assert [x.claim_number for x in line.deducted] == ["JS20210626-P1"]


def test_a_disability_of_another_accident_does_not_cap_a_new_disability(engine, pure):
    earlier = prior("accidental_disability", "36000.00", person="P1", accident=date(2021, 2, 1))
    d = both(
        engine, pure, coverage(family(), outcome=Outcome.DISABILITY, grades=[3], person="P1", prior=[earlier])
    )
    assert d.total == Decimal("32000.00")


# --------------------------------------------------------------------------- yearly limits, once-only cover


def test_a_childs_medical_claim_is_paid_after_a_parent_used_the_5000_limit(engine, pure):
    parent = prior("accident_medical", "5000.00", person="P1", claim="JS20210301-P1")
    req = coverage(
        family(), outcome=Outcome.MEDICAL, medical="1100", basic_paid=True, person="P3", prior=[parent]
    )
    d = both(engine, pure, req)
    assert d.total == Decimal("900.00")  # (1,100 − 100) × 90 %


def test_the_same_persons_medical_limit_still_holds(engine, pure):
    own = prior("accident_medical", "4500.00", person="P1", claim="JS20210301-P1")
    req = coverage(family(), outcome=Outcome.MEDICAL, medical="3000", person="P1", prior=[own])
    d = both(engine, pure, req)
    (line,) = d.lines
    assert line.amount == Decimal("500.00")  # 5,000 less 4,500 already paid to this person
    assert line.deducted == [
        Deduction(claim_number="JS20210301-P1", kind="accident_medical", amount=Decimal("4500.00"))
    ]


def test_a_reservation_of_another_claim_of_the_same_person_counts_against_the_limit(engine, pure):
    held = prior("accident_medical", "5000.00", person="P1", claim="JS20210620-P1", reserved=True)
    req = coverage(family(), outcome=Outcome.MEDICAL, medical="3000", person="P1", prior=[held])
    d = both(engine, pure, req)
    assert [r.clause_id for r in d.refusals] == ["benefit.accident_medical.limit_reached"]


def test_a_daughters_cervical_cancer_is_paid_after_her_mothers_breast_cancer(engine, pure):
    mother = prior("critical_illness", "20000.00", number="P1", person="M", accident=date(2022, 5, 1))
    pol = policy("women_health", "10000.00", start=date(2022, 1, 1))
    req = coverage(
        pol,
        outcome=Outcome.ILLNESS,
        diagnosis="C53.9",
        accident=date(2022, 8, 1),
        birth=date(2000, 3, 3),
        sex=Sex.FEMALE,
        person="D",
        prior=[mother],
    )
    d = both(engine, pure, req)
    assert d.total == Decimal("10000.00") and d.refusals == []


def test_the_same_womans_second_cancer_is_refused_once_her_cover_ended(engine, pure):
    own = prior("critical_illness", "20000.00", number="P1", person="M", accident=date(2022, 5, 1))
    pol = policy("women_health", "10000.00", start=date(2022, 1, 1))
    req = coverage(
        pol,
        outcome=Outcome.ILLNESS,
        diagnosis="C53.9",
        accident=date(2022, 8, 1),
        birth=date(1980, 3, 3),
        sex=Sex.FEMALE,
        person="M",
        prior=[own],
    )
    d = both(engine, pure, req)
    assert [r.clause_id for r in d.refusals] == ["benefit.critical_illness.cover_ended"]


def test_hospital_cash_yearly_cap_is_per_person(engine, pure):
    pol = policy("hardship_comprehensive", start=date(2021, 1, 1))
    other = prior("hospital_cash", "18000.00", person="P1", accident=date(2021, 2, 10))
    d = both(
        engine, pure, coverage(pol, outcome=Outcome.MEDICAL, hospital_days=12, person="P2", prior=[other])
    )
    assert d.total == Decimal("1200.00")


def test_a_prior_row_without_a_person_counts_as_the_same_person_as_when_it_was_recorded(engine, pure):
    legacy = prior("accident_medical", "5000.00")  # person_ref None: recorded before per-person limits
    d = both(
        engine, pure, coverage(family(), outcome=Outcome.MEDICAL, medical="3000", person="P3", prior=[legacy])
    )
    assert [r.clause_id for r in d.refusals] == ["benefit.accident_medical.limit_reached"]


# --------------------------------------------------------------------------- household-shared limits


@pytest.fixture(scope="module")
def shared_medical() -> tuple[RulesEngine, PureEvaluator]:
    """The family accident terms with the accident-medical limit shared by the household."""
    cat = load_catalogue()
    loaded = cat.get("family_accident@2020")
    benefits = [
        b.model_copy(update={"limit_scope": "household"}) if b.kind == "accident_medical" else b
        for b in loaded.terms.benefits
    ]
    terms = loaded.terms.model_copy(update={"benefits": benefits})
    changed = Catalogue(
        {terms.terms_version: LoadedTerms(terms=terms, path=loaded.path, sha256=loaded.sha256)}
    )
    return RulesEngine(changed), PureEvaluator(changed)


def test_a_limit_the_terms_share_by_household_counts_every_members_payments(shared_medical):
    engine, pure = shared_medical
    parent = prior("accident_medical", "4000.00", person="P1", claim="JS20210301-P1")
    req = coverage(family(), outcome=Outcome.MEDICAL, medical="3000", person="P3", prior=[parent])
    d = both(engine, pure, req)
    (line,) = d.lines
    assert line.amount == Decimal("1000.00")  # 5,000 shared by the household less 4,000
    assert [x.claim_number for x in line.deducted] == ["JS20210301-P1"]


def test_limit_scope_is_validated_in_a_terms_file():
    from pydantic import ValidationError

    loaded = load_catalogue().get("family_accident@2020")
    raw = loaded.terms.model_dump(mode="json")
    raw["benefits"][0]["limit_scope"] = "village"
    with pytest.raises(ValidationError) as e:
        type(loaded.terms).model_validate(raw)
    assert "limit_scope" in str(e.value)


def test_no_disability_is_paid_for_an_accident_after_the_persons_paid_death(engine, pure):
    death = prior(
        "accidental_death", "24000.00", person="P1", claim="JS20250412-P1-3", accident=date(2021, 4, 12)
    )
    req = coverage(family(), outcome=Outcome.DISABILITY, grades=[1], person="P1", prior=[death])  # 2021-06-26
    d = both(engine, pure, req)
    (refusal,) = d.refusals
    assert refusal.clause_id == "benefit.accidental_disability.cover_ended_by_death"
    assert "JS20250412-P1-3" in refusal.reason and d.total == Decimal("0.00")


def test_a_death_of_a_later_accident_does_not_cap_an_earlier_accidents_disability(engine, pure):
    later = prior(
        "accidental_death", "24000.00", person="P1", claim="JS20210901-P1", accident=date(2021, 9, 1)
    )
    d = both(
        engine, pure, coverage(family(), outcome=Outcome.DISABILITY, grades=[1], person="P1", prior=[later])
    )
    (line,) = d.lines
    assert line.amount == Decimal("40000.00") and line.deducted == []
