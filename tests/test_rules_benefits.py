"""The issue-3 benefit kinds and products with real amounts, through both evaluators."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from claims.models import CaseClass, CoverageDecision, CoverageRequest, Outcome, Sex
from rules.engine import RulesEngine
from rules.pure import PureEvaluator
from tests.support.factories import coverage, policy, prior, triage_request


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


WOMAN = {"birth": date(1980, 3, 3), "sex": Sex.FEMALE}
MAN = {"birth": date(1975, 3, 3), "sex": Sex.MALE}


def women(sum_insured: str = "10000.00"):  # type: ignore[no-untyped-def]
    return policy("women_health", sum_insured, start=date(2022, 1, 1))


# --------------------------------------------------------------------------- critical illness


def test_breast_cancer_under_a_10000_womens_health_share_pays_20000(engine, pure):
    req = coverage(women(), outcome=Outcome.ILLNESS, diagnosis="C50.9", accident=date(2022, 8, 1), **WOMAN)
    d = both(engine, pure, req)
    assert d.total == Decimal("20000.00")
    (line,) = d.lines
    assert line.formula == "10000.00 × 200% (breast cancer, C50)"
    assert line.rule_ids == ["benefit.critical_illness.c50"]
    assert line.terms_version == "women_health@2022" and line.kind == "critical_illness"


def test_cervical_cancer_pays_the_sum_insured_once(engine, pure):
    req = coverage(
        women("20000.00"), outcome=Outcome.ILLNESS, diagnosis="c53", accident=date(2022, 8, 1), **WOMAN
    )
    assert both(engine, pure, req).total == Decimal("20000.00")


def test_diagnosis_on_day_60_of_a_90_day_waiting_period_is_refused(engine, pure):
    day60 = date(2022, 1, 1) + timedelta(days=59)
    req = coverage(women(), outcome=Outcome.ILLNESS, diagnosis="C50", accident=day60, **WOMAN)
    d = both(engine, pure, req)
    assert d.total == Decimal("0.00") and d.lines == []
    (r,) = d.refusals
    assert r.clause_id == "benefit.critical_illness.waiting_period"
    assert "day 60 of the 90-day waiting period" in r.reason and "2022-03-31" in r.reason


def test_diagnosis_on_day_91_is_paid(engine, pure):
    req = coverage(women(), outcome=Outcome.ILLNESS, diagnosis="C56", accident=date(2022, 4, 1), **WOMAN)
    assert both(engine, pure, req).total == Decimal("10000.00")


def test_liver_cancer_is_refused_under_mens_health_2020_and_paid_under_2021(engine, pure):
    p20 = policy("men_health", start=date(2020, 2, 1))
    p21 = policy("men_health", start=date(2021, 2, 1))
    assert (p20.terms_version, p21.terms_version) == ("men_health@2020", "men_health@2021")
    d20 = both(
        engine,
        pure,
        coverage(p20, outcome=Outcome.ILLNESS, diagnosis="C22.0", accident=date(2020, 9, 1), **MAN),
    )
    assert [r.clause_id for r in d20.refusals] == ["benefit.critical_illness.not_listed"]
    assert "C22" in d20.refusals[0].reason and d20.total == 0
    d21 = both(
        engine,
        pure,
        coverage(p21, outcome=Outcome.ILLNESS, diagnosis="C22.0", accident=date(2021, 9, 1), **MAN),
    )
    assert d21.total == Decimal("10000.00")
    assert d21.lines[0].rule_ids == ["benefit.critical_illness.c22"]


def test_a_policy_naming_the_wrong_version_for_its_issue_date_goes_to_a_handler(engine, pure):
    p = policy("men_health", start=date(2021, 2, 1), terms_version="men_health@2020")
    d = both(
        engine, pure, coverage(p, outcome=Outcome.ILLNESS, diagnosis="C22", accident=date(2021, 9, 1), **MAN)
    )
    assert d.lines == [] and "use the version in force at issue" in d.needs_handler[0]


def test_an_unknown_diagnosis_code_goes_to_a_handler_with_the_reason(engine, pure):
    for code in ("Q99", "breast", None):
        d = both(
            engine,
            pure,
            coverage(women(), outcome=Outcome.ILLNESS, diagnosis=code, accident=date(2022, 8, 1), **WOMAN),
        )
        assert d.lines == [] and d.refusals == [] and not d.payable
        assert "diagnosis code" in d.needs_handler[0]


def test_critical_illness_cover_ends_after_one_payment(engine, pure):
    paid = prior("critical_illness", "10000.00", accident=date(2022, 5, 1), paid=date(2022, 5, 20))
    req = coverage(
        women(), outcome=Outcome.ILLNESS, diagnosis="C50", accident=date(2022, 8, 1), prior=[paid], **WOMAN
    )
    (r,) = both(engine, pure, req).refusals
    assert r.clause_id == "benefit.critical_illness.cover_ended" and "2022-05-20" in r.reason


def test_a_man_is_refused_by_the_womens_health_plan(engine, pure):
    d = both(
        engine,
        pure,
        coverage(women(), outcome=Outcome.ILLNESS, diagnosis="C50", accident=date(2022, 8, 1), **MAN),
    )
    assert [r.clause_id for r in d.refusals] == ["eligibility.sex"]


# --------------------------------------------------------------------------- death and disability


def test_death_after_a_disability_payment_for_the_same_accident_pays_the_difference(engine, pure):
    dis = prior("accidental_disability", "24000.00", accident=date(2021, 6, 26), paid=date(2021, 8, 1))
    req = coverage(policy(), outcome=Outcome.DEATH, died=date(2021, 9, 30), prior=[dis])
    d = both(engine, pure, req)
    assert d.total == Decimal("16000.00")
    assert d.lines[0].rule_ids == ["benefit.accidental_death.less_disability"]
    assert d.lines[0].formula.startswith("40000.00 − 24000.00 (accidental death, less 24000.00")


def test_disability_paid_for_another_accident_is_not_deducted(engine, pure):
    dis = prior("accidental_disability", "24000.00", accident=date(2021, 2, 1))
    assert both(engine, pure, coverage(policy(), prior=[dis])).total == Decimal("40000.00")


def test_grade_1_disability_paid_leaves_no_death_benefit(engine, pure):
    dis = prior("accidental_disability", "40000.00")
    (r,) = both(engine, pure, coverage(policy(), prior=[dis])).refusals
    assert r.clause_id == "benefit.accidental_death.disability_paid_in_full"


def test_death_181_days_after_the_accident_goes_to_a_handler(engine, pure):
    d = both(engine, pure, coverage(policy(), died=date(2021, 6, 26) + timedelta(days=181)))
    assert d.lines == [] and "beyond the 180-day window" in d.needs_handler[0]


def test_grade_5_on_40000_and_two_grade_3_injuries(engine, pure):
    assert both(engine, pure, coverage(policy(), outcome=Outcome.DISABILITY, grades=[5])).total == Decimal(
        "24000.00"
    )
    assert both(engine, pure, coverage(policy(), outcome=Outcome.DISABILITY, grades=[3, 3])).total == Decimal(
        "36000.00"
    )


def test_drink_driving_death_and_late_report_are_refused_with_their_reasons(engine, pure):
    (r,) = both(engine, pure, coverage(policy(), circumstances=["drink_driving"])).refusals
    assert r.clause_id == "excl.drink_driving" and "drove a motor vehicle after drinking" in r.reason
    late = coverage(policy(), accident=date(2021, 6, 26), reported=date(2023, 6, 27))
    (r,) = both(engine, pure, late).refusals
    assert r.clause_id == "limitation.time_barred" and "2023-06-26" in r.reason


# --------------------------------------------------------------------------- accident medical


def test_accident_medical_pays_90_percent_over_the_deductible_when_basic_insurance_paid(engine, pure):
    d = both(engine, pure, coverage(policy(), outcome=Outcome.MEDICAL, medical="1200.00", basic_paid=True))
    assert d.total == Decimal("990.00")
    assert d.lines[0].formula == "(1200.00 − 100.00) × 90% (basic medical insurance paid first)"


def test_accident_medical_pays_80_percent_without_basic_insurance(engine, pure):
    d = both(engine, pure, coverage(policy(), outcome=Outcome.MEDICAL, medical="1200.00"))
    assert d.total == Decimal("880.00")
    assert d.lines[0].rule_ids == ["benefit.accident_medical.basic_unpaid"]


def test_accident_medical_stops_at_the_yearly_limit(engine, pure):
    big = coverage(policy(), outcome=Outcome.MEDICAL, medical="20000.00", basic_paid=True)
    assert both(engine, pure, big).total == Decimal("5000.00")
    used = prior("accident_medical", "4200.00", accident=date(2021, 3, 1))
    d = both(engine, pure, coverage(policy(), outcome=Outcome.MEDICAL, medical="2000.00", prior=[used]))
    assert d.total == Decimal("800.00") and "less 4200.00 already paid" in d.lines[0].formula
    full = prior("accident_medical", "5000.00", accident=date(2021, 3, 1))
    d = both(engine, pure, coverage(policy(), outcome=Outcome.MEDICAL, medical="2000.00", prior=[full]))
    assert [r.clause_id for r in d.refusals] == ["benefit.accident_medical.limit_reached"]


def test_expenses_within_the_deductible_are_refused(engine, pure):
    d = both(engine, pure, coverage(policy(), outcome=Outcome.MEDICAL, medical="100.00"))
    assert [r.clause_id for r in d.refusals] == ["benefit.accident_medical.below_deductible"]


# --------------------------------------------------------------------------- hospital cash


def hardship():  # type: ignore[no-untyped-def]
    return policy("hardship_comprehensive", start=date(2021, 1, 1))


def test_hospital_cash_pays_100_a_day(engine, pure):
    d = both(engine, pure, coverage(hardship(), outcome=Outcome.MEDICAL, hospital_days=12))
    assert d.total == Decimal("1200.00") and d.lines[0].formula == "100.00 × 12 days"


def test_hospital_cash_caps_a_stay_at_90_days_and_a_year_at_180(engine, pure):
    d = both(engine, pure, coverage(hardship(), outcome=Outcome.MEDICAL, hospital_days=120))
    assert d.total == Decimal("9000.00")
    earlier = prior("hospital_cash", "12000.00", number="P1", accident=date(2021, 2, 10))
    d = both(engine, pure, coverage(hardship(), outcome=Outcome.ILLNESS, hospital_days=90, prior=[earlier]))
    assert d.total == Decimal("6000.00")  # 18,000 a year less 12,000 already paid


def test_hospital_cash_inside_the_30_day_waiting_period_is_refused(engine, pure):
    d = both(
        engine,
        pure,
        coverage(hardship(), outcome=Outcome.MEDICAL, hospital_days=5, accident=date(2021, 1, 30)),
    )
    assert [r.clause_id for r in d.refusals] == ["benefit.hospital_cash.waiting_period"]
    d = both(
        engine,
        pure,
        coverage(hardship(), outcome=Outcome.MEDICAL, hospital_days=5, accident=date(2021, 1, 31)),
    )
    assert d.total == Decimal("500.00")


def test_two_policies_answer_one_death_and_are_summed(engine, pure):
    req = coverage(
        policy("hardship_comprehensive", number="H-1"),
        policy("elderly_accident", number="E-1"),
        birth=date(1955, 3, 1),
    )
    d = both(engine, pure, req)
    assert [ln.amount for ln in d.lines] == [Decimal("100000.00"), Decimal("32000.00")]
    assert d.total == Decimal("132000.00")


def test_left_behind_child_and_nursing_care_products_pay_their_defaults(engine, pure):
    child = coverage(
        policy("left_behind_children"), outcome=Outcome.DISABILITY, grades=[10], birth=date(2012, 1, 1)
    )
    assert both(engine, pure, child).total == Decimal("2000.00")
    care = coverage(policy("nursing_care"), outcome=Outcome.MEDICAL, hospital_days=40, birth=date(1950, 1, 1))
    assert both(engine, pure, care).total == Decimal("1500.00")  # 50 a day, 30 days a stay


# --------------------------------------------------------------------------- triage classes


def test_small_prompt_documented_claim_is_clear(engine, pure):
    req = triage_request(policy("women_health", start=date(2022, 1, 1)), days_late=7)
    for ev in (engine, pure):
        t = ev.triage(req)
        assert t.case_class is CaseClass.CLEAR and t.rule_ids == ["class.clear.documented_small_prompt"]
        assert "reported 7 days after the accident" in t.reasons[0]
    assert engine.triage(
        triage_request(policy("women_health", start=date(2022, 1, 1)), days_late=8)
    ).case_class is (CaseClass.ORDINARY)


def test_a_disputed_flag_classes_the_claim_disputed_unless_it_needs_investigation(engine, pure):
    from tests.support.factories import triage_request as tr

    base = tr(policy("women_health", start=date(2022, 1, 1)))
    disputed = base.model_copy(update={"disputed": True})
    for ev in (engine, pure):
        t = ev.triage(disputed)
        assert t.case_class is CaseClass.DISPUTED and t.rule_ids == ["class.disputed.flagged"]
        late = disputed.model_copy(update={"reported_on": disputed.accident_date + timedelta(days=40)})
        assert ev.triage(late).case_class is CaseClass.INVESTIGATION
