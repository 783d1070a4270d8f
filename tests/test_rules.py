"""Coverage and triage decisions with real values, through durable_rules and the pure twin."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from claims.models import CaseClass, CoverageDecision, Outcome, Sex
from rules.engine import RulesEngine
from rules.pure import PureEvaluator
from tests.support.factories import coverage, policy, triage_request
from rules.terms import load_catalogue


@pytest.fixture(scope="module")
def engine() -> RulesEngine:
    return RulesEngine.shared()


@pytest.fixture(scope="module")
def pure() -> PureEvaluator:
    return PureEvaluator()


def both(engine: RulesEngine, pure: PureEvaluator, req) -> CoverageDecision:  # type: ignore[no-untyped-def]
    """Evaluate through both engines, require the same decision, return durable_rules'."""
    d, p = engine.evaluate_coverage(req), pure.evaluate_coverage(req)
    assert d.engine == "durable_rules" and p.engine == "pure"
    assert d.model_dump(exclude={"engine"}) == p.model_dump(exclude={"engine"})
    return d


# --------------------------------------------------------------------------- disability


def test_grade_5_disability_on_40000_pays_24000(engine, pure):
    d = both(engine, pure, coverage(policy(), outcome=Outcome.DISABILITY, grades=[5]))
    assert d.total == Decimal("24000.00")
    (line,) = d.lines
    assert line.amount == Decimal("24000.00")
    assert line.formula == "40000.00 × 60% (grade 5)"
    assert line.rule_ids == ["benefit.accidental_disability.grade_5"]
    assert line.kind == "accidental_disability"
    assert line.terms_hash == load_catalogue().get("family_accident@2020").sha256
    assert d.payable


def test_two_grade_3_injuries_pay_at_the_grade_2_ratio(engine, pure):
    d = both(engine, pure, coverage(policy(), outcome=Outcome.DISABILITY, grades=[3, 3, 7]))
    assert d.total == Decimal("36000.00")
    assert d.lines[0].formula == "40000.00 × 90% (grade 2, raised from several grade-3 injuries)"
    assert d.lines[0].rule_ids == ["benefit.accidental_disability.grade_3.raised"]


def test_several_grade_1_injuries_stay_at_grade_1(engine, pure):
    d = both(engine, pure, coverage(policy(), outcome=Outcome.DISABILITY, grades=[1, 1]))
    assert d.total == Decimal("40000.00")


def test_a_lesser_injury_does_not_raise_the_most_severe_grade(engine, pure):
    d = both(engine, pure, coverage(policy(), outcome=Outcome.DISABILITY, grades=[4, 6, 6]))
    assert d.total == Decimal("28000.00")  # grade 4 = 70%


def test_grade_1_on_45000_pays_45000(engine, pure):
    # seed case 3: road accident, judicial assessment grade 1, 45,000 plan, green channel
    d = both(
        engine,
        pure,
        coverage(policy(sum_insured="45000.00"), outcome=Outcome.DISABILITY, grades=[1]),
    )
    assert d.total == Decimal("45000.00")
    assert d.lines[0].formula == "45000.00 × 100% (grade 1)"


def test_greenhouse_fall_reported_the_next_year_pays_40000(engine, pure):
    # seed case 1: fell on 2021-06-26, grade 1, filed only in 2022 (within two years)
    req = coverage(
        policy(),
        outcome=Outcome.DISABILITY,
        grades=[1],
        accident=date(2021, 6, 26),
        reported=date(2022, 5, 10),
    )
    assert both(engine, pure, req).total == Decimal("40000.00")


def test_grade_11_goes_to_a_handler(engine, pure):
    d = both(engine, pure, coverage(policy(), outcome=Outcome.DISABILITY, grades=[11]))
    assert d.lines == [] and d.refusals == [] and d.total == Decimal("0.00")
    assert len(d.needs_handler) == 1 and "[11]" in d.needs_handler[0]
    assert not d.payable


def test_disability_without_a_grade_goes_to_a_handler(engine, pure):
    d = both(engine, pure, coverage(policy(), outcome=Outcome.DISABILITY, grades=[]))
    assert d.needs_handler and "no grade" in d.needs_handler[0]


# --------------------------------------------------------------------------- death


def test_drowning_with_two_policies_pays_132000_on_two_lines(engine, pure):
    # seed case 2: elderly farmer of a hardship family drowned in a paddy field
    req = coverage(
        policy("hardship_comprehensive", number="H-1"),
        policy("elderly_accident", number="E-1"),
        outcome=Outcome.DEATH,
        birth=date(1955, 3, 1),
    )
    d = both(engine, pure, req)
    assert [(line.policy_number, line.amount) for line in d.lines] == [
        ("H-1", Decimal("100000.00")),
        ("E-1", Decimal("32000.00")),
    ]
    assert d.total == Decimal("132000.00")
    assert d.lines[1].formula == "32000.00 × 100% (accidental death)"
    assert d.refusals == [] and d.needs_handler == []


def test_drink_driving_death_is_refused_with_the_exclusion(engine, pure):
    d = both(engine, pure, coverage(policy(), circumstances=["drink_driving"]))
    assert d.lines == [] and d.total == Decimal("0.00")
    (refusal,) = d.refusals
    assert refusal.clause_id == "excl.drink_driving"
    assert refusal.reason == "被保险人酒后驾驶机动车 / the insured drove a motor vehicle after drinking"


def test_a_circumstance_no_exclusion_names_does_not_refuse(engine, pure):
    d = both(engine, pure, coverage(policy(), circumstances=["farm_work"]))
    assert d.total == Decimal("40000.00")


def test_medical_outcome_without_a_medical_benefit_is_refused_as_not_covered(engine, pure):
    d = both(
        engine,
        pure,
        coverage(policy("elderly_accident"), outcome=Outcome.MEDICAL, birth=date(1950, 1, 1)),
    )
    assert [r.clause_id for r in d.refusals] == ["benefit.not_covered"]


# --------------------------------------------------------------------------- policy clauses


def test_report_two_years_and_one_day_after_the_accident_is_time_barred(engine, pure):
    accident = date(2021, 6, 26)
    d = both(engine, pure, coverage(policy(), accident=accident, reported=date(2023, 6, 27)))
    assert [r.clause_id for r in d.refusals] == ["limitation.time_barred"]
    assert "art. 26" in d.refusals[0].reason


def test_report_exactly_two_years_after_the_accident_is_in_time(engine, pure):
    d = both(engine, pure, coverage(policy(), accident=date(2021, 6, 26), reported=date(2023, 6, 26)))
    assert d.total == Decimal("40000.00")


def test_a_61_year_old_is_covered_by_the_family_accident_plan(engine, pure):
    d = both(engine, pure, coverage(policy(), birth=date(1960, 1, 1)))  # 61 on 2021-06-26
    assert d.total == Decimal("40000.00")


def test_a_person_65_when_the_policy_was_issued_is_refused_by_the_family_accident_plan(engine, pure):
    # policy issued 2020-12-22: 65 on that day (age at issue, 投保年龄, terms age_basis at_issue)
    d = both(engine, pure, coverage(policy(), birth=date(1955, 12, 22)))
    (refusal,) = d.refusals
    assert refusal.clause_id == "eligibility.age"
    assert "2020-12-22" in refusal.reason and "65" in refusal.reason and d.total == Decimal("0.00")


def test_a_person_64_at_issue_who_turned_65_before_the_accident_is_paid_by_the_family_accident_plan(
    engine, pure
):
    # 64 on the issue day 2020-12-22, 65 on the accident day 2021-06-26: the age at issue counts
    d = both(engine, pure, coverage(policy(), birth=date(1956, 6, 26)))
    assert d.refusals == [] and d.total == Decimal("40000.00")


def test_a_terms_file_with_age_basis_at_accident_judges_the_age_on_the_accident_day(engine, pure):
    from rules.terms import Catalogue, LoadedTerms

    cat = load_catalogue()
    loaded = cat.get("family_accident@2020")
    terms = loaded.terms.model_copy(
        update={"eligibility": loaded.terms.eligibility.model_copy(update={"age_basis": "at_accident"})}
    )
    changed = Catalogue(
        {terms.terms_version: LoadedTerms(terms=terms, path=loaded.path, sha256=loaded.sha256)}
    )
    req = coverage(policy(), birth=date(1956, 6, 26))  # 64 at issue, 65 at the accident
    for ev in (RulesEngine(changed), PureEvaluator(changed)):
        d = ev.evaluate_coverage(req)
        assert [r.clause_id for r in d.refusals] == ["eligibility.age"], ev
        assert "at the accident" in d.refusals[0].reason


def test_a_person_59_at_issue_is_refused_by_the_elderly_accident_plan_though_60_at_the_accident(engine, pure):
    # issued 2020-12-22 (aged 59), accident 2021-06-26 (aged 60): the insurable age at issue counts
    d = both(engine, pure, coverage(policy("elderly_accident"), birth=date(1961, 1, 1)))
    (refusal,) = d.refusals
    assert refusal.clause_id == "eligibility.age"
    assert "59" in refusal.reason and "2020-12-22" in refusal.reason and d.total == Decimal("0.00")


def test_an_accident_after_the_policy_ended_is_refused(engine, pure):
    d = both(engine, pure, coverage(policy(start=date(2020, 1, 1)), accident=date(2021, 1, 1)))
    assert [r.clause_id for r in d.refusals] == ["policy.period"]


def test_every_failed_clause_is_listed_once(engine, pure):
    req = coverage(
        policy(start=date(2020, 1, 1)),
        accident=date(2021, 1, 1),
        reported=date(2023, 1, 2),
        birth=date(1950, 1, 1),
        circumstances=["fighting", "drugs"],
    )
    assert [r.clause_id for r in both(engine, pure, req).refusals] == [
        "policy.period",
        "eligibility.age",
        "limitation.time_barred",
        "excl.fighting",
        "excl.drugs",
    ]


def test_unknown_terms_version_goes_to_a_handler(engine, pure):
    d = both(engine, pure, coverage(policy(terms_version="family_accident@1999")))
    assert d.lines == [] and d.refusals == []
    assert "unknown terms version" in d.needs_handler[0]


def test_a_policy_issued_outside_the_terms_range_goes_to_a_handler(engine, pure):
    d = both(engine, pure, coverage(policy(start=date(2018, 6, 1)), accident=date(2018, 7, 1)))
    assert "issued on 2018-05-22" in d.needs_handler[0]


def test_one_bad_policy_does_not_hide_the_others(engine, pure):
    req = coverage(
        policy("hardship_comprehensive", number="H-1"),
        policy(terms_version="nope@1", number="X-1"),
        birth=date(1955, 3, 1),
    )
    d = both(engine, pure, req)
    assert d.total == Decimal("100000.00") and len(d.needs_handler) == 1
    assert not d.payable


def test_report_before_the_accident_goes_to_a_handler(engine, pure):
    d = both(engine, pure, coverage(policy(), accident=date(2021, 6, 26), reported=date(2021, 6, 1)))
    assert d.needs_handler and d.lines == []


# --------------------------------------------------------------------------- triage


def test_late_report_is_classed_for_investigation(engine, pure):
    for ev in (engine, pure):
        t = ev.triage(triage_request(days_late=31))
        assert t.case_class is CaseClass.INVESTIGATION and t.needs_investigation
        assert t.rule_ids == ["class.investigation.late_report"]
        assert t.reasons == ["出险后31天报案，超过30天 / reported 31 days after the accident, more than 30"]
        assert not t.green_channel


def test_report_on_day_30_is_ordinary(engine, pure):
    for ev in (engine, pure):
        t = ev.triage(triage_request(days_late=30))
        assert t.case_class is CaseClass.ORDINARY and t.rule_ids == ["class.ordinary"]


def test_registered_poor_household_gets_the_green_channel(engine, pure):
    for ev in (engine, pure):
        t = ev.triage(triage_request(registered_poor=True))
        assert t.green_channel and t.rule_ids == ["green.registered_poor", "class.ordinary"]


def test_reported_grade_1_disability_gets_the_green_channel(engine, pure):
    for ev in (engine, pure):
        t = ev.triage(triage_request(outcome=Outcome.DISABILITY, grade=1))
        assert t.green_channel and "green.grade1_disability" in t.rule_ids
        assert not ev.triage(triage_request(outcome=Outcome.DISABILITY, grade=2)).green_channel


def test_large_total_sum_insured_and_no_record_need_investigation(engine, pure):
    pols = [
        policy("hardship_comprehensive", number="H"),
        policy("family_accident", "45000.00", "F"),
        policy("elderly_accident", number="E"),
    ]  # 177,000: not large
    assert engine.triage(triage_request(*pols)).case_class is CaseClass.ORDINARY
    pols.append(policy("family_accident", "40000.00", "F2"))  # 217,000 > 200,000
    for ev in (engine, pure):
        t = ev.triage(triage_request(*pols, third_party_record=False, outcome=Outcome.DEATH))
        assert t.rule_ids == [
            "green.death",
            "class.investigation.large_amount",
            "class.investigation.no_third_party_record",
        ]


# --------------------------------------------------------------------------- engine hygiene


def test_1100_evaluations_in_a_row_on_one_engine(engine):
    """Sessions are deleted: durable_rules breaks at 1025 live sessions per ruleset."""
    req = coverage(policy(), outcome=Outcome.DISABILITY, grades=[5])
    refused = coverage(policy(), outcome=Outcome.MEDICAL)  # also leaves no session behind
    for i in range(1100):
        assert engine.evaluate_coverage(req).total == Decimal("24000.00")
        engine.evaluate_coverage(refused)
        engine.triage(triage_request(days_late=i % 60))


def test_female_insured_and_leap_day_birthdays_agree(engine, pure):
    req = coverage(policy(), birth=date(1956, 2, 29), accident=date(2021, 2, 28), sex=Sex.FEMALE)
    both(engine, pure, req)  # 64 on 2021-02-28: still covered
    assert engine.evaluate_coverage(req).total == Decimal("40000.00")
    leap = coverage(
        policy(start=date(2020, 1, 1)), accident=date(2020, 2, 29), reported=date(2022, 3, 1)
    )  # limitation ends 2022-02-28
    assert [r.clause_id for r in both(engine, pure, leap).refusals] == ["limitation.time_barred"]
    assert engine.evaluate_coverage(
        coverage(
            policy(start=date(2020, 1, 1)),
            accident=date(2020, 2, 29),
            reported=date(2020, 2, 29) + timedelta(days=730),
        )
    ).total == Decimal("40000.00")  # 2022-02-28


def test_concurrent_callers_share_one_engine_safely(engine):
    from concurrent.futures import ThreadPoolExecutor

    reqs = [
        coverage(policy(), outcome=Outcome.DISABILITY, grades=[g], claim=f"C-{g}") for g in range(1, 11)
    ] * 30
    with ThreadPoolExecutor(max_workers=8) as pool:
        totals = list(pool.map(lambda r: engine.evaluate_coverage(r).total, reqs))
    assert totals[:10] == [Decimal(40000 - 4000 * i) for i in range(10)]
    assert totals == totals[:10] * 30


def test_a_sex_restricted_product_refuses_the_other_sex(tmp_path):
    import json

    from rules.terms import TERMS_DIR

    d = json.loads((TERMS_DIR / "elderly_accident@2020.json").read_text(encoding="utf-8"))
    d.update(product_code="women_accident", eligibility={"min_age": 16, "max_age": 60, "sex": "F"})
    (tmp_path / "women_accident@2020.json").write_text(json.dumps(d), encoding="utf-8")
    cat = load_catalogue(tmp_path)
    own, twin = RulesEngine(catalogue=cat), PureEvaluator(catalogue=cat)
    p = policy("women_accident", "32000.00", terms_version="women_accident@2020")
    man = coverage(p, birth=date(1980, 1, 1), sex=Sex.MALE)
    woman = coverage(p, birth=date(1980, 1, 1), sex=Sex.FEMALE)
    assert [r.clause_id for r in both(own, twin, man).refusals] == ["eligibility.sex"]
    assert both(own, twin, woman).total == Decimal("32000.00")


def test_a_fact_no_rule_answers_does_not_crash_a_fresh_engine():
    """durable_rules 2.0.28 segfaults deleting a session after "no rule matched" on a ruleset
    that never handled a message; every ruleset has a rule every fact matches. Run in a
    child process, so a regression fails this test instead of killing the run."""
    import subprocess
    import sys

    code = (
        "from datetime import date\n"
        "from claims.models import Outcome\n"
        "from rules.engine import RulesEngine\n"
        "from tests.support.factories import coverage, policy\n"
        "e = RulesEngine()\n"
        "r = coverage(policy('elderly_accident'), outcome=Outcome.MEDICAL, birth=date(1950, 1, 1))\n"
        "print([x.clause_id for x in e.evaluate_coverage(r).refusals])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['benefit.not_covered']"
