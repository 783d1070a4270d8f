"""durable_rules and the pure evaluator must give identical decisions (``engine`` aside)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claims.models import (
    CoverageRequest,
    HouseholdFlags,
    InsuredSnapshot,
    LossFacts,
    Outcome,
    PolicySnapshot,
    Sex,
    TriageRequest,
)
from rules.engine import RulesEngine
from rules.pure import PureEvaluator
from rules.samples import CIRCUMSTANCES, coverage, policy, triage_request
from rules.terms import load_catalogue

ENGINE = RulesEngine.shared()
PURE = PureEvaluator()
CATALOGUE = load_catalogue()

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def same_coverage(req: CoverageRequest) -> None:
    d, p = ENGINE.evaluate_coverage(req), PURE.evaluate_coverage(req)
    assert d.model_dump(exclude={"engine"}) == p.model_dump(exclude={"engine"}), req


def same_triage(req: TriageRequest) -> None:
    assert ENGINE.triage(req) == PURE.triage(req), req


# --------------------------------------------------------------------------- strategies

days = st.dates(min_value=date(2017, 1, 1), max_value=date(2029, 12, 31))
VALID = [
    ("family_accident", "family_accident@2020", ["40000.00", "45000.00"]),
    ("hardship_comprehensive", "hardship_comprehensive@2020", ["100000.00"]),
    ("elderly_accident", "elderly_accident@2020", ["32000.00"]),
]
TEMPLATES = VALID * 6 + [
    ("family_accident", "family_accident@2020", ["50000.00"]),  # not a sum insured option
    ("family_accident", "family_accident@2031", ["40000.00"]),  # unknown version
    ("elderly_accident", "family_accident@2020", ["40000.00"]),  # product mismatch
]


@st.composite
def policies(draw: st.DrawFn, accident: date, number: str) -> PolicySnapshot:
    product, tv, options = draw(st.sampled_from(TEMPLATES))
    start = accident - timedelta(days=draw(st.integers(0, 360) | st.integers(-40, 420)))
    length = draw(st.sampled_from([364, 365, 180]))
    return PolicySnapshot(
        policy_number=number,
        product_code=product,
        terms_version=tv,
        sum_insured=Decimal(draw(st.sampled_from(options))),
        start_date=start,
        end_date=start + timedelta(days=length),
        issued_on=max(start - timedelta(days=draw(st.integers(0, 60))), date(2019, 1, 1))
        if draw(st.integers(0, 9))
        else start - timedelta(days=400),
    )


@st.composite
def coverage_requests(draw: st.DrawFn) -> CoverageRequest:
    accident = draw(st.dates(min_value=date(2019, 3, 1), max_value=date(2026, 12, 31)))
    n = draw(st.integers(1, 3))
    pols = [draw(policies(accident, f"P{i}")) for i in range(n)]
    outcome = draw(st.sampled_from(list(Outcome)))
    grades = draw(
        st.lists(st.integers(1, 10), min_size=1, max_size=4) | st.lists(st.integers(-1, 12), max_size=4)
    )
    return CoverageRequest(
        claim_number="C-h",
        accident_date=accident,
        reported_on=accident
        + timedelta(
            days=draw(st.integers(0, 60) | st.sampled_from([-1, 729, 730, 731]) | st.integers(0, 900))
        ),
        insured=InsuredSnapshot(
            person_ref="R",
            sex=draw(st.sampled_from(list(Sex))),
            birth_date=accident
            - timedelta(days=draw(st.integers(365 * 60, 365 * 64 + 20) | st.integers(-10, 365 * 90))),
        ),
        facts=LossFacts(
            outcome=outcome,
            cause="x",
            disability_grades=grades,
            circumstances=draw(
                st.just([]) | st.lists(st.sampled_from(CIRCUMSTANCES + ["Unknown-Code"]), max_size=3)
            ),
            medical_expenses=Decimal(draw(st.integers(0, 10_000_00))) / 100,
        ),
        policies=pols,
    )


@st.composite
def triage_requests(draw: st.DrawFn) -> TriageRequest:
    accident = draw(days)
    pols = [draw(policies(accident, f"P{i}")) for i in range(draw(st.integers(0, 4)))]
    return TriageRequest(
        claim_number="C-t",
        accident_date=accident,
        reported_on=accident + timedelta(days=draw(st.integers(0, 90))),
        household=HouseholdFlags(
            registered_poor=draw(st.booleans()),
            special_family=draw(st.booleans()),
            hardship=draw(st.booleans()),
        ),
        reported_outcome=draw(st.sampled_from(list(Outcome))),
        reported_disability_grade=draw(st.none() | st.integers(-2, 12)),
        nominated_green_channel=draw(st.booleans()),
        third_party_record=draw(st.booleans()),
        policies=pols,
    )


@SETTINGS
@given(coverage_requests())
def test_generated_coverage_requests_get_identical_decisions(req: CoverageRequest) -> None:
    same_coverage(req)


@SETTINGS
@given(triage_requests())
def test_generated_triage_requests_get_identical_results(req: TriageRequest) -> None:
    same_triage(req)


# --------------------------------------------------------------------------- every clause


def clause_cases() -> list[tuple[str, CoverageRequest, str | None]]:
    """(name, request, expected clause id or benefit rule id) for every clause of every file."""
    cases: list[tuple[str, CoverageRequest, str | None]] = []
    for loaded in CATALOGUE:
        t = loaded.terms
        tv = t.terms_version
        e = t.eligibility
        acc = date(2021, 6, 26)
        mid_age = (e.min_age + e.max_age) // 2
        birth_ok = date(acc.year - mid_age - 1, 12, 31)
        for option in t.sum_insured_options:
            p = policy(t.product_code, f"{option:.2f}")
            ok = {"accident": acc, "birth": birth_ok}
            for x in t.exclusions:
                cases.append((f"{tv}:{x.id}", coverage(p, circumstances=[x.circumstance], **ok), x.id))
            cases += [
                (
                    f"{tv}:before_start",
                    coverage(policy(t.product_code, f"{option:.2f}", start=date(2021, 7, 1)), **ok),
                    "policy.period",
                ),
                (
                    f"{tv}:after_end",
                    coverage(policy(t.product_code, f"{option:.2f}", start=date(2020, 6, 26)), **ok),
                    "policy.period",
                ),
                (
                    f"{tv}:min_age-1",
                    coverage(p, accident=acc, birth=date(acc.year - e.min_age, 6, 27)),
                    "eligibility.age",
                )
                if e.min_age > 0
                else (f"{tv}:min_age", coverage(p, accident=acc, birth=acc), None),
                (
                    f"{tv}:max_age",
                    coverage(p, accident=acc, birth=date(acc.year - e.max_age - 1, 6, 27)),
                    None,
                ),
                (
                    f"{tv}:max_age+1",
                    coverage(p, accident=acc, birth=date(acc.year - e.max_age - 1, 6, 26)),
                    "eligibility.age",
                ),
                (
                    f"{tv}:limitation",
                    coverage(p, reported=acc.replace(year=acc.year + 2) + timedelta(days=1), **ok),
                    "limitation.time_barred",
                ),
                (
                    f"{tv}:medical",
                    coverage(p, outcome=Outcome.MEDICAL, **ok),
                    "benefit.not_covered",
                ),
            ]
            for b in t.benefits:
                if b.kind == "accidental_death":
                    cases.append((f"{tv}:{b.id}", coverage(p, **ok), f"{b.id}.pays"))
                if b.kind == "accidental_disability":
                    for g in range(1, 11):
                        cases.append(
                            (
                                f"{tv}:{b.id}:{g}",
                                coverage(
                                    p,
                                    outcome=Outcome.DISABILITY,
                                    grades=[g, 10][: 1 + (g < 10)],
                                    **ok,
                                ),
                                f"{b.id}.grade_{g}",
                            )
                        )
                        if g > 1:
                            cases.append(
                                (
                                    f"{tv}:{b.id}:{g}x2",
                                    coverage(p, outcome=Outcome.DISABILITY, grades=[g, g], **ok),
                                    f"{b.id}.grade_{g}.raised",
                                )
                            )
                    for bad in ([], [0], [11], [3, 12]):
                        cases.append(
                            (
                                f"{tv}:{b.id}:{bad}",
                                coverage(p, outcome=Outcome.DISABILITY, grades=bad, **ok),
                                "handler",
                            )
                        )
    return cases


CASES = clause_cases()


@pytest.mark.parametrize("name,req,expected", CASES, ids=[c[0] for c in CASES])
def test_every_clause_case_gives_the_expected_outcome_on_both_engines(name, req, expected):
    d, p = ENGINE.evaluate_coverage(req), PURE.evaluate_coverage(req)
    assert d.model_dump(exclude={"engine"}) == p.model_dump(exclude={"engine"})
    fired = [r.clause_id for r in d.refusals] + [rid for line in d.lines for rid in line.rule_ids]
    if expected is None:
        assert d.refusals == [] and d.total > 0
    elif expected == "handler":
        assert d.needs_handler and not d.lines and not d.refusals
    else:
        assert fired == [expected]
        if not d.refusals:
            assert d.total > 0


def test_every_triage_rule_fires_alone_on_both_engines() -> None:
    cases = {
        "green.registered_poor": triage_request(registered_poor=True),
        "green.special_family": triage_request(special_family=True),
        "green.hardship": triage_request(hardship=True),
        "green.death": triage_request(outcome=Outcome.DEATH),
        "green.grade1_disability": triage_request(outcome=Outcome.DISABILITY, grade=1),
        "green.nominated": triage_request(nominated=True),
        "class.investigation.late_report": triage_request(days_late=45),
        "class.investigation.no_third_party_record": triage_request(third_party_record=False),
    }
    for rule_id, req in cases.items():
        r = ENGINE.triage(req)
        assert r == PURE.triage(req)
        assert rule_id in r.rule_ids
        assert len(r.rule_ids) == 2 if rule_id.startswith("green.") else r.rule_ids == [rule_id]
